/**
 * BOLT for arm64 on the tiny C fixture: cross-compiled with the real
 * aarch64-linux-gnu-gcc and --emit-relocs, instrumented by the build
 * machine's llvm-bolt 19 with the aarch64 instrumentation runtime that
 * src/bolt/runtime.ts downloads (the real `apt-get download
 * libbolt-19-dev:arm64`), trained under qemu-user through binfmt_misc,
 * merged, optimized with arm64's flag set, and verified: the result runs
 * under qemu, prints what the input prints, and carries .note.bolt_info.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { build, cdemoBuild, graphOf, tmpProject } from '../helpers.js';
import { boltTasks, defaultApplyFlags, type BoltSpec } from '../../src/bolt/pipeline.js';
import { runtimeLibArg, runtimeTask, type RuntimeSpec } from '../../src/bolt/runtime.js';
import { discoverToolchain } from '../../src/llvm/toolchain.js';
import { crossToolchain } from '../../src/variants/cross.js';
import { archInfo } from '../../src/debian/arch.js';
import { hasSection, readElf, stackPolicy } from '../../src/elf/reader.js';

const native = discoverToolchain({ llvmMajor: 19, llvmBin: '', family: 'gcc' }, process.env.PATH);
const tc = crossToolchain(native, 'arm64');
const FLAGS = { cflags: ['-g', '-fno-reorder-blocks-and-partition'], ldflags: ['-Wl,--emit-relocs', '-fno-reorder-blocks-and-partition'] };

function graph(root: string, runtime: RuntimeSpec | undefined) {
  const c = join(root, 'build/c');
  const rt = runtime ? runtimeTask(runtime) : undefined;
  const spec: BoltSpec = {
    prefix: 'bolt',
    root,
    dir: 'build/bolt',
    bolt: native.llvm['llvm-bolt'],
    mergeFdata: native.llvm['merge-fdata'],
    binaries: [{ name: 'demo', input: join(c, 'demo'), instrumented: join(c, 'demo.inst'), output: join(c, 'demo.bolt') }],
    after: 'link',
    // The arm64 programs are started directly: the kernel hands them to qemu-aarch64.
    train: { file: join(c, 'demo.inst'), args: ['300000'], cwd: c },
    trainInputs: { config: { n: 300000 } },
    check: { file: join(c, 'demo.bolt'), args: ['1000'], cwd: c },
    instrumentFlags: [],
    applyFlags: defaultApplyFlags('arm64'),
    skipFuncs: [],
    minCoverage: 1,
    policy: 'required',
    cacheDir: undefined,
    timeoutSeconds: 600,
    ...(rt ? { runtime: { lib: join(root, rt.lib), task: rt.task.id } } : {}),
  };
  return graphOf([cdemoBuild('link', 'build/c', tc, FLAGS), ...(rt ? [rt.task] : []), ...boltTasks(spec).tasks]);
}

const failOf = (r: Awaited<ReturnType<typeof build>>): string => {
  const f = r.events.find((e) => e.type === 'fail');
  return f?.type === 'fail' ? `${f.id}: ${f.message}${f.hint ? ` (${f.hint})` : ''}` : '';
};

const runQemu = (file: string, args: string[]): string => {
  const r = spawnSync(file, args, { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
};

describe('BOLT on an arm64 executable, trained under qemu', () => {
  it('downloads the aarch64 runtime, instruments, trains under qemu, optimizes; the result runs the same and carries .note.bolt_info', async () => {
    const root = tmpProject();
    // An empty cache: the runtime task downloads the package for real.
    const cacheDir = join(root, 'cache');
    const r = await build(graph(root, { arch: 'arm64', llvmMajor: 19, bolt: native.llvm['llvm-bolt'], cacheDir }), root);
    expect(r.summary.ok, failOf(r)).toBe(true);
    expect(r.ran).toEqual(expect.arrayContaining(['link', 'bolt-runtime:arm64', 'bolt:instrument', 'bolt:train', 'bolt:merge', 'bolt:optimize', 'bolt:verify']));

    const runtimeLog = readFileSync(join(root, 'build/logs/bolt-runtime:arm64.log'), 'utf8');
    expect(runtimeLog).toContain('apt-get download');
    expect(existsSync(join(root, 'build/bolt-runtime-arm64/libbolt_rt_instr.a'))).toBe(true);
    const instrumentLog = readFileSync(join(root, 'build/logs/bolt:instrument.log'), 'utf8');
    expect(instrumentLog).toContain('--runtime-instrumentation-lib=../');

    const c = join(root, 'build/c');
    const out = readElf(join(c, 'demo.bolt'));
    expect(out.machine).toBe(archInfo('arm64').elfMachine);
    expect(hasSection(out, '.note.bolt_info')).toBe(true);
    expect(hasSection(readElf(join(c, 'demo')), '.note.bolt_info')).toBe(false);
    expect(stackPolicy(out)).toBe('ok');
    expect(runQemu(join(c, 'demo.bolt'), ['12345'])).toBe(runQemu(join(c, 'demo'), ['12345']));
    const report = JSON.parse(readFileSync(join(root, 'build/bolt/report.json'), 'utf8'));
    expect(report.bolted).toBe(true);
    expect(report.files.demo.coverage.profiled).toBeGreaterThan(0);

    // A second project with the same cache finds the runtime there: no download.
    const root2 = tmpProject();
    const again = await build(graph(root2, { arch: 'arm64', llvmMajor: 19, bolt: native.llvm['llvm-bolt'], cacheDir }), root2);
    expect(again.summary.ok, failOf(again)).toBe(true);
    const log2 = readFileSync(join(root2, 'build/logs/bolt-runtime:arm64.log'), 'utf8');
    expect(log2).toContain('(cached)');
    expect(log2).not.toContain('apt-get download');
  }, 900_000);

  it("without the aarch64 runtime, llvm-bolt cannot instrument: the installed one is the build machine's", async () => {
    const root = tmpProject();
    const r = await build(graph(root, undefined), root);
    expect(failOf(r)).toMatch(/^bolt:instrument: llvm-bolt exited with status/);
    expect(readFileSync(join(root, 'build/logs/bolt:instrument.log'), 'utf8')).toContain('linking object with arch x86_64 into context with arch aarch64');
  }, 300_000);

  it('two builds that need the runtime at once, with one cache: one downloads it, the other waits for its lock and takes it', async () => {
    const cacheDir = join(tmpProject(), 'cache');
    const spec: RuntimeSpec = { arch: 'arm64', llvmMajor: 19, bolt: native.llvm['llvm-bolt'], cacheDir };
    const roots = [tmpProject(), tmpProject()];
    const rs = await Promise.all(roots.map((root) => build(graphOf([runtimeTask(spec).task]), root)));
    for (const r of rs) expect(r.summary.ok, failOf(r)).toBe(true);
    const logs = roots.map((root) => readFileSync(join(root, 'build/logs/bolt-runtime:arm64.log'), 'utf8'));
    expect(logs.filter((l) => l.includes('apt-get download into'))).toHaveLength(1);
    const waited = logs.find((l) => !l.includes('apt-get download into'))!;
    expect(waited).toContain(`waiting for another pyston-build (pid ${process.pid}) to finish with ${join(cacheDir, 'bolt-runtime')}/`);
    expect(waited).toContain('(made by another build meanwhile)');
    const libs = roots.map((root) => readFileSync(join(root, 'build/bolt-runtime-arm64/libbolt_rt_instr.a')));
    expect(libs[0]!.length).toBeGreaterThan(0);
    expect(libs[0]!.equals(libs[1]!)).toBe(true);
    // Only the entry is left in the cache: no lock, no temp directory.
    expect(readdirSync(join(cacheDir, 'bolt-runtime'))).toHaveLength(1);
  }, 300_000);

  it('a package the apt index lacks is one error line with the setup hint', async () => {
    const root = tmpProject();
    // ppc64el is not one of this machine's dpkg architectures.
    const rt = runtimeTask({ arch: 'ppc64el', llvmMajor: 19, bolt: native.llvm['llvm-bolt'], cacheDir: join(root, 'cache') });
    const r = await build(graphOf([rt.task]), root);
    expect(failOf(r)).toBe(
      'bolt-runtime:ppc64el: libbolt-19-dev:ppc64el is not in the apt index: BOLT needs its libbolt_rt_instr.a to instrument ppc64 code (run `pyston-build --set arch=ppc64el setup` (or `dpkg --add-architecture ppc64el && apt-get update`), or set bolt = off)',
    );
  });

  it('the runtime path is given relative to the lib directory beside the real llvm-bolt', () => {
    const bolt = native.llvm['llvm-bolt'].command!;
    const arg = runtimeLibArg(bolt, '/tmp/x/libbolt_rt_instr.a');
    expect(arg.startsWith('../')).toBe(true);
    expect(join(bolt, '..', '..', 'lib', arg)).toBe('/tmp/x/libbolt_rt_instr.a');
  });
});
