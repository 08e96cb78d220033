/** The interpreter variants' graph: NOPGO/NOLTO, BOLT on and off, and a missing build library. */
import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import type { PbError } from '../../src/graph/errors.js';
import { boltOptions, buildGraph } from '../../src/targets.js';
import { DEFAULT_APPLY_FLAGS } from '../../src/bolt/pipeline.js';
import { discoverToolchain } from '../../src/llvm/toolchain.js';
import { variantTasks } from '../../src/variants/tasks.js';
import { findVariant } from '../../src/variants/table.js';
import { CPYTHON } from '../../src/flavors/index.js';
import { resolveSource, sourceTasks } from '../../src/steps/source.js';
import { build, graphOf, tmpProject, write } from '../helpers.js';

async function graphWith(env: NodeJS.ProcessEnv) {
  const root = tmpProject();
  const { config } = await loadConfig({ root, env, sets: [] });
  return buildGraph(config, root, { ...process.env, ...env });
}

describe('variants', () => {
  it("one training per release: release's final build uses opt's PGO profile and waits for it; clang or release.reuse_profiles = false train their own", async () => {
    const root = tmpProject();
    const { config } = await loadConfig({ root, env: {}, sets: [] });
    const g = buildGraph(config, root, process.env, { targets: ['release'] });
    const ids = [...g.tasks.keys()];
    expect(ids.filter((id) => id.includes(':pgo:')).sort()).toEqual(['opt:pgo:instrumented:configure', 'opt:pgo:instrumented:make', 'opt:pgo:merge', 'opt:pgo:train', 'opt:pgo:validate']);
    expect(ids.some((id) => id.startsWith('opt:') && !id.startsWith('opt:pgo:'))).toBe(false); // not opt's own build
    expect(g.tasks.get('release:make')!.deps).toContain('opt:pgo:validate');
    const env = (g.tasks.get('release:configure')!.inputs.config as { env: Record<string, string> }).env;
    expect(env.CFLAGS_NODIST).toContain(`-fprofile-use=${join(root, 'build/opt_pgo/gcda')}`);
    expect(env.CFLAGS_NODIST).toContain(`-fprofile-prefix-path=${join(root, 'build/release_build')}`);
    expect(env.CFLAGS_NODIST).toContain('-Wmissing-profile');
    expect(JSON.stringify(g.tasks.get('release:configure')!.inputs.config)).toContain('"profileFrom":"opt"');

    const own = async (sets: string[]) => {
      const r = tmpProject();
      const c = (await loadConfig({ root: r, env: {}, sets })).config;
      return [...buildGraph(c, r, process.env, { targets: ['release'] }).tasks.keys()].filter((id) => id.includes(':pgo:')).sort();
    };
    const releaseOwn = ['release:pgo:instrumented:configure', 'release:pgo:instrumented:make', 'release:pgo:merge', 'release:pgo:train', 'release:pgo:validate'];
    expect(await own(['release.reuse_profiles=false'])).toEqual(releaseOwn);
    expect(await own(['cc=clang'])).toEqual(releaseOwn);
  });

  it('opt on x86_64 has the BOLT chain between make and install; USE_BOLT=0 and NOBOLT=1 remove it', async () => {
    const full = await graphWith({});
    expect([...full.tasks.keys()].filter((id) => id.startsWith('opt:bolt:'))).toEqual(['opt:bolt:instrument', 'opt:bolt:train', 'opt:bolt:merge', 'opt:bolt:optimize', 'opt:bolt:verify']);
    expect(full.tasks.get('opt:bolt:instrument')!.deps).toEqual(['opt:make']);
    expect(full.tasks.get('opt:install')!.deps).toEqual(['opt:make', 'opt:bolt:verify']);
    const env = JSON.stringify((full.tasks.get('opt:configure')!.inputs.config as { env: unknown }).env);
    expect(env).toContain('-Wl,--emit-relocs');
    expect(env).toContain('-fno-reorder-blocks-and-partition'); // gcc is the default compiler
    // The core (not the extension modules) is built without PIE, through make variables.
    const make = JSON.stringify(full.tasks.get('opt:make')!.inputs.config);
    expect(make).toContain('PY_CORE_CFLAGS=$(PY_STDMODULE_CFLAGS) -DPy_BUILD_CORE -fno-pie');
    expect(make).toContain('LINKCC=+$(PURIFY) $(MAINCC) -no-pie');
    expect(env).not.toContain('-no-pie');
    // The instrumented PGO build has the same code shape, but no --emit-relocs.
    const gen = JSON.stringify(full.tasks.get('opt:pgo:instrumented:configure')!.inputs.config);
    expect(gen).toContain('-fno-reorder-blocks-and-partition');
    expect(gen).not.toContain('--emit-relocs');
    expect(JSON.stringify(full.tasks.get('opt:pgo:instrumented:make')!.inputs.config)).toContain('-fno-pie');
    // As under CPython's --enable-optimizations with GCC: in both PGO builds, compile and link flags; never in unopt.
    for (const id of ['opt:configure', 'opt:pgo:instrumented:configure']) {
      const e = (full.tasks.get(id)!.inputs.config as { env: Record<string, string> }).env;
      expect(e.CFLAGS_NODIST, id).toContain('-fno-semantic-interposition');
      expect(e.LDFLAGS_NODIST, id).toContain('-fno-semantic-interposition');
    }
    expect(JSON.stringify(full.tasks.get('unopt:configure')!.inputs.config)).not.toContain('semantic-interposition');
    for (const env of [{ USE_BOLT: '0' }, { NOBOLT: '1' }]) {
      const off = await graphWith(env);
      expect(
        [...off.tasks.keys()].some((id) => id.includes(':bolt:')),
        JSON.stringify(env),
      ).toBe(false);
      expect(JSON.stringify(off.tasks.get('opt:configure')!.inputs.config)).not.toContain('--emit-relocs');
    }
    // unopt and dbg are never BOLTed.
    expect([...full.tasks.keys()].some((id) => /^(unopt|dbg):bolt/.test(id))).toBe(false);
  });

  it('a shared libpython is BOLTed too, stays PIC, and keeps the eval loop in the skip list', async () => {
    const g = await graphWith({ CONFIGURE_EXTRA_FLAGS: '--enable-shared' });
    const opt = JSON.stringify(g.tasks.get('opt:bolt:instrument')!.title);
    expect(opt).toContain('libpython3.11.so.1.0');
    expect(JSON.stringify(g.tasks.get('opt:make')!.inputs.config)).not.toContain('-no-pie');
    expect(JSON.stringify(g.tasks.get('opt:bolt:instrument')!.inputs.config)).toContain('_PyEval_EvalFrameDefault');
    expect(JSON.stringify(g.tasks.get('opt:bolt:optimize')!.inputs.config)).toContain('-jump-tables=none');
    // Every shared variant's interpreter finds its own libpython through RUNPATH $ORIGIN/../lib (make's $$ escape,
    // shell-quoted), and the make variable is in configure's key, since make itself does not track it.
    for (const v of ['unopt', 'opt', 'dbg', 'release']) {
      for (const t of ['configure', 'make']) {
        const c = g.tasks.get(`${v}:${t}`)!.inputs.config as { makeArgs: string[] };
        expect(c.makeArgs, `${v}:${t}`).toContain("LINKFORSHARED=-Xlinker -export-dynamic -Wl,-rpath,'$$ORIGIN/../lib'");
      }
    }
    // The instrumented python is trained on the instrumented libpython beside it, not a system one.
    const train = g.tasks.get('opt:pgo:train')!.inputs.config as { trainEnv: Record<string, string> };
    expect(train.trainEnv.LD_LIBRARY_PATH).toMatch(/\/build\/opt_pgo_build$/);
    // A build that uses a profile starts make from clean (make does not track the profile); others stay incremental.
    expect((g.tasks.get('opt:make')!.inputs.config as { fromClean?: boolean }).fromClean).toBe(true);
    expect((g.tasks.get('release:make')!.inputs.config as { fromClean?: boolean }).fromClean).toBe(true);
    for (const id of ['unopt:make', 'dbg:make', 'opt:pgo:instrumented:make']) expect((g.tasks.get(id)!.inputs.config as { fromClean?: boolean }).fromClean, id).toBeUndefined();
    // A static build has neither.
    const st = await graphWith({});
    expect(JSON.stringify(st.tasks.get('unopt:make')!.inputs.config)).not.toContain('LINKFORSHARED');
    expect(JSON.stringify(st.tasks.get('opt:pgo:train')!.inputs.config)).not.toContain('LD_LIBRARY_PATH');
  });

  it('BOLT is skipped, with the reason, on other architectures than amd64 and arm64; arm64 drops the flags that crash llvm-bolt there', async () => {
    const { config } = await loadConfig({ root: tmpProject(), env: {}, sets: [] });
    expect(boltOptions(config, '/c', 'riscv64', CPYTHON)).toEqual({ enabled: false, reason: 'BOLT runs on x86_64 and arm64 only; this build is for riscv64' });
    const amd64 = boltOptions(config, '/c', 'amd64', CPYTHON);
    const arm64 = boltOptions(config, '/c', 'arm64', CPYTHON);
    expect(amd64.enabled && amd64.applyFlags).toEqual(DEFAULT_APPLY_FLAGS);
    expect(arm64.enabled && arm64.applyFlags).toEqual(DEFAULT_APPLY_FLAGS.filter((f) => f !== '-indirect-call-promotion=all' && f !== '-frame-opt=hot'));
  });

  it('opt has its own PGO tasks and --with-lto; NOPGO=1 and NOLTO=1 turn them off', async () => {
    const full = await graphWith({});
    expect([...full.tasks.keys()].filter((id) => id.startsWith('opt:pgo:'))).toEqual([
      'opt:pgo:instrumented:configure',
      'opt:pgo:instrumented:make',
      'opt:pgo:train',
      'opt:pgo:merge',
      'opt:pgo:validate',
    ]);
    expect(JSON.stringify(full.tasks.get('opt:configure')!.inputs.config)).toContain('--with-lto');
    expect(full.tasks.get('opt:make')!.deps).toContain('opt:pgo:validate');
    expect(full.tasks.get('opt:configure')!.deps).not.toContain('opt:pgo:validate');
    const plain = await graphWith({ NOPGO: '1', NOLTO: '1' });
    expect([...plain.tasks.keys()].some((id) => id.startsWith('opt:pgo:'))).toBe(false);
    expect(JSON.stringify(plain.tasks.get('opt:configure')!.inputs.config)).not.toContain('--with-lto');
    expect(full.targets.get('all')!.roots).toEqual(['all:links']);
  });

  it('optshared and opt exist side by side, each in its own directories, and only optshared is shared', async () => {
    const g = await graphWith({});
    for (const [v, shared] of [
      ['opt', false],
      ['optshared', true],
    ] as const) {
      expect(g.targets.get(v)!.roots).toEqual([`${v}:probe`]);
      const c = g.tasks.get(`${v}:configure`)!;
      expect(c.outputs).toEqual([`build/${v}_build/Makefile`, `build/${v}_build/pyconfig.h`]);
      const args = (c.inputs.config as { args: string[] }).args;
      expect(args.includes('--enable-shared'), v).toBe(shared);
      expect(args, v).toContain('--with-lto');
      expect(JSON.stringify(g.tasks.get(`${v}:make`)!.inputs.config).includes('LINKFORSHARED'), v).toBe(shared);
      expect(g.tasks.get(`${v}:install`)!.outputs).toEqual([`build/${v}_install`]);
    }
    // optshared has its own PGO and BOLT chains, and BOLTs its libpython.
    expect(g.tasks.get('optshared:make')!.deps).toContain('optshared:pgo:validate');
    expect(g.tasks.get('optshared:bolt:instrument')!.title).toContain('libpython3.11.so.1.0');
    expect(g.tasks.get('opt:bolt:instrument')!.title).not.toContain('libpython');
    // The instrumented build of a shared variant is shared too (the profile must describe the same code).
    expect((g.tasks.get('optshared:pgo:instrumented:configure')!.inputs.config as { args: string[] }).args).toContain('--enable-shared');
    // Every variant of the table is a target; a CPython tree has no stock variants' tasks.
    for (const v of ['unoptshared', 'dbgshared', 'releaseshared']) expect(g.targets.get(v)!.roots).toEqual([`${v}:probe`]);
  });

  it('arch = arm64 cross-builds: release-arm64 tasks with the cross gcc, the target libraries and qemu, after the native unopt', async () => {
    const root = tmpProject();
    const { config } = await loadConfig({ root, env: {}, sets: ['arch=arm64'] });
    const g = buildGraph(config, root, process.env, { targets: ['release'] });
    expect(g.targets.get('release')!.roots).toEqual(['release-arm64:probe']);
    const ids = [...g.tasks.keys()];
    expect(ids.filter((id) => id.startsWith('unopt:'))).toEqual(['unopt:configure', 'unopt:make', 'unopt:install', 'unopt:venv', 'unopt:probe']);
    // BOLT on arm64: instrumented with the aarch64 runtime, trained under qemu at the emulated scale.
    expect(ids.filter((id) => id.startsWith('release-arm64:bolt:'))).toEqual([
      'release-arm64:bolt:instrument',
      'release-arm64:bolt:train',
      'release-arm64:bolt:merge',
      'release-arm64:bolt:optimize',
      'release-arm64:bolt:verify',
    ]);
    const instrument = g.tasks.get('release-arm64:bolt:instrument')!;
    expect(instrument.deps).toEqual(['release-arm64:make', 'bolt-runtime:arm64']);
    expect(instrument.binfmt).toEqual(['qemu-aarch64']);
    expect(g.tasks.get('bolt-runtime:arm64')!.outputs).toEqual(['build/bolt-runtime-arm64/libbolt_rt_instr.a']);
    expect(g.tasks.get('release-arm64:bolt:train')!.inputs.config).toMatchObject({ 'train.scale': 0.25 });
    // The native unopt is the build python configure waits for.
    const configure = g.tasks.get('release-arm64:configure')!;
    expect(configure.deps).toContain('unopt:install');
    const args = (configure.inputs.config as { args: string[] }).args;
    expect(args).toEqual(
      expect.arrayContaining([
        '--build=x86_64-linux-gnu',
        '--host=aarch64-linux-gnu',
        `--with-build-python=${join(root, 'build/unopt_install/usr/bin/python3.11')}`,
        '--with-computed-gotos',
        '--with-lto',
      ]),
    );
    expect((g.tasks.get('opt-arm64:pgo:instrumented:configure')!.inputs.config as { args: string[] }).args).toContain('--host=aarch64-linux-gnu');
    expect((configure.inputs.tools ?? []).map((t) => t.name)).toContain('aarch64-linux-gnu-gcc');
    expect(configure.packages).toEqual(expect.arrayContaining(['libssl-dev:arm64', 'pkgconf:arm64', 'libc6-dev-arm64-cross']));
    expect(configure.packages).not.toContain('libssl-dev');
    // What runs arm64 programs says so (setup enables the binfmt entry); the native build does not.
    expect(g.tasks.get('opt-arm64:pgo:train')!.binfmt).toEqual(['qemu-aarch64']);
    // Under emulation runtime/train runs a quarter of its rounds; natively all of them.
    expect((g.tasks.get('opt-arm64:pgo:train')!.inputs.config as Record<string, unknown>)['train.scale']).toBe(0.25);
    const native = buildGraph((await loadConfig({ root, env: {}, sets: [] })).config, root, process.env, { targets: ['release'] });
    expect((native.tasks.get('opt:pgo:train')!.inputs.config as Record<string, unknown>)['train.scale']).toBeUndefined();
    expect(g.tasks.get('unopt:make')!.binfmt).toBeUndefined();
  });

  it('arch = amd64,arm64: one package run, one chain per architecture sharing one unopt, one publish', async () => {
    const root = tmpProject();
    const { config } = await loadConfig({ root, env: {}, sets: ['arch=amd64,arm64,amd64'] });
    expect(config.arch).toBe('amd64,arm64');
    const g = buildGraph(config, root, process.env, { targets: ['package'] });
    const ids = [...g.tasks.keys()];
    expect(g.targets.get('package')!.roots).toEqual(['package:publish']);
    for (const step of ['stage', 'deb', 'portable', 'check:elf', 'check:deb', 'rootfs', 'check:install', 'check:portable']) {
      expect(ids).toContain(`package:${step}`);
      expect(ids).toContain(`package-arm64:${step}`);
    }
    const publish = g.tasks.get('package:publish')!;
    expect(publish.deps).toEqual(expect.arrayContaining(['package:check:install', 'package-arm64:check:install', 'package:check:elf', 'package-arm64:check:portable']));
    // Each chain packages its own architecture's release, from its own directory.
    expect(g.tasks.get('package:stage')!.deps).toEqual(['release:probe']);
    expect(g.tasks.get('package-arm64:stage')!.deps).toEqual(['release-arm64:probe']);
    expect(g.tasks.get('package-arm64:stage')!.outputs).toEqual(['build/package-arm64/stage', 'build/package-arm64/stage.json']);
    expect((g.tasks.get('package-arm64:rootfs')!.inputs.config as { arch: string }).arch).toBe('arm64');
    // Only the arm64 chain runs programs through qemu.
    expect(g.tasks.get('package-arm64:check:install')!.binfmt).toEqual(['qemu-aarch64']);
    expect(g.tasks.get('package:check:install')!.binfmt).toBeUndefined();
    // The native unopt is built once: the amd64 chain does not need it, the arm64 build python is it.
    expect(ids.filter((id) => id === 'unopt:install')).toHaveLength(1);
    expect(g.tasks.get('release-arm64:configure')!.deps).toContain('unopt:install');
    // A variant target builds every listed architecture.
    const r = buildGraph(config, root, process.env, { targets: ['release'] });
    expect(r.targets.get('release')!.roots).toEqual(['release:probe', 'release-arm64:probe']);
    // A list in the config file works too.
    write(root, 'pyston-build.toml', 'arch = ["arm64", "host"]\n');
    expect((await loadConfig({ root, env: {}, sets: [] })).config.arch).toBe('arm64,host');
  });

  it('a bad arch list is one line naming the bad item; wheels need the build machine in the list', async () => {
    const root = tmpProject();
    const bad = await loadConfig({ root, env: {}, sets: ['arch=amd64,arm'] }).catch((e: unknown) => e as PbError);
    expect((bad as PbError).message).toBe(`--set arch: invalid value "arm" in arch ("amd64,arm")`);
    expect((bad as PbError).hint).toMatch(/^valid choices: host, amd64, arm64, .*or several separated by commas/);
    const empty = await loadConfig({ root, env: {}, sets: ['arch=amd64,'] }).catch((e: unknown) => e as PbError);
    expect((empty as PbError).message).toBe(`--set arch: invalid value "" in arch ("amd64,")`);
    const both = (await loadConfig({ root, env: {}, sets: ['arch=arm64,amd64', 'wheels.project=x.json'] })).config;
    expect(() => buildGraph(both, root, process.env, { targets: ['wheels'] })).not.toThrow(/build machine's architecture/);
    const arm = (await loadConfig({ root, env: {}, sets: ['arch=arm64', 'wheels.project=x.json'] })).config;
    expect(() => buildGraph(arm, root, process.env, { targets: ['wheels'] })).toThrow(/^arch = arm64: the wheels are built for the build machine's architecture only \(amd64\)$/);
  });

  it('arch = arm64 is refused in one line where pyston-build cannot cross-build', async () => {
    const root = tmpProject();
    const clang = (await loadConfig({ root, env: {}, sets: ['arch=arm64', 'cc=clang'] })).config;
    expect(() => buildGraph(clang, root, process.env, { targets: ['release'] })).toThrow(/^arch = arm64: cross builds use Debian's cross gcc; cc is clang$/);
    const riscv = (await loadConfig({ root, env: {}, sets: ['arch=riscv64'] })).config;
    expect(() => buildGraph(riscv, root, process.env, { targets: ['opt'] })).toThrow(/^arch = riscv64: pyston-build cannot cross-build for riscv64 on this amd64 machine \(it can for: arm64\)$/);
    const wheels = (await loadConfig({ root, env: {}, sets: ['arch=arm64', 'wheels.project=x.json'] })).config;
    expect(() => buildGraph(wheels, root, process.env, { targets: ['wheels'] })).toThrow(/wheels are built for the build machine's architecture only/);
  });

  it('the stock variants are refused on a CPython tree with a one-line error', async () => {
    const root = tmpProject();
    const { config } = await loadConfig({ root, env: {}, sets: [] });
    expect(() => buildGraph(config, root, process.env, { targets: ['stock'] })).toThrow(/the stock variant builds a Pyston tree's plain CPython/);
  });

  it('building the graph for some targets constructs only those (no toolchain, no package settings for clean or source)', async () => {
    const root = tmpProject();
    const { config } = await loadConfig({ root, env: {}, sets: ['package.maintainer=bad', 'cc=clang', 'llvm.version=77'] });
    const g = buildGraph(config, root, process.env, { targets: ['source'] });
    expect([...g.tasks.keys()].sort()).toEqual(['source:fetch', 'source:unpack']);
    // Every target is still listed (for the unknown-target hint), without tasks.
    expect(g.targets.get('package')!.roots).toEqual([]);
    expect(g.targets.has('optshared')).toBe(true);
  });

  it('a missing build library fails configure in one line naming the package and the fix', async () => {
    const root = tmpProject();
    write(root, 'configure', '#!/bin/sh\necho should not run > configure-ran\n');
    chmodSync(join(root, 'configure'), 0o755);
    write(root, 'Include/patchlevel.h', '#define PY_VERSION "3.11.2"\n');
    const src = sourceTasks(resolveSource({ root, source: '', pin: '' }), root, tmpProject());
    const v = variantTasks({
      variant: findVariant('unopt')!,
      flavor: CPYTHON,
      arch: 'amd64',
      source: src,
      root,
      pgo: false,
      lto: false,
      configureExtra: [],
      profileTask: 'runtime',
      tolerateTrainingFailure: false,
      toolchain: discoverToolchain({ llvmMajor: 19, llvmBin: '', family: 'gcc' }, process.env.PATH),
      systemKeys: () => ({ 'pkg:libssl-dev': '3.0', 'pkg:libfoo-dev': 'missing' }),
      buildPackages: ['libssl-dev', 'libfoo-dev'],
      bolt: { enabled: false, reason: 'test' },
      releasePrefix: '/usr/lib/cpython',
    });
    const r = await build(graphOf(v.tasks.filter((t) => t.id === 'unopt:configure')), root);
    const fail = r.events.find((e) => e.type === 'fail');
    expect(fail?.type === 'fail' && [fail.message, fail.hint]).toEqual(['missing build libraries: libfoo-dev', 'run: npx pyston-build setup unopt (or apt-get install -y libfoo-dev)']);
    expect(existsSync(join(root, 'build/unopt_build/configure-ran'))).toBe(false);
  });
});
