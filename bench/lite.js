#!/usr/bin/env node
// bench/lite: how much faster is CPython with the pyston_lite wheels pyston-build makes?
//
//   node bench/lite.js --pyston-checkout DIR [--interp stock|stockunopt] [--set KEY=VALUE]...
//                      [--rounds N] [--reps K] [--inner I] [--noopt] [--reuse]
//
// In the Pyston checkout DIR (the project), builds with -j 2:
//   wheels        pyston-build wheels --set wheels.pythons=cp38: the verified cp38
//                 pyston_lite and pyston_lite_autoload wheels (PGO, LTO, BOLT)
//   <interp>      the interpreter measured: the tree's own CPython 3.8.12, `stock`
//                 (our PGO + LTO; default) or `stockunopt` (plain, which the
//                 wheels are compiled against; same ABI)
// then makes two venvs of that interpreter, one with the wheels installed by
// `pip --no-index` from build/dist/<name>-<version>/wheelhouse and one
// without, and runs runtime/bench on both,
// With --noopt, a third venv gets wheels built without our PGO, LTO and
// BOLT (pgo=false lto=false bolt=off, built first and copied aside), to show
// what those add to the JIT's own gain. interleaved per benchmark (as
// bench/interp.js does). Prints each benchmark's speedup of `lite` over
// `plain`, the geomean, and whether it meets the target of the wheels issue:
// at least 1.08x geomean, and no benchmark slower by more than 3%.
// --set passes settings to pyston-build (e.g. submodules.mirror=...).
// --reuse measures the builds of an earlier run without building.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listBenchmarks, log, measureInterleaved, run, runPyArgs, speedupTable, timedRun } from './interp-common.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: node bench/lite.js --pyston-checkout DIR [--interp stock|stockunopt] [--set KEY=VALUE]... [--rounds N] [--reps K] [--inner I] [--noopt] [--reuse]';

function fail(error, hint) {
  process.stderr.write(`error: ${error}\nhint: ${hint}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { checkout: '', interp: 'stock', set: [], rounds: 3, reps: 3, inner: 1, reuse: false, noopt: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`, USAGE);
      return argv[++i];
    };
    if (a === '--pyston-checkout') o.checkout = resolve(value());
    else if (a === '--interp') o.interp = value();
    else if (a === '--set') o.set.push(value());
    else if (a === '--rounds' || a === '--reps' || a === '--inner') {
      const v = value();
      if (!/^[1-9]\d*$/.test(v)) fail(`${a} must be a positive whole number, got '${v}'`, USAGE);
      o[a.slice(2)] = Number(v);
    } else if (a === '--reuse') o.reuse = true;
    else if (a === '--noopt') o.noopt = true;
    else if (a === '-h' || a === '--help') {
      log(USAGE);
      process.exit(0);
    } else fail(`unknown argument '${a}'`, USAGE);
  }
  if (!o.checkout) fail('--pyston-checkout DIR is required', USAGE);
  if (!existsSync(join(o.checkout, 'pyston'))) fail(`${o.checkout} is not a Pyston checkout (no pyston/ directory)`, 'pass the checkout that ../shared/pyston/make-checkout.sh made');
  if (!['stock', 'stockunopt'].includes(o.interp)) fail(`--interp must be stock or stockunopt, got '${o.interp}'`, USAGE);
  return o;
}

