/**
 * `pyston-build clean`. Without targets: everything in the build directory.
 * With targets: the declared outputs, logs and records of their tasks.
 * Either way under the build lock, so a running build is never pulled apart,
 * and after unmounting whatever a killed package check left mounted there
 * (src/graph/mounts.ts), so the delete never walks into /proc.
 *
 * Clean never follows a symlink: a symlinked build/ is removed as a link
 * (what it points to is left alone), a symlink under it is unlinked, and a
 * declared output reached through a link leading out is refused
 * (src/graph/fsguard.ts).
 */
import { lstatSync, readdirSync, readlinkSync, rmSync, unlinkSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { PbError } from './errors.js';
import { asFsError } from './fserror.js';
import { assertOwnDir, boundaryOf, removeGuarded } from './fsguard.js';
import { acquireLock } from './lock.js';
import { unmountUnder } from './mounts.js';
import { loadState, saveState, stateDir, statePath } from './state.js';
import { logPathFor } from './engine.js';
import type { Task } from './task.js';

export interface CleanResult {
  readonly removed: number;
  /** Set when build/ was a symlink: only the link was removed, not this target. */
  readonly unlinked?: string;
}

export async function cleanBuildDir(buildDir: string, onWait: (m: string) => void, wait = true): Promise<CleanResult> {
  try {
    return await cleanBuildDirUnguarded(buildDir, onWait, wait);
  } catch (e) {
    throw asFsError(e, buildDir, 2);
  }
}

async function cleanBuildDirUnguarded(buildDir: string, onWait: (m: string) => void, wait: boolean): Promise<CleanResult> {
  const sdir = stateDir(buildDir);
  let st: import('node:fs').Stats;
  try {
    st = lstatSync(buildDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { removed: 0 };
    throw e;
  }
  if (st.isSymbolicLink()) {
    // What the link points to may be anything (another disk, another project): leave it.
    const target = readlinkSync(buildDir);
    unlinkSync(buildDir);
    return { removed: 1, unlinked: target };
  }
  if (!st.isDirectory()) throw new PbError(`${buildDir} is not a directory`, `it is not a build directory pyston-build made: move it away yourself`);
  assertOwnDir(buildDir, sdir);
  const names = readdirSync(buildDir);
  const lock = await acquireLock(sdir, { wait, onWait });
  let removed = 0;
  try {
    unmountUnder(buildDir);
    for (const n of names) {
      if (n === '.pyston-build') continue;
      removeGuarded(buildDir, join(buildDir, n));
      removed++;
    }
    for (const n of readdirSync(sdir)) {
      if (n === 'lock' || n.startsWith('lock.')) continue;
      removeGuarded(buildDir, join(sdir, n));
    }
  } finally {
    lock.release();
  }
  rmSync(buildDir, { recursive: true, force: true });
  return { removed };
}

export async function cleanTasks(root: string, buildDir: string, tasks: readonly Task[], onWait: (m: string) => void, wait = true): Promise<CleanResult> {
  try {
    return await cleanTasksUnguarded(root, buildDir, tasks, onWait, wait);
  } catch (e) {
    throw asFsError(e, buildDir, 2);
  }
}

async function cleanTasksUnguarded(root: string, buildDir: string, tasks: readonly Task[], onWait: (m: string) => void, wait: boolean): Promise<CleanResult> {
  assertOwnDir(buildDir, stateDir(buildDir));
  assertOwnDir(buildDir, join(buildDir, 'logs'));
  const lock = await acquireLock(stateDir(buildDir), { wait, onWait });
  let removed = 0;
  try {
    const { state } = loadState(statePath(buildDir));
    for (const t of tasks) {
      for (const o of t.outputs.filter((x) => !x.startsWith('!'))) {
        const p = isAbsolute(o) ? o : resolve(root, o);
        // Outside the project (a shared cache): only the path itself, never through a link.
        removeGuarded(boundaryOf(root, buildDir, p) ?? p, p);
        removed++;
      }
      removeGuarded(buildDir, logPathFor(buildDir, t.id));
      delete state.tasks[t.id];
    }
    saveState(statePath(buildDir), state);
  } finally {
    lock.release();
  }
  return { removed };
}
