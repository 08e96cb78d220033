#!/usr/bin/env node
// bench/ab: one config change to the opt pipeline, measured side by side.
//
//   node bench/ab.js --set KEY=VALUE [--set KEY=VALUE]... [--rounds N] [--reps K] [--inner I] [--project DIR [--reuse]]
//
// Builds `opt` twice on the embedded CPython 3.11.2, each in its own project
// directory with -j 2: `a` with the defaults and `b` with the given --set
// values, then benchmarks both and Debian's /usr/bin/python3.11 (when it is
// there) on runtime/bench, interleaved per benchmark as bench/interp.js does
// (interp-common.js). Prints each benchmark's speedup of b over a, and the
// geomean ratios b/a, a/Debian and b/Debian with their 95% bootstrap
// intervals: "within noise" when the interval holds 1.0. Both wall times
// too. Results in bench/.out/ab.json.
//
// For a change to the default pipeline that bench/interp.js does not build
// (a compiler flag behind a config key, a training setting): a quicker
// answer (about 25 min here) than a whole bench/interp run.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listBenchmarks, log, measureInterleaved, ratioTable, runPyArgs, speedupTable, timedRun } from './interp-common.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: node bench/ab.js --set KEY=VALUE [--set KEY=VALUE]... [--rounds N] [--reps K] [--inner I] [--project DIR [--reuse]]';

function parseArgs(argv) {
  const o = { set: [], rounds: 3, reps: 3, inner: 1, project: '', reuse: false };
  const bad = (msg) => {
    process.stderr.write(`bench/ab: error: ${msg}\n${USAGE}\n`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) bad(`${a} needs a value`);
      return v;
    };
    const count = () => {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1) bad(`${a} needs a whole number >= 1, got '${v}'`);
      return Number(v);
    };
    if (a === '--set') {
      const v = value();
      if (!/^[a-z][a-z0-9_.]*=/.test(v)) bad(`--set needs KEY=VALUE, got '${v}'`);
      o.set.push(v);
    } else if (a === '--rounds') o.rounds = count();
    else if (a === '--reps') o.reps = count();
    else if (a === '--inner') o.inner = count();
    else if (a === '--project') o.project = value();
    else if (a === '--reuse') o.reuse = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else bad(`unknown argument '${a}'`);
  }
  if (o.set.length === 0) bad('give the change to measure with --set KEY=VALUE');
  if (o.reuse && !o.project) bad('--reuse needs --project DIR of an earlier run');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const project = opts.project || mkdtempSync(join(tmpdir(), 'pyston-bench-ab-'));
mkdirSync(project, { recursive: true });
const out = join(repo, 'bench', '.out');
mkdirSync(out, { recursive: true });
const previous = opts.reuse ? JSON.parse(readFileSync(join(project, 'ab.json'), 'utf8')) : undefined;
if (previous && JSON.stringify(previous.set) !== JSON.stringify(opts.set)) {
  process.stderr.write(`bench/ab: error: ${project} was measured with --set ${previous.set.join(' ')}, not ${opts.set.join(' ')}\n`);
  process.exit(2);
}

const wall = {};
async function build(name, sets) {
  const dir = join(project, name);
  if (previous) wall[name] = previous.wallSeconds[name];
  else {
    mkdirSync(dir, { recursive: true });
    const argv = [join(repo, 'bin', 'pyston-build.js'), '-C', dir, '-j', '2', ...sets.flatMap((s) => ['--set', s]), 'all'];
    wall[name] = (await timedRun(name, process.execPath, argv)).seconds;
  }
  return join(dir, 'build', 'opt_env', 'bin', 'python');
}

log(`bench/ab: a = opt with the defaults; b = opt with ${opts.set.join(' ')}; project ${project}`);
const interps = { a: await build('a', []), b: await build('b', opts.set) };
if (existsSync('/usr/bin/python3.11')) interps['system-3.11'] = '/usr/bin/python3.11';

const runPy = join(repo, 'runtime', 'bench', 'run.py');
const benches = await listBenchmarks(interps.a, runPy);
const samples = await measureInterleaved({
  interps,
  benches,
  rounds: opts.rounds,
  out,
  argsFor: runPyArgs(runPy, opts.reps, opts.inner),
});
const { speed } = speedupTable(samples, 'a', opts.rounds * opts.reps);
const ratios = ratioTable(samples, [
  ['b', 'a'],
  ['a', 'system-3.11'],
  ['b', 'system-3.11'],
]);
const worst = Object.entries(speed.b).sort((x, y) => x[1] - y[1])[0];
log(`\nbuild wall time (-j 2, all): a ${(wall.a / 60).toFixed(1)} min, b ${(wall.b / 60).toFixed(1)} min`);
log(
  `ab: ${opts.set.join(' ')}: b/a ${ratios[0].point.toFixed(3)} [${ratios[0].lo.toFixed(3)}, ${ratios[0].hi.toFixed(3)}] ${ratios[0].verdict}; slowest benchmark under b: ${worst[0]} ${worst[1].toFixed(3)}`,
);
const result = { date: new Date().toISOString(), set: opts.set, rounds: opts.rounds, reps: opts.reps, inner: opts.inner, speedOverA: speed, ratios, wallSeconds: wall, samples };
writeFileSync(join(out, 'ab.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(project, 'ab.json'), `${JSON.stringify(result, null, 2)}\n`);
log(`results: ${join(out, 'ab.json')}  project: ${project}`);
