/**
 * The engine: plan, schedule, run.
 *
 * `planBuild` computes every task's key and its reason to run (or that it is
 * up to date) without running anything; `-n` prints it. `runBuild` runs the
 * plan under one global job budget shared with sub-builds through the
 * jobserver, records each success atomically, and stops cleanly on failure
 * or interrupt. A rerun resumes: what finished is up to date.
 */
import { closeSync, mkdirSync, openSync, readSync, fstatSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BuildSummary, EngineEvent, PlannedTask, TaskSummary } from './events.js';
import { EventBus } from './events.js';
import { errorMessage, Interrupted, PbError, TaskFailure } from './errors.js';
import { formatReason, type Reason } from './explain.js';
import { failureReport, type FailureReport } from './failure.js';
import { asFsError, beforeAnyTask, fsError } from './fserror.js';
import { assertOwnDir, openFresh, removeStaleOutputs, sharedOutputs } from './fsguard.js';
import { FileHasher } from './hash.js';
import { Jobserver, type Token } from './jobserver.js';
import { computeFingerprint, detailsOf, keyReason, outputDigests, outputReason, type Fingerprint } from './key.js';
import { OutputTrees, type TreeStamp } from './outtree.js';
import { sweepLeftovers } from './leftovers.js';
import { acquireLock, type Lock } from './lock.js';
import { criticalPriorities, forceMatcher, resolveTargets, topoClosure, validateGraph } from './plan.js';
import { ProcessManager } from './proc.js';
import { DetailsStore, detailsPath, loadState, saveState, stateDir, statePath, treesDir, type StateData, type TaskRecord } from './state.js';
import type { ExecOptions, Task, TaskContext, TaskGraph } from './task.js';
import { builtToolFiles, ToolResolver } from './tools.js';
import { TraceWriter, tracePath } from './trace.js';

export interface EngineOptions {
  /** Absolute project root. */
  readonly root: string;
  /** Absolute build directory. */
  readonly buildDir: string;
  /** The global job budget. */
  readonly jobs: number;
  /** Target names or task ids. */
  readonly targets: readonly string[];
  /** Continue with everything that does not depend on a failure. */
  readonly keepGoing?: boolean;
  /** Task-id patterns (`*` wildcard) to run even when up to date. */
  readonly force?: readonly string[];
  /** The environment keys are computed from. Default: `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  readonly bus?: EventBus;
  /** SIGTERM-to-SIGKILL grace period on interrupt. Default 3000 ms. */
  readonly graceMs?: number;
  /** Wait for another build holding the lock (default) or fail at once. */
  readonly waitForLock?: boolean;
  /** Digest every output directory in full, ignoring the stamps of its directories (outtree.ts). */
  readonly verifyOutputs?: boolean;
  /** Install SIGINT/SIGTERM/SIGHUP/SIGQUIT handlers for the run. Default true. */
  readonly handleSignals?: boolean;
  /**
   * Stops the run like a signal when aborted (the CLI aborts it when its
   * output is gone). The abort reason, a string, is reported as the signal.
   */
  readonly stop?: AbortSignal;
}

export interface PlanEntry {
  readonly task: Task;
  readonly fp: Fingerprint;
  /** `undefined` = up to date. */
  readonly reason: Reason | undefined;
}

export interface Plan {
  /** In execution order (critical path first among ready tasks, then id). */
  readonly entries: readonly PlanEntry[];
  readonly priorities: ReadonlyMap<string, number>;
  readonly state: StateData;
  /** The recorded key components, read only when some key changed. */
  readonly details: DetailsStore;
  readonly hasher: FileHasher;
  /** Directory outputs' digests, stamps and stat caches. */
  readonly trees: OutputTrees;
  /** True when planning gave some output a new stamp (the state should be saved). */
  readonly restamped: boolean;
  readonly tools: ToolResolver;
  /** A one-line problem with the stored state (it was discarded). */
  readonly stateProblem?: string;
}

/** Environment every child gets; a task's declared env vars come on top. */
const BASE_ENV = ['PATH', 'HOME', 'TMPDIR', 'TERM', 'LANG', 'LC_ALL', 'USER', 'LOGNAME'];
const SAVE_INTERVAL_MS = 500;
const TAIL_LINES = 40;

