#!/usr/bin/env node
// No-op rebuild benchmark.
//
//   node bench/noop.js [--runs N] [--keep] [--cpu-prof]      (or: npm run bench:noop -- --runs N)
//   node bench/noop.js --pyston-checkout DIR [--mirror DIR] [--project DIR] [--runs N] [--keep] [--cpu-prof]
//
// Bundles bench/noop-graph.ts (the real CLI over a synthetic graph of 2,000
// tasks and 10,000 input files) with esbuild the way bin/build.js bundles
// dist/cli.js, into bench/.out/. Generates the input files in a fresh temp
// project, builds it once (-j 2), then times N no-op reruns as whole
// processes (`node bin/run-bundle.js bundle.cjs -j 2`, Node start-up and the
// launcher's code cache included, as bin/pyston-build.js runs the CLI) and reports the
// median, the minimum and the peak RSS against the targets. The timed runs
// leave out Node's own start-up settings (NODE_OPTIONS, NODE_EXTRA_CA_CERTS);
// when the caller's environment has them, each run is paired with one that
// keeps them, and that median is printed too.
//
//   --runs N     timed no-op runs (default 7)
//   --keep       keep the temp project (its path is printed)
//   --cpu-prof   after the timed runs, run one more no-op under `node --cpu-prof`
//                and print the heaviest functions (profile saved in bench/.out/)
//
// With --pyston-checkout DIR it measures the largest real graph instead: every
// target of a Pyston checkout (every variant, package, wheels and docker),
// the graph src/targets.ts builds, through bench/noop-product.ts. It clones
// DIR into a temp project (pyston-build.toml there: submodules.mirror, a
// docker.registry that is never contacted, cache.dir inside the temp dir),
// builds `unopt` for real with the CLI (bin/pyston-build.js; about 10 min on
// 2 cores: the bitcode build, the AOT parts, two interpreters), then builds
// the rest with stand-ins that write each task's declared outputs, laid out
// like the real unopt build's (see bench/noop-product.ts), and times the
// no-op of `pyston-build <every target>`.
//   --mirror DIR   submodule mirror (default: ../shared/pyston/mirror beside the repository)
//   --project DIR  reuse a project that an earlier --keep run left (its real
//                  unopt build and stand-ins are kept; only the no-ops run)
//
// Exit status: 0 when both targets are met, 1 when one is missed, 2 on an error.
//
// Unlike bench/interp.js, this script spawns its processes itself (spawnSync)
// rather than through zx's `$`: each is a timed sample of a whole process,
// and `$` would start bash first, adding bash's start-up to every sample.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle as bundleEntry } from '../bin/build.js';

const TARGET_MS = 300;
const TARGET_MB = 150;
const TASKS = 2000;
const FILES = 10_000;
const FILES_PER_DIR = 100;
const JOBS = '2';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Starts a bundle as bin/pyston-build.js starts the CLI's: through V8's code cache (bin/codecache.js). */
const RUNNER = join(repo, 'bin', 'run-bundle.js');
const outDir = join(repo, 'bench', '.out');

function parseArgs(argv) {
  const o = { runs: 7, keep: false, cpuProf: false, pyston: undefined, mirror: undefined, project: undefined };
  const value = (a, i, name) => {
    const v = a.includes('=') ? a.slice(name.length + 1) : argv[i];
    if (!v) die(`${name} needs a directory`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs' || a.startsWith('--runs=')) {
      const v = a.includes('=') ? a.slice(7) : argv[++i];
      if (!/^\d+$/.test(v ?? '') || Number(v) < 1) die(`--runs needs a whole number >= 1, got '${v}'`);
      o.runs = Number(v);
    } else if (a === '--pyston-checkout' || a.startsWith('--pyston-checkout=')) o.pyston = value(a, a.includes('=') ? i : ++i, '--pyston-checkout');
    else if (a === '--mirror' || a.startsWith('--mirror=')) o.mirror = value(a, a.includes('=') ? i : ++i, '--mirror');
    else if (a === '--project' || a.startsWith('--project=')) o.project = value(a, a.includes('=') ? i : ++i, '--project');
    else if (a === '--keep') o.keep = true;
    else if (a === '--cpu-prof') o.cpuProf = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`usage: ${USAGE}\n`);
      process.exit(0);
    } else die(`unknown argument '${a}' (usage: ${USAGE})`);
  }
  if ((o.mirror !== undefined || o.project !== undefined) && o.pyston === undefined) die('--mirror and --project go with --pyston-checkout');
  return o;
}

