/**
 * End to end, full tier only (PB_TEST_FULL=1, `npm run test:full`): the
 * embedded CPython 3.11.2 cross-built for arm64 on this x86_64 machine and
 * packaged. `package --set arch=arm64` builds the native unopt (the build
 * python), the arm64 release with our PGO trained under qemu and LTO, then
 * the .deb and the portable tarball, both verified in an emulated arm64
 * Debian root (debootstrap --foreign plus a second stage under qemu), and
 * lintian on the arm64 .deb. About 35 minutes here on 2 cores, most of it
 * emulation (training, compileall, the root and its checks); it does not
 * fit in CI's time beside the other end-to-end tests (see README "Tests").
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

describe.runIf(FULL)('CPython 3.11.2 cross-built for arm64 and packaged (full tier)', () => {
  it(
    'package --set arch=arm64: a verified arm64 .deb and portable tarball, probes passed in an emulated arm64 root',
    () => {
      const r = cli(['-C', root, '--set', 'arch=arm64', 'package', '-j', '2'], { timeout: 80 * MIN });
      expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
      // The build python is the native unopt; the release is the arm64 one.
      expect(r.stdout).toMatch(/\[done\] unopt:install/);
      expect(r.stdout).toMatch(/\[done\] release-arm64:pgo:train/);
      const dist = join(root, 'build/dist/cpython-3.11.2');
      const deb = 'cpython_3.11.2-1_arm64.deb';
      const tgz = 'cpython-3.11.2-aarch64-linux-gnu.tar.gz';
      expect(readdirSync(dist).sort()).toEqual(['SHA256SUMS', 'build-info.json', deb, tgz].sort());
      expect(spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dist }).status).toBe(0);
      const info = JSON.parse(readFileSync(join(dist, 'build-info.json'), 'utf8'));
      expect(info).toMatchObject({ name: 'cpython', version: '3.11.2', architecture: 'arm64', triplet: 'aarch64-linux-gnu' });
      expect(info.optimizations).toEqual({ pgo: true, lto: true, bolt: true });
      // Depends from the arm64 ELF files through the arm64 dpkg data.
      expect(info.deb.depends.some((d: string) => /^libc6 \(>= 2\.\d+\)$/.test(d))).toBe(true);
      expect(spawnSync('dpkg-deb', ['-f', join(dist, deb), 'Architecture'], { encoding: 'utf8' }).stdout.trim()).toBe('arm64');
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
      // The checks in the arm64 root ran on what was published.
      expect(readFileSync(join(root, 'build/package/install-check.txt'), 'utf8')).toMatch(/^probe: OK/);
      const moved = readFileSync(join(root, 'build/package/portable-check.txt'), 'utf8');
      expect(moved).toMatch(/^probe: OK/);
      expect(moved).toMatch(/^pip: pip \d+/m);
      expect(moved).toMatch(/^venv: \/tmp\/moved-venv OpenSSL/m);
      expect(readFileSync(join(root, 'build/package/rootfs.json'), 'utf8')).toMatch(/"arch": "arm64"/);
      expect(readFileSync(join(root, 'build/package/lintian.txt'), 'utf8')).not.toMatch(/^E: /m);
      // Nothing changed, nothing runs: the cross build left the native build python as it was.
      const again = cli(['-C', root, '--set', 'arch=arm64', 'package', '-j', '2'], { timeout: 10 * MIN });
      expect(again.status, again.stderr + again.stdout.slice(-2000)).toBe(0);
      expect(again.stdout).toMatch(/^ok: 0 ran, \d+ up to date/m);
      ok = true;
    },
    85 * MIN,
  );
});
