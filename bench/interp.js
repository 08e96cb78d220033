#!/usr/bin/env node
// bench/interp: how fast are the interpreters pyston-build makes, and how long does it take?
//
//   node bench/interp.js [--project DIR] [--rounds N] [--reps K] [--inner I] [--regrtest] [--clang] [--reuse]
//
// --reuse: with --project DIR of an earlier run, measure its builds again
// without rebuilding (the wall times printed are the earlier run's).
// Builds, in one project directory (default: a temp dir), with -j 2 and the
// default compiler (cc = gcc):
//   unopt        pyston-build unopt
//   opt          pyston-build opt: our PGO on runtime/train, LTO, and on x86_64 BOLT
//   opt-nobolt   pyston-build opt with USE_BOLT=0 (PGO + LTO only)
//   opt-regrtest pyston-build opt with --profile-task regrtest   (with --regrtest)
//   opt-clang    pyston-build opt with cc = clang                (with --clang)
//   cpython-pgo  CPython's own `configure --enable-optimizations --with-lto` of the
//                same source with the same compiler (gcc), built by this script
// and compares them, plus the system /usr/bin/python3.11 (Debian's GCC PGO+LTO
// build of the same 3.11.2), on runtime/bench: a benchmark set kept apart from the
// training workloads. Runs are interleaved per benchmark: each round takes one
// sample set of a benchmark on every interpreter in turn (rotating order),
// then the next benchmark, so drift hits all interpreters alike.
// Prints per-benchmark speedups over unopt, their geomean, and each build's wall time.
//
// Every process (the builds, configure and make, the benchmark runs) is run
// with zx's `$`. zx composes a bash command line from the template: each
// interpolated value is quoted by zx (`$'...'`, so paths and arguments reach
// the program as they are, never as shell syntax), and bash execs the
// program. What is measured does not change: build times are minutes, and
// the benchmark timings are taken inside Python by runtime/bench/run.py.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { $ } from 'zx';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: node bench/interp.js [--project DIR] [--rounds N] [--reps K] [--inner I] [--regrtest] [--clang] [--reuse]';

function parseArgs(argv) {
  const o = { rounds: 3, reps: 3, inner: 1, project: '', reuse: false, regrtest: false, clang: false };
  const bad = (msg) => {
    process.stderr.write(`bench/interp: error: ${msg} (${USAGE})\n`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rounds' || a === '--reps' || a === '--inner') {
      const v = argv[++i];
      if (!/^\d+$/.test(v ?? '') || Number(v) < 1) bad(`${a} needs a whole number >= 1, got '${v ?? ''}'`);
      o[a.slice(2)] = Number(v);
    } else if (a === '--project') {
      const v = argv[++i];
      if (v === undefined || v === '') bad('--project needs a directory');
      o.project = v;
    } else if (a === '--reuse') o.reuse = true;
    else if (a === '--regrtest') o.regrtest = true;
    else if (a === '--clang') o.clang = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else bad(`unknown argument '${a}'`);
  }
  if (o.reuse && o.project === '') bad('--reuse needs --project DIR of an earlier run');
  return o;
}

const { rounds, reps, inner, reuse, regrtest: withRegrtest, clang: withClang, ...given } = parseArgs(process.argv.slice(2));
const project = given.project || mkdtempSync(join(tmpdir(), 'pyston-bench-interp-'));
mkdirSync(project, { recursive: true });
const out = join(repo, 'bench', '.out');
mkdirSync(out, { recursive: true });

function log(msg) {
  process.stdout.write(msg + '\n');
}

/**
 * `file` with `argv` (`opts`: cwd, env), its output captured and its stdin
 * empty, as spawnSync ran it; never throws for an exit status. `env`
 * replaces the environment when given.
 */
function run(file, argv, opts = {}) {
  return $({ ...opts, stdio: ['ignore', 'pipe', 'pipe'], quiet: true, nothrow: true })`${file} ${argv}`;
}

