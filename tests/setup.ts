/**
 * Runs in every test file (vitest's setupFiles): when nothing in a file
 * failed (no test, no hook), the temp projects it made with tmpProject are
 * removed, so runs do not pile directories up in /tmp. A failed file keeps
 * them for reading; a directory with something still mounted under it is
 * kept too (removing it would reach into the mount).
 */
import { rmSync } from 'node:fs';
import { afterAll } from 'vitest';
import { mountsUnder } from '../src/graph/mounts.js';
import { tmpProjects } from './helpers.js';

interface Node {
  readonly result?: { readonly state?: string; readonly errors?: readonly unknown[] };
  readonly tasks?: readonly Node[];
}

/** A test or suite of this file failed, or one of its hooks threw. */
function failed(n: Node): boolean {
  return n.result?.state === 'fail' || (n.result?.errors?.length ?? 0) > 0 || (n.tasks ?? []).some(failed);
}

// vitest wants the first argument (the fixtures) destructured; the file is the second.
// biome-ignore lint/correctness/noEmptyPattern: no fixture is used
afterAll(({}, file) => {
  if (failed(file as Node)) return;
  for (const dir of tmpProjects.splice(0)) {
    if (mountsUnder(dir).length > 0) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A directory a test made unremovable on purpose stays; nothing else depends on it.
    }
  }
}, 10 * 60_000);
