/**
 * One docker engine per run, shared by the image tasks.
 *
 * Tasks run concurrently inside this process, and a private daemon lives in
 * one state directory: two tasks must not each start one there. The first
 * task to ask opens the engine (openEngine: the engine at DOCKER_HOST, or a
 * private dockerd); later ones share it; the last one to let go closes it,
 * which stops a private daemon and removes its leftovers. A task that is
 * interrupted (its `ctx.signal`) stops the daemon for every holder: an
 * interrupt stops the whole run.
 */
import { openEngine, type DaemonMode, type DockerEngine } from './engine.js';
import type { TaskContext } from '../../graph/index.js';

interface Shared {
  readonly engine: Promise<DockerEngine>;
  readonly abort: AbortController;
  /** The logs of the tasks holding the engine now: the engine's own lines (a daemon starting or stopping) go to each. */
  readonly logs: Set<(line: string) => void>;
  holders: number;
}

const shared = new Map<string, Shared>();

export interface EngineLease {
  readonly engine: DockerEngine;
  release(): Promise<void>;
}

/** Open (or join) the run's engine for a task; call `release()` in a `finally`. */
export async function leaseEngine(ctx: TaskContext, o: { daemon: DaemonMode; stateDir: string; env: NodeJS.ProcessEnv }): Promise<EngineLease> {
  let s = shared.get(o.stateDir);
  if (!s) {
    const abort = new AbortController();
    const logs = new Set<(line: string) => void>();
    // A task's log is closed when the task ends, so the engine never keeps one.
    const log = (line: string): void => {
      for (const l of logs) l(line);
    };
    const engine = openEngine({ daemon: o.daemon, env: o.env, stateDir: o.stateDir, log, signal: abort.signal });
    s = { engine, abort, logs, holders: 0 };
    shared.set(o.stateDir, s);
    // A failed open is not shared: the next task tries again.
    engine.catch(() => {
      if (shared.get(o.stateDir) === s) shared.delete(o.stateDir);
    });
  } else ctx.log('joining the docker engine another task of this run opened');
  const entry = s;
  const log = (line: string): void => ctx.log(line);
  entry.logs.add(log);
  entry.holders++;
  const onAbort = (): void => entry.abort.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  let engine: DockerEngine;
  try {
    engine = await entry.engine;
  } catch (e) {
    entry.logs.delete(log);
    entry.holders--;
    ctx.signal.removeEventListener('abort', onAbort);
    throw e;
  }
  let released = false;
  return {
    engine,
    async release() {
      if (released) return;
      released = true;
      ctx.signal.removeEventListener('abort', onAbort);
      entry.holders--;
      if (entry.holders > 0) {
        entry.logs.delete(log);
        return;
      }
      if (shared.get(o.stateDir) === entry) shared.delete(o.stateDir);
      try {
        await engine.close();
      } finally {
        entry.logs.delete(log);
      }
    },
  };
}
