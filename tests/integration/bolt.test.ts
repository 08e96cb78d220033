/**
 * The BOLT pipeline (src/bolt) on the tiny C fixture with the real gcc,
 * llvm-bolt 19 and merge-fdata: instrument -> train -> merge -> optimize ->
 * verify, for an executable and for a shared object; the checks, the
 * failure policy and the profile cache.
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { build, graphOf, REPO, tmpProject } from '../helpers.js';
import { boltTasks, DEFAULT_APPLY_FLAGS, type BoltBinary, type BoltSpec } from '../../src/bolt/pipeline.js';
import { functionTable, hasSection, readElf, stackPolicy } from '../../src/elf/reader.js';
import { discoverToolchain } from '../../src/llvm/toolchain.js';
import { MissingToolError, type Task } from '../../src/graph/index.js';

const FIX = join(REPO, 'tests/fixtures/cdemo');
const tc = discoverToolchain({ llvmMajor: 19, llvmBin: '', family: 'gcc' }, process.env.PATH);
// What src/variants.ts adds for BOLT with gcc.
const CFLAGS = '-O2 -g -fno-reorder-blocks-and-partition';
const LDFLAGS = '-Wl,--emit-relocs -fno-reorder-blocks-and-partition';

/** The fixture, linked for BOLT: an executable, and with `shared` also libhot.so and an executable using it. */
function linkTask(shared = false, greeting?: string): Task {
  return {
    id: 'link',
    deps: [],
    inputs: { files: [FIX], tools: [tc.cc, { name: 'make' }], config: { shared, greeting } },
    outputs: ['build/c/demo', ...(shared ? ['build/c/libhot.so', 'build/c/demo-shared'] : [])],
    async run(ctx) {
      const dir = ctx.path('build/c');
      mkdirSync(dir, { recursive: true });
      const env = { CC: 'gcc', CFLAGS, LDFLAGS, PATH: tc.path };
      await ctx.exec('sh', [join(FIX, 'configure'), ...(greeting ? [`--with-greeting=${greeting}`] : [])], { cwd: dir, env, jobserver: false });
      await ctx.exec('make', [], { cwd: dir, env });
      if (shared) {
        await ctx.exec('gcc', [...CFLAGS.split(' '), '-fPIC', '-shared', ...LDFLAGS.split(' '), '-Wl,-soname,libhot.so', '-o', 'libhot.so', join(FIX, 'hot.c'), join(FIX, 'util.c'), `-I${FIX}`], {
          cwd: dir,
          jobserver: false,
        });
        await ctx.exec('gcc', [...CFLAGS.split(' '), ...LDFLAGS.split(' '), '-I.', `-I${FIX}`, '-o', 'demo-shared', join(FIX, 'main.c'), '-L.', '-lhot'], { cwd: dir, jobserver: false });
      }
    },
  };
}

interface Opts {
  policy?: BoltSpec['policy'];
  applyFlags?: readonly string[];
  cacheDir?: string;
  minCoverage?: number;
  shared?: boolean;
  bolt?: BoltSpec['bolt'];
  train?: string[];
  timeoutSeconds?: number;
  /** The fixture's configured string (configure --with-greeting): other bytes, the same functions. */
  greeting?: string;
}

