/**
 * The one module that starts processes.
 *
 * - Commands are argument arrays, never shell strings.
 * - Each child leads its own process group (it is started detached), so an
 *   interrupt reaches the whole sub-build, and nothing it leaves behind
 *   survives: when the leader exits, stragglers in its group are killed.
 * - Each child also runs in a cgroup of its own where the machine allows it
 *   (root, cgroup v2: see contain.ts for the choice, its cost and the
 *   alternatives measured), so descendants that left the process group
 *   with `setsid` are signalled and killed with it. Without a cgroup, such
 *   a descendant is not stopped; a task whose leader exited is then ended
 *   2 s later even if that descendant still holds its output open.
 * - stdout and stderr are streamed into the task's log file as they come,
 *   never buffered whole in memory; only the last line is kept for the tail.
 * - Jobserver clients inherit the FIFO as fds 3 and 4.
 *
 * Children are spawned with execa. An earlier note here said execa could
 * not pass the jobserver's FIFO as fds 3 and 4; that is not so for execa 9:
 * an integer in `stdio[3]`/`stdio[4]` is handed to the child as that very
 * descriptor (checked: a child's /proc/self/fd/3 and 4 point at the FIFO,
 * and `make` with `--jobserver-auth=3,4` runs parallel jobs without a
 * jobserver warning). Used as a spawner only: `buffer: false` (the output
 * streams to the log here, never into memory), `reject: false` and the
 * ChildProcess events (exit status, spawn errors), `extendEnv: false` (the
 * environment is exactly `env`), `detached: true` (a process group; execa's
 * own cleanup-on-exit does not apply to detached children). Groups, cells and
 * timeouts stay ours. execa is imported on the first spawn, so a no-op
 * build never loads it (about 75 ms); a spawn through execa cost about
 * 1 ms more than through `child_process.spawn` (100 spawns of /bin/true).
 */
import type { ChildProcess } from 'node:child_process';
import { writeSync } from 'node:fs';
import { basename } from 'node:path';
import { type Cell, Containment } from './contain.js';
import { TaskFailure } from './errors.js';

export interface SpawnRequest {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** The complete environment of the child (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
  /** Log file descriptor that receives stdout and stderr. */
  readonly logFd: number;
  /** Called with complete output lines (for live tails). */
  readonly onLine?: (line: string) => void;
  /** Extra descriptors passed as fds 3, 4, ... */
  readonly extraFds?: readonly number[];
  readonly input?: string;
  /** Kill the process group (SIGTERM, then SIGKILL 3 s later) after this long, and fail. */
  readonly timeoutMs?: number;
}

interface Live {
  readonly pid: number;
  /** The child's cgroup, when the machine allows one (see contain.ts). */
  readonly cell: Cell | undefined;
  readonly done: Promise<unknown>;
}

let execaModule: Promise<typeof import('execa')> | undefined;

/** How long a child's output may stay open after it exited, when it has no cell to kill. */
const CLOSE_GRACE_MS = 2000;

function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Signal a child's process group and, through its cell, every descendant that left the group. */
function stop(p: { readonly pid: number; readonly cell: Cell | undefined }, signal: NodeJS.Signals): void {
  killGroup(p.pid, signal);
  p.cell?.signal(signal);
}

export class ProcessManager {
  private readonly live = new Set<Live>();
  /** `null` until the first spawn; `undefined` where cgroups cannot be used. */
  private containment: Containment | undefined | null = null;
  /** Set by killAll/killAllNow: nothing new starts. */
  private stopping = false;

  get running(): number {
    return this.live.size;
  }

