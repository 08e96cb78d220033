/**
 * The no-op benchmark's build: the real CLI (`main` from src/cli.ts) over a
 * synthetic graph instead of src/targets.ts. bench/noop.js bundles this file
 * with esbuild exactly as bin/build.js bundles the CLI and runs it as a whole
 * process; it is not meant to be run by hand.
 *
 * The graph: 2,000 tasks in 20 layers of 100. Task i declares
 *   - 5 input files of its own, src/dNN/fNNNNN.txt (10,000 files in all),
 *   - one config value, one allow-listed env var, one tool (sh),
 *   - deps on 1-3 tasks of the previous layer (none in layer 0),
 *   - one output, build/out/<id>.txt.
 * Its run reads its inputs and writes their digest (no child process).
 * Everything is deterministic: the same graph on every run.
 *
 * At exit it reports its peak RSS as `maxrss_kb=<KB>`: to the file named by
 * PYSTON_BENCH_RSS_FILE if set, else as the last line on stderr.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { main } from '../src/cli.js';
import type { BuildConfig } from '../src/config.js';
import type { Task, TaskGraph } from '../src/graph/index.js';

export const TASKS = 2000;
export const FILES_PER_TASK = 5;
export const FILES_PER_DIR = 100;
const LAYER = 100;
const ENV_VAR = 'BENCH_NOOP_FLAVOR';

/** Input file number n, relative to the project root (bench/noop.js generates the same names). */
export function inputPath(n: number): string {
  return `src/d${String(Math.floor(n / FILES_PER_DIR)).padStart(2, '0')}/f${String(n).padStart(5, '0')}.txt`;
}

function taskId(i: number): string {
  return `t${String(i).padStart(4, '0')}`;
}

/** 1-3 distinct tasks of the previous layer, chosen by formula (no randomness). */
function depsOf(i: number): string[] {
  const layer = Math.floor(i / LAYER);
  if (layer === 0) return [];
  const prev = (layer - 1) * LAYER;
  const count = 1 + (i % 3);
  const out = new Set<string>();
  for (let k = 0; out.size < count; k++) out.add(taskId(prev + ((i * 7 + k * 13) % LAYER)));
  return [...out];
}

function makeGraph(config: BuildConfig): TaskGraph {
  // One real config value; which key does not matter, so take the first (the schema grows over time).
  const cfgKey = (Object.keys(config) as (keyof BuildConfig)[]).sort()[0];
  const cfg: Record<string, unknown> = cfgKey === undefined ? { 'bench.value': 1 } : { [cfgKey]: config[cfgKey] };
  const tasks: Task[] = [];
  for (let i = 0; i < TASKS; i++) {
    const id = taskId(i);
    const files = Array.from({ length: FILES_PER_TASK }, (_, k) => inputPath(i * FILES_PER_TASK + k));
    const output = `build/out/${id}.txt`;
    tasks.push({
      id,
      deps: depsOf(i),
      inputs: { files, config: cfg, env: [ENV_VAR], tools: [{ name: 'sh' }] },
      outputs: [output],
      async run(ctx) {
        const h = createHash('sha256');
        for (const f of files) h.update(readFileSync(ctx.path(f)));
        mkdirSync(ctx.path('build/out'), { recursive: true });
        writeFileSync(ctx.path(output), `${id} ${h.digest('hex')}\n`);
      },
    });
  }
  const ids = tasks.map((t) => t.id);
  return {
    tasks: new Map(tasks.map((t) => [t.id, t])),
    targets: new Map([['all', { name: 'all', description: 'every benchmark task', roots: ids }]]),
    envAllowList: [ENV_VAR],
  };
}

// No top-level await: the bundle is CommonJS, like the CLI's.
void main(process.argv.slice(2), { makeGraph }).then((code) => {
  const rss = `maxrss_kb=${process.resourceUsage().maxRSS}\n`;
  const rssFile = process.env.PYSTON_BENCH_RSS_FILE;
  if (rssFile) writeFileSync(rssFile, rss);
  else process.stderr.write(rss);
  process.exit(code);
});
