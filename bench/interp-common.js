// What both modes of bench/interp.js share: running a process, the
// interleaved benchmark loop, and the speedup table.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';

export function log(msg) {
  process.stdout.write(msg + '\n');
}

/**
 * `file` with `argv` (`opts`: cwd, env), its output captured and its stdin
 * empty, as spawnSync ran it; never throws for an exit status. `env`
 * replaces the environment when given.
 */
export function run(file, argv, opts = {}) {
  return $({ ...opts, stdio: ['ignore', 'pipe', 'pipe'], quiet: true, nothrow: true })`${file} ${argv}`;
}

/** Run a command, its output captured; returns { seconds, stdout }. Throws on failure, after printing its output's tail. */
export async function timedRun(label, file, argv, opts = {}) {
  log(`build: ${label}: ${[file, ...argv].join(' ')}`);
  const t0 = process.hrtime.bigint();
  const r = await run(file, argv, opts);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.exitCode !== 0) {
    process.stderr.write(`${label} failed (exit ${r.exitCode ?? r.signal})\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}\n`);
    throw new Error(`${label} failed`);
  }
  log(`build: ${label}: ${seconds.toFixed(0)} s`);
  return { seconds, stdout: r.stdout };
}

/** The BOLT tasks' own time (seconds, 0 when none ran), from a `pyston-build --json` run's summary. */
export function boltTaskSeconds(summaryJson) {
  const summary = JSON.parse(summaryJson);
  const bolt = summary.tasks.filter((t) => t.id.includes(':bolt:') && t.status === 'ran');
  return bolt.reduce((a, t) => a + t.durationMs, 0) / 1000;
}

/** `argsFor` of {@link measureInterleaved} for runtime/bench/run.py: one benchmark, `reps` samples of `inner` runs each. */
export function runPyArgs(runPy, reps, inner) {
  return (b, json) => [runPy, '--only', b, '--reps', String(reps), '--inner', String(inner), '--json', json];
}

/** The benchmark names `run.py --list` prints (its first column), with `python`. */
export async function listBenchmarks(python, runPy) {
  const r = await run(python, [runPy, '--list'], { cwd: tmpdir() });
  if (r.exitCode !== 0) {
    process.stderr.write(`cannot list the benchmarks:\n${r.stderr}\n`);
    process.exit(1);
  }
  return r.stdout
    .split('\n')
    .map((l) => l.split(/\s+/)[0])
    .filter(Boolean);
}

/**
 * Interleaved benchmark runs, one benchmark at a time: every sample of a
 * benchmark is taken on each interpreter in turn (the order rotates), so a
 * slow spell of this VM (they last seconds to minutes) falls on all of them
 * alike instead of on one interpreter's whole pass.
 *
 * `argsFor(bench, jsonPath)` gives the arguments of the Python process that
 * measures `bench` and writes runtime/bench/run.py's JSON to `jsonPath`.
 * Returns interp -> bench -> [seconds].
 */
export async function measureInterleaved({ interps, benches, rounds, out, argsFor }) {
  const samples = {};
  const order = Object.keys(interps);
  let turn = 0;
  for (let r = 0; r < rounds; r++) {
    for (const b of benches) {
      for (let k = 0; k < order.length; k++) {
        const name = order[(k + turn) % order.length];
        const json = join(out, `interp-${name}.json`);
        const res = await run(interps[name], argsFor(b, json), { cwd: tmpdir() });
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
  return samples;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Speedups over `baseline` (its median time over each interpreter's), per
 * benchmark, and their geomeans; printed as a table. Returns { speed, geomean }.
 */
export function speedupTable(samples, baseline, samplesEach) {
  const names = Object.keys(samples);
  const benches = Object.keys(samples[baseline]).sort();
  const speed = {}; // interp -> bench -> baseline/interp
  for (const n of names) {
    speed[n] = {};
    for (const b of benches) speed[n][b] = median(samples[baseline][b]) / median(samples[n][b]);
  }
  const geomean = Object.fromEntries(names.map((n) => [n, Math.exp(benches.reduce((a, b) => a + Math.log(speed[n][b]), 0) / benches.length)]));
  const w = Math.max(...benches.map((b) => b.length), 9);
  log(`\nspeedup over ${baseline} (median of ${samplesEach} samples each; higher is faster)`);
  log(['benchmark'.padEnd(w), ...names.map((n) => n.padStart(12))].join(' '));
  for (const b of benches) log([b.padEnd(w), ...names.map((n) => speed[n][b].toFixed(3).padStart(12))].join(' '));
  log(['geomean'.padEnd(w), ...names.map((n) => geomean[n].toFixed(3).padStart(12))].join(' '));
  return { speed, geomean, benches };
}

/** A small seeded generator (mulberry32): the same samples give the same intervals on every run. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A 95% bootstrap interval for the geomean of `num` over `den` (how much
 * faster num is; both interpreters' names), from the samples themselves.
 * One resample draws, for every benchmark and both interpreters, as many
 * samples as were taken, with replacement, from that benchmark's samples
 * on that interpreter; takes each one's median, and the geomean of den/num
 * over the benchmarks. (Resampling whole rounds would keep the pairing the
 * interleaving made, but with the few rounds a run has here, 3 or 4, it
 * gives only a handful of distinct resamples: too coarse an interval.)
 * Returns { lo, hi }: the 2.5th and 97.5th percentiles of `iterations`
 * resamples.
 */
export function bootstrapRatio(samples, num, den, iterations = 2000, seed = 1) {
  const benches = Object.keys(samples[den]).sort();
  const next = rng(seed);
  const draw = (xs) => median(Array.from(xs, () => xs[Math.floor(next() * xs.length)]));
  const out = [];
  for (let it = 0; it < iterations; it++) {
    let logSum = 0;
    for (const b of benches) logSum += Math.log(draw(samples[den][b]) / draw(samples[num][b]));
    out.push(Math.exp(logSum / benches.length));
  }
  out.sort((a, b) => a - b);
  return { lo: out[Math.floor(0.025 * iterations)], hi: out[Math.ceil(0.975 * iterations) - 1] };
}

/**
 * Geomean ratios with their bootstrap intervals, printed as a table: each
 * [num, den] pair, the point estimate from the medians, the interval, and
 * whether the difference from 1.0 is real at that confidence (the interval
 * does not contain 1.0). Returns the rows.
 */
export function ratioTable(samples, pairs) {
  const rows = [];
  log("\ngeomean ratios with 95% bootstrap intervals (resampling each benchmark's samples)");
  for (const [num, den] of pairs) {
    if (!samples[num] || !samples[den]) continue;
    const benches = Object.keys(samples[den]).sort();
    const point = Math.exp(benches.reduce((a, b) => a + Math.log(median(samples[den][b]) / median(samples[num][b])), 0) / benches.length);
    const { lo, hi } = bootstrapRatio(samples, num, den);
    const verdict = lo > 1 ? 'faster (real)' : hi < 1 ? 'slower (real)' : 'within noise';
    rows.push({ num, den, point, lo, hi, verdict });
    log(`  ${`${num} / ${den}`.padEnd(30)} ${point.toFixed(3)}  [${lo.toFixed(3)}, ${hi.toFixed(3)}]  ${verdict}`);
  }
  return rows;
}
