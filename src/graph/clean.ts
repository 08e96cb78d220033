/**
 * `pyston-build clean`. Without targets: everything in the build directory.
 * With targets: the declared outputs, logs and records of their tasks.
 * Either way under the build lock, so a running build is never pulled apart,
 * and after unmounting whatever a killed package check left mounted there
 * (src/graph/mounts.ts), so the delete never walks into /proc.
 */
import { readdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { acquireLock } from './lock.js';
import { unmountUnder } from './mounts.js';
import { loadState, saveState, stateDir, statePath } from './state.js';
import { logPathFor } from './engine.js';
import type { Task } from './task.js';

export interface CleanResult {
  readonly removed: number;
}

export async function cleanBuildDir(buildDir: string, onWait: (m: string) => void, wait = true): Promise<CleanResult> {
  const sdir = stateDir(buildDir);
  let names: string[];
  try {
    names = readdirSync(buildDir);
  } catch {
    return { removed: 0 };
  }
  const lock = await acquireLock(sdir, { wait, onWait });
  let removed = 0;
  try {
    unmountUnder(buildDir);
    for (const n of names) {
      if (n === '.pyston-build') continue;
      rmSync(join(buildDir, n), { recursive: true, force: true });
      removed++;
    }
    for (const n of readdirSync(sdir)) {
      if (n === 'lock' || n.startsWith('lock.')) continue;
      rmSync(join(sdir, n), { recursive: true, force: true });
    }
  } finally {
    lock.release();
  }
  rmSync(buildDir, { recursive: true, force: true });
  return { removed };
}

export async function cleanTasks(root: string, buildDir: string, tasks: readonly Task[], onWait: (m: string) => void, wait = true): Promise<CleanResult> {
  const lock = await acquireLock(stateDir(buildDir), { wait, onWait });
  let removed = 0;
  try {
    const { state } = loadState(statePath(buildDir));
    for (const t of tasks) {
      for (const o of t.outputs.filter((x) => !x.startsWith('!'))) {
        const p = isAbsolute(o) ? o : resolve(root, o);
        unmountUnder(p);
        rmSync(p, { recursive: true, force: true });
        removed++;
      }
      rmSync(logPathFor(buildDir, t.id), { force: true });
      delete state.tasks[t.id];
    }
    saveState(statePath(buildDir), state);
  } finally {
    lock.release();
  }
  return { removed };
}