export function logPathFor(buildDir: string, id: string): string {
  return join(buildDir, 'logs', `${id.replace(/[/\\]/g, '_')}.log`);
}

/** Compute keys and reasons for the requested targets. Runs nothing, writes nothing. */
export function planBuild(graph: TaskGraph, opts: EngineOptions): Plan {
  validateGraph(graph);
  const roots = resolveTargets(graph, opts.targets);
  const order = topoClosure(graph, roots);
  const { state, problem } = loadState(statePath(opts.buildDir));
  const details = new DetailsStore(detailsPath(opts.buildDir));
  const hasher = new FileHasher(state.stat);
  const trees = new OutputTrees(treesDir(opts.buildDir), hasher);
  let restamped = false;
  const env = opts.env ?? process.env;
  const tools = new ToolResolver(env.PATH, hasher, state.tools);
  const forced = forceMatcher(opts.force ?? []);
  const keys = new Map<string, string>();
  const byId = new Map<string, PlanEntry>();
  for (const task of order) {
    const fp = computeFingerprint(task, keys, { root: opts.root, hasher, tools, env });
    keys.set(task.id, fp.key);
    const rec = state.tasks[task.id];
    let reason = keyReason(fp, rec, rec && rec.key !== fp.key ? details.get(task.id, rec.key) : undefined, forced(task.id));
    if (!reason) {
      const dep = [...task.deps].sort().find((d) => byId.get(d)?.reason !== undefined);
      if (dep) reason = { kind: 'dependency rebuilt', id: dep };
    }
    if (!reason && rec)
      reason = outputReason(task.outputs, opts.verifyOutputs ? { ...rec, trees: {} } : rec, opts.root, trees, (o, stamp) => {
        const now = state.tasks[task.id]!;
        state.tasks[task.id] = { ...now, trees: { ...now.trees, [o]: stamp } };
        restamped = true;
      });
    byId.set(task.id, { task, fp, reason });
  }
  const priorities = criticalPriorities(order, (t) => state.tasks[t.id]?.durationMs ?? (t.weight ?? 1) * 1000);
  const entries = listSchedule(order, priorities).map((t) => byId.get(t.id)!);
  return { entries, priorities, state, details, hasher, trees, restamped, tools, ...(problem ? { stateProblem: problem } : {}) };
}

/** The order a one-job build would start tasks in: highest priority among the ready, ties by id. */
function listSchedule(order: readonly Task[], prio: ReadonlyMap<string, number>): Task[] {
  const inPlan = new Set(order.map((t) => t.id));
  const waiting = new Map(order.map((t) => [t.id, t.deps.filter((d) => inPlan.has(d)).length]));
  const dependents = new Map<string, Task[]>();
  for (const t of order) for (const d of t.deps) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(t);
  // `ready` is kept sorted with the next task last: highest priority, then smallest id.
  const before = (a: Task, b: Task): boolean => prio.get(a.id)! < prio.get(b.id)! || (prio.get(a.id) === prio.get(b.id) && a.id > b.id);
  const insert = (t: Task): void => {
    let lo = 0;
    let hi = ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(ready[mid]!, t)) lo = mid + 1;
      else hi = mid;
    }
    ready.splice(lo, 0, t);
  };
  const ready: Task[] = [];
  for (const t of order) if (waiting.get(t.id) === 0) insert(t);
  const out: Task[] = [];
  while (ready.length) {
    const t = ready.pop()!;
    out.push(t);
    for (const c of dependents.get(t.id) ?? []) {
      const n = waiting.get(c.id)! - 1;
      waiting.set(c.id, n);
      if (n === 0) insert(c);
    }
  }
  return out;
}

export function plannedTasks(plan: Plan): PlannedTask[] {
  return plan.entries.map((e) => ({ id: e.task.id, title: e.task.title, deps: e.task.deps, reason: e.reason }));
}

/** Last `n` lines of a file, read from its end (logs can be huge). */
export function tailFile(path: string, n = TAIL_LINES): string[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-n);
  } finally {
    closeSync(fd);
  }
}

