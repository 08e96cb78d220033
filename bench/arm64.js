#!/usr/bin/env node
// bench/arm64: the arm64 cross pipeline on this x86_64 machine, timed, and
// a sanity check that PGO trained under emulation helped.
//
//   node bench/arm64.js [--project DIR [--reuse]] [--rounds N] [--reps K] [--inner I]
//
// Builds, in one project directory (default: a temp dir; pass the project of
// an earlier `--set arch=arm64 package` run to reuse its builds), with -j 2
// and the default compiler (gcc; the cross gcc for arm64):
//   unopt           the native unopt (the arm64 builds' build python)
//   release-arm64   pyston-build --set arch=arm64 release: PGO trained under qemu + LTO
//   unopt-arm64     pyston-build --set arch=arm64 unopt
//   native PGO      pyston-build --set bolt=off release:pgo:train: the same
//                   instrumented build and training, natively (BOLT off, as
//                   on arm64, so the instrumented code has the same shape)
// Prints each run's wall time (a build that was up to date takes seconds),
// the PGO training task's time under qemu against the native one (from
// their logs), and the arm64 release's speedup over the arm64 unopt on
// runtime/bench, both run under qemu in interleaved rounds. Emulation
// distorts absolute speed: the ratio is only a check that the profile
// applied, not a measure of arm64 hardware. The arm64 training runs
// runtime/train at a quarter of its rounds (src/variants/cross.ts), so its
// time is also given per unit of work (x4).
//
// --reuse: with --project DIR of an earlier run, measure its builds again
// without running pyston-build (the times printed are the earlier run's).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listBenchmarks, log, measureInterleaved, runPyArgs, speedupTable, timedRun } from './interp-common.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: node bench/arm64.js [--project DIR [--reuse]] [--rounds N] [--reps K] [--inner I]';

function parseArgs(argv) {
  const o = { rounds: 2, reps: 1, inner: 1, project: '', reuse: false };
  const bad = (m) => {
    process.stderr.write(`error: ${m}\n${USAGE}\n`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rounds' || a === '--reps' || a === '--inner') {
      const v = argv[++i];
      if (!/^[1-9]\d*$/.test(v ?? '')) bad(`${a} needs a positive integer, got '${v ?? ''}'`);
      o[a.slice(2)] = Number(v);
    } else if (a === '--project') {
      const v = argv[++i];
      if (!v) bad('--project needs a directory');
      o.project = v;
    } else if (a === '--reuse') o.reuse = true;
    else bad(`unknown argument '${a}'`);
  }
  if (o.reuse && o.project === '') bad('--reuse needs --project DIR of an earlier run');
  return o;
}

const { rounds, reps, inner, reuse, project: given } = parseArgs(process.argv.slice(2));
const project = given || mkdtempSync(join(tmpdir(), 'pyston-bench-arm64-'));
mkdirSync(project, { recursive: true });
const out = join(repo, 'bench', '.out');
mkdirSync(out, { recursive: true });
const previous = reuse ? JSON.parse(readFileSync(join(project, 'arm64.json'), 'utf8')) : undefined;

const wall = previous?.wallSeconds ?? {};
/** One pyston-build run in the shared project, timed whole. */
async function ourBuild(name, target, sets = []) {
  if (previous) return;
  const argv = [join(repo, 'bin', 'pyston-build.js'), '-C', project, '-j', '2', ...sets.flatMap((x) => ['--set', x]), target];
  wall[name] = (await timedRun(name, process.execPath, argv)).seconds;
}
/** The training time a task's log records (its last line: `# finished in Ns`). */
function trainSeconds(id) {
  const m = /# finished in ([\d.]+)s\s*$/.exec(readFileSync(join(project, 'build', 'logs', `${id}.log`), 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

await ourBuild('unopt', 'unopt');
await ourBuild('release-arm64', 'release', ['arch=arm64']);
await ourBuild('unopt-arm64', 'unopt', ['arch=arm64']);
await ourBuild('native PGO', 'release:pgo:train', ['bolt=off']);
const train = { native: trainSeconds('release:pgo:train'), arm64: trainSeconds('release-arm64:pgo:train') };
const interps = { 'unopt-arm64': join(project, 'build/unopt-arm64_env/bin/python'), 'release-arm64': join(project, 'build/release-arm64_env/bin/python') };

const benches = await listBenchmarks(interps['unopt-arm64'], join(repo, 'runtime/bench/run.py'));
const t0 = process.hrtime.bigint();
const samples = await measureInterleaved({
  interps,
  benches,
  rounds,
  out,
  argsFor: runPyArgs(join(repo, 'runtime/bench/run.py'), reps, inner),
});
const benchSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
const { speed, geomean } = speedupTable(samples, 'unopt-arm64', rounds * reps);
log('\nwall time of each pyston-build run (-j 2; one project, so later runs reuse what earlier ones built):');
for (const [n, s_] of Object.entries(wall)) log(`  ${n.padEnd(14)} ${(s_ / 60).toFixed(1)} min`);
log(
  `\nPGO training (runtime/train on the instrumented build): native ${train.native.toFixed(0)} s; arm64 under qemu ${train.arm64.toFixed(0)} s at scale 0.25, ` +
    `so ${((train.arm64 * 4) / train.native).toFixed(1)}x the native time per unit of work`,
);
log(`runtime/bench under qemu, both interpreters: ${(benchSeconds / 60).toFixed(1)} min`);
const result = { date: new Date().toISOString(), rounds, reps, inner, wallSeconds: wall, trainSeconds: train, benchSeconds, speedup: speed, geomean: { 'release-arm64': geomean['release-arm64'] } };
writeFileSync(join(out, 'arm64.json'), JSON.stringify(result, null, 2) + '\n');
writeFileSync(join(project, 'arm64.json'), JSON.stringify(result, null, 2) + '\n');
log(`\nresults: ${join(out, 'arm64.json')}  project: ${project}`);
log(`arm64: release/unopt geomean under qemu ${geomean['release-arm64'].toFixed(3)} (a sanity check that PGO helped: > 1)`);
