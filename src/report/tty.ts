/**
 * The interactive renderer (a TTY): a live task list drawn by listr2.
 *
 *     ⠼ all: 4 of 9 done, 2 running, 3 waiting (-j8)
 *       › next: dbg:install, dbg:probe, +1 more
 *     ✔ dbg:configure [4.1s]
 *     ⠼ dbg:make (input changed: Python/ceval.c) 1m12s
 *       › gcc -c Objects/listobject.c ...
 *     ✖ opt:pgo:train: exited with code 1
 *     ↓ opt:pgo:merge cancelled: dependency failed: opt:pgo:train
 *
 * What is shown: a header with the progress and the next waiting tasks,
 * then every task that runs, in plan order, from the moment it starts:
 * running (spinner, reason, elapsed time, last output line), done (with the
 * engine's duration), failed (with the message), cancelled. Up-to-date
 * tasks are not shown. Waiting tasks are counted and the next ones named in
 * the header, not listed: a cold build has hundreds, more than a screen.
 * Dependencies show in the order (plan order is topological) and in the
 * reason (`dependency rebuilt: <id>`).
 *
 * How listr2 is driven. listr2 runs task functions; the engine runs tasks.
 * Each task to run becomes a title-less (hence invisible) listr2 task whose
 * function waits for the engine's `start` (or `cancel`) and then returns one
 * titled subtask, which waits for `finish` (resolve), `fail` (reject) or
 * `cancel` (`task.skip`). Events only settle latches; listr2 reads them
 * whenever it gets there, so events may arrive before listr2 has loaded.
 * Titles and output lines are pushed to listr2 by a ticker, a few times a
 * second, not once per output line (a compiler can print thousands).
 *
 * listr2 is imported only when the plan has something to run: a no-op
 * build never loads it. While it draws, listr2 owns `out` and `err`, so
 * failure blocks and warnings are queued and printed after the last frame,
 * followed by the summary line. `close()` settles every latch (a task that
 * never started disappears; one that never ended is shown as interrupted),
 * so the listr2 run always ends.
 */
import type { ListrDefaultRenderer, ListrSimpleRenderer, ListrTask, ListrTaskWrapper } from 'listr2';

import type { BuildSummary, EngineEvent } from '../graph/events.js';
import { formatReason } from '../graph/explain.js';
import { formatFailureBlock } from './failure.js';
import { cleanLine, firstLine, flush, formatDuration, formatSummaryLine, paint, writeLines } from './format.js';
import type { Paint, PlanEvent } from './format.js';
import type { Reporter, ReporterOptions } from './reporter.js';

type Wrapper = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;
type ListrTaskSpec = ListrTask<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

/** How often titles and output lines are pushed to listr2. */
const TICK_MS = 200;
/** Waiting tasks named in the header. */
const NEXT_SHOWN = 3;

/** A promise settled from outside, at most once. */
class Latch<T> {
  readonly promise: Promise<T>;
  #resolve: ((value: T) => void) | undefined;
  #settled = false;

  constructor() {
    this.promise = new Promise<T>((resolve) => {
      this.#resolve = resolve;
    });
  }

  get settled(): boolean {
    return this.#settled;
  }

  settle(value: T): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve?.(value);
  }
}

/** How a task's wait for the engine ends. */
type Begin = { readonly kind: 'started' } | { readonly kind: 'cancelled'; readonly because: string } | { readonly kind: 'never' };

/** How a started task ends. */
type End = { readonly kind: 'finished' } | { readonly kind: 'failed'; readonly message: string } | { readonly kind: 'cancelled'; readonly because: string } | { readonly kind: 'interrupted' };

/** How the header ends. */
type HeaderEnd = 'ok' | 'failed' | 'interrupted' | 'stopped';

type Phase = 'waiting' | 'running' | 'finished' | 'failed' | 'cancelled' | 'interrupted' | 'never';

/** One planned-to-run task, as the display knows it. */
interface TaskView {
  readonly id: string;
  /** From the plan; replaced by the `start` event's. */
  reason: string;
  readonly begin: Latch<Begin>;
  readonly end: Latch<End>;
  phase: Phase;
  /** `Date.now()` at the `start` event. */
  startedAt: number | undefined;
  /** The engine's duration, once ended. */
  durationMs: number | undefined;
  /** The last output line, cleaned. */
  lastLine: string | undefined;
  /** The listr2 subtask while the task runs. */
  wrapper: Wrapper | undefined;
  /** What the ticker last pushed, to push only changes. */
  shownTitle: string | undefined;
  shownLine: string | undefined;
}