/** Plan and run. Resolves with the summary; the CLI maps it to an exit code. */
export async function runBuild(graph: TaskGraph, opts: EngineOptions): Promise<BuildSummary> {
  const bus = opts.bus ?? new EventBus();
  const sdir = stateDir(opts.buildDir);
  let lock: Lock;
  try {
    // Nothing has run yet: a filesystem error here is exit 2.
    for (const d of [join(opts.buildDir, 'logs'), sdir, treesDir(opts.buildDir)]) assertOwnDir(opts.buildDir, d);
    mkdirSync(join(opts.buildDir, 'logs'), { recursive: true });
    lock = await acquireLock(sdir, {
      wait: opts.waitForLock ?? true,
      onWait: (message) => bus.emit({ type: 'warning', message }),
      onStale: (message) => bus.emit({ type: 'warning', message }),
    });
  } catch (e) {
    throw beforeAnyTask(e, opts.buildDir);
  }
  const run = new Run(graph, opts, bus);
  try {
    // What dead earlier runs left (their jobserver FIFOs, lock temp files, cgroup cells and processes) goes first.
    const swept = await sweepLeftovers(sdir);
    if (swept.processes > 0) bus.emit({ type: 'warning', message: `stopped ${swept.processes} processes that a killed earlier run had left running` });
    return await run.execute();
  } catch (e) {
    throw run.startedAny ? asFsError(e) : beforeAnyTask(e);
  } finally {
    try {
      lock.release();
    } catch (e) {
      bus.emit({ type: 'warning', message: `could not remove the lock: ${errorMessage(asFsError(e))}` });
    }
  }
}

type Status = TaskSummary['status'];

/** What a command wrote to a task log after `start`, without the `$ command` line the process manager writes first. */
function readLogSince(logPath: string, start: number): string {
  const fd = openSync(logPath, 'r');
  try {
    const size = fstatSync(fd).size - start;
    const buf = Buffer.alloc(Math.max(0, size));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    const text = buf.toString('utf8', 0, got);
    return text.slice(text.indexOf('\n') + 1);
  } finally {
    closeSync(fd);
  }
}

class Run {
  private readonly started = Date.now();
  private readonly procs = new ProcessManager();
  private readonly abort = new AbortController();
  private readonly status = new Map<string, Status>();
  private readonly durations = new Map<string, number>();
  private readonly reasons = new Map<string, Reason>();
  private readonly failures = new Map<string, FailureReport>();
  private plan!: Plan;
  private jobserver: Jobserver | undefined;
  /** Per running task's context: give back the extra job slots it still holds. */
  private readonly extraJobs = new WeakMap<TaskContext, () => void>();
  private interruptedBy: string | undefined;
  private stopping = false;
  private lastSave = 0;
  private saveTimer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly usedSlots = new Set<number>();
  /** Outputs no task's rerun removes (declared by more than one task, or nested). */
  private shared: Set<string> | undefined;
  /** Whether any task started (an error after that is exit 1, before it exit 2). */
  startedAny = false;

  constructor(
    private readonly graph: TaskGraph,
    private readonly opts: EngineOptions,
    private readonly bus: EventBus,
  ) {}

  private emit(e: EngineEvent): void {
    this.bus.emit(e);
  }

