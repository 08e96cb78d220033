/**
 * Output directories, checked by their directories.
 *
 * A task's declared outputs are checked on every run: a missing or changed
 * output reruns the task. A file output costs one lstat. A directory output
 * (an install tree, an unpacked source) used to cost one lstat per file
 * inside it, and its files' stat-cache entries lived in `state.json`: the
 * no-op of a Pyston checkout's whole graph (about 125,000 files in 16
 * output trees) took 2.2 s and 250 MB, most of it those lstats and the
 * 34 MB state (bench/noop.js --pyston-checkout, README "The engine's no-op").
 *
 * Now each directory output gets a *stamp* when it is digested: the time,
 * and the inode, mtime and ctime of every directory in it (an install tree
 * has one directory per 22 files). A later run lstats only those
 * directories; if none changed, the recorded digest stands without a walk.
 * Any file added, removed or renamed anywhere in the tree changes its
 * directory's mtime, so the tree is walked and digested again, and a
 * different digest reruns the task as before. A stamp is trusted only when
 * every directory was last modified more than RACY_MS before the stamp was
 * taken (the stat cache's rule for files).
 *
 * What a stamp does not see: a file rewritten in place (same name, same
 * directory) or chmod'ed. Editors that save by renaming are seen; `echo >>`
 * into an installed file is not. `pyston-build --force TASK` rebuilds such an
 * output, and `--verify-outputs` digests every output directory in full.
 * This differs from DESIGN.md ("up to date means ... every output exists
 * with its recorded digest"): a directory output is digested again only
 * when its directories say something changed, and otherwise holds the
 * digest recorded with its stamp. File outputs are digested (through the
 * stat cache) as before.
 *
 * The file-level stat cache of each tree is kept out of `state.json`, in
 * `build/.pyston-build/trees/<sha256 of the path>.json`, and read only
 * when that tree is walked. It is a cache: a missing or damaged file only
 * means the tree's files are hashed again.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { FileHasher, LSTAT_OPTS, RACY_MS, sha256, type StatEntry } from './hash.js';
import { writeFileAtomic } from './state.js';

/** The directories of one output tree when it was digested. */
export interface TreeStamp {
  /** When the directories were read (ms since the epoch). */
  readonly at: number;
  /** Directory path relative to the output ('' = the output itself) -> `ino mtimeMs ctimeMs`. */
  readonly dirs: Readonly<Record<string, string>>;
}

/** A digest, and for a directory the stamp taken with it. */
export interface OutputDigest {
  readonly digest: string | undefined;
  readonly stamp?: TreeStamp;
}

const dirId = (st: Stats): string => `${st.ino} ${st.mtimeMs} ${st.ctimeMs}`;

/** Have the stamp's directories stayed exactly as they were, and was the stamp taken safely after their last change? */
export function stampHolds(abs: string, stamp: TreeStamp | undefined): boolean {
  if (typeof stamp !== 'object' || stamp === null || typeof stamp.at !== 'number' || typeof stamp.dirs !== 'object' || stamp.dirs === null) return false;
  let any = false;
  for (const rel in stamp.dirs) {
    any = true;
    const st = lstatSync(rel === '' ? abs : join(abs, rel), LSTAT_OPTS);
    if (st === undefined || !st.isDirectory() || st.mtimeMs + RACY_MS >= stamp.at || dirId(st) !== stamp.dirs[rel]) return false;
  }
  // A stamp always holds the output itself.
  return any && Object.hasOwn(stamp.dirs, '');
}

export class OutputTrees {
  /** Side caches read or rebuilt in this process, by file name, waiting for {@link flush}. */
  private readonly pending = new Map<string, Record<string, StatEntry>>();

  constructor(
    /** `build/.pyston-build/trees` */
    private readonly dir: string,
    /** The state's hasher: files, symlinks and inputs. */
    private readonly main: FileHasher,
  ) {}

  /** Digest of one output: a directory through its own stat cache, with a stamp; anything else through the main hasher. */
  digest(abs: string, exclude?: (rel: string) => boolean): OutputDigest {
    const st = lstatSync(abs, LSTAT_OPTS);
    if (st === undefined) return { digest: undefined };
    if (!st.isDirectory()) return { digest: this.main.digestPath(abs, st, exclude) };
    const file = `${sha256(abs)}.json`;
    const [entries, migrated] = this.load(file, abs);
    const hasher = new FileHasher(entries);
    const at = Date.now();
    const dirs: Record<string, string> = { '': dirId(st) };
    const walked = hasher.walk(abs, exclude, (rel, dst) => {
      dirs[rel] = dirId(dst);
    });
    // The same lines in the same order as FileHasher.digestPath: digests recorded before stamps still match.
    const h = createHash('sha256');
    const kept: Record<string, StatEntry> = {};
    for (const [rel, d] of walked) {
      h.update(rel + '\0' + d + '\n');
      const p = join(abs, rel);
      const e = hasher.cache[p];
      if (typeof e === 'string') kept[p] = e;
    }
    if (migrated || hasher.dirty || Object.keys(kept).length !== Object.keys(entries).length) this.pending.set(file, kept);
    return { digest: h.digest('hex'), stamp: { at, dirs } };
  }

  /** Does anything wait to be written? */
  get dirty(): boolean {
    return this.pending.size > 0;
  }

  /** Write the side caches that changed. */
  flush(): void {
    for (const [file, entries] of this.pending) writeFileAtomic(join(this.dir, file), JSON.stringify(entries));
    this.pending.clear();
  }

  /**
   * The tree's side cache; on first use (a state from before side caches,
   * or a tree digested by the main hasher) the main cache's entries under
   * it, which are then dropped from the main cache.
   */
  private load(file: string, abs: string): [entries: Record<string, StatEntry>, migrated: boolean] {
    const waiting = this.pending.get(file);
    if (waiting) return [{ ...waiting }, true];
    let entries: Record<string, StatEntry> = {};
    try {
      const v = JSON.parse(readFileSync(join(this.dir, file), 'utf8')) as unknown;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) entries = v as Record<string, StatEntry>;
    } catch {
      // missing or damaged: the files are hashed again
    }
    const prefix = abs + '/';
    const main = this.main.cache;
    let migrated = false;
    for (const k in main) {
      if (!k.startsWith(prefix)) continue;
      if (!Object.hasOwn(entries, k)) entries[k] = main[k]!;
      delete main[k];
      migrated = true;
      this.main.dirty = true;
    }
    return [entries, migrated];
  }
}
