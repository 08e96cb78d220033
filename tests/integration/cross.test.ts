/**
 * A cross build on the tiny C fixture, with the real cross gcc
 * (aarch64-linux-gnu-gcc) and qemu-user through the kernel's binfmt_misc
 * entry: the instrumented arm64 build is trained under emulation, its .gcda
 * profile feeds the final arm64 build, and the result is an aarch64 ELF
 * executable with glibc's aarch64 loader and a non-executable stack, which
 * runs (under qemu) and prints what the fixture prints.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { build, cdemoBuild, graphOf, REPO, tmpProject } from '../helpers.js';
import { discoverToolchain } from '../../src/llvm/toolchain.js';
import { instrumentFlags, pgoTasks, useFlags } from '../../src/pgo/pipeline.js';
import { binfmtEntry, crossBuildPackages, crossConfigureArgs, crossToolchain } from '../../src/variants/cross.js';
import { archInfo } from '../../src/debian/arch.js';
import { readElf, stackPolicy } from '../../src/elf/reader.js';

const FIX = join(REPO, 'tests/fixtures/cdemo');

describe('cross build for arm64 on the tiny C fixture', () => {
  it('the binfmt entry for arm64 is enabled (setup enables it)', () => {
    const entry = binfmtEntry('arm64');
    expect(entry).toBe('qemu-aarch64');
    const text = readFileSync(`/proc/sys/fs/binfmt_misc/${entry}`, 'utf8');
    expect(text.split('\n')[0], `run: npx pyston-build --set arch=arm64 setup release`).toBe('enabled');
  });

  it('instruments with the cross gcc, trains under qemu, builds with the profile: an aarch64 executable', async () => {
    const root = tmpProject();
    const tc = crossToolchain(discoverToolchain({ llvmMajor: 19, llvmBin: '', family: 'gcc' }, process.env.PATH), 'arm64');
    expect(tc.cc.name).toBe('aarch64-linux-gnu-gcc');
    const spec = { family: 'gcc' as const, dir: 'build/pgo', instrumentedBuildDir: join(root, 'build/gen'), optimizedBuildDir: join(root, 'build/use') };
    const gen = cdemoBuild('gen', 'build/gen', tc, instrumentFlags(spec, root));
    const pgo = pgoTasks({
      ...spec,
      prefix: 'pgo',
      profileTool: { name: 'gcov-dump', package: 'gcc' },
      instrumentedTask: 'gen',
      // The arm64 program is started directly: the kernel hands it to qemu-aarch64.
      train: { file: join(root, 'build/gen/demo'), args: ['300000'], cwd: join(root, 'build/gen') },
      trainInputs: {},
      hotFunction: 'hot_loop',
      hotObject: 'hot',
      tolerateFailure: false,
    });
    const use = cdemoBuild('use', 'build/use', tc, useFlags(spec, root), [pgo.ready]);
    const r = await build(graphOf([gen, ...pgo.tasks, use]), root);
    expect(r.summary.ok, JSON.stringify(r.events.filter((e) => e.type === 'fail'))).toBe(true);

    // The profile came from the emulated run and was used.
    expect(readFileSync(join(root, 'build/logs/pgo:train.log'), 'utf8')).toMatch(/training wrote [1-9]\d* profile files/);
    const log = readFileSync(join(root, 'build/logs/use.log'), 'utf8');
    expect(log).toContain('aarch64-linux-gnu-gcc');
    expect(log).toContain('-fprofile-use=');
    expect(log).not.toMatch(/profile count data file not found/);

    // The ELF checks packaging makes: machine, loader, stack.
    const arm = archInfo('arm64');
    for (const f of ['build/gen/demo', 'build/use/demo']) {
      const elf = readElf(join(root, f));
      expect(elf.machine).toBe(arm.elfMachine);
      expect(elf.interpreter).toBe('/lib/ld-linux-aarch64.so.1');
      expect(elf.interpreter).toBe(arm.loader);
      expect(stackPolicy(elf)).toBe('ok');
    }
    // And it runs, under emulation, as the native fixture does.
    const run = spawnSync(join(root, 'build/use/demo'), ['1000'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const nat = join(root, 'native');
    mkdirSync(nat);
    for (const [cmd, args] of [
      ['sh', [join(FIX, 'configure')]],
      ['make', ['-s']],
    ] as const)
      expect(spawnSync(cmd, [...args], { cwd: nat, encoding: 'utf8', env: { ...process.env, CC: 'gcc' } }).status).toBe(0);
    const native = spawnSync(join(nat, 'demo'), ['1000'], { encoding: 'utf8' });
    expect(native.status).toBe(0);
    expect(run.stdout).toBe(native.stdout);
    expect(run.stdout.length).toBeGreaterThan(0);
  });

  it('names the target libraries and configure arguments of a cross build', () => {
    expect(crossBuildPackages(['libssl-dev', 'pkg-config'], 'arm64')).toEqual(['libssl-dev:arm64', 'pkgconf:arm64', 'libc6-dev-arm64-cross']);
    const args = crossConfigureArgs({ buildMachine: 'amd64', target: 'arm64', buildPython: '/b/usr/bin/python3.11' });
    expect(args.slice(0, 4)).toEqual(['--build=x86_64-linux-gnu', '--host=aarch64-linux-gnu', '--with-build-python=/b/usr/bin/python3.11', '--with-computed-gotos']);
    expect(args).toContain('ac_cv_file__dev_ptmx=yes');
  });
});