  async execute(): Promise<BuildSummary> {
    const trace = new TraceWriter(tracePath(this.opts.buildDir));
    this.bus.on(trace.listener);
    this.plan = planBuild(this.graph, this.opts);
    if (this.plan.stateProblem) this.emit({ type: 'warning', message: this.plan.stateProblem });
    this.emit({ type: 'plan', tasks: plannedTasks(this.plan), jobs: this.opts.jobs, targets: this.opts.targets });
    const toRun = this.plan.entries.filter((e) => e.reason !== undefined);
    for (const e of this.plan.entries) {
      if (e.reason === undefined) {
        this.status.set(e.task.id, 'cached');
        this.emit({ type: 'skip', id: e.task.id });
      } else {
        this.status.set(e.task.id, 'not-run');
        this.reasons.set(e.task.id, e.reason);
      }
    }
    const onSignal = (sig: NodeJS.Signals): void => this.interrupt(sig);
    const handle = this.opts.handleSignals ?? true;
    // SIGHUP (the terminal or the ssh session went away) and SIGQUIT (Ctrl-\) stop the build like Ctrl-C.
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
    if (handle) for (const sig of signals) process.on(sig, onSignal);
    const onStop = (): void => this.interrupt(String(this.opts.stop?.reason ?? 'stop'));
    if (this.opts.stop?.aborted) onStop();
    this.opts.stop?.addEventListener('abort', onStop);
    try {
      if (toRun.length > 0) {
        this.jobserver = Jobserver.create(stateDir(this.opts.buildDir), this.opts.jobs);
        await this.schedule(toRun);
      }
    } finally {
      if (handle) for (const sig of signals) process.off(sig, onSignal);
      this.opts.stop?.removeEventListener('abort', onStop);
      // Only after an unexpected error can a child still run here: it must not outlive the build.
      if (this.procs.running > 0) await this.procs.killAll(this.opts.graceMs ?? 3000);
      await this.procs.close();
      this.jobserver?.close();
      clearTimeout(this.saveTimer);
    }
    // Nothing of a failed final save is lost: the previous state file is
    // intact, and this run's tasks simply rerun next time.
    let saveError: unknown;
    try {
      // A clean no-op changed nothing: skip rewriting (and fsyncing) the state.
      if (toRun.length > 0 || this.plan.hasher.dirty || this.plan.tools.dirty || this.plan.restamped || this.plan.trees.dirty) this.saveNow(true);
    } catch (e) {
      saveError = e;
      this.emit({ type: 'warning', message: `${errorMessage(e)}; the tasks of this run will run again next time` });
    }
    const summary = this.summarize(saveError === undefined);
    try {
      trace.write(summary);
    } catch (e) {
      this.emit({ type: 'warning', message: `trace not written: ${errorMessage(e)}` });
    }
    this.emit({ type: 'done', summary });
    if (saveError) throw saveError;
    return summary;
  }

