/**
 * The submodules a Pyston checkout's benchmarks need (the flavor's `bench`
 * set: pyston/macrobenchmarks), synced by pyston-build's own submodule step
 * (src/steps/submodules.ts) at their gitlinks' pins, with the checkout's
 * config (pyston-build.toml) and `--set` overrides, e.g.
 * `--set submodules.mirror=/work/shared/pyston/mirror/`.
 *
 *   node --import tsx bench/sync-bench-submodules.ts CHECKOUT [--set KEY=VALUE]...
 *
 * bench/interp.js --pyston-checkout DIR --macro runs it. (The CLI's
 * `submodules` target syncs the build set only.) Exit 0 when every one is at
 * its pin, 1 otherwise, with one `error:` line (and a `hint:`) per failure.
 */
import { join, resolve } from 'node:path';
import { loadConfig } from '../src/config.js';
import { PYSTON } from '../src/flavors/index.js';
import { errorMessage, EventBus, PbError, runBuild } from '../src/graph/index.js';
import { submoduleTasks } from '../src/steps/submodules.js';

async function main(argv: string[]): Promise<number> {
  const [dir, ...rest] = argv;
  const sets: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--set' && rest[i + 1] !== undefined) sets.push(rest[++i]!);
    else throw new PbError(`sync-bench-submodules: unknown argument '${rest[i]}'`, 'usage: sync-bench-submodules.ts CHECKOUT [--set KEY=VALUE]...');
  }
  if (dir === undefined) throw new PbError('sync-bench-submodules: no checkout given', 'usage: sync-bench-submodules.ts CHECKOUT [--set KEY=VALUE]...');
  const root = resolve(dir);
  const { config } = await loadConfig({ root, env: process.env, sets });
  const sm = submoduleTasks({
    checkout: root,
    root,
    paths: PYSTON.submodules.bench,
    mirror: config['submodules.mirror'],
    rewrite: config['submodules.rewrite'],
    force: config['submodules.force'],
  });
  const bus = new EventBus();
  let failed = false;
  bus.on((e) => {
    if (e.type === 'fail') {
      failed = true;
      process.stderr.write(`error: ${e.id}: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : `hint: see ${e.logPath}\n`}`);
    } else if (e.type === 'warning') process.stderr.write(`warning: ${e.message}\n`);
    else if (e.type === 'finish') process.stdout.write(`${e.id}: synced\n`);
  });
  const graph = {
    tasks: new Map(sm.tasks.map((t) => [t.id, t])),
    targets: new Map([['bench-submodules', { name: 'bench-submodules', description: "the benchmarks' submodules", roots: sm.ids }]]),
    envAllowList: [],
  };
  const summary = await runBuild(graph, { root, buildDir: join(root, 'build'), jobs: 2, targets: ['bench-submodules'], handleSignals: true, bus });
  return summary.ok && !failed ? 0 : 1;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  const hint = e instanceof PbError ? e.hint : undefined;
  process.stderr.write(`error: ${errorMessage(e)}\n${hint ? `hint: ${hint}\n` : ''}`);
  process.exitCode = e instanceof PbError ? e.exitCode : 1;
}