export class TtyReporter implements Reporter {
  readonly #out: NodeJS.WritableStream;
  readonly #err: NodeJS.WritableStream;
  readonly #color: boolean;
  readonly #verbose: boolean;
  readonly #renderer: 'default' | 'simple';
  readonly #p: Paint;

  readonly #views = new Map<string, TaskView>();
  /** Views in plan order. */
  #order: TaskView[] = [];
  #plan: PlanEvent | undefined;
  #interruptedBy: string | undefined;
  #summary: BuildSummary | undefined;
  #closed = false;

  readonly #header = new Latch<HeaderEnd>();
  #headerWrapper: Wrapper | undefined;
  #shownHeaderTitle: string | undefined;
  #shownHeaderLine: string | undefined;

  /** The live display, from loading listr2 to its last frame. Never rejects. */
  #display: Promise<void> | undefined;
  /** Whether a live display ran (and left its last frame on screen). */
  #displayed = false;
  #ticker: NodeJS.Timeout | undefined;
  /** An update is scheduled for the next turn of the event loop. */
  #tickSoon = false;
  /** Lines for `err`, held back while listr2 draws. */
  readonly #heldErr: string[] = [];

  constructor(opts: ReporterOptions) {
    this.#out = opts.out;
    this.#err = opts.err;
    this.#color = opts.color;
    this.#verbose = opts.verbose ?? false;
    this.#renderer = opts.listrRenderer ?? 'default';
    this.#p = paint(opts.color);
  }

  onEvent(e: EngineEvent): void {
    this.#apply(e);
    // State changes are rare next to output lines: show them now, not at
    // the next tick (a burst of events is coalesced into one update).
    if (e.type !== 'output' && e.type !== 'skip' && this.#display !== undefined && !this.#tickSoon) {
      this.#tickSoon = true;
      setImmediate(() => {
        this.#tickSoon = false;
        this.#tick();
      });
    }
  }

