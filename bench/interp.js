#!/usr/bin/env node
// bench/interp: how fast are the interpreters pyston-build makes, and how long does it take?
//
//   node bench/interp.js [--project DIR] [--rounds N] [--reps K] [--inner I] [--nobolt] [--before-package] [--regrtest] [--clang] [--reuse]
//   node bench/interp.js --pyston-checkout DIR [--macro] [--set KEY=VALUE]... [--rounds N] [--reps K] [--inner I] [--reuse]
//
// With --pyston-checkout DIR, the Pyston mode (bench/interp-pyston.js): DIR
// is a Pyston checkout and the project, and the builds are Pyston's opt,
// stock and unopt, compared with speedups over stock. The rest of this
// comment is the CPython mode.
//
// --reuse: with --project DIR of an earlier run, measure its builds again
// without rebuilding (the wall times printed are the earlier run's).
// Builds, each in its own project directory (default: a temp dir), with -j 2
// and the default compiler (cc = gcc), timing every whole pipeline:
//   unopt        pyston-build unopt
//   opt          pyston-build all: our PGO on runtime/train, LTO (parallel, under the
//                jobserver), and on x86_64 BOLT; then `package` in the same project,
//                timed apart (release reuses opt's profiles), and its release interpreter
//   opt-before   the pipeline as it was before: --set lto.parallel=false (configure's
//                serial -flto-partition=none, every program LTO-linked) and
//                release.reuse_profiles=false; with --before-package its `package` is timed too
//   opt-nobolt   pyston-build opt with USE_BOLT=0 (PGO + LTO only)   (with --nobolt)
//   opt-regrtest pyston-build opt with --profile-task regrtest      (with --regrtest)
//   opt-clang    pyston-build opt with cc = clang                   (with --clang)
//   cpython-pgo  CPython's own `configure --enable-optimizations --with-lto` of the
//                same source with the same compiler (gcc), built by this script
// and compares them, plus the system /usr/bin/python3.11 (Debian's GCC PGO+LTO
// build of the same 3.11.2), on runtime/bench: a benchmark set kept apart from the
// training workloads. Runs are interleaved per benchmark: each round takes one sample
// set of a benchmark on every interpreter in turn (rotating order), then the next
// benchmark, so drift hits all interpreters alike.
// Prints per-benchmark speedups over unopt, their geomean, the main geomean ratios
// with 95% bootstrap intervals (resampling rounds, see interp-common.js), each
// build's wall time and the pipeline targets (opt against CPython's own build,
// package against all).
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
import { boltTaskSeconds, listBenchmarks, log, measureInterleaved, ratioTable, runPyArgs, speedupTable, timedRun } from './interp-common.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE =
  'usage: node bench/interp.js [--project DIR] [--rounds N] [--reps K] [--inner I] [--nobolt] [--before-package] [--regrtest] [--clang] [--reuse]\n' +
  '       node bench/interp.js --pyston-checkout DIR [--macro] [--set KEY=VALUE]... [--rounds N] [--reps K] [--inner I] [--reuse]';

function parseArgs(argv) {
  const o = { rounds: 3, reps: 3, inner: 1, project: '', reuse: false, regrtest: false, clang: false, nobolt: false, beforePackage: false, pystonCheckout: '', macro: false, set: [] };
  const bad = (msg) => {
    process.stderr.write(`bench/interp: error: ${msg}\n${USAGE}\n`);
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
    } else if (a === '--pyston-checkout') {
      const v = argv[++i];
      if (v === undefined || v === '') bad('--pyston-checkout needs the directory of a Pyston checkout');
      o.pystonCheckout = v;
    } else if (a === '--set') {
      const v = argv[++i];
      if (!/^[a-z][a-z0-9_.]*=/.test(v ?? '')) bad(`--set needs KEY=VALUE (a pyston-build config key), got '${v ?? ''}'`);
      o.set.push(v);
    } else if (a === '--macro') o.macro = true;
    else if (a === '--reuse') o.reuse = true;
    else if (a === '--regrtest') o.regrtest = true;
    else if (a === '--clang') o.clang = true;
    else if (a === '--nobolt') o.nobolt = true;
    else if (a === '--before-package') o.beforePackage = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else bad(`unknown argument '${a}'`);
  }
  if (o.pystonCheckout !== '') {
    if (o.project !== '') bad('--pyston-checkout DIR is the project: leave out --project');
    if (o.regrtest || o.clang || o.nobolt || o.beforePackage) bad('--regrtest, --clang, --nobolt and --before-package are for the CPython mode, not --pyston-checkout');
    return o;
  }
  if (o.macro || o.set.length) bad('--macro and --set need --pyston-checkout DIR');
  if (o.reuse && o.project === '') bad('--reuse needs --project DIR of an earlier run');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
