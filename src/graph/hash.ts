/**
 * Content digests with a stat cache.
 *
 * A file's digest is the sha256 of its bytes, never its mtime. The stat
 * cache maps (dev, inode, size, mtime, ctime) to a digest so that an
 * unchanged file costs one stat. An entry is trusted only if the file's
 * mtime was safely older than the moment it was hashed ("racy" entries, as
 * git calls them, are rehashed): a write in the same clock tick as the hash
 * would otherwise go unseen.
 */
import { closeSync, openSync, readSync, readdirSync, readlinkSync, statSync, lstatSync, type Stats } from 'node:fs';
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/**
 * `dev ino size mtimeMs ctimeMs hashedAtMs digest` as one string: the state
 * holds one per file, and one string parses far faster than an array.
 * The times are the float milliseconds of a plain (not bigint) stat: a
 * bigint stat costs a third more per file, and a no-op build stats every
 * input. A float millisecond near today resolves about 0.25 µs, finer than
 * the kernel's timestamp clock ticks, so it tells writes apart as well as
 * nanoseconds would here.
 */
export type StatEntry = string;

/** Shared stat options: one object instead of one per call on the hot path. */
export const LSTAT_OPTS = { throwIfNoEntry: false } as const;

/** A modification within this many ms of hashing is not trusted from the cache. */
export const RACY_MS = 100;

// crypto.hash (Node >= 20.12) is a one-shot digest without a Hash object: several times cheaper for short inputs.
const oneShot = (crypto as { hash?: (alg: string, data: string | Buffer, enc: 'hex') => string }).hash;

export function sha256(data: string | Buffer): string {
  return oneShot ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}

const buf = Buffer.allocUnsafe(1 << 20);

function hashFileContents(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

export class FileHasher {
  /**
   * Entries keyed by absolute path. A plain object, not a Map: the state's
   * parsed `stat` object is used as it is, which saves copying 10,000s of
   * entries on every run. Every key is an absolute path, so no key can be
   * `__proto__`; a value that is not a string is ignored where it is read.
   */
  readonly cache: Record<string, StatEntry>;
  /** True when an entry was added or replaced (the state should be saved). */
  dirty = false;
  /** Files actually read and hashed in this process (for tests and the bench). */
  hashed = 0;

  constructor(entries?: Record<string, StatEntry>) {
    this.cache = entries ?? {};
  }

  /**
   * Digest of a regular file, `undefined` if it does not exist.
   * Directories are hashed as trees via {@link digestPath}.
   */
  digestFile(abs: string, st?: Stats): string | undefined {
    if (!st) {
      try {
        st = statSync(abs);
      } catch {
        return undefined;
      }
    }
    // A FIFO, socket or device is never opened (a read could block forever or never end): its kind is its digest.
    if (st.isFIFO() || st.isSocket() || st.isCharacterDevice() || st.isBlockDevice()) return sha256(`special\0${st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : `device ${st.rdev}`}`);
    const id = `${st.dev} ${st.ino} ${st.size} ${st.mtimeMs} ${st.ctimeMs} `;
    const hit = this.cache[abs];
    if (typeof hit === 'string' && hit.startsWith(id)) {
      const sp = hit.indexOf(' ', id.length);
      if (sp > 0 && st.mtimeMs + RACY_MS < Number(hit.slice(id.length, sp))) return hit.slice(sp + 1);
    }
    const hashedAt = Date.now();
    const digest = hashFileContents(abs);
    this.hashed++;
    this.cache[abs] = `${id}${hashedAt} ${digest}`;
    this.dirty = true;
    return digest;
  }

  /**
   * Digest of a file, a symlink (its target text) or a directory tree
   * (sorted relative paths, executable bits and file digests).
   * `undefined` if nothing is there.
   */
  digestPath(abs: string, lst?: Stats, exclude?: (rel: string) => boolean): string | undefined {
    let st: Stats;
    if (lst) st = lst;
    else {
      const got = lstatSync(abs, LSTAT_OPTS);
      if (got === undefined) return undefined;
      st = got;
    }
    if (st.isSymbolicLink()) return sha256('symlink\0' + readlinkSync(abs));
    if (st.isDirectory()) {
      const h = createHash('sha256');
      for (const [rel, d] of this.walk(abs, exclude)) h.update(rel + '\0' + d + '\n');
      return h.digest('hex');
    }
    const d = this.digestFile(abs, st);
    return d === undefined ? undefined : ((st.mode & 0o111) !== 0 ? 'x' : '') + d;
  }

  /**
   * Every entry under a directory as [relative path, digest], sorted by path.
   * `onDir` sees each directory below `dir` (relative path, lstat) as it is entered.
   */
  walk(dir: string, exclude?: (rel: string) => boolean, onDir?: (rel: string, st: Stats) => void): [string, string][] {
    const out: [string, string][] = [];
    const visit = (abs: string, rel: string): void => {
      const names = readdirSync(abs).sort();
      for (const name of names) {
        const a = join(abs, name);
        const r = rel ? `${rel}/${name}` : name;
        if (exclude?.(r)) continue;
        const st = lstatSync(a);
        if (st.isDirectory()) {
          out.push([r + '/', 'dir']);
          onDir?.(r, st);
          visit(a, r);
        } else if (st.isSymbolicLink()) {
          out.push([r, 'symlink:' + readlinkSync(a)]);
        } else if (st.isFile()) {
          out.push([r, ((st.mode & 0o111) !== 0 ? 'x' : '') + this.digestFile(a, st)]);
        }
      }
    };
    visit(dir, '');
    return out;
  }

  /** Drop entries for paths under `prefix` (after `clean`). */
  forgetUnder(prefix: string): void {
    for (const k of Object.keys(this.cache)) if (k === prefix || k.startsWith(prefix + '/')) delete this.cache[k];
    this.dirty = true;
  }
}