  /** Run a command to completion. Rejects with {@link TaskFailure} unless it exits 0. */
  async run(req: SpawnRequest): Promise<void> {
    const header = `$ ${[req.file, ...req.args].map(quoteForLog).join(' ')}\n`;
    writeSync(req.logFd, header);
    const name = basename(req.file);
    if (this.containment === null) this.containment = Containment.open();
    execaModule ??= import('execa');
    const { execa } = await execaModule;
    // An interrupt may have come while execa loaded: then this child must not start at all.
    if (this.stopping) throw new TaskFailure(`${name} was not started: the build is stopping`);
    // Synchronous from here to the spawn: the child must be born inside its cell (contain.ts).
    const start = (): ChildProcess =>
      execa(req.file, [...req.args], {
        cwd: req.cwd,
        env: { ...req.env },
        extendEnv: false,
        detached: true,
        cleanup: false,
        buffer: false,
        reject: false,
        // execa's types list only the literals 3-9 for a descriptor in stdio[3+]; at run time
        // any open descriptor is passed through as is (checked, see above).
        stdio: [req.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe', ...((req.extraFds ?? []) as 3[])],
      });
    const { result: child, cell } = this.containment ? this.containment.spawn(start) : { result: start(), cell: undefined };
    const pid = child.pid;
    let partial = '';
    // A failed log write (a full disk) stops the child and fails the run with that error.
    let writeError: unknown;
    const onData = (chunk: Buffer): void => {
      if (writeError !== undefined) return;
      try {
        writeSync(req.logFd, chunk);
      } catch (e) {
        writeError = e;
        if (pid !== undefined) stop({ pid, cell }, 'SIGKILL');
        return;
      }
      if (!req.onLine) return;
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      if (partial.length > 4096) partial = partial.slice(-4096);
      let last: string | undefined;
      for (let i = lines.length - 1; i >= 0 && last === undefined; i--) if (lines[i]!.trim() !== '') last = lines[i];
      if (last !== undefined) req.onLine(last);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    if (req.input !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(req.input);
    }
    let closeTimer: NodeJS.Timeout | undefined;
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: NodeJS.ErrnoException }>((resolve) => {
      child.on('error', (error: NodeJS.ErrnoException) => resolve({ code: null, signal: null, error }));
      child.on('close', (code, signal) => resolve({ code, signal }));
      // When the leader exits, nothing it started may live on (and keep our pipes open).
      child.on('exit', (code, signal) => {
        if (pid !== undefined) stop({ pid, cell }, 'SIGKILL');
        if (cell) return;
        // Without a cell, a descendant that left the group can hold the pipes open for ever:
        // stop reading them after a grace period, and say so in the log.
        closeTimer = setTimeout(() => {
          try {
            writeSync(req.logFd, `# ${name} exited, but a process it started still holds its output open: it left its process group and was not stopped\n`);
          } catch {
            // a full disk: the log is best effort here
          }
          child.stdout!.destroy();
          child.stderr!.destroy();
          resolve({ code, signal });
        }, CLOSE_GRACE_MS);
      });
    });
    const entry: Live | undefined = pid !== undefined ? { pid, cell, done } : undefined;
    if (entry) this.live.add(entry);
    let timedOut = false;
    const timers: NodeJS.Timeout[] = [];
    if (req.timeoutMs !== undefined && pid !== undefined) {
      timers.push(
        setTimeout(() => {
          timedOut = true;
          try {
            writeSync(req.logFd, `# timed out after ${req.timeoutMs! / 1000} s: stopping ${name}\n`);
          } catch {
            // a full disk: the failure says it timed out
          }
          stop({ pid, cell }, 'SIGTERM');
          timers.push(setTimeout(() => stop({ pid, cell }, 'SIGKILL'), 3000));
        }, req.timeoutMs),
      );
    }
    try {
      const r = await done;
      if (writeError !== undefined) throw writeError;
      if (timedOut)
        throw new TaskFailure(`${name} timed out after ${req.timeoutMs! / 1000} s`, 'it may hang: see its log; raise the timeout if it is just slow', {
          kind: 'timeout',
          command: name,
          ms: req.timeoutMs!,
        });
      if (partial.trim() !== '' && req.onLine) req.onLine(partial);
      if (r.error) {
        const spawnFailed = { kind: 'spawn', command: name, code: r.error.code ?? 'unknown' } as const;
        if (r.error.code === 'ENOENT') throw new TaskFailure(`command not found: ${req.file}`, `install ${name} or declare it as a tool of the task`, spawnFailed);
        throw new TaskFailure(`cannot start ${name}: ${r.error.message}`, undefined, spawnFailed);
      }
      if (r.signal) throw new TaskFailure(`${name} was killed by ${r.signal}`, undefined, { kind: 'signal', command: name, signal: r.signal });
      if (r.code !== 0) throw new TaskFailure(`${name} exited with status ${r.code ?? 'unknown'}`, undefined, { kind: 'exit', command: name, code: r.code ?? -1 });
    } finally {
      for (const t of timers) clearTimeout(t);
      clearTimeout(closeTimer);
      if (entry) this.live.delete(entry);
      await cell?.release();
    }
  }

  /**
   * Stop everything: SIGTERM to every process group, SIGKILL after
   * `graceMs` to whatever is left, then wait until all have exited.
   */
  async killAll(graceMs: number): Promise<void> {
    this.stopping = true;
    const all = [...this.live];
    for (const p of all) stop(p, 'SIGTERM');
    const settled = Promise.all(all.map((p) => p.done));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
    const first = await Promise.race([settled.then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    if (first === 'timeout') for (const p of all) stop(p, 'SIGKILL');
    await settled;
  }

  /** Immediate SIGKILL to every group (second Ctrl-C). */
  killAllNow(): void {
    this.stopping = true;
    for (const p of this.live) stop(p, 'SIGKILL');
  }

  /** After the last child: kill whatever is left in this run's cells and remove them. */
  async close(): Promise<void> {
    const c = this.containment;
    this.containment = null;
    await c?.close();
  }
}

/** Quote an argument for the human-readable command line written to logs. Never executed. */
function quoteForLog(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}
