// bench/interp's Pyston mode: `node bench/interp.js --pyston-checkout DIR`.
//
// DIR is a Pyston checkout (a tree with its pyston/ directory, as
// /work/shared/pyston/make-checkout.sh assembles one) and the project:
// pyston-build builds there, in DIR/build, with -j 2:
//   opt     Pyston with its JIT, PGO on runtime/train, LTO and BOLT
//   stock   CPython 3.8.12 from the same tree (--disable-pyston), same compiler, PGO + LTO
//   unopt   Pyston with its JIT, no PGO/LTO/BOLT
// and runs runtime/bench (it runs on 3.8) on them and on Debian's
// /usr/bin/python3.11, interleaved as in the CPython mode. With --macro, the
// macrobenchmarks of the checkout's pyston/macrobenchmarks submodule that run
// with the standard library only (bench/MACROBENCHMARKS.md) join the set.
// Prints per-benchmark speedups over stock, and the geomeans of opt over
// stock (target >= 1.30) and over python3.11 (target > 1.0).
//
// --set KEY=VALUE goes to every pyston-build call (e.g.
// --set submodules.mirror=/work/shared/pyston/mirror/).
// --reuse: measure the builds DIR/build already holds (build/<v>_env/bin/python)
// without building; a variant that is not there is left out, but stock,
// the baseline, must be there. Wall times are an earlier run's, if any.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boltTaskSeconds, listBenchmarks, log, measureInterleaved, run, speedupTable, timedRun } from './interp-common.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const VARIANTS = ['stock', 'opt', 'unopt'];
const SYSTEM_311 = '/usr/bin/python3.11';
const MACRO_DIR = 'pyston/macrobenchmarks';
/**
 * The macrobenchmarks that run with the standard library only (the survey
 * is bench/MACROBENCHMARKS.md), each as its directory under benchmarks/ and
 * the benchmark's own loops per sample (about 0.1 to 0.3 s on a 3.8).
 */
const MACRO = [{ name: 'macro_json', dir: 'bm_json', loops: 40 }];

function fail(error, hint) {
  process.stderr.write(`bench/interp: error: ${error}\nhint: ${hint}\n`);
  process.exit(2);
}

