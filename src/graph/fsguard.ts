/**
 * Writing and deleting under the build directory without following a
 * symlink out of it.
 *
 * The rule: pyston-build never writes or deletes through a symlink that
 * leads outside the directory it owns (the build directory for paths under
 * it, the project root for the project's own outputs such as the
 * `pyston3` links). A declared output that is itself a symlink is removed
 * as a link: whatever it points to is left alone. A symlinked directory on
 * the way to an output that leads outside is refused with one line naming
 * the link. The build directory itself may be a symlink (to a bigger disk,
 * say): the build then lives in its target, and `clean` removes the link,
 * never the target's contents.
 *
 * Every filesystem error here is a one-line {@link PbError} naming the path.
 */
import { lstatSync, openSync, constants, readlinkSync, realpathSync, rmSync, unlinkSync, type Stats } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { PbError } from './errors.js';
import { asFsError, shortPath } from './fserror.js';
import { unmountUnder } from './mounts.js';

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** `child` is `dir` or inside it (both absolute, normalized). */
export function isWithin(dir: string, child: string): boolean {
  const r = relative(dir, child);
  return r === '' || (r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r));
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** The directory that bounds `abs`: the build directory for what is under it, else the root. `undefined` = outside both. */
export function boundaryOf(root: string, buildDir: string, abs: string): string | undefined {
  if (isWithin(buildDir, abs)) return buildDir;
  if (isWithin(root, abs)) return root;
  return undefined;
}

/**
 * Check that every directory between `boundary` (exclusive) and `abs`
 * (exclusive) that is a symlink still leads inside the boundary's real
 * path. Throws a one-line error naming the first link that leads out.
 */
export function assertNoEscape(boundary: string, abs: string): void {
  const realBoundary = realOrSelf(boundary);
  if (!isWithin(boundary, abs) || abs === boundary) return;
  const rel = relative(boundary, abs);
  const parts = rel.split(sep);
  let cur = boundary;
  for (const part of parts.slice(0, -1)) {
    cur = resolve(cur, part);
    const st = lstatOrUndefined(cur);
    if (!st) return;
    if (!st.isSymbolicLink()) continue;
    const real = realOrSelf(cur);
    if (!isWithin(realBoundary, real)) throw escapeError(cur, boundary);
  }
}

function escapeError(link: string, boundary: string): PbError {
  let to = '?';
  try {
    to = readlinkSync(link);
  } catch {
    // gone meanwhile
  }
  return new PbError(
    `${shortPath(link)} is a symlink to ${shortPath(to)}, outside ${shortPath(boundary)}: pyston-build does not write or delete through it`,
    `remove the link: rm '${link}', then run again`,
    1,
  );
}

/**
 * Remove `abs` (a file, a directory tree or a symlink) without following a
 * symlink out of `boundary`: a symlink is unlinked itself, a directory is
 * removed after unmounting whatever a killed run left mounted in it (a
 * recursive delete never follows the symlinks it meets).
 */
export function removeGuarded(boundary: string, abs: string): boolean {
  assertNoEscape(boundary, abs);
  const st = lstatOrUndefined(abs);
  if (!st) return false;
  try {
    if (st.isDirectory()) {
      unmountUnder(abs);
      rmSync(abs, { recursive: true, force: true });
    } else {
      unlinkSync(abs);
    }
  } catch (e) {
    throw asFsError(e, abs);
  }
  return true;
}

/**
 * Outputs (absolute) that more than one task declares, or that lie inside
 * another task's output or contain one: whose they are is not clear (gcc's
 * PGO profile directory is written by the training and declared again as
 * the merge's result), so no task's rerun removes them.
 */
export function sharedOutputs(root: string, tasks: Iterable<{ readonly id: string; readonly outputs: readonly string[] }>): Set<string> {
  const all: { id: string; abs: string }[] = [];
  for (const t of tasks) for (const o of t.outputs) if (!o.startsWith('!')) all.push({ id: t.id, abs: resolve(root, o) });
  const shared = new Set<string>();
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const a = all[i]!;
      const b = all[j]!;
      if (a.id !== b.id && (isWithin(a.abs, b.abs) || isWithin(b.abs, a.abs))) {
        shared.add(a.abs);
        shared.add(b.abs);
      }
    }
  }
  return shared;
}

/**
 * Before a task reruns: remove its declared outputs that lie under the
 * build directory, so a stale or hand-edited output cannot survive the
 * rerun (make keeps a file that is newer than its sources). `!` entries are
 * digest exclusions, not paths. Outputs elsewhere (the project's links, a
 * shared download cache keyed by content) are the task's own business, and
 * so are outputs in `shared` (see {@link sharedOutputs}).
 * Returns the outputs removed, relative as declared.
 */
export function removeStaleOutputs(root: string, buildDir: string, outputs: readonly string[], shared: ReadonlySet<string> = new Set()): string[] {
  const removed: string[] = [];
  for (const o of outputs) {
    if (o.startsWith('!')) continue;
    const abs = resolve(root, o);
    if (abs === buildDir || !isWithin(buildDir, abs) || shared.has(abs)) continue;
    if (removeGuarded(buildDir, abs)) removed.push(o);
  }
  return removed;
}

/**
 * A directory the engine writes into (the logs, the state): it must not be
 * a symlink leading out of the build directory. Call before creating it.
 */
export function assertOwnDir(buildDir: string, dir: string): void {
  assertNoEscape(buildDir, resolve(dir, 'x'));
}

/**
 * Open `path` for writing as a new file: an existing file or symlink there
 * is removed first, and the open does not follow a symlink created in
 * between (O_NOFOLLOW).
 */
export function openFresh(boundary: string, path: string, mode = 0o644): number {
  assertNoEscape(boundary, path);
  try {
    const st = lstatOrUndefined(path);
    if (st && !st.isDirectory()) unlinkSync(path);
    return openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  } catch (e) {
    throw asFsError(e, path);
  }
}

/**
 * A project directory the builds cannot use. Spaces, quotes and most other
 * characters work (the builds pass paths as arguments, and make gets
 * relative source paths), but make expands every `$` in a variable's value,
 * so a `$` in the path reaches a sub-build as a different path.
 */
export function projectPathProblem(root: string): PbError | undefined {
  if (!root.includes('$')) return undefined;
  return new PbError(`the project path ${shortPath(root)} contains '$', which make expands: the sub-builds would use a different path`, "move or link the project to a path without '$' and run there");
}
