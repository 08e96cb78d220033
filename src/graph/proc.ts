/**
 * The one module that starts processes.
 *
 * - Commands are argument arrays, never shell strings.
 * - Each child leads its own process group (it is started detached), so an
 *   interrupt reaches the whole sub-build, and nothing it leaves behind
 *   survives: when the leader exits, stragglers in its group are killed.
 * - stdout and stderr are streamed into the task's log file as they come,
 *   never buffered whole in memory; only the last line is kept for the tail.
 * - Jobserver clients inherit the FIFO as fds 3 and 4.
 *
 * This uses `node:child_process` rather than execa: execa only accepts the
 * integers 0-2 as stdio descriptors, and the jobserver's `R,W` form needs
 * the FIFO inherited as fds 3 and 4.
 */
import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import { basename } from 'node:path';
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
  readonly done: Promise<unknown>;
}

function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export class ProcessManager {
  private readonly live = new Set<Live>();

  get running(): number {
    return this.live.size;
  }

  /** Run a command to completion. Rejects with {@link TaskFailure} unless it exits 0. */
  async run(req: SpawnRequest): Promise<void> {
    const header = `$ ${[req.file, ...req.args].map(quoteForLog).join(' ')}\n`;
    writeSync(req.logFd, header);
    const name = basename(req.file);
    const child = spawn(req.file, [...req.args], {
      cwd: req.cwd,
      env: { ...req.env },
      detached: true,
      stdio: [req.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe', ...(req.extraFds ?? [])],
    });
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
        if (pid !== undefined) killGroup(pid, 'SIGKILL');
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
    // When the leader exits, nothing else of its group may live on (and keep our pipes open).
    child.on('exit', () => {
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
    });
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: NodeJS.ErrnoException }>((resolve) => {
      child.on('error', (error: NodeJS.ErrnoException) => resolve({ code: null, signal: null, error }));
      child.on('close', (code, signal) => resolve({ code, signal }));
    });
    const entry: Live | undefined = pid !== undefined ? { pid, done } : undefined;
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
          killGroup(pid, 'SIGTERM');
          timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), 3000));
        }, req.timeoutMs),
      );
    }
    try {
      const r = await done;
      if (writeError !== undefined) throw writeError;
      if (timedOut) throw new TaskFailure(`${name} timed out after ${req.timeoutMs! / 1000} s`, 'it may hang: see its log; raise the timeout if it is just slow', { kind: 'timeout', command: name, ms: req.timeoutMs! });
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
      if (entry) this.live.delete(entry);
    }
  }

  /**
   * Stop everything: SIGTERM to every process group, SIGKILL after
   * `graceMs` to whatever is left, then wait until all have exited.
   */
  async killAll(graceMs: number): Promise<void> {
    const all = [...this.live];
    for (const p of all) killGroup(p.pid, 'SIGTERM');
    const settled = Promise.all(all.map((p) => p.done));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
    const first = await Promise.race([settled.then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    if (first === 'timeout') for (const p of all) killGroup(p.pid, 'SIGKILL');
    await settled;
  }

  /** Immediate SIGKILL to every group (second Ctrl-C). */
  killAllNow(): void {
    for (const p of this.live) killGroup(p.pid, 'SIGKILL');
  }
}

/** Quote an argument for the human-readable command line written to logs. Never executed. */
function quoteForLog(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}