async function git(cwd, args) {
  const r = await run('git', ['-C', cwd, ...args]);
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/**
 * The macrobenchmark scripts, from the checkout's submodule, synced at its
 * pin first by pyston-build's submodule step (bench/sync-bench-submodules.ts,
 * with the `--set`s given here).
 */
async function macroBenchmarks(checkout, sets) {
  const dir = join(checkout, MACRO_DIR);
  const sync = await run(process.execPath, ['--import', 'tsx', join(repo, 'bench', 'sync-bench-submodules.ts'), checkout, ...sets], { cwd: repo });
  process.stdout.write(sync.stdout);
  if (sync.exitCode !== 0) {
    process.stderr.write(sync.stderr);
    process.exit(sync.exitCode === 2 ? 2 : 1);
  }
  const pin = (await git(checkout, ['ls-tree', 'HEAD', MACRO_DIR]))?.split(/\s+/)[2];
  const head = existsSync(join(dir, '.git')) ? await git(dir, ['rev-parse', 'HEAD']) : undefined;
  if (pin === undefined || head !== pin)
    fail(`${dir} is at ${head ?? 'no commit'}, not at its pin ${pin ?? '(no gitlink)'}`, `see the submodule log in ${join(checkout, 'build', 'logs')}, or leave out --macro`);
  return MACRO.map((m) => {
    const script = join(dir, 'benchmarks', m.dir, 'run_benchmark.py');
    if (!existsSync(script)) fail(`${script} is missing`, `the pin of ${MACRO_DIR} has no ${m.dir}: update MACRO in bench/interp-pyston.js`);
    return { ...m, script };
  });
}

/** Whether `python` is a Pyston with its JIT (sys.pyston_version_info), as a word for the log. */
async function describe(python) {
  const r = await run(python, ['-c', 'import sys; print(sys.version.split()[0], getattr(sys, "pyston_version_info", None) is not None)'], { cwd: tmpdir() });
  if (r.exitCode !== 0) return { text: `cannot run: ${r.stderr.trim().split('\n').pop()}`, pyston: false, ok: false };
  const [version, pyston] = r.stdout.trim().split(' ');
  return { text: `Python ${version}${pyston === 'True' ? ', Pyston (sys.pyston_version_info)' : ''}`, pyston: pyston === 'True', ok: true };
}

export async function pystonMode(o) {
  const { rounds, reps, inner, reuse, macro } = o;
  const checkout = resolve(o.pystonCheckout);
  if (!existsSync(join(checkout, 'pyston')))
    fail(`${checkout} is not a Pyston checkout (it has no pyston/ directory)`, 'give the top directory of a Pyston checkout, e.g. one made by /work/shared/pyston/make-checkout.sh DEST');
  const out = join(repo, 'bench', '.out');
  mkdirSync(out, { recursive: true });
  const stateFile = join(checkout, 'build', 'interp-pyston.json');
  const previous = reuse && existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : undefined;
  const sets = o.set.flatMap((s) => ['--set', s]);
  const macros = macro ? await macroBenchmarks(checkout, sets) : [];

  // The builds, one pyston-build run each, in the checkout; what one builds
  // first (the source copy, the bitcode and AOT chain) is in its wall time.
  const interps = {};
  const wall = {};
  const boltSeconds = {};
  for (const v of VARIANTS) {
    const python = join(checkout, 'build', `${v}_env`, 'bin', 'python');
    if (reuse) {
      if (!existsSync(python)) {
        log(`build: ${v}: not in ${dirname(dirname(python))}, left out`);
        continue;
      }
      if (previous?.wallSeconds?.[v]) wall[v] = previous.wallSeconds[v];
      if (previous?.boltSeconds?.[v]) boltSeconds[v] = previous.boltSeconds[v];
    } else {
      try {
        const r = await timedRun(v, process.execPath, [join(repo, 'bin', 'pyston-build.js'), '-C', checkout, '-j', '2', '--json', ...sets, v]);
        wall[v] = r.seconds;
        const bolt = boltTaskSeconds(r.stdout);
        if (bolt) boltSeconds[v] = bolt;
      } catch (e) {
        log(`build: ${v}: FAILED, left out (${e.message}; its log is in ${join(checkout, 'build', 'logs')})`);
        continue;
      }
    }
    interps[v] = python;
  }
  if (existsSync(SYSTEM_311)) interps['python3.11'] = SYSTEM_311;
  for (const [n, py] of Object.entries(interps)) {
    const d = await describe(py);
    log(`interp: ${n.padEnd(10)} ${py}: ${d.text}`);
    if (!d.ok) fail(`${n}'s interpreter ${py} does not run`, `rebuild it: node bin/pyston-build.js -C ${checkout} ${n}`);
    if ((n === 'opt' || n === 'unopt') && !d.pyston) log(`interp: warning: ${n} has no sys.pyston_version_info: not a Pyston build, its numbers are not Pyston's`);
    if (n === 'stock' && d.pyston) log('interp: warning: stock has sys.pyston_version_info: not a --disable-pyston build');
  }
  if (!interps.stock)
    fail(
      `no stock build in ${join(checkout, 'build', 'stock_env')}: it is the baseline`,
      reuse ? `build it (node bin/pyston-build.js -C ${checkout} stock), or run without --reuse` : `see ${join(checkout, 'build', 'logs')}`,
    );

  const runPy = join(repo, 'runtime/bench/run.py');
  const byName = new Map(macros.map((m) => [m.name, m]));
  const benches = [...(await listBenchmarks(interps.stock, runPy)), ...byName.keys()];
  const samples = await measureInterleaved({
    interps,
    benches,
    rounds,
    out,
    argsFor: (b, json) => {
      const m = byName.get(b);
      const common = ['--reps', String(reps), '--json', json];
      if (m) return [join(repo, 'bench', 'macro_driver.py'), '--script', m.script, '--name', b, '--loops', String(m.loops * inner), ...common];
      return [runPy, '--only', b, '--inner', String(inner), ...common];
    },
  });
  const { speed, geomean } = speedupTable(samples, 'stock', rounds * reps);
  log('\nbuild wall time (-j 2, one pyston-build run each, in this order):');
  for (const [n, s] of Object.entries(wall)) log(`  ${n.padEnd(8)} ${(s / 60).toFixed(1)} min${boltSeconds[n] ? ` (BOLT tasks: ${boltSeconds[n].toFixed(0)} s)` : ''}`);
  const result = { date: new Date().toISOString(), checkout, rounds, reps, inner, interpreters: interps, speedup: speed, geomean, wallSeconds: wall, boltSeconds };
  writeFileSync(join(out, 'interp-pyston.json'), JSON.stringify(result, null, 2) + '\n');
  mkdirSync(dirname(stateFile), { recursive: true });
  writeFileSync(stateFile, JSON.stringify(result, null, 2) + '\n');
  log(`\nresults: ${join(out, 'interp-pyston.json')}  checkout: ${checkout}`);
  if (geomean.opt === undefined) {
    log('interp: no opt build, no verdict on the targets');
    return;
  }
  const overStock = geomean.opt; // stock is the baseline: its geomean is 1
  log(`interp: opt over stock geomean ${overStock.toFixed(3)} (target >= 1.30): ${overStock >= 1.3 ? 'met' : 'NOT met'}`);
  if (geomean['python3.11'] !== undefined) {
    const over311 = geomean.opt / geomean['python3.11'];
    log(`interp: opt over python3.11 geomean ${over311.toFixed(3)} (target > 1.0): ${over311 > 1 ? 'met' : 'NOT met'}`);
  }
}