if (opts.pystonCheckout !== '') {
  const { pystonMode } = await import('./interp-pyston.js');
  await pystonMode(opts);
  process.exit(0);
}

const { rounds, reps, inner, reuse, regrtest: withRegrtest, clang: withClang, nobolt: withNobolt, beforePackage: withBeforePackage, ...given } = opts;
const project = given.project || mkdtempSync(join(tmpdir(), 'pyston-bench-interp-'));
mkdirSync(project, { recursive: true });
const out = join(repo, 'bench', '.out');
mkdirSync(out, { recursive: true });

/** {@link timedRun}, keeping the command's stdout in `lastStdout`; returns wall seconds. */
async function timed(label, file, argv, opts = {}) {
  const r = await timedRun(label, file, argv, opts);
  lastStdout = r.stdout;
  return r.seconds;
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
  const variant = target === 'all' ? 'opt' : target;
  if (previous) {
    wall[name] = previous.wallSeconds[name];
    if (previous.boltSeconds?.[name]) boltSeconds[name] = previous.boltSeconds[name];
    if (previous.criticalPaths?.[name]) critical[name] = previous.criticalPaths[name];
    return join(dir, 'build', `${variant}_env`, 'bin', 'python');
  }
  mkdirSync(dir, { recursive: true });
  wall[name] = await timed(name, process.execPath, cli(dir, '--json', target, ...extra), { env: { ...process.env, ...env } });
  const bolt = boltTaskSeconds(lastStdout);
  if (bolt) boltSeconds[name] = bolt;
  critical[name] = criticalPath(lastStdout);
  return join(dir, 'build', `${variant}_env`, 'bin', 'python');
}
/** The critical path of a `--json` run's summary: each task on it with its seconds. */
function criticalPath(summaryJson) {
  const s = JSON.parse(summaryJson);
  const took = new Map(s.tasks.map((t) => [t.id, t.durationMs / 1000]));
  return s.criticalPath.map((id) => `${id} ${(took.get(id) ?? 0).toFixed(0)}s`).join(' -> ');
}
const critical = {};
/** An optional comparison: a failure is reported and the variant left out, not fatal. */
async function optionalBuild(name, target, extra, env) {
  try {
    return await ourBuild(name, target, extra, env);
  } catch (e) {
    log(`build: ${name}: FAILED, left out (${e.message})`);
    return undefined;
  }
}
/** `package` in an earlier build's project, timed apart; returns its release interpreter. */
async function packageAfter(name, extra = []) {
  const dir = join(project, name);
  const label = `${name}+package`;
  if (previous) {
    wall[label] = previous.wallSeconds[label];
    if (previous.criticalPaths?.[label]) critical[label] = previous.criticalPaths[label];
  } else {
    wall[label] = await timed(label, process.execPath, cli(dir, '--json', 'package', ...extra));
    critical[label] = criticalPath(lastStdout);
  }
  return join(dir, 'build', 'release_env', 'bin', 'python');
}
const interps = {};
interps.unopt = await ourBuild('unopt', 'unopt');
// `all` is opt and the pyston3 links; `package` then builds the release with opt's profiles.
interps.opt = await ourBuild('opt', 'all');
interps.release = await packageAfter('opt');
// Before: the LTO link serial, and the release trained again.
const BEFORE = ['--set', 'lto.parallel=false', '--set', 'release.reuse_profiles=false'];
interps['opt-before'] = await ourBuild('opt-before', 'all', BEFORE);
if (withBeforePackage) await packageAfter('opt-before', BEFORE);
if (withNobolt) interps['opt-nobolt'] = await ourBuild('opt-nobolt', 'opt', [], { USE_BOLT: '0' });
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

