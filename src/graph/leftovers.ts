/**
 * What earlier runs left behind when they were killed (SIGKILL, a crash, a
 * full disk): their jobserver FIFO, the temp file of a lock they were taking,
 * the temp files of the state, explain and trace files they were writing
 * (`<name>.tmp-<pid>`, see state.ts), and their cgroup cells with whatever
 * still runs in them. Every run calls
 * {@link sweepLeftovers} once it holds the lock. Only files whose owner pid is
 * dead are removed: a live run's files (another build waiting for the lock
 * has its `lock.<pid>` temp file) stay.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sweepCells } from './contain.js';
import { processStart } from './lock.js';

/** `jobserver-<pid>.fifo`, `lock.<pid>`, `lock.stale-<pid>`, `<file>.tmp-<pid>`: the files a run names after its pid. */
const PER_RUN = /^(?:jobserver-(\d+)\.fifo|lock\.(\d+)|lock\.stale-(\d+)|[\w.-]+\.tmp-(\d+))$/;

export interface Swept {
  /** Paths removed from the state directory. */
  readonly files: string[];
  /** Processes of dead runs that were still running and were stopped. */
  readonly processes: number;
}

export async function sweepLeftovers(stateDir: string): Promise<Swept> {
  const files: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(stateDir);
  } catch {
    // nothing there yet
  }
  for (const name of names) {
    const m = PER_RUN.exec(name);
    if (!m) continue;
    const pid = Number(m[1] ?? m[2] ?? m[3] ?? m[4]);
    if (pid === process.pid || processStart(pid) !== undefined) continue;
    const path = join(stateDir, name);
    try {
      rmSync(path, { force: true });
      files.push(path);
    } catch {
      // not ours to remove (permissions): harmless, tried again next run
    }
  }
  return { files, processes: await sweepCells() };
}