  #apply(e: EngineEvent): void {
    switch (e.type) {
      case 'plan':
        this.#onPlan(e);
        return;
      case 'skip':
        return;
      case 'start': {
        const v = this.#views.get(e.id);
        if (v === undefined || v.begin.settled) return;
        v.phase = 'running';
        v.reason = formatReason(e.reason);
        v.startedAt = Date.now();
        v.begin.settle({ kind: 'started' });
        return;
      }
      case 'output': {
        const v = this.#views.get(e.id);
        if (v !== undefined) v.lastLine = cleanLine(e.line, this.#color);
        return;
      }
      case 'finish': {
        const v = this.#views.get(e.id);
        if (v === undefined || v.phase !== 'running') return;
        v.phase = 'finished';
        v.durationMs = e.durationMs;
        v.end.settle({ kind: 'finished' });
        return;
      }
      case 'fail': {
        const v = this.#views.get(e.id);
        if (v !== undefined && (v.phase === 'waiting' || v.phase === 'running')) {
          v.phase = 'failed';
          v.durationMs = e.durationMs;
          v.begin.settle({ kind: 'started' });
          v.end.settle({ kind: 'failed', message: cleanLine(firstLine(e.message), this.#color) });
        }
        this.#writeErr(formatFailureBlock(e, { color: this.#color }));
        return;
      }
      case 'cancel': {
        const v = this.#views.get(e.id);
        if (v === undefined) return;
        if (v.phase === 'waiting') {
          v.phase = 'cancelled';
          v.begin.settle({ kind: 'cancelled', because: e.because });
        } else if (v.phase === 'running') {
          v.phase = 'cancelled';
          v.end.settle({ kind: 'cancelled', because: e.because });
        }
        return;
      }
      case 'interrupt':
        this.#interruptedBy = e.signal;
        return;
      case 'warning':
        this.#writeErr([`${this.#p.yellow('warning:')} ${e.message}`]);
        return;
      case 'done':
        this.#summary = e.summary;
        this.#settleAll();
        return;
      default: {
        const unknown: never = e;
        void unknown;
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#settleAll();
    if (this.#display !== undefined) await this.#display;
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#ticker = undefined;
    this.#display = undefined;

    const held = this.#heldErr.splice(0);
    // A blank line between the task list and what was held back.
    if (held.length > 0 && this.#displayed) writeLines(this.#err, ['', ...held]);
    else writeLines(this.#err, held);
    if (this.#summary !== undefined) writeLines(this.#out, [formatSummaryLine(this.#summary, this.#p)]);
    await Promise.all([flush(this.#out), flush(this.#err)]);
  }

  // -------------------------------------------------------------------------
  // Events to state

  #onPlan(e: PlanEvent): void {
    this.#plan = e;
    for (const t of e.tasks) {
      if (t.reason === undefined) continue;
      const view: TaskView = {
        id: t.id,
        reason: formatReason(t.reason),
        begin: new Latch<Begin>(),
        end: new Latch<End>(),
        phase: 'waiting',
        startedAt: undefined,
        durationMs: undefined,
        lastLine: undefined,
        wrapper: undefined,
        shownTitle: undefined,
        shownLine: undefined,
      };
      this.#views.set(t.id, view);
    }
    this.#order = [...this.#views.values()];
    if (this.#order.length > 0 && this.#display === undefined && !this.#closed) {
      this.#displayed = true;
      this.#display = this.#runDisplay().catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.#heldErr.push(`warning: the live display failed: ${message}`);
      });
    }
  }

  /** Ends every wait: the run is over (`done`) or the reporter is closing. */
  #settleAll(): void {
    for (const v of this.#order) {
      if (v.phase === 'waiting') {
        v.phase = 'never';
        v.begin.settle({ kind: 'never' });
      } else if (v.phase === 'running') {
        v.phase = 'interrupted';
        v.end.settle({ kind: 'interrupted' });
      }
    }
    const s = this.#summary;
    this.#header.settle(s === undefined ? 'stopped' : s.interrupted ? 'interrupted' : s.ok ? 'ok' : 'failed');
  }

  #writeErr(lines: readonly string[]): void {
    if (this.#display !== undefined) this.#heldErr.push(...lines);
    else writeLines(this.#err, lines);
  }

  // -------------------------------------------------------------------------
  // The listr2 display

  async #runDisplay(): Promise<void> {
    const { Listr, ListrLogger, ProcessOutput, PRESET_TIMER } = await import('listr2');

    // listr2 writes through a ProcessOutput; give it our streams. It only
    // reads `write` and (for the live renderer) terminal size from them.
    const processOutput = new ProcessOutput(this.#out as NodeJS.WriteStream, this.#err as NodeJS.WriteStream);
    const outputLines = this.#verbose ? 5 : 1;

    const timerOf = (durationMs: () => number | undefined) => ({
      ...PRESET_TIMER,
      field: (listrMs: number) => formatDuration(durationMs() ?? listrMs),
    });

    const header: ListrTaskSpec = {
      title: this.#headerTitle(),
      task: async (_ctx, task) => {
        this.#headerWrapper = task;
        this.#tick();
        const end = await this.#header.promise;
        this.#headerWrapper = undefined;
        task.output = '';
        task.title = this.#headerTitle();
        if (end === 'failed') throw new Error(task.title);
        if (end === 'interrupted' || end === 'stopped') task.skip(`${task.title} (${end})`);
      },
      rendererOptions: { outputBar: 1, timer: timerOf(() => this.#summary?.wallMs) },
      fallbackRendererOptions: { timer: timerOf(() => this.#summary?.wallMs) },
    };

    const tasks: ListrTaskSpec[] = this.#order.map((v) => ({
      task: async (_ctx, parent) => {
        const begin = await v.begin.promise;
        if (begin.kind === 'never') return;
        return parent.newListr(
          [
            {
              title: v.id,
              task: (_c, task) => this.#runTask(v, begin, task),
              rendererOptions: { outputBar: outputLines, timer: timerOf(() => v.durationMs) },
              fallbackRendererOptions: { timer: timerOf(() => v.durationMs) },
            },
          ],
          { exitOnError: false },
        );
      },
    }));

    const listr = new Listr<unknown, 'default', 'simple'>([header, ...tasks], {
      concurrent: true,
      exitOnError: false,
      // The engine owns SIGINT (it stops the children, then emits `done`);
      // listr2's own handler would exit the process with code 127.
      registerSignalListeners: false,
      renderer: 'default',
      fallbackRenderer: 'simple',
      // listr2 falls back by itself when process.stdout is not a TTY.
      fallbackRendererCondition: this.#renderer === 'simple',
      rendererOptions: {
        logger: new ListrLogger({ processOutput, useIcons: true, toStderr: [] }),
        formatOutput: 'truncate',
        collapseSubtasks: false,
        timer: PRESET_TIMER,
      },
      fallbackRendererOptions: {
        logger: new ListrLogger({ processOutput, useIcons: true }),
        timer: PRESET_TIMER,
      },
    });

    this.#ticker = setInterval(() => this.#tick(), TICK_MS);
    this.#ticker.unref();
    await listr.run();
  }

  /** The visible subtask of one engine task, from its start to its end. */
  async #runTask(v: TaskView, begin: Begin, task: Wrapper): Promise<void> {
    if (begin.kind === 'cancelled') {
      task.skip(`${v.id} cancelled: ${begin.because}`);
      return;
    }
    v.wrapper = task;
    this.#tick();
    const end = await v.end.promise;
    v.wrapper = undefined;
    task.title = v.id;
    switch (end.kind) {
      case 'finished':
        return;
      case 'failed':
        throw new Error(`${v.id}: ${end.message}`);
      case 'cancelled':
        task.skip(`${v.id} cancelled: ${end.because}`);
        return;
      case 'interrupted':
        throw new Error(`${v.id}: interrupted`);
    }
  }

  /** Pushes changed titles and output lines to listr2. */
  #tick(): void {
    const header = this.#headerWrapper;
    if (header !== undefined) {
      const title = this.#headerTitle();
      if (title !== this.#shownHeaderTitle) {
        this.#shownHeaderTitle = title;
        header.title = title;
      }
      const line = this.#nextLine();
      if (line !== this.#shownHeaderLine) {
        this.#shownHeaderLine = line;
        header.output = line;
      }
    }

    const now = Date.now();
    for (const v of this.#order) {
      const task = v.wrapper;
      if (task === undefined) continue;
      const title = `${v.id} ${this.#p.dim(`(${v.reason})`)} ${formatElapsed(now - (v.startedAt ?? now))}`;
      if (title !== v.shownTitle) {
        v.shownTitle = title;
        task.title = title;
      }
      if (v.lastLine !== undefined && v.lastLine !== v.shownLine) {
        v.shownLine = v.lastLine;
        task.output = v.lastLine;
      }
    }
  }

  /** `all: 4 of 9 done, 2 running, 1 failed, 3 waiting (-j8)` */
  #headerTitle(): string {
    const count: Record<Phase, number> = { waiting: 0, running: 0, finished: 0, failed: 0, cancelled: 0, interrupted: 0, never: 0 };
    for (const v of this.#order) count[v.phase]++;
    const parts = [`${count.finished} of ${this.#order.length} done`];
    if (count.running > 0) parts.push(`${count.running} running`);
    if (count.failed > 0) parts.push(`${count.failed} failed`);
    if (count.cancelled > 0) parts.push(`${count.cancelled} cancelled`);
    if (count.interrupted > 0) parts.push(`${count.interrupted} interrupted`);
    if (count.waiting > 0) parts.push(`${count.waiting} waiting`);
    const targets = this.#plan?.targets.join(' ') || 'build';
    const jobs = this.#plan === undefined ? '' : ` (-j${this.#plan.jobs})`;
    const stopping = this.#interruptedBy !== undefined && this.#summary === undefined ? ` - interrupted by ${this.#interruptedBy}, stopping` : '';
    return `${targets}: ${parts.join(', ')}${jobs}${stopping}`;
  }

  /** `next: a, b, +3 more`, or '' when nothing waits. */
  #nextLine(): string {
    const waiting = this.#order.filter((v) => v.phase === 'waiting');
    if (waiting.length === 0) return '';
    const shown = waiting.slice(0, NEXT_SHOWN).map((v) => v.id);
    const more = waiting.length - shown.length;
    return `next: ${shown.join(', ')}${more > 0 ? `, +${more} more` : ''}`;
  }
}

/** Elapsed time of a running task, in whole seconds: it is redrawn live. */
function formatElapsed(ms: number): string {
  return ms < 60_000 ? `${Math.floor(Math.max(ms, 0) / 1000)}s` : formatDuration(ms);
}
