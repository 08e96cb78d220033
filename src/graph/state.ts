/**
 * The build state under `build/.pyston-build/`.
 *
 * `state.json` holds what every run needs: per task its status, key, output
 * digests and duration; the stat cache; the tool cache. `explain.json` holds
 * what only an explanation needs: each task's per-component digests, so a
 * changed key can be traced to the input that changed. It is read lazily,
 * only when some key changed, which keeps a no-op run fast.
 *
 * One file, written atomically: temp file, fsync, rename, fsync of the
 * directory. A crash or a kill at any moment leaves either the old file or
 * the new one. The first line carries a sha256 of the body, so a truncated
 * or damaged file is detected; a state that cannot be read is reported in
 * one line and treated as "nothing built", never a crash.
 */
import { chmodSync, closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { constants } from 'node:buffer';
import { sha256, type StatEntry } from './hash.js';
import type { TreeStamp } from './outtree.js';
import { errorMessage, PbError } from './errors.js';

export const STATE_FORMAT = 2;
/** Larger than any real state (a big tree's stat cache is tens of MB) and below V8's longest string. */
const MAX_STATE_BYTES = Math.min(256 * 1024 * 1024, constants.MAX_STRING_LENGTH);
const MAGIC = 'pyston-build-state';

/** What the engine remembers about one task. */
export interface TaskRecord {
  /** `ok` records are the only ones that can make a task up to date. */
  readonly status: 'ok' | 'failed' | 'interrupted' | 'running';
  readonly key: string;
  /** Output path -> digest at the end of the successful run. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Directory outputs: path -> the stamp taken with its digest (outtree.ts); checked field by field where it is used. */
  readonly trees?: Readonly<Record<string, TreeStamp>>;
  readonly durationMs: number;
}

/** The components of a task's key when it last succeeded, for `--explain`. */
export interface TaskDetails {
  readonly key: string;
  readonly def: string;
  readonly files: Readonly<Record<string, string>>;
  readonly config: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
  readonly tools: Readonly<Record<string, string>>;
  readonly deps: Readonly<Record<string, string>>;
  readonly upstream: Readonly<Record<string, string>>;
}

/** A resolved tool, cached by the identity of its executable. */
export interface ToolCacheEntry {
  readonly stat: string;
  readonly version: string;
  readonly digest: string;
}

export interface StateData {
  tasks: Record<string, TaskRecord>;
  stat: Record<string, StatEntry>;
  tools: Record<string, ToolCacheEntry>;
}

export function emptyState(): StateData {
  return { tasks: {}, stat: {}, tools: {} };
}

export function stateDir(buildDir: string): string {
  return join(buildDir, '.pyston-build');
}

/** Where the output trees' own stat caches live (outtree.ts). */
export function treesDir(buildDir: string): string {
  return join(stateDir(buildDir), 'trees');
}

export function statePath(buildDir: string): string {
  return join(stateDir(buildDir), 'state.json');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validTask(r: unknown): r is TaskRecord {
  if (!isRecord(r)) return false;
  if (!['ok', 'failed', 'interrupted', 'running'].includes(r.status as string)) return false;
  return typeof r.key === 'string' && typeof r.durationMs === 'number' && isRecord(r.outputs) && (r.trees === undefined || isRecord(r.trees));
}

function validDetails(d: unknown): d is TaskDetails {
  if (!isRecord(d) || typeof d.key !== 'string' || typeof d.def !== 'string') return false;
  for (const k of ['files', 'config', 'env', 'tools', 'deps', 'upstream']) if (!isRecord(d[k])) return false;
  return true;
}

export function detailsPath(buildDir: string): string {
  return join(stateDir(buildDir), 'explain.json');
}

/**
 * The lazily read `explain.json`. An entry counts only for the key it was
 * recorded with; a missing, stale or damaged entry makes a reason less
 * specific (\`inputs changed\`), nothing else.
 */
export class DetailsStore {
  private data: Record<string, TaskDetails> | undefined;
  private dirty = false;
  constructor(private readonly path: string) {}

  private load(): Record<string, TaskDetails> {
    if (this.data) return this.data;
    try {
      const st = statSync(this.path);
      if (!st.isFile() || st.size > MAX_STATE_BYTES) throw new Error('not a regular file of a sane size');
      const v = JSON.parse(readFileSync(this.path, 'utf8')) as unknown;
      this.data = isRecord(v) ? (v as Record<string, TaskDetails>) : {};
    } catch {
      this.data = {};
    }
    return this.data;
  }

  /** The details recorded for `id` with exactly this key. */
  get(id: string, key: string): TaskDetails | undefined {
    const d = this.load()[id];
    return validDetails(d) && d.key === key ? d : undefined;
  }

  set(id: string, details: TaskDetails): void {
    this.load()[id] = details;
    this.dirty = true;
  }

  /** Write if anything changed. Written before state.json, so a crash in between leaves only stale, ignored entries. */
  save(): void {
    if (!this.dirty || !this.data) return;
    writeFileAtomic(this.path, JSON.stringify(this.data));
    this.dirty = false;
  }
}

/**
 * Load the state. Returns an empty state and a one-line `problem` when the
 * file is corrupt, unreadable or from another format version. A missing file
 * is not a problem: it is a first build.
 */
export function loadState(path: string): { state: StateData; problem?: string } {
  const bad = (why: string) => ({ state: emptyState(), problem: `build state ${path} is corrupt (${why}); treating every task as not built` });
  let raw: Buffer;
  try {
    // Not even read when it is larger than any state this tool writes (or than a string can be).
    const st = statSync(path);
    if (!st.isFile()) return bad('not a regular file');
    const size = st.size;
    if (size > MAX_STATE_BYTES) return bad(`${size} bytes, more than the ${MAX_STATE_BYTES} a state can have`);
    raw = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyState() };
    return { state: emptyState(), problem: `cannot read build state ${path} (${errorMessage(e)}); rebuilding from scratch` };
  }
  const nl = raw.indexOf(0x0a);
  if (nl < 0) return bad('no header');
  const header = raw.toString('latin1', 0, Math.min(nl, 200)).split(' ');
  if (header[0] !== MAGIC || header.length !== 3) return bad('bad header');
  if (header[1] !== String(STATE_FORMAT)) {
    return { state: emptyState(), problem: `build state ${path} has format ${header[1]}, this pyston-build uses ${STATE_FORMAT}; rebuilding from scratch` };
  }
  // The checksum covers the body's bytes: hashing them before decoding saves
  // encoding the text back to UTF-8 (a no-op build reads megabytes here).
  if (sha256(raw.subarray(nl + 1)) !== header[2]) return bad('checksum mismatch');
  let data: unknown;
  try {
    data = JSON.parse(raw.toString('utf8', nl + 1));
  } catch (e) {
    return bad(errorMessage(e));
  }
  if (!isRecord(data) || !isRecord(data.tasks) || !isRecord(data.stat) || !isRecord(data.tools)) return bad('unexpected structure');
  for (const [id, rec] of Object.entries(data.tasks)) if (!validTask(rec)) return bad(`bad record for task ${id}`);
  return { state: data as unknown as StateData };
}

/** Remove the temp file of a failed atomic write and say, in one line, why it failed. */
function writeFailure(path: string, tmp: string, e: unknown): PbError {
  try {
    rmSync(tmp, { force: true });
  } catch {
    // nothing was created
  }
  const code = (e as NodeJS.ErrnoException).code;
  const hint = code === 'ENOSPC' ? 'free some disk space and run again; finished tasks are kept' : code === 'EACCES' || code === 'EROFS' ? `make ${dirname(path)} writable` : undefined;
  return new PbError(`cannot write ${path}: ${code === 'ENOSPC' ? 'no space left on device' : errorMessage(e)}`, hint, 1);
}

/**
 * Copy `from` to `to` through a temp file and a rename, so that a reader
 * never sees half a file; `mode` sets the copy's permission bits. Leaves no
 * temp file behind on failure.
 */
export function copyFileAtomic(from: string, to: string, mode?: number): void {
  const tmp = `${to}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, tmp);
    if (mode !== undefined) chmodSync(tmp, mode);
    renameSync(tmp, to);
  } catch (e) {
    throw writeFailure(to, tmp, e);
  }
}

/** Write `contents` to `path` atomically and durably. Leaves no temp file behind on failure. */
export function writeFileAtomic(path: string, contents: string | Buffer): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(tmp, 'w', 0o644);
    try {
      const data = typeof contents === 'string' ? Buffer.from(contents) : contents;
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    throw writeFailure(path, tmp, e);
  }
  try {
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Directory fsync is best effort (not supported on every filesystem).
  }
}

export function saveState(path: string, state: StateData): void {
  const body = JSON.stringify(state);
  writeFileAtomic(path, `${MAGIC} ${STATE_FORMAT} ${sha256(body)}\n${body}`);
}