/** Run a command, inheriting nothing on stdout; returns wall seconds. Dies on failure. */
async function timed(label, file, argv, opts = {}) {
  log(`build: ${label}: ${[file, ...argv].join(' ')}`);
  const t0 = process.hrtime.bigint();
  const r = await run(file, argv, opts);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.exitCode !== 0) {
    process.stderr.write(`${label} failed (exit ${r.exitCode ?? r.signal})\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}\n`);
    throw new Error(`${label} failed`);
  }
  log(`build: ${label}: ${s.toFixed(0)} s`);
  lastStdout = r.stdout;
  return s;
}
let lastStdout = '';

const cli = (dir, ...a) => [join(repo, 'bin', 'pyston-build.js'), '-C', dir, '-j', '2', ...a];
const wall = {};

// Our builds. Each variant gets its own project dir so their pipelines are timed whole
// (fetch from the cache, unpack, and every task of the variant).
const boltSeconds = {};
const previous = reuse ? JSON.parse(readFileSync(join(project, 'interp.json'), 'utf8')) : undefined;
async function ourBuild(name, target, extra = [], env = {}) {
  const dir = join(project, name);
  if (previous) {
    wall[name] = previous.wallSeconds[name];
    if (previous.boltSeconds?.[name]) boltSeconds[name] = previous.boltSeconds[name];
    return join(dir, 'build', `${target}_env`, 'bin', 'python');
  }
  mkdirSync(dir, { recursive: true });
  wall[name] = await timed(name, process.execPath, cli(dir, '--json', target, ...extra), { env: { ...process.env, ...env } });
  // The BOLT tasks' own time, from the run's JSON summary.
  const summary = JSON.parse(lastStdout);
  const bolt = summary.tasks.filter((t) => t.id.includes(':bolt:') && t.status === 'ran');
  if (bolt.length) boltSeconds[name] = bolt.reduce((a, t) => a + t.durationMs, 0) / 1000;
  return join(dir, 'build', `${target}_env`, 'bin', 'python');
}
/** An optional comparison: a failure is reported and the variant left out, not fatal. */
async function optionalBuild(name, target, extra, env) {
  try {
    return await ourBuild(name, target, extra, env);
  } catch (e) {
    log(`build: ${name}: FAILED, left out (${e.message})`);
    return undefined;
  }
}
const interps = {};
interps.unopt = await ourBuild('unopt', 'unopt');
interps.opt = await ourBuild('opt', 'opt');
interps['opt-nobolt'] = await ourBuild('opt-nobolt', 'opt', [], { USE_BOLT: '0' });
if (withClang) {
  const py = await optionalBuild('opt-clang', 'opt', ['--set', 'cc=clang']);
  if (py) interps['opt-clang'] = py;
}
if (withRegrtest) {
  const py = await optionalBuild('opt-regrtest', 'opt', ['--profile-task', 'regrtest']);
  if (py) interps['opt-regrtest'] = py;
}

// CPython's own PGO + LTO build of the same source, same compiler (gcc, the default cc).
{
  const src = join(project, 'unopt', 'build', 'src', 'Python-3.11.2');
  const dir = join(project, 'cpython-pgo');
  if (previous) {
    wall['cpython-pgo'] = previous.wallSeconds['cpython-pgo'];
    interps['cpython-pgo'] = join(dir, 'python');
  } else {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const env = { ...process.env, CC: 'gcc', CXX: 'g++' };
    const t0 = process.hrtime.bigint();
    await timed('cpython-pgo configure', join(src, 'configure'), ['--enable-optimizations', '--with-lto', `--prefix=${join(dir, 'install')}`], { cwd: dir, env });
    await timed('cpython-pgo make', 'make', ['-j2'], { cwd: dir, env });
    wall['cpython-pgo'] = Number(process.hrtime.bigint() - t0) / 1e9;
    interps['cpython-pgo'] = join(dir, 'python');
  }
}
if (existsSync('/usr/bin/python3.11')) interps['system-3.11'] = '/usr/bin/python3.11';

