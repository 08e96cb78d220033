/**
 * The no-op benchmark's product build: the real CLI (`main` from src/cli.ts)
 * over the real graph of src/targets.ts, with every task's `run` replaced by
 * a stand-in that writes the task's declared outputs. bench/noop.js
 * (`--pyston-checkout`) bundles this file exactly as bin/build.js bundles the
 * CLI and runs it as a whole process; it is not meant to be run by hand.
 *
 * Why stand-ins: building every variant and package target of a Pyston
 * checkout for real takes hours on the bench machine. A no-op run never
 * calls `run`: it builds the graph, resolves the tools, computes every key
 * (hashing the declared inputs through the stat cache) and checks every
 * declared output against the state. The keys do not depend on `run` (a
 * task's definition digest covers its declared data only), so the
 * stand-ins leave every key as the real CLI computes it, and a task that
 * the real CLI built beforehand (bench/noop.js builds `unopt` for real) is
 * up to date here too. What the stand-ins change is only the bytes of the
 * outputs; the no-op's cost depends on how many files they hold, not on
 * their size, so directory outputs are given the file layout of a real
 * output of the same kind (see `Shapes`).
 *
 * The stand-ins write only under the project root and the configured
 * cache directory (bench/noop.js points `cache.dir` into its temp
 * directory); any other output path stops the run.
 *
 * At exit it reports its peak RSS as `maxrss_kb=<KB>` to the file named by
 * PYSTON_BENCH_RSS_FILE.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { main } from '../src/cli.js';
import type { BuildConfig } from '../src/config.js';
import type { Task, TaskContext, TaskGraph } from '../src/graph/index.js';
import { buildGraph, checkTargets, type GraphRequest } from '../src/targets.js';

/**
 * File layouts taken from a real build (bench/noop.js writes them, from
 * the real `unopt` build, to the file named by PYSTON_BENCH_SHAPES):
 * - `install`: the files of `build/unopt_install`, for every install
 *   directory and for the staged package root and the portable directory
 *   (each holds one installed interpreter);
 * - `source`: the files of the patched source tree, for unpacked sources;
 * - `objects`: how many object files the unopt build compiled, for a PGO
 *   profile directory (one .gcda per object).
 */
interface Shapes {
  readonly install: readonly string[];
  readonly source: readonly string[];
  readonly objects: number;
}

/** Outputs that are directories, and the layout each gets. Every other output is a file. */
const DIRECTORY_OUTPUTS: readonly [RegExp, keyof Shapes | 'small'][] = [
  [/_install$|^build\/package\/(stage|portable)$/, 'install'],
  [/^build\/src\/[^/]+$/, 'source'],
  [/\/gcda$/, 'objects'],
  [/(^|\/)(fdata|raw|deb|out|gen|include|autoload|wheelhouse|build|pgo_build|pgo_env|bolt_env|cpython_bc)$|^build\/dist\/[^/]+$/, 'small'],
];

function loadShapes(): Shapes {
  const file = process.env.PYSTON_BENCH_SHAPES;
  if (!file) throw new Error('PYSTON_BENCH_SHAPES is not set (run bench/noop.js --pyston-checkout)');
  return JSON.parse(readFileSync(file, 'utf8')) as Shapes;
}

function writeTree(dir: string, files: readonly string[]): void {
  const made = new Set<string>();
  for (const f of files) {
    const p = join(dir, f);
    const d = dirname(p);
    if (!made.has(d)) {
      mkdirSync(d, { recursive: true });
      made.add(d);
    }
    writeFileSync(p, `${f}\n`);
  }
}

function standIn(task: Task, shapes: () => Shapes, cacheDir: string): Task {
  return {
    ...task,
    async run(ctx: TaskContext) {
      for (const o of task.outputs) {
        if (o.startsWith('!')) continue;
        const abs = isAbsolute(o) ? o : resolve(ctx.root, o);
        const inside = (base: string): boolean => {
          const r = relative(base, abs);
          return r !== '' && !r.startsWith('..') && !isAbsolute(r);
        };
        if (!inside(ctx.root) && !(cacheDir !== '' && inside(cacheDir))) throw new Error(`bench stand-in for ${task.id}: output ${o} is outside the project and the bench's cache.dir`);
        const rel = isAbsolute(o) ? relative(cacheDir, abs) : o;
        const kind = DIRECTORY_OUTPUTS.find(([re]) => re.test(rel))?.[1];
        if (kind === undefined) {
          mkdirSync(dirname(abs), { recursive: true });
          writeFileSync(abs, `${task.id} ${o}\n`);
        } else if (kind === 'small') writeTree(abs, ['a', 'b', 'c']);
        else if (kind === 'objects')
          writeTree(
            abs,
            Array.from({ length: shapes().objects }, (_, i) => `o${i}.gcda`),
          );
        else writeTree(abs, shapes()[kind]);
      }
    },
  };
}

function makeGraph(config: BuildConfig, root: string, env: NodeJS.ProcessEnv, request: GraphRequest): TaskGraph {
  const real = buildGraph(config, root, env, request);
  // The real CLI checks the requested targets' settings before it builds: so does this run.
  if (request.targets !== undefined) checkTargets(config, root, env, real, request.targets);
  let cached: Shapes | undefined;
  const shapes = (): Shapes => (cached ??= loadShapes());
  const cacheDir = config['cache.dir'] === '' ? '' : resolve(root, config['cache.dir']);
  return { ...real, tasks: new Map([...real.tasks].map(([id, t]) => [id, standIn(t, shapes, cacheDir)])) };
}

// No top-level await: the bundle is CommonJS, like the CLI's.
void main(process.argv.slice(2), { makeGraph }).then((code) => {
  const rssFile = process.env.PYSTON_BENCH_RSS_FILE;
  const rss = `maxrss_kb=${process.resourceUsage().maxRSS}\n`;
  if (rssFile) writeFileSync(rssFile, rss);
  else process.stderr.write(rss);
  process.exit(code);
});