const USAGE = 'node bench/noop.js [--runs N] [--keep] [--cpu-prof] [--pyston-checkout DIR [--mirror DIR] [--project DIR]]';

class BenchError extends Error {}

/** Stop the benchmark (the temp project is still removed); exit status 2. */
function die(msg) {
  throw new BenchError(msg);
}

/** Bundled exactly like the CLI (bin/build.js), entry bench/noop-graph.ts. */
async function bundle() {
  const outfile = join(outDir, 'noop-graph.cjs');
  await bundleEntry(join(repo, 'bench', 'noop-graph.ts'), outfile);
  return outfile;
}

/** Must match inputPath() in noop-graph.ts. */
function inputPath(n) {
  return `src/d${String(Math.floor(n / FILES_PER_DIR)).padStart(2, '0')}/f${String(n).padStart(5, '0')}.txt`;
}

function makeProject() {
  const dir = mkdtempSync(join(tmpdir(), 'pyston-bench-noop-'));
  for (let d = 0; d < FILES / FILES_PER_DIR; d++) mkdirSync(join(dir, 'src', `d${String(d).padStart(2, '0')}`), { recursive: true });
  for (let n = 0; n < FILES; n++) {
    // ~512 deterministic bytes per file.
    writeFileSync(join(dir, inputPath(n)), `input file ${n}\n`.padEnd(511, String.fromCharCode(97 + (n % 26))) + '\n');
  }
  return dir;
}

/**
 * Node's own start-up settings, taken out of the timed runs: they change the
 * cost of starting any Node process, not of pyston-build. NODE_EXTRA_CA_CERTS
 * makes Node read and parse the named CA bundle before any script runs (on
 * this machine's environment, which sets it, 30-70 ms per process);
 * NODE_OPTIONS can add any flag. The inherited environment is still timed
 * beside it, and reported, so a reader sees what a shell here would see.
 */
const NODE_STARTUP_ENV = ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'];

function childEnv(rssFile, inherit = false) {
  const env = { ...process.env, BENCH_NOOP_FLAVOR: 'release', ...(rssFile ? { PYSTON_BENCH_RSS_FILE: rssFile } : {}) };
  // Force the plain reporter and no colour: not GitHub mode, stdout is a pipe.
  delete env.GITHUB_ACTIONS;
  delete env.FORCE_COLOR;
  if (!inherit) for (const k of NODE_STARTUP_ENV) delete env[k];
  return env;
}

/** Median wall ms of `node -e 0`: the floor every run pays, in either environment. */
function nodeStartMs(inherit, n = 7) {
  const xs = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0'], { env: childEnv(undefined, inherit), stdio: 'ignore' });
    xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(xs);
}