// Interleaved benchmark runs, one benchmark at a time: every sample of a
// benchmark is taken on each interpreter in turn (the order rotates), so a
// slow spell of this VM (they last seconds to minutes) falls on all of them
// alike instead of on one interpreter's whole pass.
const benchList = await run(interps.unopt, [join(repo, 'runtime/bench/run.py'), '--list'], { cwd: tmpdir() });
if (benchList.exitCode !== 0) {
  process.stderr.write(`cannot list the benchmarks:\n${benchList.stderr}\n`);
  process.exit(1);
}
const benchNames = benchList.stdout
  .split('\n')
  .map((l) => l.split(/\s+/)[0])
  .filter(Boolean);
const samples = {}; // interp -> bench -> [seconds]
const order = Object.keys(interps);
let turn = 0;
for (let r = 0; r < rounds; r++) {
  for (const b of benchNames) {
    for (let k = 0; k < order.length; k++) {
      const name = order[(k + turn) % order.length];
      const json = join(out, `interp-${name}.json`);
      const res = await run(interps[name], [join(repo, 'runtime/bench/run.py'), '--only', b, '--reps', String(reps), '--inner', String(inner), '--json', json], { cwd: tmpdir() });
      if (res.exitCode !== 0) {
        process.stderr.write(`benchmark ${b} failed on ${name}:\n${res.stdout.slice(-3000)}\n${res.stderr.slice(-3000)}\n`);
        process.exit(1);
      }
      const data = JSON.parse(readFileSync(json, 'utf8'));
      samples[name] ??= {};
      samples[name][b] ??= [];
      samples[name][b].push(...data.results[b]);
    }
    turn++;
  }
  log(`round ${r + 1}/${rounds} done`);
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const names = Object.keys(interps);
const benches = Object.keys(samples.unopt).sort();
const speed = {}; // interp -> bench -> unopt/interp
for (const n of names) {
  speed[n] = {};
  for (const b of benches) speed[n][b] = median(samples.unopt[b]) / median(samples[n][b]);
}
const geomean = (n) => Math.exp(benches.reduce((a, b) => a + Math.log(speed[n][b]), 0) / benches.length);

const w = Math.max(...benches.map((b) => b.length), 9);
log('\nspeedup over unopt (median of ' + rounds * reps + ' samples each; higher is faster)');
log(['benchmark'.padEnd(w), ...names.map((n) => n.padStart(12))].join(' '));
for (const b of benches) log([b.padEnd(w), ...names.map((n) => speed[n][b].toFixed(3).padStart(12))].join(' '));
log(['geomean'.padEnd(w), ...names.map((n) => geomean(n).toFixed(3).padStart(12))].join(' '));
log('\nbuild wall time (-j 2, whole pipeline):');
for (const [n, s] of Object.entries(wall)) log(`  ${n.padEnd(14)} ${(s / 60).toFixed(1)} min${boltSeconds[n] ? ` (BOLT tasks: ${boltSeconds[n].toFixed(0)} s)` : ''}`);
const result = { date: new Date().toISOString(), rounds, reps, inner, speedup: speed, geomean: Object.fromEntries(names.map((n) => [n, geomean(n)])), wallSeconds: wall, boltSeconds };
writeFileSync(join(out, 'interp.json'), JSON.stringify(result, null, 2) + '\n');
writeFileSync(join(project, 'interp.json'), JSON.stringify(result, null, 2) + '\n');
log(`\nresults: ${join(out, 'interp.json')}  project: ${project}`);
log(`interp: opt/unopt geomean ${geomean('opt').toFixed(3)} (target >= 1.30 with BOLT), opt vs cpython-pgo ${(geomean('opt') / geomean('cpython-pgo')).toFixed(3)} (target >= 1.0)`);
log(
  `interp: BOLT gain: opt vs opt-nobolt ${(geomean('opt') / geomean('opt-nobolt')).toFixed(3)}; worst benchmark ${Math.min(...benches.map((b) => speed.opt[b] / speed['opt-nobolt'][b])).toFixed(3)} (target >= 0.97)`,
);
if (speed['system-3.11']) log(`interp: opt vs system python3.11 ${(geomean('opt') / geomean('system-3.11')).toFixed(3)} (target >= 1.03)`);
