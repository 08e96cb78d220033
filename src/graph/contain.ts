/**
 * Containment: every process a task starts, and everything that process
 * starts, can be found and stopped, however it detached.
 *
 * A process group alone is not enough: a descendant that calls `setsid(2)`
 * (or `setpgid`) leaves the group, and a group kill misses it. So each child
 * also runs in a cgroup v2 of its own, a *cell*:
 *
 *     <cgroup2 mount><our cgroup>/pyston-build-<pid>-<start>.<run>/<n>
 *
 * A process cannot leave its cgroup by itself (only a writer of
 * `cgroup.procs` can move it), so a cell holds every descendant, detached
 * or not, and `cgroup.kill` (Linux >= 5.14) stops them all at once.
 *
 * How a child gets into its cell without a race: the spawn itself is
 * synchronous (fork and exec happen inside `child_process.spawn`), so the
 * engine moves *itself* into the cell, spawns (the child is born there), and
 * moves itself back, all in one synchronous stretch of JavaScript. That
 * costs two small writes per child and no extra process.
 *
 * What was measured (100 spawns of /bin/true, this machine, Node 20):
 *   plain spawn                                  1.6 ms per child
 *   cgroup cell (move self, spawn, move back,
 *     cgroup.kill, rmdir)                        1.8-2.4 ms
 *   cgroup cell via an `sh` wrapper              2.6 ms
 *   `unshare --pid --fork --kill-child`          2.8 ms
 * The jobserver's FIFO reached fds 3 and 4 in every variant.
 *
 * Why not the alternatives:
 * - A PID namespace (`unshare --pid --fork --kill-child`) kills everything
 *   when its first process dies, but that process is the namespace's init,
 *   which ignores every signal it has no handler for: a SIGTERM to a shell
 *   or a script is dropped, and `unshare` itself ignores SIGTERM while it
 *   waits, so a graceful stop never arrives and only SIGKILL works. Without
 *   a mount namespace too, `getpid()` in the child disagrees with
 *   `/proc/self`, which test suites run for PGO training check.
 * - A child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`) has no binding in
 *   Node; it would take a native addon.
 *
 * What the project's machines have (CI is the same kind): a hybrid layout,
 * cgroup v1 controllers under /sys/fs/cgroup and cgroup v2 at
 * /sys/fs/cgroup/unified, writable as root, with `cgroup.kill` (Linux 6.x).
 * The cgroup2 mount is found in /proc/self/mountinfo, so a pure v2 layout
 * (/sys/fs/cgroup itself) works the same way.
 *
 * Where it cannot work (no cgroup2 mount, or not writable: not root and no
 * delegated cgroup), {@link Containment.open} returns undefined and the
 * engine falls back to process groups: then a descendant that leaves its
 * process group is not stopped, and the README says so.
 *
 * A run killed with SIGKILL cannot clean up; the next run in the same cgroup
 * stops what is left in the cells of runs whose owner is dead and removes
 * them ({@link sweepCells}).
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStart } from './lock.js';

const PREFIX = 'pyston-build-';

/** The cgroup v2 directory this process is in, or undefined. */
export function ownCgroupDir(): string | undefined {
  let self: string | undefined;
  let mounts: string;
  try {
    self = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
    mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  if (self === undefined) return undefined;
  for (const line of mounts.split('\n')) {
    // id parent major:minor root mountpoint options ... - fstype source superoptions
    const [pre, post] = line.split(' - ');
    if (!post?.startsWith('cgroup2 ')) continue;
    const f = pre!.split(' ');
    const root = f[3]!;
    const point = f[4]!.replace(/\\040/g, ' ');
    if (root !== '/' && self !== root && !self.startsWith(`${root}/`)) continue;
    const rel = root === '/' ? self : self.slice(root.length);
    return rel === '/' || rel === '' ? point : join(point, rel);
  }
  return undefined;
}

function pidsOf(cell: string): number[] {
  try {
    return readFileSync(join(cell, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** SIGKILL everything in a cell: `cgroup.kill`, or one by one on kernels without it. */
function killCell(cell: string): void {
  try {
    writeFileSync(join(cell, 'cgroup.kill'), '1');
    return;
  } catch {
    // fall through
  }
  for (let round = 0; round < 10; round++) {
    const pids = pidsOf(cell);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Remove a cell once its processes are gone; gives up quietly after `ms`. */
async function removeCell(cell: string, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      for (const e of readdirSync(cell, { withFileTypes: true })) if (e.isDirectory()) await removeCell(join(cell, e.name), ms);
      rmdirSync(cell);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY' || Date.now() > end) return false;
      killCell(cell);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** One child's cgroup. */
export class Cell {
  constructor(readonly dir: string) {}

  /** Send `signal` to every process in the cell, detached ones included. */
  signal(signal: NodeJS.Signals): void {
    if (signal === 'SIGKILL') {
      killCell(this.dir);
      return;
    }
    for (const pid of pidsOf(this.dir)) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }

  /** Kill whatever is left and remove the cell. */
  async release(): Promise<void> {
    killCell(this.dir);
    await removeCell(this.dir);
  }
}

let runCounter = 0;

/** The cells of one run. */
export class Containment {
  private next = 0;
  private constructor(
    readonly base: string,
    private readonly home: string,
  ) {}

  /** Create this run's cgroup, or return undefined where cgroups cannot be used. */
  static open(): Containment | undefined {
    const own = ownCgroupDir();
    if (!own) return undefined;
    const base = join(own, `${PREFIX}${process.pid}-${processStart(process.pid) ?? '0'}.${++runCounter}`);
    try {
      mkdirSync(base);
    } catch {
      return undefined;
    }
    const c = new Containment(base, join(own, 'cgroup.procs'));
    // Prove that this process may move itself there and back before relying on it.
    try {
      if (!c.spawn(() => undefined).cell) throw new Error('cannot enter a cell');
      rmdirSync(join(base, '0'));
    } catch {
      // Never kill here: if moving back failed, this process is in that cell.
      for (const d of [join(base, '0'), base]) {
        try {
          rmdirSync(d);
        } catch {
          // left for a later sweep
        }
      }
      return undefined;
    }
    return c;
  }

  /**
   * Run `spawn` (a synchronous spawn) with this process inside a new cell, so
   * that the child is born there. If the cell cannot be made, the child is
   * spawned anyway, uncontained, and the cell is undefined.
   */
  spawn<T>(spawn: () => T): { result: T; cell: Cell | undefined } {
    const dir = join(this.base, String(this.next++));
    let entered = false;
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'cgroup.procs'), String(process.pid));
      entered = true;
    } catch {
      // not contained; the process group still is
    }
    try {
      return { result: spawn(), cell: entered ? new Cell(dir) : undefined };
    } finally {
      if (entered) writeFileSync(this.home, String(process.pid));
    }
  }

  /** Kill everything left in this run's cells and remove them. */
  async close(): Promise<void> {
    killCell(this.base);
    await removeCell(this.base);
  }
}

/**
 * Stop and remove the cells of earlier runs whose owner is dead (a run
 * killed with SIGKILL leaves its cells and whatever still runs in them).
 * Cells of live runs stay. Resolves with how many processes were stopped.
 */
export async function sweepCells(): Promise<number> {
  const own = ownCgroupDir();
  if (!own) return 0;
  let names: string[];
  try {
    names = readdirSync(own);
  } catch {
    return 0;
  }
  let stopped = 0;
  for (const name of names) {
    const m = /^pyston-build-(\d+)-(\d+)\.\d+$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processStart(pid) === m[2]) continue;
    const dir = join(own, name);
    stopped += countProcs(dir);
    killCell(dir);
    await removeCell(dir);
  }
  return stopped;
}

function countProcs(dir: string): number {
  let n = pidsOf(dir).length;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) n += countProcs(join(dir, e.name));
  } catch {
    // gone
  }
  return n;
}