/** Run the bundle once as a whole process; returns wall ms, RSS (KB) and the parsed summary. */
function runOnce(bundlePath, project, label, nodeArgs = [], inherit = false, more = {}) {
  // The product graph hashes its project's files: the RSS report goes beside it, not into it.
  const rssFile = join(more.rssDir ?? project, '.bench-rss');
  rmSync(rssFile, { force: true });
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...nodeArgs, RUNNER, bundlePath, '-j', JOBS, ...(more.args ?? [])], {
    cwd: project,
    env: { ...childEnv(rssFile, inherit), ...(more.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) die(`${label}: cannot run node: ${r.error.message}`);
  if (r.status !== 0) {
    die(`${label}: exited with ${r.status ?? r.signal}\n--- stdout (tail) ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`);
  }
  let rssKb;
  try {
    rssKb = Number(/maxrss_kb=(\d+)/.exec(readFileSync(rssFile, 'utf8'))[1]);
  } catch {
    die(`${label}: the child did not report maxrss_kb`);
  }
  // The plain reporter's summary line: "ok: 0 ran, 2000 up to date in 0.2s; ...".
  const m = /^ok: (\d+) ran, (\d+) up to date\b/m.exec(r.stdout);
  if (!m) die(`${label}: no summary line in the output:\n${tail(r.stdout)}`);
  return { ms, rssKb, ran: Number(m[1]), upToDate: Number(m[2]), stdout: r.stdout, stderr: r.stderr };
}

function tail(s, n = 20) {
  return (s ?? '').trimEnd().split('\n').slice(-n).join('\n');
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const f1 = (x) => x.toFixed(1);
const mb = (kb) => kb / 1024;

/** Top self-time functions of a .cpuprofile, grouped by function and file. */
function summarizeProfile(path, top = 25) {
  const prof = JSON.parse(readFileSync(path, 'utf8'));
  const dt = new Map();
  for (let i = 0; i < prof.samples.length; i++) dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
  const self = new Map();
  let total = 0;
  for (const node of prof.nodes) {
    const us = dt.get(node.id) ?? 0;
    total += us;
    const cf = node.callFrame;
    const file = cf.url ? cf.url.replace(/^file:\/\//, '').replace(repo + '/', '') : '';
    const k = `${cf.functionName || '(anonymous)'}  ${file}${file ? `:${cf.lineNumber + 1}` : ''}`;
    self.set(k, (self.get(k) ?? 0) + us);
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [`  profile: ${path} (${f1(total / 1000)} ms sampled)`, ...rows.map(([k, us]) => `  ${f1(us / 1000).padStart(7)} ms  ${f1((100 * us) / total).padStart(5)}%  ${k}`)];
}

async function run() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.pyston !== undefined) return runProduct(opts);
  const bundlePath = await bundle();
  const project = makeProject();
  const say = (s) => process.stdout.write(s + '\n');
  let pass = false;
  try {
    say(`bench/noop: ${TASKS} tasks, ${FILES} input files, -j ${JOBS}, node ${process.version}`);
    say(`  bundle:  ${bundlePath}`);
    say(`  project: ${project}`);

    const first = runOnce(bundlePath, project, 'first build');
    if (first.ran !== TASKS) die(`first build: expected ${TASKS} tasks to run, ${first.ran} ran`);
    const outputs = readdirSync(join(project, 'build', 'out')).length;
    if (outputs !== TASKS) die(`first build: expected ${TASKS} outputs in build/out, found ${outputs}`);
    say(`  first build: ${first.ran} ran in ${f1(first.ms)} ms, peak RSS ${f1(mb(first.rssKb))} MB`);
    pass = timeNoops(bundlePath, project, TASKS, opts, say);
  } finally {
    if (opts.keep) say(`  kept ${project}`);
    else rmSync(project, { recursive: true, force: true });
  }
  process.exit(pass ? 0 : 1);
}

/**
 * The first no-op (shown, not in the median), then `opts.runs` timed no-ops
 * of `tasks` tasks; prints the results and returns whether both targets are met.
 */
function timeNoops(bundlePath, project, tasks, opts, say, more = {}) {
  // The first no-op after a build rehashes the outputs that build wrote:
  // they were hashed in the same instant they were written, so their stat
  // cache entries are "racy" (mtime within 100 ms of hashing) and are not
  // trusted once. That one-time cost is shown, but kept out of the median,
  // which measures the steady state a developer sees on every rerun.
  // The code cache is written by the first run without one: let it be the first no-op's, as for a user who reruns a build.
  for (const n of readdirSync(dirname(bundlePath))) if (n.startsWith(`${basename(bundlePath)}.`) && n.endsWith('.v8cache')) rmSync(join(dirname(bundlePath), n));
  const warm = runOnce(bundlePath, project, 'first no-op', [], false, more);
  if (warm.ran !== 0 || warm.upToDate !== tasks) die(`first no-op: expected 0 ran, ${tasks} up to date; got ${warm.ran} ran, ${warm.upToDate} up to date\n${tail(warm.stdout)}`);
  say(`  first no-op (rehashes the outputs the build just wrote; not in the median): ${f1(warm.ms)} ms, RSS ${f1(mb(warm.rssKb))} MB`);

  // Each timed run is paired with one in the inherited environment (see
  // NODE_STARTUP_ENV), interleaved so that drift hits both alike.
  const inherited = NODE_STARTUP_ENV.filter((k) => process.env[k] !== undefined);
  const times = [];
  const timesInherited = [];
  let peakKb = 0;
  for (let i = 1; i <= opts.runs; i++) {
    const r = runOnce(bundlePath, project, `no-op run ${i}`, [], false, more);
    if (r.ran !== 0 || r.upToDate !== tasks) die(`no-op run ${i}: expected 0 ran, ${tasks} up to date; got ${r.ran} ran, ${r.upToDate} up to date`);
    times.push(r.ms);
    peakKb = Math.max(peakKb, r.rssKb);
    let also = '';
    if (inherited.length > 0) {
      const q = runOnce(bundlePath, project, `no-op run ${i} (inherited environment)`, [], true, more);
      if (q.ran !== 0) die(`no-op run ${i} (inherited environment): expected 0 ran, got ${q.ran}`);
      timesInherited.push(q.ms);
      also = `; with ${inherited.join(', ')}: ${f1(q.ms)} ms`;
    }
    say(`  no-op run ${i}: ${f1(r.ms)} ms, RSS ${f1(mb(r.rssKb))} MB${also}`);
  }
  const med = median(times);
  const min = Math.min(...times);
  const peakMb = mb(peakKb);
  const okMs = med <= TARGET_MS;
  const okMb = peakMb <= TARGET_MB;
  say(`  median ${f1(med)} ms (${okMs ? 'PASS' : 'FAIL'}, target <= ${TARGET_MS} ms), min ${f1(min)} ms, max ${f1(Math.max(...times))} ms`);
  say(`  peak RSS ${f1(peakMb)} MB over the timed runs (${okMb ? 'PASS' : 'FAIL'}, target <= ${TARGET_MB} MB)`);
  say(`  node -e 0: ${f1(nodeStartMs(false))} ms median (the floor of every run)`);
  if (inherited.length > 0) {
    say(`  in the inherited environment (${inherited.join(', ')} set): no-op median ${f1(median(timesInherited))} ms, node -e 0 ${f1(nodeStartMs(true))} ms`);
  }

  if (opts.cpuProf) {
    const profDir = join(outDir, 'prof');
    rmSync(profDir, { recursive: true, force: true });
    mkdirSync(profDir, { recursive: true });
    runOnce(bundlePath, project, 'profiled no-op', ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '100'], false, more);
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) for (const l of summarizeProfile(join(profDir, file))) say(l);
  }

  const pass = okMs && okMb;
  say(`${pass ? 'PASS' : 'FAIL'}`);
  say(`noop: median=${Math.round(med)} ms, peak_rss=${Math.round(peakMb)} MB (targets: ${TARGET_MS} ms, ${TARGET_MB} MB)`);
  return pass;
}

