/**
 * The real package:publish task on two architectures' chains whose
 * verified files a test writes itself (nothing is built): one directory,
 * one SHA256SUMS that `sha256sum -c` accepts, build-info.json schema 2 with
 * one entry per architecture, the same bytes on a second run, and a
 * one-line failure that leaves nothing behind when the chains disagree.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, graphOf, tmpProject, write } from '../helpers.js';
import { releaseNames } from '../../src/packaging/release.js';
import { publishTask, type PackagePart } from '../../src/packaging/tasks.js';
import { CPYTHON } from '../../src/flavors/index.js';
import type { Arch } from '../../src/debian/arch.js';
import type { Release } from '../../src/steps/release.js';

/** One architecture's chain, as its check tasks leave it in build/<dir>. */
function part(root: string, arch: Arch, epoch: number): PackagePart {
  const names = releaseNames({ name: '', prefix: '', version: '', flavor: 'cpython', sourceVersion: '3.11.2', arch, validate: true });
  const id = arch === 'amd64' ? 'package' : `package-${arch}`;
  const variant = arch === 'amd64' ? 'release' : `release-${arch}`;
  const deb = `cpython_3.11.2-1_${names.debArch}.deb`;
  const tarball = `cpython-3.11.2-${names.triplet}.tar.gz`;
  const dir = `build/${id}`;
  write(root, `${dir}/deb/${deb}`, `deb for ${arch}\n`);
  write(root, `${dir}/portable/${tarball}`, `tarball for ${arch}\n`);
  write(root, `${dir}/deb/deb.json`, JSON.stringify({ depends: [`libc6 (>= 2.36)`], installedBytes: 100, sourceDateEpoch: epoch }));
  write(root, `${dir}/portable/portable.json`, JSON.stringify({ bundled: [{ soname: 'libssl.so.3' }] }));
  write(root, `${dir}/elf-policy.json`, JSON.stringify({ maxGlibc: 'GLIBC_2.36', elfFiles: { deb: 79, portable: 103 } }));
  const report = `build/${variant}_report.json`;
  write(
    root,
    report,
    JSON.stringify({
      variant,
      compiler: arch === 'amd64' ? 'gcc' : 'aarch64-linux-gnu-gcc',
      lto: true,
      pgo: { enabled: true },
      bolt: arch === 'amd64' ? { enabled: true, bolted: true } : { enabled: false, reason: 'not here' },
      configureArgs: [`--host=${names.triplet}`],
      configure: {},
      probe: 'probe: OK',
    }),
  );
  const release: Release = {
    variant,
    flavor: CPYTHON,
    arch,
    version: '3.11.2',
    last: `${variant}:probe`,
    prefix: names.prefix,
    installRoot: `build/${variant}_install`,
    installDir: `build/${variant}_install${names.prefix}`,
    buildDirs: [`build/${variant}_build`],
    srcDir: '/nonexistent',
    python: `build/${variant}_env/bin/python`,
    report,
    shared: false,
  };
  return { release, names, dir, deb, tarball, checks: [`${id}:check:elf`], toolchain: [{ name: 'sh' }] };
}

async function publish(root: string, parts: PackagePart[]) {
  const task = publishTask({ parts, source: { kind: 'archive', sha256: 'ab'.repeat(32) } });
  return build(graphOf([{ ...task, deps: [] }]), root);
}

describe('package:publish with two architectures', () => {
  it('publishes both packages under one SHA256SUMS and one build-info.json (schema 2), and the same bytes again', async () => {
    const root = tmpProject('pb-publish-');
    // Given arm64 first: the release lists the architectures by name whatever the config's order.
    const parts = [part(root, 'arm64', 1700000000), part(root, 'amd64', 1700000000)];
    expect(publishTask({ parts, source: {} }).deps).toEqual(['package:check:elf', 'package-arm64:check:elf']);
    const r = await publish(root, parts);
    expect(r.summary.failed, JSON.stringify(r.events.slice(-3))).toEqual([]);
    const dist = join(root, 'build/dist/cpython-3.11.2');
    const files = ['SHA256SUMS', 'build-info.json', 'cpython_3.11.2-1_amd64.deb', 'cpython_3.11.2-1_arm64.deb', 'cpython-3.11.2-x86_64-linux-gnu.tar.gz', 'cpython-3.11.2-aarch64-linux-gnu.tar.gz'];
    expect(readdirSync(dist).sort()).toEqual(files.sort());
    const check = spawnSync('sha256sum', ['--strict', '-c', 'SHA256SUMS'], { cwd: dist, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(readFileSync(join(dist, 'SHA256SUMS'), 'utf8').trim().split('\n')).toHaveLength(5);
    const info = JSON.parse(readFileSync(join(dist, 'build-info.json'), 'utf8'));
    expect(info.schema).toBe(2);
    expect(info.sourceDateEpoch).toBe(1700000000);
    expect(info.architectures).toEqual(['amd64', 'arm64']);
    expect(info.builds.map((b: { architecture: string; triplet: string }) => [b.architecture, b.triplet])).toEqual([
      ['amd64', 'x86_64-linux-gnu'],
      ['arm64', 'aarch64-linux-gnu'],
    ]);
    expect(info.builds.map((b: { optimizations: unknown }) => b.optimizations)).toEqual([
      { pgo: true, lto: true, bolt: true },
      { pgo: true, lto: true, bolt: false },
    ]);
    expect(info.builds[1].deb.file).toBe('cpython_3.11.2-1_arm64.deb');
    expect(info.builds[1].toolchain.compiler).toBe('aarch64-linux-gnu-gcc');
    expect(info.artifacts.map((a: { file: string }) => a.file)).toEqual([
      'cpython_3.11.2-1_amd64.deb',
      'cpython-3.11.2-x86_64-linux-gnu.tar.gz',
      'cpython_3.11.2-1_arm64.deb',
      'cpython-3.11.2-aarch64-linux-gnu.tar.gz',
    ]);
    const before = readFileSync(join(dist, 'SHA256SUMS'));
    const again = await build(graphOf([{ ...publishTask({ parts, source: { kind: 'archive', sha256: 'ab'.repeat(32) } }), deps: [] }]), root, { force: ['package:publish'] });
    expect(again.summary.failed).toEqual([]);
    expect(again.ran).toEqual(['package:publish']);
    expect(readFileSync(join(dist, 'SHA256SUMS')).equals(before)).toBe(true);
  });

  it('fails in one line, leaving build/dist as it was, when the chains were packaged with different SOURCE_DATE_EPOCH values', async () => {
    const root = tmpProject('pb-publish-');
    const r = await publish(root, [part(root, 'amd64', 1700000000), part(root, 'arm64', 1700000001)]);
    expect(r.summary.failed).toEqual(['package:publish']);
    const fail = r.events.find((e) => e.type === 'fail' && e.id === 'package:publish');
    expect(fail?.type === 'fail' ? fail.message : JSON.stringify(r.events.slice(-2))).toBe("the architectures' packages were made with different SOURCE_DATE_EPOCH values (1700000000, 1700000001)");
    expect(existsSync(join(root, 'build/dist')) ? readdirSync(join(root, 'build/dist')) : []).toEqual([]);
  });
});