function pipeline(root: string, o: Opts = {}) {
  const c = join(root, 'build/c');
  const binaries: BoltBinary[] = o.shared
    ? [
        { name: 'demo-shared', input: join(c, 'demo-shared'), instrumented: join(c, 'demo-shared.inst'), output: join(c, 'demo-shared.bolt') },
        {
          name: 'libhot.so',
          input: join(c, 'libhot.so'),
          instrumented: join(root, 'build/bolt/inst-lib/libhot.so'),
          output: join(root, 'build/bolt/lib/libhot.so'),
          extraApplyFlags: ['-jump-tables=none'],
        },
      ]
    : [{ name: 'demo', input: join(c, 'demo'), instrumented: join(c, 'demo.inst'), output: join(c, 'demo.bolt') }];
  const exe = binaries[0]!;
  const bolt = boltTasks({
    prefix: 'bolt',
    root,
    dir: 'build/bolt',
    bolt: o.bolt ?? tc.llvm['llvm-bolt'],
    mergeFdata: tc.llvm['merge-fdata'],
    binaries,
    after: 'link',
    train: { file: o.train?.[0] ?? exe.instrumented, args: o.train?.slice(1) ?? ['3000000'], cwd: c, env: o.shared ? { LD_LIBRARY_PATH: join(root, 'build/bolt/inst-lib') } : {} },
    trainInputs: { config: { n: 3000000 } },
    check: { file: exe.output, args: ['1000'], cwd: c, env: o.shared ? { LD_LIBRARY_PATH: join(root, 'build/bolt/lib') } : {} },
    instrumentFlags: [],
    applyFlags: o.applyFlags ?? DEFAULT_APPLY_FLAGS,
    skipFuncs: [],
    minCoverage: o.minCoverage ?? 1,
    policy: o.policy ?? 'required',
    cacheDir: o.cacheDir,
    timeoutSeconds: o.timeoutSeconds ?? 300,
  });
  return graphOf([linkTask(o.shared, o.greeting), ...bolt.tasks]);
}