/** bench/noop-product.ts, bundled like the CLI. */
async function bundleProduct() {
  const outfile = join(outDir, 'noop-product.cjs');
  await bundleEntry(join(repo, 'bench', 'noop-product.ts'), outfile);
  return outfile;
}

/** Every file (and symlink) under dir, relative to it, sorted. */
function listFiles(dir, rel = '') {
  const out = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...listFiles(dir, r));
    else out.push(r);
  }
  return out.sort();
}

/** The largest real graph: every target of a Pyston checkout (see the header). */
async function runProduct(opts) {
  const say = (s) => process.stdout.write(s + '\n');
  const checkout = resolve(opts.pyston);
  if (!existsSync(join(checkout, '.git')) || !existsSync(join(checkout, 'pyston')))
    die(`--pyston-checkout ${checkout}: not a Pyston git checkout (no .git or no pyston/); ../shared/pyston/make-checkout.sh DEST makes one`);
  const mirror = resolve(opts.mirror ?? join(repo, '..', 'shared', 'pyston', 'mirror'));
  if (!existsSync(mirror)) die(`submodule mirror ${mirror} not found: pass --mirror DIR`);
  const bundlePath = await bundleProduct();
  const reuse = opts.project !== undefined;
  const work = reuse ? resolve(opts.project) : mkdtempSync(join(tmpdir(), 'pyston-bench-noop-product-'));
  const project = join(work, 'pyston');
  const shapesFile = join(work, 'shapes.json');
  if (reuse && !existsSync(shapesFile)) die(`--project ${work}: not a directory a --keep run left (no shapes.json)`);
  const more = { env: { PYSTON_BENCH_SHAPES: shapesFile }, rssDir: work };
  let pass = false;
  try {
    say(`bench/noop: the product graph of a Pyston checkout, -j ${JOBS}, node ${process.version}`);
    say(`  bundle:  ${bundlePath}`);
    say(`  project: ${project}`);
    if (!reuse) {
      const clone = spawnSync('git', ['clone', '-q', checkout, project], { encoding: 'utf8' });
      if (clone.status !== 0) die(`git clone ${checkout}: ${tail(clone.stderr)}`);
      // Never contacted (the docker tasks are stand-ins); cache.dir keeps every download and profile path in the temp dir.
      const toml = [`cache.dir = ${JSON.stringify(join(work, 'cache'))}`, `submodules.mirror = ${JSON.stringify(`${mirror}/`)}`, 'docker.registry = "127.0.0.1:5000"', ''].join('\n');
      writeFileSync(join(project, 'pyston-build.toml'), toml);
      say('  building unopt for real (bin/pyston-build.js unopt) ...');
      const t0 = process.hrtime.bigint();
      const real = spawnSync(process.execPath, [join(repo, 'bin', 'pyston-build.js'), '-C', project, '-j', JOBS, 'unopt'], {
        env: childEnv(undefined, true),
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      writeFileSync(join(work, 'unopt.log'), `${real.stdout}${real.stderr}`);
      if (real.status !== 0) die(`the real unopt build failed (log: ${join(work, 'unopt.log')}):\n${tail(real.stdout)}\n${tail(real.stderr)}`);
      say(`  real unopt build: ${f1(Number(process.hrtime.bigint() - t0) / 6e10)} min (${/^ok: .*$/m.exec(real.stdout)?.[0] ?? ''})`);

      const srcDir = readdirSync(join(project, 'build', 'src')).find((d) => d.startsWith('patched-'));
      if (srcDir === undefined) die('the real build left no build/src/patched-* tree');
      const shapes = {
        install: listFiles(join(project, 'build', 'unopt_install')),
        source: listFiles(join(project, 'build', 'src', srcDir)).filter((f) => !f.includes('__pycache__/')),
        objects: listFiles(join(project, 'build', 'unopt_build')).filter((f) => f.endsWith('.o')).length,
      };
      writeFileSync(shapesFile, JSON.stringify(shapes));
      say(`  layouts from it: install ${shapes.install.length} files, source ${shapes.source.length} files, ${shapes.objects} objects`);
    }

    // Every target name, as the CLI lists them for an unknown one.
    const probe = spawnSync(process.execPath, [RUNNER, bundlePath, '-n', 'bench-no-such-target'], { cwd: project, env: { ...childEnv(join(work, '.bench-rss')), ...more.env }, encoding: 'utf8' });
    const listed = /valid targets: ([^(\n]+?) \(or a task id/.exec(probe.stderr ?? '');
    if (!listed) die(`cannot read the target list:\n${tail(probe.stderr)}`);
    const targets = listed[1].split(', ');
    const graph = spawnSync(process.execPath, [RUNNER, bundlePath, 'graph', '--format', 'json'], {
      cwd: project,
      env: { ...childEnv(join(work, '.bench-rss')), ...more.env },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (graph.status !== 0) die(`graph --format json failed:\n${tail(graph.stderr)}`);
    const whole = JSON.parse(graph.stdout).tasks.length;
    more.args = targets;
    say(`  targets (${targets.length}): ${targets.join(' ')}`);

    const first = runOnce(bundlePath, project, 'stand-in build', [], false, more);
    const total = first.ran + first.upToDate;
    if (total !== whole) die(`every target covers ${total} tasks, but the whole graph has ${whole}`);
    say(`  stand-in build: ${first.ran} ran, ${first.upToDate} up to date (the real ones) in ${f1(first.ms / 1000)} s: ${total} tasks, the whole graph`);
    const built = listFiles(join(project, 'build')).length;
    const tracked = spawnSync('git', ['-C', project, 'ls-files'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      .stdout.split('\n')
      .filter(Boolean).length;
    say(`  files: ${built} under build/, ${tracked} tracked in the checkout`);
    pass = timeNoops(bundlePath, project, total, opts, say, more);
  } finally {
    if (opts.keep || reuse) say(`  kept ${work} (rerun with --project ${work})`);
    else rmSync(work, { recursive: true, force: true });
  }
  process.exit(pass ? 0 : 1);
}

try {
  await run();
} catch (e) {
  process.stderr.write(`bench/noop: error: ${e instanceof BenchError ? e.message : (e?.stack ?? e)}\n`);
  process.exit(2);
}