const benchNames = await listBenchmarks(interps.unopt, join(repo, 'runtime/bench/run.py'));
const samples = await measureInterleaved({
  interps,
  benches: benchNames,
  rounds,
  out,
  argsFor: runPyArgs(join(repo, 'runtime/bench/run.py'), reps, inner),
});
const names = Object.keys(interps);
const { speed, geomean: geomeans, benches } = speedupTable(samples, 'unopt', rounds * reps);
const geomean = (n) => geomeans[n];
const ratios = ratioTable(samples, [
  ['opt', 'unopt'],
  ['opt', 'system-3.11'],
  ['opt', 'cpython-pgo'],
  ['opt', 'opt-before'],
  ['release', 'opt'],
  ['opt', 'opt-nobolt'],
  ['opt-before', 'unopt'],
  ['opt-before', 'system-3.11'],
]);
log('\nbuild wall time (-j 2, whole pipeline):');
for (const [n, s] of Object.entries(wall)) log(`  ${n.padEnd(22)} ${(s / 60).toFixed(1)} min${boltSeconds[n] ? ` (BOLT tasks: ${boltSeconds[n].toFixed(0)} s)` : ''}`);
log('\ncritical paths (the trace of each run: build/.pyston-build/trace.json in its project):');
for (const [n, c] of Object.entries(critical)) log(`  ${n}: ${c}`);
const result = {
  date: new Date().toISOString(),
  rounds,
  reps,
  inner,
  speedup: speed,
  geomean: Object.fromEntries(names.map((n) => [n, geomean(n)])),
  ratios,
  wallSeconds: wall,
  boltSeconds,
  criticalPaths: critical,
  samples,
};
writeFileSync(join(out, 'interp.json'), JSON.stringify(result, null, 2) + '\n');
writeFileSync(join(project, 'interp.json'), JSON.stringify(result, null, 2) + '\n');
log(`\nresults: ${join(out, 'interp.json')}  project: ${project}`);
const ratio = (a, b) => (wall[a] !== undefined && wall[b] !== undefined ? (wall[a] / wall[b]).toFixed(2) : 'n/a');
log(`interp: opt pipeline (all) / CPython's own PGO+LTO build: ${ratio('opt', 'cpython-pgo')} (target <= 0.5); before: ${ratio('opt-before', 'cpython-pgo')}`);
log(`interp: package after all / all: ${ratio('opt+package', 'opt')} (target <= 0.40); before: ${ratio('opt-before+package', 'opt-before')}`);
log(
  `interp: opt/unopt geomean ${geomean('opt').toFixed(3)}, opt vs system python3.11 ${speed['system-3.11'] ? (geomean('opt') / geomean('system-3.11')).toFixed(3) : 'n/a'} (before: 1.177 and 1.076; aim 1.10)`,
);
const worst = Math.min(...benches.map((b) => speed.opt[b] / speed['opt-before'][b]));
log(`interp: worst benchmark, opt over opt-before: ${worst.toFixed(3)} (target >= 0.97)`);
if (speed['opt-nobolt']) {
  log(
    `interp: BOLT gain: opt vs opt-nobolt ${(geomean('opt') / geomean('opt-nobolt')).toFixed(3)}; worst benchmark ${Math.min(...benches.map((b) => speed.opt[b] / speed['opt-nobolt'][b])).toFixed(3)}`,
  );
}