const run = (file: string, args: string[], env: Record<string, string> = {}): string => {
  const r = spawnSync(file, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
};

const failOf = (r: Awaited<ReturnType<typeof build>>): string => {
  const f = r.events.find((e) => e.type === 'fail');
  return f?.type === 'fail' ? `${f.id}: ${f.message}${f.hint ? ` (${f.hint})` : ''}` : '';
};

describe('BOLT on an executable', () => {
  it('instruments, trains, merges, optimizes and verifies with the default flag set; a rerun does nothing', async () => {
    const root = tmpProject();
    const r = await build(pipeline(root), root);
    expect(r.summary.ok, failOf(r)).toBe(true);
    expect(r.ran).toEqual(['link', 'bolt:instrument', 'bolt:train', 'bolt:merge', 'bolt:optimize', 'bolt:verify']);
    const out = join(root, 'build/c/demo.bolt');
    const elf = readElf(out);
    expect(hasSection(elf, '.note.bolt_info')).toBe(true);
    expect(hasSection(readElf(join(root, 'build/c/demo')), '.note.bolt_info')).toBe(false);
    expect(stackPolicy(elf)).toBe('ok');
    // Same behaviour as the input.
    expect(run(out, ['12345'])).toBe(run(join(root, 'build/c/demo'), ['12345']));
    const report = JSON.parse(readFileSync(join(root, 'build/bolt/report.json'), 'utf8'));
    expect(report.bolted).toBe(true);
    expect(report.files.demo.coverage.profiled).toBeGreaterThan(0);
    expect(report.files.demo.coverage.percent).toBeGreaterThan(0);
    expect(report.files.demo.stack).toBe('ok');
    expect(readdirSync(join(root, 'build/bolt/raw')).length).toBeGreaterThan(0);
    expect(existsSync(join(root, 'build/c/demo.inst'))).toBe(false); // the instrumented copy is removed after training
    const again = await build(pipeline(root), root);
    expect(again.ran, JSON.stringify(again.events.filter((e) => e.type === 'start'))).toEqual([]);
  });

  it('every flag of the default set is one llvm-bolt 19 knows', () => {
    const help = spawnSync(tc.llvm['llvm-bolt'].command!, ['--help-hidden'], { encoding: 'utf8' }).stdout;
    for (const f of DEFAULT_APPLY_FLAGS) expect(help, f).toContain(`  ${f.split('=')[0]!.replace(/^-/, '--')}`);
  });

  it('a result without PT_GNU_STACK fails verification (llvm-bolt 19 drops it with -use-gnu-stack)', async () => {
    const root = tmpProject();
    const r = await build(pipeline(root, { applyFlags: [...DEFAULT_APPLY_FLAGS, '-use-gnu-stack'] }), root);
    expect(failOf(r)).toBe(
      'bolt:verify: demo.bolt has no PT_GNU_STACK segment, so the loader would give it an executable stack (drop -use-gnu-stack from bolt.apply_flags: llvm-bolt 19 turns that header into a PT_LOAD)',
    );
    expect(existsSync(join(root, 'build/bolt/report.json'))).toBe(false);
  });

  it('a coverage below the floor fails verification', async () => {
    const root = tmpProject();
    const r = await build(pipeline(root, { minCoverage: 100 }), root);
    expect(failOf(r)).toMatch(
      /^bolt:verify: BOLT profile coverage of demo\.bolt is [\d.]+% \(\d+ of \d+ functions\), below the floor of 100% \(train on more of the code, or lower bolt\.min_coverage\)$/,
    );
  });

  it('bolt = required: a BOLT failure fails the build with the log tail', async () => {
    const root = tmpProject();
    const r = await build(pipeline(root, { applyFlags: ['-no-such-bolt-flag'] }), root);
    const f = r.events.find((e) => e.type === 'fail');
    expect(f?.type === 'fail' && f.id).toBe('bolt:optimize');
    expect(f?.type === 'fail' && f.logTail.join('\n')).toMatch(/Unknown command line argument '-no-such-bolt-flag'/);
    expect(existsSync(join(root, 'build/c/demo.bolt'))).toBe(false);
    expect(existsSync(join(root, 'build/c/demo.bolt.tmp'))).toBe(false);
  });

  it('bolt = auto: a BOLT failure falls back to the un-BOLTed binary, with a warning and a report', async () => {
    const root = tmpProject();
    const r = await build(pipeline(root, { policy: 'auto', applyFlags: ['-no-such-bolt-flag'] }), root);
    expect(r.summary.ok, failOf(r)).toBe(true);
    const warnings = r.events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    expect(
      warnings.some((w) => /^bolt:optimize: BOLT optimization failed .*bolt = auto, so the un-BOLTed binaries are used/.test(w)),
      warnings.join('\n'),
    ).toBe(true);
    expect(warnings.some((w) => w.startsWith('bolt:verify: BOLT fell back to the un-BOLTed demo'))).toBe(true);
    expect(readFileSync(join(root, 'build/c/demo.bolt'))).toEqual(readFileSync(join(root, 'build/c/demo')));
    const report = JSON.parse(readFileSync(join(root, 'build/bolt/report.json'), 'utf8'));
    expect(report.bolted).toBe(false);
    expect(report.fallback.task).toBe('bolt:optimize');
    expect(report.fallback.reason).toMatch(/llvm-bolt|sh/);
  });

  it('bolt = auto: a crash of the training run falls back too', async () => {
    const root = tmpProject();
    const r = await build(pipeline(root, { policy: 'auto', train: ['sh', '-c', 'exit 9'] }), root);
    expect(r.summary.ok, failOf(r)).toBe(true);
    expect(JSON.parse(readFileSync(join(root, 'build/bolt/report.json'), 'utf8')).fallback.task).toBe('bolt:train');
  });

  it('bolt = auto: a hung training run is stopped at bolt.timeout and falls back', async () => {
    const root = tmpProject();
    const t0 = Date.now();
    const r = await build(pipeline(root, { policy: 'auto', train: ['sleep', '120'], timeoutSeconds: 1 }), root);
    expect(r.summary.ok, failOf(r)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(60_000);
    const fb = JSON.parse(readFileSync(join(root, 'build/bolt/report.json'), 'utf8')).fallback;
    expect(fb.task).toBe('bolt:train');
    expect(fb.reason).toBe('sleep timed out after 1 s');
  });

  it('reuses the cached profile for the same binary after a clean: no instrumenting, no training', async () => {
    const root = tmpProject();
    const cache = tmpProject('pb-bolt-cache-');
    expect((await build(pipeline(root, { cacheDir: cache }), root)).summary.ok).toBe(true);
    // Stored twice: under the binary's bytes, and under its function layout.
    expect(readdirSync(join(cache, 'bolt')).filter((f) => f.endsWith('.fdata') && !f.includes('-layout-'))).toHaveLength(1);
    expect(readdirSync(join(cache, 'bolt')).filter((f) => f.endsWith('.fdata') && f.includes('-layout-'))).toHaveLength(1);
    const first = readFileSync(join(root, 'build/c/demo.bolt'));
    rmSync(join(root, 'build'), { recursive: true, force: true });
    const r = await build(pipeline(root, { cacheDir: cache }), root);
    expect(r.summary.ok, failOf(r)).toBe(true);
    expect(readFileSync(join(root, 'build/logs/bolt:instrument.log'), 'utf8')).toMatch(/demo: profile cache hit/);
    expect(readFileSync(join(root, 'build/logs/bolt:train.log'), 'utf8')).toMatch(/training skipped/);
    expect(existsSync(join(root, 'build/c/demo.inst'))).toBe(false);
    expect(JSON.parse(readFileSync(join(root, 'build/bolt/report.json'), 'utf8')).bolted).toBe(true);
    expect(readFileSync(join(root, 'build/c/demo.bolt')).equals(first)).toBe(true);
  });

  it("the function table (what the layout key hashes) agrees with nm's defined functions and sizes", async () => {
    const root = tmpProject();
    expect((await build(graphOf([linkTask()]), root)).summary.ok).toBe(true);
    const demo = join(root, 'build/c/demo');
    const nm = spawnSync('nm', ['-S', '--defined-only', demo], { encoding: 'utf8' });
    expect(nm.status, nm.stderr).toBe(0);
    const fromNm = nm.stdout
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length === 4 && /^[tTwW]$/.test(f[2]!))
      .map((f) => `${f[3]} ${parseInt(f[1]!, 16)}`)
      .sort();
    const table = functionTable(demo);
    expect(table.map((f) => f.name)).toContain('hot_loop');
    // nm prints no size for a zero-sized symbol (crt's frame_dummy and the like).
    expect(
      table
        .filter((f) => f.size > 0)
        .map((f) => `${f.name} ${f.size}`)
        .sort(),
    ).toEqual(fromNm);
  });

  it('reuses the profile of a file with the same functions and other bytes (release after opt): no training, no stale function', async () => {
    const cache = tmpProject('pb-bolt-cache-');
    const a = tmpProject();
    expect((await build(pipeline(a, { cacheDir: cache }), a)).summary.ok).toBe(true);
    expect(readdirSync(join(cache, 'bolt')).filter((f) => f.includes('-layout-'))).toHaveLength(1);
    const b = tmpProject();
    const r = await build(pipeline(b, { cacheDir: cache, greeting: 'a much longer greeting, configured in' }), b);
    expect(r.summary.ok, failOf(r)).toBe(true);
    expect(readFileSync(join(a, 'build/c/demo')).equals(readFileSync(join(b, 'build/c/demo')))).toBe(false);
    expect(readFileSync(join(b, 'build/logs/bolt:instrument.log'), 'utf8')).toMatch(/demo: profile cache hit by function layout/);
    expect(readFileSync(join(b, 'build/logs/bolt:train.log'), 'utf8')).toMatch(/training skipped/);
    const report = JSON.parse(readFileSync(join(b, 'build/bolt/report.json'), 'utf8'));
    expect(report.bolted).toBe(true);
    expect([report.files.demo.profileFrom, report.files.demo.staleFunctions]).toEqual(['layout', 0]);
    expect(JSON.parse(readFileSync(join(a, 'build/bolt/report.json'), 'utf8')).files.demo.profileFrom).toBe('training');
    expect(run(join(b, 'build/c/demo.bolt'), ['77'])).toContain('a much longer greeting');
  });

  it('a reused profile that does not fit fails in one line, and its cache entry is dropped so the next build trains', async () => {
    const cache = tmpProject('pb-bolt-cache-');
    const a = tmpProject();
    expect((await build(pipeline(a, { cacheDir: cache }), a)).summary.ok).toBe(true);
    const layout = join(cache, 'bolt', readdirSync(join(cache, 'bolt')).find((f) => f.includes('-layout-'))!);
    // Every branch record moved to an offset inside no instruction: llvm-bolt calls those profiles stale.
    const fdata = readFileSync(layout, 'utf8')
      .split('\n')
      .map((l) => l.replace(/^1 (\S+) ([0-9a-f]+) 1 (\S+) ([0-9a-f]+) /, (_m, f1, o1, f2, o2) => `1 ${f1} ${(parseInt(o1, 16) + 1).toString(16)} 1 ${f2} ${(parseInt(o2, 16) + 1).toString(16)} `))
      .join('\n');
    (await import('node:fs')).writeFileSync(layout, fdata);
    const b = tmpProject();
    const r = await build(pipeline(b, { cacheDir: cache, greeting: 'other' }), b);
    expect(failOf(r)).toMatch(
      /^bolt:optimize: the profile reused by function layout does not fit demo: llvm-bolt found \d+ of \d+ profiled functions stale \(the cache entry is removed; run: npx pyston-build clean bolt, then build again to train this file's own profile\)$/,
    );
    expect(existsSync(layout)).toBe(false);
    expect(existsSync(join(b, 'build/c/demo.bolt'))).toBe(false);
    rmSync(join(b, 'build'), { recursive: true, force: true });
    const again = await build(pipeline(b, { cacheDir: cache, greeting: 'other' }), b);
    expect(again.summary.ok, failOf(again)).toBe(true);
    expect(JSON.parse(readFileSync(join(b, 'build/bolt/report.json'), 'utf8')).files.demo.profileFrom).toBe('training');
  });

  it('a missing llvm-bolt fails planning in one line naming the package', async () => {
    const root = tmpProject();
    const bolt = tc.llvm['llvm-bolt'];
    if (bolt.producer !== undefined) throw new Error('the discovered llvm-bolt is an installed tool');
    const missing = { ...bolt, command: '/nonexistent/llvm-19/bin/llvm-bolt' };
    let err: unknown;
    try {
      await build(pipeline(root, { bolt: missing }), root);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingToolError);
    expect((err as MissingToolError).message).toMatch(/^required tool 'llvm-bolt' was not found/);
    expect((err as MissingToolError).hint).toBe('install it: apt-get install -y bolt-19');
  });
});

describe('BOLT on a shared object', () => {
  it('trains the instrumented .so loaded in place of the real one, and BOLTs both files', async () => {
    const root = tmpProject();
    const r = await build(pipeline(root, { shared: true }), root);
    expect(r.summary.ok, failOf(r)).toBe(true);
    const so = join(root, 'build/bolt/lib/libhot.so');
    expect(hasSection(readElf(so), '.note.bolt_info')).toBe(true);
    expect(readElf(so).soname).toBe('libhot.so');
    const report = JSON.parse(readFileSync(join(root, 'build/bolt/report.json'), 'utf8'));
    expect(report.files['libhot.so'].coverage.profiled).toBeGreaterThan(0);
    // The BOLTed exe with the BOLTed .so computes what the originals compute.
    const lib = join(root, 'build/bolt/lib');
    copyFileSync(join(root, 'build/c/demo-shared.bolt'), join(lib, 'demo-shared'));
    expect(run(join(lib, 'demo-shared'), ['777'], { LD_LIBRARY_PATH: lib })).toBe(run(join(root, 'build/c/demo-shared'), ['777'], { LD_LIBRARY_PATH: join(root, 'build/c') }));
    expect(readFileSync(join(root, 'build/logs/bolt:optimize.log'), 'utf8')).toContain('-jump-tables=none');
  });
});