  private interrupt(signal: string): void {
    if (this.interruptedBy) {
      // A second signal: no more grace.
      this.procs.killAllNow();
      return;
    }
    this.interruptedBy = signal;
    this.stopping = true;
    this.emit({ type: 'interrupt', signal });
    this.abort.abort(new Interrupted(signal));
    void this.procs.killAll(this.opts.graceMs ?? 3000);
    this.wake();
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(() => {
        this.wakeUp = undefined;
        r();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  private async schedule(toRun: readonly PlanEntry[]): Promise<void> {
    const js = this.jobserver!;
    const entries = new Map(toRun.map((e) => [e.task.id, e]));
    const waiting = new Map<string, number>();
    const dependents = new Map<string, string[]>();
    for (const e of toRun) {
      const deps = e.task.deps.filter((d) => entries.has(d));
      waiting.set(e.task.id, deps.length);
      for (const d of deps) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(e.task.id);
    }
    const prio = this.plan.priorities;
    const ready: string[] = toRun.filter((e) => waiting.get(e.task.id) === 0).map((e) => e.task.id);
    const running = new Set<Promise<void>>();

    const cancelDependents = (id: string, because: string): void => {
      for (const c of dependents.get(id) ?? []) {
        if (this.status.get(c) !== 'not-run' || waiting.get(c) === -1) continue;
        waiting.set(c, -1);
        this.status.set(c, 'cancelled');
        this.emit({ type: 'cancel', id: c, because });
        cancelDependents(c, because);
      }
    };

    const start = (id: string, token: Token): void => {
      const entry = entries.get(id)!;
      let slot = 0;
      while (this.usedSlots.has(slot)) slot++;
      this.usedSlots.add(slot);
      const p = this.runOne(entry, slot).then((ok) => {
        running.delete(p);
        this.usedSlots.delete(slot);
        js.release(token);
        if (running.size === 0) js.reconcile();
        if (ok) {
          for (const c of dependents.get(id) ?? []) {
            const n = waiting.get(c)!;
            if (n < 0) continue;
            waiting.set(c, n - 1);
            if (n - 1 === 0) ready.push(c);
          }
        } else if (!this.interruptedBy) {
          cancelDependents(id, `dependency ${id} failed`);
          if (!this.opts.keepGoing) this.stopping = true;
        }
        this.scheduleSave();
        this.wake();
      });
      running.add(p);
    };

    for (;;) {
      if (this.stopping || ready.length === 0) {
        if (running.size === 0) break;
        await this.sleep(1000);
        continue;
      }
      const token = js.tryAcquire();
      if (!token) {
        await this.sleep(5);
        continue;
      }
      ready.sort((a, b) => prio.get(b)! - prio.get(a)! || (a < b ? -1 : 1));
      start(ready.shift()!, token);
    }
    // Whatever never started: say why.
    const failed = [...this.status].find(([, s]) => s === 'failed')?.[0];
    for (const [id, s] of this.status) {
      if (s !== 'not-run') continue;
      if (this.interruptedBy) this.emit({ type: 'cancel', id, because: 'interrupted' });
      else if (failed) this.emit({ type: 'cancel', id, because: `build stopped after ${failed} failed` });
    }
  }

  /** Run one task. Resolves true on success; never rejects. */
  private async runOne(entry: PlanEntry, slot: number): Promise<boolean> {
    const { task, fp } = entry;
    const id = task.id;
    const reason = entry.reason!;
    const logPath = logPathFor(this.opts.buildDir, id);
    const t0 = Date.now();
    const state = this.plan.state;
    const prev = state.tasks[id];
    state.tasks[id] = { ...(prev ?? blankRecord()), status: 'running' };
    this.status.set(id, 'ran');
    this.startedAny = true;
    let logFd: number | undefined;
    try {
      logFd = openFresh(this.opts.buildDir, logPath);
    } catch (e) {
      this.status.set(id, 'failed');
      state.tasks[id] = { ...(prev ?? blankRecord()), status: 'failed' };
      const known = knownError(e, logPath);
      const failure = known ? failureReport(id, known) : { ...failureReport(id, e), message: `cannot open log ${logPath}: ${errorMessage(e)}` };
      this.failures.set(id, failure);
      this.emit({ type: 'start', id, reason, slot, logPath, time: t0 });
      this.emit({ type: 'fail', id, ...failure, logPath, logTail: [], durationMs: 0, time: Date.now() });
      return false;
    }
    this.emit({ type: 'start', id, reason, slot, logPath, time: t0 });
    const fd = logFd;
    const ctx = this.context(entry, fd, logPath);
    let error: unknown;
    try {
      writeLog(fd, logPath, `# pyston-build task ${id}\n# reason: ${formatReason(reason)}\n`);
      // Outputs are removed before every run, so nothing stale or edited survives it.
      this.shared ??= sharedOutputs(this.opts.root, this.graph.tasks.values());
      const removed = removeStaleOutputs(this.opts.root, this.opts.buildDir, task.outputs, this.shared);
      if (removed.length > 0) writeLog(fd, logPath, `# removed the previous outputs: ${removed.join(' ')}\n`);
      if (this.abort.signal.aborted) throw this.abort.signal.reason;
      try {
        await task.run(ctx);
      } finally {
        this.extraJobs.get(ctx)?.();
      }
      if (this.abort.signal.aborted) throw this.abort.signal.reason;
      const outputs: Record<string, string> = {};
      const trees: Record<string, TreeStamp> = {};
      for (const [o, d] of outputDigests(task.outputs, this.opts.root, this.plan.trees)) {
        if (d.digest === undefined) throw new TaskFailure(`task ${id} did not produce its declared output ${o}`, 'fix the task, or its declared outputs', { kind: 'missing-output', path: o });
        outputs[o] = d.digest;
        if (d.stamp) trees[o] = d.stamp;
      }
      const durationMs = Date.now() - t0;
      state.tasks[id] = { status: 'ok', key: fp.key, outputs, durationMs, ...(Object.keys(trees).length > 0 ? { trees } : {}) };
      this.plan.details.set(id, detailsOf(fp));
      this.durations.set(id, durationMs);
      try {
        writeSync(fd, `# finished in ${(durationMs / 1000).toFixed(1)}s\n`);
      } catch {
        // the log is best effort here: the outputs are complete
      }
      closeSync(fd);
      this.emit({ type: 'finish', id, durationMs, time: Date.now() });
      return true;
    } catch (e) {
      error = e;
    }
    const durationMs = Date.now() - t0;
    this.durations.set(id, durationMs);
    if (this.interruptedBy) {
      state.tasks[id] = { ...(prev ?? blankRecord()), status: 'interrupted' };
      this.status.set(id, 'interrupted');
      try {
        writeSync(fd, `# interrupted by ${this.interruptedBy}\n`);
      } catch {
        // the log is best effort here
      }
      closeSync(fd);
      this.emit({ type: 'cancel', id, because: 'interrupted' });
      return false;
    }
    state.tasks[id] = { ...(prev ?? blankRecord()), status: 'failed' };
    this.status.set(id, 'failed');
    // A raw filesystem error (a full disk, a read-only build/) becomes one line naming the path.
    const failure = failureReport(id, knownError(error, undefined, this.opts.buildDir) ?? error);
    this.failures.set(id, failure);
    try {
      writeSync(fd, `# failed: ${failure.message}\n${failure.hint ? `# hint: ${failure.hint}\n` : ''}`);
    } catch {
      // the log is best effort here
    }
    closeSync(fd);
    this.emit({ type: 'fail', id, ...failure, logPath, logTail: tailFile(logPath), durationMs, time: Date.now() });
    return false;
  }

  private context(entry: PlanEntry, logFd: number, logPath: string): TaskContext {
    const { task, fp } = entry;
    const opts = this.opts;
    const env = opts.env ?? process.env;
    const base: Record<string, string> = {};
    for (const k of BASE_ENV) if (env[k] !== undefined) base[k] = env[k]!;
    const builtTools = builtToolFiles(task, opts.root);
    let lastEmit = 0;
    const onLine = (line: string): void => {
      const now = Date.now();
      if (now - lastEmit < 100) return;
      lastEmit = now;
      this.emit({ type: 'output', id: task.id, line });
    };
    // Extra job slots the task took (tryExtraJobs): whatever it did not give back is returned when it ends.
    const held = new Set<Token>();
    const ctx: TaskContext = {
      id: task.id,
      root: opts.root,
      buildDir: opts.buildDir,
      logPath,
      signal: this.abort.signal,
      tryExtraJobs: (max: number) => {
        const js = this.jobserver!;
        const got: Token[] = [];
        while (got.length < max) {
          const t = js.tryAcquire();
          if (!t) break;
          got.push(t);
          held.add(t);
        }
        return {
          count: got.length,
          release: () => {
            for (const t of got) if (held.delete(t)) js.release(t);
          },
        };
      },
      env: fp.envValues,
      inputDigests: { files: fp.files, tools: fp.tools },
      toolVersions: Object.fromEntries(fp.resolvedTools.map((t) => [t.name, t.version])),
      jobs: opts.jobs,
      log: (line: string) => {
        writeLog(logFd, logPath, line + '\n');
        onLine(line);
      },
      warn: (message: string) => {
        writeLog(logFd, logPath, `warning: ${message}\n`);
        this.emit({ type: 'warning', message: `${task.id}: ${message}` });
      },
      path: (...segments: string[]) => resolve(opts.root, ...segments),
      exec: async (file: string, args: readonly string[], o: ExecOptions = {}) => {
        if (this.abort.signal.aborted) throw this.abort.signal.reason;
        const js = this.jobserver!;
        const form = o.jobserver ?? 'pipe';
        const childEnv: Record<string, string> = { ...base, ...fp.envValues, ...(o.env ?? {}) };
        if (form) childEnv.MAKEFLAGS = js.makeflags(form);
        const start = o.capture ? fstatSync(logFd).size : 0;
        // A raw error from here is a failed write to the log (a full disk): name the log.
        await this.procs
          .run({
            file: builtTools.get(file) ?? file,
            args,
            cwd: o.cwd ?? opts.root,
            env: childEnv,
            logFd,
            onLine,
            ...(form === 'pipe' ? { extraFds: [js.childFd, js.childFd] } : {}),
            ...(o.input !== undefined ? { input: o.input } : {}),
            ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
          })
          .catch((e: unknown) => {
            throw asFsError(e, logPath);
          });
        if (!o.capture) return { exitCode: 0 };
        return { exitCode: 0, output: readLogSince(logPath, start) };
      },
    };
    this.extraJobs.set(ctx, () => {
      for (const t of held) this.jobserver?.release(t);
      held.clear();
    });
    return ctx;
  }

  private scheduleSave(): void {
    const since = Date.now() - this.lastSave;
    if (since >= SAVE_INTERVAL_MS) {
      this.saveNow(false);
    } else if (!this.saveTimer) {
      this.saveTimer = setTimeout(() => {
        this.saveTimer = undefined;
        this.saveNow(false);
      }, SAVE_INTERVAL_MS - since);
    }
  }

  /** Persist records and caches. A failed save mid-build is a warning; at the end it is an error. */
  private saveNow(final: boolean): void {
    const s = this.plan.state;
    s.stat = this.plan.hasher.cache;
    try {
      // The trees' stat caches are caches: one lost with a failed save only costs rehashing that tree.
      this.plan.trees.flush();
      this.plan.details.save();
      saveState(statePath(this.opts.buildDir), s);
      this.lastSave = Date.now();
    } catch (e) {
      if (final) throw e;
      this.emit({ type: 'warning', message: errorMessage(e) });
    }
  }

  private summarize(saved: boolean): BuildSummary {
    const tasks: TaskSummary[] = this.plan.entries.map((e) => {
      const reason = this.reasons.get(e.task.id);
      const failure = this.failures.get(e.task.id);
      return { id: e.task.id, status: this.status.get(e.task.id)!, durationMs: this.durations.get(e.task.id) ?? 0, ...(reason ? { reason } : {}), ...(failure ? { failure } : {}) };
    });
    const ran = tasks.filter((t) => t.status === 'ran').length;
    const failed = tasks.filter((t) => t.status === 'failed').map((t) => t.id);
    // Critical path over the executed tasks, by measured duration.
    const cp = new Map<string, { ms: number; prev: string | undefined }>();
    let best: string | undefined;
    for (const e of this.plan.entries) {
      const d = this.durations.get(e.task.id);
      if (d === undefined) continue;
      let prev: string | undefined;
      let base = 0;
      for (const dep of e.task.deps) {
        const c = cp.get(dep);
        if (c && c.ms > base) {
          base = c.ms;
          prev = dep;
        }
      }
      cp.set(e.task.id, { ms: base + d, prev });
      if (!best || cp.get(e.task.id)!.ms > cp.get(best)!.ms) best = e.task.id;
    }
    const path: string[] = [];
    for (let cur = best; cur; cur = cp.get(cur)!.prev) path.unshift(cur);
    return {
      ok: saved && failed.length === 0 && !this.interruptedBy && tasks.every((t) => t.status === 'ran' || t.status === 'cached'),
      interrupted: this.interruptedBy !== undefined,
      ran,
      upToDate: tasks.filter((t) => t.status === 'cached').length,
      failed,
      wallMs: Date.now() - this.started,
      criticalPath: path,
      criticalPathMs: best ? cp.get(best)!.ms : 0,
      tasks,
      tracePath: tracePath(this.opts.buildDir),
    };
  }
}

/** A task's failure in one line: a typed error with its hint, a filesystem error naming its path, else `what: message`. */
/** The error as the project's error type: itself, a filesystem error naming its path, or undefined. */
function knownError(e: unknown, path?: string, dir?: string): PbError | undefined {
  return e instanceof PbError ? e : fsError(e, path, 1, dir);
}

/** Append to a task log; a failed write (a full disk) is a one-line error naming the log. */
function writeLog(fd: number, path: string, text: string): void {
  try {
    writeSync(fd, text);
  } catch (e) {
    throw asFsError(e, path);
  }
}

function blankRecord(): TaskRecord {
  return { status: 'failed', key: '', outputs: {}, durationMs: 0 };
}
