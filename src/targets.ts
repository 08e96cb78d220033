/**
 * Target name -> root tasks. Reading this file tells you the whole build.
 *
 * For now the only factory is the demonstration graph (src/steps/demo.ts);
 * the interpreter variants (unopt, opt, dbg), BOLT and packaging add theirs
 * here as they land.
 */
import type { Target, Task, TaskGraph } from './graph/index.js';
import type { BuildConfig } from './config.js';
import { DEMO_ENV, demoTasks } from './steps/demo.js';

/** Env vars any task may declare as inputs (Makefile names). */
export const ENV_ALLOW_LIST: readonly string[] = [...DEMO_ENV];

export function buildGraph(config: BuildConfig): TaskGraph {
  const tasks: Task[] = [...demoTasks(config)];
  const targets: Target[] = [
    { name: 'all', description: 'the default target (for now: the demonstration build)', roots: ['demo:check'] },
    { name: 'demo', description: 'configure, make, install and run a small C program through the engine', roots: ['demo:check'] },
  ];
  return {
    tasks: new Map(tasks.map((t) => [t.id, t])),
    targets: new Map(targets.map((t) => [t.name, t])),
    envAllowList: ENV_ALLOW_LIST,
  };
}