const o = parseArgs(process.argv.slice(2));
const cli = join(repo, 'bin', 'pyston-build.js');
const sets = o.set.flatMap((s) => ['--set', s]);
const wall = {};
const out = join(o.checkout, 'build', 'bench-lite');
const findHouse = () => {
  const dist = join(o.checkout, 'build', 'dist');
  const found = existsSync(dist)
    ? readdirSync(dist)
        .map((d) => join(dist, d, 'wheelhouse'))
        .find((d) => existsSync(d))
    : undefined;
  if (!found) fail(`no wheelhouse under ${dist}`, 'run without --reuse first');
  return found;
};
const nooptHouse = join(out, 'wheelhouse-noopt');
if (!o.reuse) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const wheels = [cli, '-C', o.checkout, 'wheels', '-j', '2', '--set', 'wheels.pythons=cp38', ...sets];
  if (o.noopt) {
    wall['wheels-noopt'] = (await timedRun('wheels without PGO, LTO, BOLT', process.execPath, [...wheels, '--set', 'pgo=false', '--set', 'lto=false', '--set', 'bolt=off'])).seconds;
    cpSync(findHouse(), nooptHouse, { recursive: true });
  }
  wall.wheels = (await timedRun('wheels', process.execPath, wheels)).seconds;
  wall[o.interp] = (await timedRun(o.interp, process.execPath, [cli, '-C', o.checkout, o.interp, '-j', '2', ...sets])).seconds;
}
const house = findHouse();
const python = join(o.checkout, 'build', `${o.interp}_install`, 'usr', 'bin', 'python3');
if (!existsSync(python)) fail(`${python} does not exist`, 'run without --reuse first');

// Venvs of the same interpreter: without the wheels, with ours, and (--noopt) with unoptimized ones.
const houses = { lite: house, ...(existsSync(nooptHouse) ? { 'lite-noopt': nooptHouse } : {}) };
const env = { ...process.env, PIP_CONFIG_FILE: '/dev/null', PIP_NO_INDEX: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' };
const interps = {};
for (const v of ['plain', ...Object.keys(houses)]) {
  rmSync(join(out, v), { recursive: true, force: true });
  await timedRun(`venv ${v}`, python, ['-m', 'venv', join(out, v)], { env });
  interps[v] = join(out, v, 'bin', 'python');
}
for (const [v, h] of Object.entries(houses)) {
  await timedRun(`install the wheels (${v})`, interps[v], ['-m', 'pip', 'install', '--no-index', '--find-links', h, 'pyston_lite_autoload'], { env });
  const loaded = await run(interps[v], ['-c', 'import sys; print("pyston_lite" in sys.modules)']);
  if (loaded.stdout.trim() !== 'True') fail(`pyston_lite is not loaded at startup in the ${v} venv`, `check ${h}`);
}

const runPy = join(repo, 'runtime/bench/run.py');
const benches = await listBenchmarks(interps.plain, runPy);
log(`benchmarks: ${benches.join(', ')}; ${o.rounds} rounds x ${o.reps} reps, interleaved`);
const samples = await measureInterleaved({
  interps,
  benches,
  rounds: o.rounds,
  out,
  argsFor: runPyArgs(runPy, o.reps, o.inner),
});
const { speed, geomean } = speedupTable(samples, 'plain', o.rounds * o.reps);
const slower = Object.entries(speed.lite).filter(([, s]) => s < 0.97);
log(`\nlite over plain (${o.interp}, CPython 3.8.12): geomean ${geomean.lite.toFixed(3)}x${geomean['lite-noopt'] ? `; without our PGO, LTO, BOLT: ${geomean['lite-noopt'].toFixed(3)}x` : ''}`);
log(
  `target (geomean >= 1.08, no benchmark slower than 0.97): ${geomean.lite >= 1.08 && slower.length === 0 ? 'met' : 'NOT met'}${slower.length ? ` (slower: ${slower.map(([b, s]) => `${b} ${s.toFixed(3)}`).join(', ')})` : ''}`,
);
for (const [k, s] of Object.entries(wall)) log(`wall time: ${k} ${s.toFixed(0)} s`);
writeFileSync(
  join(out, 'result.json'),
  `${JSON.stringify({ date: new Date().toISOString(), interp: o.interp, rounds: o.rounds, reps: o.reps, inner: o.inner, speedup: speed, geomean, wallSeconds: wall }, null, 2)}\n`,
);
log(`result: ${join(out, 'result.json')}`);
