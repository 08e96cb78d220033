/**
 * One build at a time per build directory, and one maker at a time per
 * shared cache entry ({@link withEntryLock}).
 *
 * The lock is a file created atomically with link(2), holding the owner's
 * pid and its start time from /proc (so a recycled pid is not mistaken for
 * the owner). A lock whose owner is gone is stale and is taken over; two
 * processes racing to take over a stale lock cannot both win, because the
 * stale file is first moved aside with rename(2).
 */
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PbError } from './errors.js';

interface LockInfo {
  readonly pid: number;
  readonly start: string;
}

export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime), counted after the ")" that ends the command name.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function readLock(path: string): LockInfo | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    return typeof v.pid === 'number' && typeof v.start === 'string' ? { pid: v.pid, start: v.start } : undefined;
  } catch {
    return undefined;
  }
}

function alive(info: LockInfo | undefined): boolean {
  return info !== undefined && processStart(info.pid) === info.start;
}

export interface LockOptions {
  /** Wait for the owner to finish (default) or fail at once. */
  readonly wait: boolean;
  /** Called once when the lock is held by a live process and we wait. */
  readonly onWait?: (message: string) => void;
  /** Called when a stale lock was removed. */
  readonly onStale?: (message: string) => void;
  readonly pollMs?: number;
  /** The lock file's name in `dir` (default `lock`). */
  readonly file?: string;
  /** What the lock guards, for the messages (default: this build directory). */
  readonly subject?: string;
}

export interface Lock {
  release(): void;
}

export async function acquireLock(dir: string, opts: LockOptions): Promise<Lock> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, opts.file ?? 'lock');
  const subject = opts.subject ?? 'this build directory';
  const me: LockInfo = { pid: process.pid, start: processStart(process.pid) ?? '0' };
  const tmp = `${path}.${process.pid}`;
  let told = false;
  try {
    // Inside the try: a failed write (a full disk) must not leave an empty temp file behind.
    writeFileSync(tmp, JSON.stringify(me));
    for (;;) {
      try {
        linkSync(tmp, path);
        return {
          release() {
            const cur = readLock(path);
            if (cur && cur.pid === me.pid && cur.start === me.start) rmSync(path, { force: true });
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = readLock(path);
      if (!alive(owner)) {
        const aside = `${path}.stale-${process.pid}`;
        try {
          renameSync(path, aside);
          rmSync(aside, { force: true });
          opts.onStale?.(`removed a stale lock ${path}${owner ? ` left by pid ${owner.pid}, which is gone` : ''}`);
        } catch {
          // Someone else moved it first; try again.
        }
        continue;
      }
      if (!owner) continue;
      if (!opts.wait) {
        throw new PbError(
          `${subject === 'this build directory' ? 'build directory' : subject} is in use by another pyston-build (pid ${owner.pid})`,
          `wait for it to finish, or stop it; the lock is ${path}`,
        );
      }
      if (!told) {
        opts.onWait?.(`waiting for another pyston-build (pid ${owner.pid}) to finish with ${subject}...`);
        told = true;
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Run `make` holding `<entry>.lock` beside a shared cache entry (the user
 * cache is shared by every project on the machine, and by the tasks of one
 * build). Two builds that need the same entry make it once: the second
 * waits, and `make` should first look whether the entry is there now. A
 * lock left by a dead process is taken over, as the build directory's is.
 */
export async function withEntryLock<T>(entry: string, onWait: (message: string) => void, make: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(dirname(entry), { wait: true, file: `${basename(entry)}.lock`, subject: entry, onWait, onStale: onWait });
  try {
    return await make();
  } finally {
    lock.release();
  }
}
