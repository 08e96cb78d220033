/**
 * End to end on the embedded default, real CPython 3.11.2: `unopt`, then
 * the wheel pipeline on the fixture extension (tests/fixtures/wheeldemo)
 * against that unopt build, then `all` (opt with our PGO + LTO + BOLT, the probes, the pyston3 links), then a
 * second `all` that runs nothing; then `package` (the release variant, the
 * .deb and the portable tarball with every verification) and a rebuild of
 * both packages that must give the same bytes. Then the optshared variant
 * (no LTO), where libpython3.11.so is trained and BOLTed too. Slow: about 30 minutes on 2 cores.
 * Run alone with: npx vitest run tests/e2e
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { hasSection, readElf, stackPolicy } from '../../src/elf/reader.js';
import { join } from 'node:path';
import { cli, processesWith, REPO, tmpProject } from '../helpers.js';
import { startRegistry } from '../registry-helpers.js';
import { RegistryClient } from '../../src/packaging/docker/registry.js';
import { Credentials } from '../../src/packaging/docker/credentials.js';
import { createHash } from 'node:crypto';
import { mountsUnder } from '../../src/graph/index.js';

const MIN = 60_000;

// Each project holds several GB of builds. They are removed when every test
// here passed, and kept after a failure for inspection.
// Each test calls passed() as its last statement.
const projects: string[] = [];
const TESTS = 6;
let passes = 0;
const passed = (): void => {
  passes++;
};
afterAll(() => {
  if (passes !== TESTS) return;
  for (const p of projects) if (mountsUnder(p).length === 0) rmSync(p, { recursive: true, force: true });
  // Several GB: under load the removal takes longer than vitest's 60 s hook default.
}, 10 * MIN);

describe('CPython 3.11.2 from the embedded pin', () => {
  const root = tmpProject('pb-e2e-');
  projects.push(root);

  it(
    'builds unopt and runs the probes',
    () => {
      const r = cli(['-C', root, 'unopt', '-j', '2'], { timeout: 20 * MIN });
      expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
      expect(readFileSync(join(root, 'build/unopt_probe.txt'), 'utf8')).toMatch(/^probe: OK/);
      passed();
    },
    25 * MIN,
  );

  it(
    'wheels of the fixture extension for cp311 (the unopt build): PGO, LTO but not for helper.c, BOLT, the policy tag, RECORD, a venv install, reproducible; a library outside the policy fails',
    () => {
      const fixture = join(REPO, 'tests/fixtures/wheeldemo');
      const project = ['--set', `wheels.project=${join(fixture, 'pyston-wheel.json')}`];
      const r = cli(['-C', root, 'wheels', '-j', '2', ...project], { timeout: 20 * MIN });
      expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
      // The interpreter was the unopt build, not built again.
      expect(r.stdout).not.toMatch(/\[start\] unopt:/);
      const house = join(root, 'build/dist/cpython-3.11.2/wheelhouse');
      const files = readdirSync(house).sort();
      const ext = files.find((f) => f.startsWith('wheeldemo-1.0.0-cp311-cp311-manylinux_'))!;
      expect(ext, files.join(' ')).toMatch(/^wheeldemo-1\.0\.0-cp311-cp311-manylinux_2_\d+_x86_64(\.manylinux\w+)?\.whl$/);
      expect(files).toEqual(['SHA256SUMS', 'wheeldemo_autoload-1.0.0-py3-none-any.whl', ext, 'wheels.json'].sort());
      expect(spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: house }).status).toBe(0);
      const info = JSON.parse(readFileSync(join(house, 'wheels.json'), 'utf8'));
      const w = info.wheels.find((x: { file: string }) => x.file === ext);
      expect(w.optimizations).toEqual({ pgo: true, lto: true, bolt: true });
      expect(w.pgo.hotFile).toBe('build/wheels/cp311/pgo/gcda/demo.gcda');
      expect(w.pgo.use).toEqual({ 'demo.c': 0, 'helper.c': 0 });
      expect(w.bolt.bolted).toBe(true);
      expect(w.bolt.files['wheeldemo.so'].coverage.percent).toBeGreaterThanOrEqual(20);
      expect(w.policy.platform).toBe(
        ext
          .split('-')[4]!
          .split('.')[0]!
          .replace(/\.whl$/, ''),
      );
      expect(w.module).toBe('wheeldemo.cpython-311-x86_64-linux-gnu.so');
      expect(w.check).toMatchObject({ record: 'ok (wheel unpack)', uninstall: 'clean', probe: 'wheel: OK (wheeldemo)' });
      // LTO for demo.c, not for helper.c (the project's noLto).
      const lto = (f: string) => hasSection(readElf(join(root, 'build/wheels/cp311/build', f)), '.gnu.lto_.opts');
      expect([lto('demo.o'), lto('helper.o')]).toEqual([true, false]);
      // The module in the wheel is the BOLTed one, with no build path in it.
      const mod = readFileSync(join(root, 'build/wheels/cp311/bolt/out/wheeldemo.so'));
      expect(hasSection(readElf(join(root, 'build/wheels/cp311/bolt/out/wheeldemo.so')), '.note.bolt_info')).toBe(true);
      expect(mod.includes(Buffer.from(root))).toBe(false);
      // Debian's wheel tool rejects a wheel whose RECORD does not match (our checks ran it on these).
      const unpack = spawnSync('/usr/bin/python3', ['-m', 'wheel', 'unpack', '--dest', join(root, 'unpacked'), join(house, ext)], { encoding: 'utf8' });
      expect(unpack.status, unpack.stderr).toBe(0);
      // The same inputs give the same bytes.
      const sums = readFileSync(join(house, 'SHA256SUMS'), 'utf8');
      const again = cli(['-C', root, 'wheels', '-j', '2', ...project, '--force', 'wheels:cp311:wheel', '--force', 'wheels:autoload'], { timeout: 10 * MIN });
      expect(again.status, again.stderr + again.stdout.slice(-2000)).toBe(0);
      expect(again.stdout).toMatch(/wheels:cp311:wheel/);
      expect(readFileSync(join(house, 'SHA256SUMS'), 'utf8')).toBe(sums);
      // Another SOURCE_DATE_EPOCH: other timestamps, so other bytes.
      const epoch = cli(['-C', root, 'wheels', '-j', '2', ...project], { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' }, timeout: 10 * MIN });
      expect(epoch.status, epoch.stderr).toBe(0);
      expect(readFileSync(join(house, 'SHA256SUMS'), 'utf8')).not.toBe(sums);
      // libffi is outside every manylinux policy: the wheel is refused, naming it, and nothing is published over the good wheels.
      const bad = cli(['-C', root, 'wheels', '-j', '2', '--set', `wheels.project=${join(fixture, 'ffi.json')}`, '--set', 'pgo=false', '--set', 'bolt=off'], { timeout: 10 * MIN });
      expect(bad.status).toBe(1);
      expect(bad.stderr + bad.stdout).toMatch(/libffi\.so\.8/);
      expect(readdirSync(house).sort()).toEqual(files);
      passed();
    },
    25 * MIN,
  );

  it(
    'builds all (opt: PGO + LTO + BOLT), links pyston3, and the interpreter works',
    () => {
      const r = cli(['-C', root, 'all', '-j', '2'], { timeout: 40 * MIN });
      expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
      const summary = JSON.parse(readFileSync(join(root, 'build/opt_pgo/summary.json'), 'utf8')) as { hotFunction: string; hotFunctionBlockCountSum?: number; functions?: number };
      expect(summary.hotFunction).toBe('_PyEval_EvalFrameDefault');
      expect(readFileSync(join(root, 'build/opt_probe.txt'), 'utf8')).toMatch(/^probe: OK/);
      // BOLT ran, left its evidence, and the installed interpreter is the BOLTed one.
      const bolt = JSON.parse(readFileSync(join(root, 'build/opt_bolt/report.json'), 'utf8'));
      expect(bolt.bolted, JSON.stringify(bolt)).toBe(true);
      expect(bolt.files.python.coverage.percent).toBeGreaterThanOrEqual(20);
      const installed = realpathSync(join(root, 'build/opt_install/usr/bin/python3.11'));
      const elf = readElf(installed);
      expect(hasSection(elf, '.note.bolt_info')).toBe(true);
      expect(stackPolicy(elf)).toBe('ok');
      const report = JSON.parse(readFileSync(join(root, 'build/opt_report.json'), 'utf8'));
      expect(report.bolt.bolted).toBe(true);
      expect(report.pgo.enabled).toBe(true);
      expect(report.probe).toMatch(/^probe: OK/);
      const py = spawnSync(join(root, 'pyston3'), ['-c', 'import ssl, sqlite3; print(1)'], { encoding: 'utf8' });
      expect(py.stdout).toBe('1\n');
      const flags = spawnSync(join(root, 'pyston3'), ['-c', 'import sysconfig; print(sysconfig.get_config_var("CONFIG_ARGS"))'], { encoding: 'utf8' });
      expect(flags.stdout).toContain('--with-lto');
      // The LTO link ran partitioned, under the jobserver; the programs that are not installed linked without LTO.
      const configureLog = readFileSync(join(root, 'build/logs/opt:configure.log'), 'utf8');
      expect(configureLog).toMatch(/^Makefile: removed -flto-partition=none \([1-9]\d* times\)$/m);
      expect(configureLog).toContain('Makefile: added Programs/_testembed: PY_CORE_LDFLAGS += -fno-lto');
      expect(readFileSync(join(root, 'build/logs/opt:make.log'), 'utf8')).toMatch(/-flto=jobserver/);
      const again = cli(['-C', root, 'all', '-j', '2']);
      expect(again.stdout).toMatch(/^ok: 0 ran, \d+ up to date/m);
      passed();
    },
    45 * MIN,
  );

  it(
    'packages the release: a verified .deb, a portable tarball, SHA256SUMS and build-info.json, reproducibly',
    () => {
      const r = cli(['-C', root, 'package', '-j', '2'], { timeout: 50 * MIN });
      expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
      // One training per release: opt's PGO profile (no release:pgo task), and opt's BOLT profile by function layout.
      expect(r.stdout).not.toMatch(/\[start\] release:pgo:/);
      const relReport = JSON.parse(readFileSync(join(root, 'build/release_report.json'), 'utf8'));
      expect(relReport.pgo).toMatchObject({ enabled: true, profileFrom: 'opt' });
      const relWarnings = JSON.parse(readFileSync(join(root, 'build/release_build/profile-warnings.json'), 'utf8'));
      expect([relWarnings.profileFrom, relWarnings.missingProfileByFile.ceval]).toEqual(['opt', undefined]);
      if (process.arch === 'x64') {
        const relBolt = JSON.parse(readFileSync(join(root, 'build/release_bolt/report.json'), 'utf8'));
        expect([relBolt.bolted, relBolt.files.python.profileFrom, relBolt.files.python.staleFunctions]).toEqual([true, 'layout', 0]);
        expect(readFileSync(join(root, 'build/logs/release:bolt:train.log'), 'utf8')).toMatch(/training skipped/);
      }
      const dist = join(root, 'build/dist/cpython-3.11.2');
      const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
      const triplet = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
      const deb = `cpython_3.11.2-1_${arch}.deb`;
      const tgz = `cpython-3.11.2-${triplet}.tar.gz`;
      expect(readdirSync(dist).sort()).toEqual(['SHA256SUMS', 'build-info.json', deb, tgz].sort());
      const sums = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dist, encoding: 'utf8' });
      expect(sums.status, sums.stdout + sums.stderr).toBe(0);
      const info = JSON.parse(readFileSync(join(dist, 'build-info.json'), 'utf8'));
      expect(info).toMatchObject({ schema: 2, name: 'cpython', version: '3.11.2', debVersion: '3.11.2-1', architectures: [arch] });
      const b = info.builds[0];
      expect(b).toMatchObject({ architecture: arch, triplet, prefix: '/usr/lib/cpython' });
      expect(b.optimizations).toEqual({ pgo: true, lto: true, bolt: process.arch === 'x64' });
      expect(info.source.sha256).toBe('2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849');
      expect(b.elf.maxGlibc).toMatch(/^GLIBC_2\.\d+$/);
      expect(b.deb.depends.some((d: string) => /^libc6 \(>= 2\.\d+\)$/.test(d))).toBe(true);
      expect(b.portable.bundled.map((x: { soname: string }) => x.soname)).toEqual(expect.arrayContaining(['libssl.so.3', 'libsqlite3.so.0', 'libffi.so.8']));
      expect(info.artifacts.map((a: { file: string }) => a.file).sort()).toEqual([deb, tgz].sort());
      // The checks ran on what was published.
      expect(readFileSync(join(root, 'build/package/install-check.txt'), 'utf8')).toMatch(/^probe: OK/);
      const moved = readFileSync(join(root, 'build/package/portable-check.txt'), 'utf8');
      expect(moved).toMatch(/^probe: OK/);
      expect(moved).toMatch(/^pip: pip \d+/m);
      expect(moved).toMatch(/^venv: \/tmp\/moved-venv OpenSSL/m);
      expect(readFileSync(join(root, 'build/package/lintian.txt'), 'utf8')).not.toMatch(/^E: /m);
      // No build path in the sysconfig data of the .deb.
      const contents = spawnSync('dpkg-deb', ['--fsys-tarfile', join(dist, deb)], { encoding: 'buffer', maxBuffer: 1 << 30 });
      expect(contents.stdout.includes(Buffer.from(join(root, 'build')))).toBe(false);
      // Rebuilding both packages from the same tree gives the same bytes.
      const before = readFileSync(join(dist, 'SHA256SUMS'), 'utf8');
      const again = cli(['-C', root, 'package', '-j', '2', '--force', 'package:deb', '--force', 'package:portable'], { timeout: 20 * MIN });
      expect(again.status, again.stderr + again.stdout.slice(-2000)).toBe(0);
      expect(again.stdout).toMatch(/package:deb/);
      expect(readFileSync(join(dist, 'SHA256SUMS'), 'utf8')).toBe(before);
      passed();
    },
    75 * MIN,
  );

  it(
    'docker: the full and the slim image of that release, built on a private dockerd from debootstrap bases, pulled back and checked, pushed as indexes to a registry with a password',
    async () => {
      const password = 'e2e-Secret-pw-4711';
      const registry = await startRegistry({ htpasswd: { user: 'builder', password } });
      try {
        // No daemon answers at DOCKER_HOST: pyston-build starts a private one (docker.daemon = auto, as root) and stops it.
        const env = { ...process.env, DOCKER_HOST: `unix://${root}/no-daemon.sock`, PB_REGISTRY_USER: 'builder', PB_REGISTRY_PASSWORD: password };
        const args = ['-C', root, 'docker', '-j', '2', '--set', `docker.registry=${registry.addr}`];
        const r = cli(args, { env, timeout: 40 * MIN });
        expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
        // The package was not built again.
        expect(r.stdout).not.toMatch(/\[start\] (package|release):/);
        const images = JSON.parse(readFileSync(join(root, 'build/docker/images.json'), 'utf8'));
        expect(Object.keys(images.indexes).sort()).toEqual(['3.11.2', '3.11.2-slim', 'latest', 'slim']);
        const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
        const full = JSON.parse(readFileSync(join(root, `build/docker/check-full-${arch}.json`), 'utf8'));
        const slim = JSON.parse(readFileSync(join(root, `build/docker/check-slim-${arch}.json`), 'utf8'));
        for (const c of [full, slim]) {
          expect(c.checks).toEqual(
            expect.arrayContaining([expect.stringMatching(/^probe: OK/), expect.stringMatching(/^pip --version: pip \d+/), expect.stringMatching(/^venv: \/tmp\/venv OpenSSL/)]),
          );
          expect(c.checks[0]).toMatch(/^python: \/usr\/lib\/cpython\/bin\/python3/);
        }
        expect(full.checks).toContain('cext: 5');
        expect(slim.size).toBeLessThan(full.size);
        // Read the indexes back ourselves: each names this platform's checked manifest.
        const client = new RegistryClient({ registry: registry.addr, repository: 'cpython', credentials: new Credentials('builder', password, 'test') });
        for (const [tag, c] of [
          ['3.11.2', full],
          ['latest', full],
          ['3.11.2-slim', slim],
          ['slim', slim],
        ] as const) {
          const index = (await client.getManifest(tag)).json as { mediaType: string; manifests: { digest: string; platform: { architecture: string } }[] };
          expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
          expect(index.manifests.map((m) => [m.platform.architecture, m.digest])).toEqual([[arch, c.digest]]);
        }
        // The labels: the version, created from SOURCE_DATE_EPOCH, the digest of the published build-info.json.
        const manifest = (await client.getManifest(full.digest)).json as { config: { digest: string } };
        const blob = await fetch(`http://${registry.addr}/v2/cpython/blobs/${manifest.config.digest}`, {
          headers: { Authorization: `Basic ${Buffer.from(`builder:${password}`).toString('base64')}` },
        });
        expect(blob.status).toBe(200);
        const config = JSON.parse(await blob.text());
        const buildInfo = readFileSync(join(root, 'build/dist/cpython-3.11.2/build-info.json'));
        const epoch = JSON.parse(buildInfo.toString('utf8')).sourceDateEpoch as number;
        expect(config.config.Labels).toMatchObject({
          'org.opencontainers.image.version': '3.11.2',
          'org.opencontainers.image.created': new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z'),
          'org.opencontainers.image.revision': '2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849',
          'dev.pyston-build.build-info.sha256': createHash('sha256').update(buildInfo).digest('hex'),
        });
        expect(config.architecture).toBe(arch);
        // The password is in no output, log or report.
        const logs = spawnSync('grep', ['-rlF', password, join(root, 'build'), join(root, '.pyston-build')], { encoding: 'utf8' });
        expect(logs.stdout).toBe('');
        expect(r.stdout + r.stderr).not.toContain(password);
        // The private daemon is gone, and nothing stays mounted in the project.
        expect(processesWith(join(root, 'build/docker-engine')).size).toBe(0);
        expect(mountsUnder(root)).toEqual([]);
        // Nothing changed: nothing runs.
        const again = cli(args, { env, timeout: 5 * MIN });
        expect(again.stdout).toMatch(/^ok: 0 ran, \d+ up to date/m);
        // Reproducible: the slim image built again by a fresh engine (no layer cache) has the same digest.
        const before = JSON.parse(readFileSync(join(root, `build/docker/image-slim-${arch}.json`), 'utf8'));
        rmSync(join(root, 'build/docker-engine'), { recursive: true, force: true });
        const rebuilt = cli([...args, '--force', `docker:image:slim-${arch}`], { env, timeout: 15 * MIN });
        expect(rebuilt.status, rebuilt.stderr + rebuilt.stdout.slice(-2000)).toBe(0);
        const after = JSON.parse(readFileSync(join(root, `build/docker/image-slim-${arch}.json`), 'utf8'));
        expect(after.builtImageId).not.toBe(before.builtImageId);
        expect(after.imageId).toBe(before.imageId);
        expect(after.digest).toBe(before.digest);
        expect(JSON.parse(readFileSync(join(root, 'build/docker/images.json'), 'utf8')).indexes).toEqual(images.indexes);
      } finally {
        await registry.stop();
      }
      passed();
    },
    45 * MIN,
  );
});

describe('CPython 3.11.2, the optshared variant (PGO + BOLT of the executable and libpython, no LTO to save time)', () => {
  const root = tmpProject('pb-e2e-shared-');
  projects.push(root);

  it(
    'trains on its own instrumented libpython, BOLTs both files, and the installed interpreter loads its own library',
    () => {
      const so = 'libpython3.11.so.1.0';
      const r = cli(['-C', root, 'optshared', '-j', '2', '--set', 'lto=false'], { timeout: 30 * MIN });
      expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
      const bolt = JSON.parse(readFileSync(join(root, 'build/optshared_bolt/report.json'), 'utf8'));
      expect(bolt.bolted, JSON.stringify(bolt)).toBe(true);
      expect(Object.keys(bolt.files).sort()).toEqual([so, 'python'].sort());
      expect(bolt.files[so].coverage.percent).toBeGreaterThanOrEqual(20);
      const usr = join(root, 'build/optshared_install/usr');
      for (const f of [join(usr, 'lib', so), join(usr, 'bin/python3.11')]) {
        const elf = readElf(realpathSync(f));
        expect(hasSection(elf, '.note.bolt_info'), f).toBe(true);
        expect(stackPolicy(elf), f).toBe('ok');
      }
      // Found through RUNPATH wherever the tree is, and never a system libpython with the same soname.
      expect(readElf(join(usr, 'bin/python3.11')).runpath).toBe('$ORIGIN/../lib');
      const maps = spawnSync(join(root, 'build/optshared_env/bin/python'), ['-c', 'print(open("/proc/self/maps").read())'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
      const loaded = [
        ...new Set(
          maps.stdout
            .split('\n')
            .map((l) => l.split(/\s+/)[5] ?? '')
            .filter((p) => p.includes('libpython')),
        ),
      ];
      expect(loaded).toEqual([realpathSync(join(usr, 'lib', so))]);
      const probe = readFileSync(join(root, 'build/logs/optshared:probe.log'), 'utf8');
      expect(probe).toMatch(new RegExp(`^ok libpython: .*/build/optshared_install/usr/lib/${so.replace(/\./g, '\\.')}$`, 'm'));
      expect(readFileSync(join(root, 'build/optshared_probe.txt'), 'utf8')).toMatch(/^probe: OK/);
      // Retraining changes the profile; make does not track it, so the rebuild must compile everything again.
      const again = cli(['-C', root, 'optshared', '-j', '2', '--set', 'lto=false', '--force', 'optshared:pgo:train'], { timeout: 20 * MIN });
      expect(again.status, again.stderr + again.stdout.slice(-3000)).toBe(0);
      const make = readFileSync(join(root, 'build/logs/optshared:make.log'), 'utf8');
      expect(make).toMatch(/^\$ make clean /m);
      expect(make).toMatch(/-fprofile-use=.* -o Python\/ceval\.o /);
      passed();
    },
    45 * MIN,
  );
});
