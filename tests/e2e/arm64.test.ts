/**
 * End to end, full tier only (PB_TEST_FULL=1, `npm run test:full`): the
 * embedded CPython 3.11.2 released for amd64 and, cross-built on this
 * x86_64 machine, for arm64, in one run. `package --set arch=amd64,arm64`
 * builds the native unopt (the arm64 build's build python), the amd64
 * release, the arm64 release with our PGO trained under qemu and LTO, then
 * each architecture's .deb and portable tarball, verified in a Debian root
 * of its architecture (arm64: debootstrap --foreign plus a second stage
 * under qemu), and publishes all four under one SHA256SUMS. About 45
 * minutes here on 2 cores, most of it emulation (training, compileall, the
 * root and its checks); it does not fit in CI's time beside the other
 * end-to-end tests (see README "Tests").
 * Run alone with: PB_TEST_FULL=1 npx vitest run tests/e2e/arm64.test.ts
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readElf, stackPolicy } from '../../src/elf/reader.js';
import { cli, tmpProject } from '../helpers.js';
import { mountsUnder } from '../../src/graph/index.js';

const MIN = 60_000;
const FULL = process.env.PB_TEST_FULL === '1';
const root = tmpProject('pb-e2e-arm64-');
let ok = false;
afterAll(() => {
  if (ok && mountsUnder(root).length === 0) rmSync(root, { recursive: true, force: true });
  // Several GB: under load the removal takes longer than vitest's 60 s hook default.
}, 10 * MIN);

describe.runIf(FULL)('CPython 3.11.2 for amd64 and cross-built for arm64, packaged in one run (full tier)', () => {
  it(
    'package --set arch=amd64,arm64: verified .debs and portable tarballs of both, the arm64 ones probed in an emulated arm64 root, under one SHA256SUMS',
    () => {
      const r = cli(['-C', root, '--set', 'arch=amd64,arm64', 'package', '-j', '2'], { timeout: 100 * MIN });
      expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
      // The build python is the native unopt; the releases are the native and the arm64 one.
      expect(r.stdout).toMatch(/\[done\] unopt:install/);
      expect(r.stdout).toMatch(/\[done\] opt:pgo:train/);
      expect(r.stdout).toMatch(/\[done\] opt-arm64:pgo:train/);
      const dist = join(root, 'build/dist/cpython-3.11.2');
      const deb = 'cpython_3.11.2-1_arm64.deb';
      const tgz = 'cpython-3.11.2-aarch64-linux-gnu.tar.gz';
      const native = ['cpython_3.11.2-1_amd64.deb', 'cpython-3.11.2-x86_64-linux-gnu.tar.gz'];
      expect(readdirSync(dist).sort()).toEqual(['SHA256SUMS', 'build-info.json', deb, tgz, ...native].sort());
      expect(spawnSync('sha256sum', ['--strict', '-c', 'SHA256SUMS'], { cwd: dist }).status).toBe(0);
      const info = JSON.parse(readFileSync(join(dist, 'build-info.json'), 'utf8'));
      expect(info).toMatchObject({ schema: 2, name: 'cpython', version: '3.11.2', architectures: ['amd64', 'arm64'] });
      const [amd, arm] = info.builds;
      expect(amd).toMatchObject({ architecture: 'amd64', triplet: 'x86_64-linux-gnu', optimizations: { pgo: true, lto: true, bolt: true } });
      expect(arm).toMatchObject({ architecture: 'arm64', triplet: 'aarch64-linux-gnu', optimizations: { pgo: true, lto: true, bolt: true } });
      // Depends from the arm64 ELF files through the arm64 dpkg data.
      expect(arm.deb.depends.some((d: string) => /^libc6 \(>= 2\.\d+\)$/.test(d))).toBe(true);
      expect(spawnSync('dpkg-deb', ['-f', join(dist, deb), 'Architecture'], { encoding: 'utf8' }).stdout.trim()).toBe('arm64');
      expect(spawnSync('dpkg-deb', ['-f', join(dist, native[0]!), 'Architecture'], { encoding: 'utf8' }).stdout.trim()).toBe('amd64');
      // The report: PGO from the emulated training, and BOLT trained under qemu too.
      const report = JSON.parse(readFileSync(join(root, 'build/release-arm64_report.json'), 'utf8'));
      expect(report.arch).toBe('arm64');
      expect(report.pgo.enabled).toBe(true);
      expect(report.pgo.summary.gcdaFiles).toBeGreaterThan(50);
      expect(report.bolt).toMatchObject({ enabled: true, bolted: true });
      expect(report.bolt.files.python.coverage.percent).toBeGreaterThan(20);
      expect(report.configureArgs).toEqual(expect.arrayContaining(['--host=aarch64-linux-gnu', '--with-computed-gotos', '--with-lto']));
      // The packaged interpreter is an aarch64 executable with glibc's aarch64 loader and no executable stack.
      const x = mkdtempSync(join(tmpdir(), 'pb-arm64-deb-'));
      try {
        expect(spawnSync('dpkg-deb', ['-x', join(dist, deb), x]).status).toBe(0);
        const elf = readElf(join(x, 'usr/lib/cpython/bin/python3.11'));
        expect(elf.machine).toBe(183);
        expect(elf.interpreter).toBe('/lib/ld-linux-aarch64.so.1');
        expect(stackPolicy(elf)).toBe('ok');
      } finally {
        rmSync(x, { recursive: true, force: true });
      }
      // The checks ran on what was published, each in a root of its own architecture.
      for (const [dir, arch] of [
        ['build/package-arm64', 'arm64'],
        ['build/package', 'amd64'],
      ] as const) {
        expect(readFileSync(join(root, dir, 'install-check.txt'), 'utf8')).toMatch(/^probe: OK/);
        const moved = readFileSync(join(root, dir, 'portable-check.txt'), 'utf8');
        expect(moved).toMatch(/^probe: OK/);
        expect(moved).toMatch(/^pip: pip \d+/m);
        expect(moved).toMatch(/^venv: \/tmp\/moved-venv OpenSSL/m);
        expect(readFileSync(join(root, dir, 'rootfs.json'), 'utf8')).toContain(`"arch": "${arch}"`);
        expect(readFileSync(join(root, dir, 'lintian.txt'), 'utf8')).not.toMatch(/^E: /m);
      }
      // Nothing changed, nothing runs: the cross build left the native build python as it was.
      const again = cli(['-C', root, '--set', 'arch=amd64,arm64', 'package', '-j', '2'], { timeout: 10 * MIN });
      expect(again.status, again.stderr + again.stdout.slice(-2000)).toBe(0);
      expect(again.stdout).toMatch(/^ok: 0 ran, \d+ up to date/m);
      ok = true;
    },
    105 * MIN,
  );
});
