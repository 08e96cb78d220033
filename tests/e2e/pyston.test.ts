/**
 * End to end on a real Pyston checkout (../shared/pyston/make-checkout.sh),
 * one checkout shared by both tests:
 *   - unopt: Pyston with its JIT. pyston/LuaJIT synced from the shared
 *     mirror, the bitcode build, nitrous and pystol against LLVM 13, the AOT
 *     traces, then the interpreter; the probes check sys.pyston_version_info
 *     and that the JIT compiles a hot function. About 8 minutes on 2 cores.
 *   - all: opt (the JIT, gcc PGO on runtime/train with the traces' clang
 *     PGO, LTO, BOLT) and the pyston3 links, reusing unopt's chain. About 6
 *     minutes.
 *   - stockunopt: Pyston's plain CPython 3.8.12 (--disable-pyston) from the
 *     same patched copy. About 2 minutes.
 *   - package (the full tier only, `npm run test:full`): the release variant,
 *     then Pyston's verified .deb and portable tarball, and the pyston_lite
 *     wheels for cp38 and cp39 (the pinned 3.9.2 built plain). About 17 minutes.
 *   - wheels: pyston_lite and its autoload package for cp38, against the
 *     stockunopt build: PGO, LTO, BOLT, the policy tag, the install checks.
 *     About 1 minute.
 * Both need pyston-build's patches for Pyston 2.3.5
 * (submodules/patches/pyston-2.3.5), applied to a copy, and the flavor's file
 * names (the build-tree interpreter is `pyston`). Run alone with:
 * npx vitest run tests/e2e/pyston.test.ts
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cli, REPO, tmpProject } from '../helpers.js';

const MIN = 60_000;
const SHARED = join(REPO, '..', 'shared', 'pyston');
const MIRROR = ['--set', `submodules.mirror=${join(SHARED, 'mirror')}/`];
/** The full tier (`npm run test:full`) adds what does not fit in CI's time. */
const FULL = process.env.PB_TEST_FULL === '1';

describe('a Pyston 2.3.5 checkout', () => {
  const dir = tmpProject('pb-e2e-pyston-');
  const co = join(dir, 'pyston');
  let passed = 0;
  beforeAll(() => {
    const mk = spawnSync('bash', [join(SHARED, 'make-checkout.sh'), co], { encoding: 'utf8' });
    expect(mk.status, mk.stderr).toBe(0);
  });
  afterAll(() => {
    // Kept after a failure, for inspection.
    if (passed === (FULL ? 5 : 4)) rmSync(dir, { recursive: true, force: true });
    // Several GB: under load the removal takes longer than vitest's 60 s hook default.
  }, 10 * MIN);

  it(
    'unopt: the bitcode/AOT chain, then Pyston with its JIT; the probes see sys.pyston_version_info and JIT-compiled functions',
    () => {
      const r = cli(['-C', co, 'unopt', '-j', '2', ...MIRROR], { timeout: 30 * MIN });
      expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
      // DynASM came from the synced submodule, and the checkout is as it was.
      expect(existsSync(join(co, 'pyston/LuaJIT/dynasm/dynasm.lua'))).toBe(true);
      expect(existsSync(join(co, 'build/src/patched-pyston-2.3.5/pyston/LuaJIT/dynasm/dynasm.lua'))).toBe(true);
      const status = spawnSync('git', ['-C', co, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
      expect(status.stdout).toBe('');
      // The chain's products.
      for (const f of ['build/bc_install/usr/bin/python3', 'build/aot_tools/nitrous/libinterp.so', 'build/aot_tools/pystol/libpystol.so', 'build/aot/aot_all.bc', 'build/unopt_aot/aot.h']) {
        expect(existsSync(join(co, f)), f).toBe(true);
      }
      const summary = JSON.parse(readFileSync(join(co, 'build/aot/summary.json'), 'utf8'));
      expect(summary.modules).toBeGreaterThan(100);
      const probe = readFileSync(join(co, 'build/logs/unopt:probe.log'), 'utf8');
      expect(probe).toMatch(/^ok pyston: sys\.pyston_version_info = 2\.3\.5$/m);
      expect(probe).toMatch(/^ok jit: compiled [1-9]\d* functions/m);
      expect(readFileSync(join(co, 'build/unopt_probe.txt'), 'utf8')).toMatch(/^probe: OK/);
      const report = JSON.parse(readFileSync(join(co, 'build/unopt_report.json'), 'utf8'));
      expect([report.flavor, report.variant, report.aot.tracesPgo, report.aot.traces.modules]).toEqual(['pyston', 'unopt', 'no profile', summary.modules]);
      // Linked without PIE, as Pyston links its interpreters.
      const elf = spawnSync('readelf', ['-h', join(co, 'build/unopt_build/pyston')], { encoding: 'utf8' });
      expect(elf.stdout).toMatch(/Type:\s+EXEC/);
      const again = cli(['-C', co, 'unopt', '-n', ...MIRROR]);
      expect(again.stdout).toMatch(/^0 of \d+ tasks would run/);
      passed++;
    },
    40 * MIN,
  );

  it(
    'all: opt with the JIT, PGO (gcc, and clang for the traces), LTO and BOLT, then the pyston3 links; the chain is not built again',
    () => {
      const r = cli(['-C', co, 'all', '-j', '2', ...MIRROR], { timeout: 40 * MIN });
      expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
      // unopt's bitcode build, nitrous, pystol and traces were reused.
      expect(r.stdout).not.toMatch(/\[start\] (bc|aot-tools|aot):/);
      const report = JSON.parse(readFileSync(join(co, 'build/opt_report.json'), 'utf8'));
      expect(report.pgo.summary.hotFunction).toBe('_PyEval_EvalFrame_AOT_Interpreter');
      expect(report.aot.tracesPgo).toBe('profile used');
      expect(report.lto).toBe(true);
      if (process.arch === 'x64') {
        expect(report.bolt.bolted).toBe(true);
        expect(report.bolt.files.pyston.coverage.percent).toBeGreaterThan(20);
      }
      const probe = readFileSync(join(co, 'build/logs/opt:probe.log'), 'utf8');
      expect(probe).toMatch(/^ok jit: compiled [1-9]\d* functions/m);
      expect(readlinkSync(join(co, 'pyston3'))).toBe('build/opt_env/bin/python');
      const py = spawnSync(join(co, 'pyston3'), ['-c', 'import sys; print(sys.pyston_version_info[:3], sys.version_info[:3])'], { encoding: 'utf8' });
      expect(py.stdout.trim()).toBe('(2, 3, 5) (3, 8, 12)');
      passed++;
    },
    50 * MIN,
  );

  it.skipIf(!FULL)(
    "package: Pyston's .deb (package pyston, /usr/bin/pyston3 and pyston.links' commands) and portable tarball, verified",
    () => {
      const r = cli(['-C', co, 'package', '-j', '2', ...MIRROR], { timeout: 60 * MIN });
      expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
      const dist = join(co, 'build/dist/pyston-2.3.5');
      const deb = 'pyston_2.3.5-1_amd64.deb';
      expect(readdirSync(dist).sort()).toEqual(['SHA256SUMS', 'build-info.json', deb, 'pyston-2.3.5-x86_64-linux-gnu.tar.gz', 'wheelhouse'].sort());
      // package.wheels = auto: a Pyston tree's package publishes the verified pyston_lite wheels too (cp38 and cp39).
      const wheels = readdirSync(join(dist, 'wheelhouse'))
        .filter((f) => f.endsWith('.whl'))
        .sort();
      expect(wheels.map((f) => f.split('-').slice(0, 4).join('-'))).toEqual(['pyston_lite-2.3.5-cp38-cp38', 'pyston_lite-2.3.5-cp39-cp39', 'pyston_lite_autoload-2.3.5-py3-none']);
      expect(spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dist }).status).toBe(0);
      expect(readFileSync(join(dist, 'SHA256SUMS'), 'utf8')).toContain(`  wheelhouse/${wheels[0]}\n`);
      const contents = spawnSync('dpkg-deb', ['-c', join(dist, deb)], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout;
      for (const l of ['pyston3', 'pyston', 'pyston3.8', 'python3.8-pyston2.3', 'pip-pyston']) expect(contents).toMatch(new RegExp(`\\./usr/bin/${l.replace('.', '\\.')} -> `));
      const info = JSON.parse(readFileSync(join(dist, 'build-info.json'), 'utf8'));
      expect(info).toMatchObject({ schema: 2, name: 'pyston', version: '2.3.5', architectures: ['amd64'] });
      expect(info.builds[0].prefix).toBe('/usr/lib/pyston');
      expect(info.wheels.wheels.filter((w: { optimizations?: unknown }) => w.optimizations).map((w: { optimizations: unknown }) => w.optimizations)).toEqual([
        { pgo: true, lto: true, bolt: true },
        { pgo: true, lto: true, bolt: true },
      ]);
      // Installed in a fresh root and moved elsewhere, Pyston's probes (its version, the JIT) passed.
      for (const f of ['install-check.txt', 'portable-check.txt']) expect(readFileSync(join(co, 'build/package', f), 'utf8')).toMatch(/^probe: OK/);
      expect(readFileSync(join(co, 'build/logs/package:check:install.log'), 'utf8')).toMatch(/^ok jit: compiled [1-9]/m);
      expect(readFileSync(join(co, 'build/package/lintian.txt'), 'utf8')).not.toMatch(/^E: /m);
      const fsys = spawnSync('dpkg-deb', ['--fsys-tarfile', join(dist, deb)], { encoding: 'buffer', maxBuffer: 1 << 30 });
      expect(fsys.stdout.includes(Buffer.from(join(co, 'build')))).toBe(false);
      passed++;
    },
    70 * MIN,
  );

  it(
    'builds the stock interpreter from a patched copy, and the probes pass without sys.pyston_version_info',
    () => {
      const r = cli(['-C', co, 'stockunopt', '-j', '2', ...MIRROR], { timeout: 30 * MIN });
      expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
      // The patches went to a copy; the checkout itself is as it was.
      const patched = join(co, 'build/src/patched-pyston-2.3.5');
      expect(readFileSync(join(patched, 'Objects/longobject.c'), 'utf8')).toContain('    PyLongObject *v;\n#if PYSTON_SPEEDUPS\n    v = long_free_list;');
      expect(readFileSync(join(co, 'Objects/longobject.c'), 'utf8')).toContain('    PyLongObject *v = long_free_list;');
      const status = spawnSync('git', ['-C', co, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
      expect(status.stdout).toBe('');
      // Pyston's layout: the build-tree interpreter is `pyston`, the installed one python3.8-pyston2.3.
      expect(existsSync(join(co, 'build/stockunopt_build/pyston'))).toBe(true);
      expect(existsSync(join(co, 'build/stockunopt_install/usr/bin/python3.8-pyston2.3'))).toBe(true);
      const probe = readFileSync(join(co, 'build/logs/stockunopt:probe.log'), 'utf8');
      expect(probe).toMatch(/^ok pyston: no sys\.pyston_version_info$/m);
      expect(readFileSync(join(co, 'build/stockunopt_probe.txt'), 'utf8')).toMatch(/^probe: OK/);
      const report = JSON.parse(readFileSync(join(co, 'build/stockunopt_report.json'), 'utf8'));
      expect([report.flavor, report.variant, report.configureArgs.slice(0, 2)]).toEqual(['pyston', 'stockunopt', ['--disable-pyston', '--enable-configure']]);
      const py = spawnSync(
        join(co, 'build/stockunopt_env/bin/python'),
        ['-c', 'import sys, sysconfig; print(sys.version_info[:3], hasattr(sys, "pyston_version_info"), sysconfig.get_config_var("VERSION"))'],
        { encoding: 'utf8' },
      );
      expect(py.stdout.trim()).toBe('(3, 8, 12) False 3.8-pyston2.3');
      // A second run does nothing.
      const again = cli(['-C', co, 'stockunopt', '-n', ...MIRROR]);
      expect(again.stdout).toMatch(/^0 of \d+ tasks would run/);
      // The stock build needs none of the JIT's chain.
      const plan = cli(['-C', co, 'stockunopt', '-n', '--explain', ...MIRROR]).stdout;
      expect(plan).toMatch(/stockunopt:configure\s+up to date/);
      expect(plan).not.toMatch(/bc:|aot/);
      passed++;
    },
    40 * MIN,
  );

  it(
    'wheels: pyston_lite and pyston_lite_autoload for cp38 against the stockunopt build, with PGO, LTO and BOLT, installed and checked in a fresh venv',
    () => {
      const r = cli(['-C', co, 'wheels', '-j', '2', '--set', 'wheels.pythons=cp38', ...MIRROR], { timeout: 20 * MIN });
      expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
      expect(r.stdout).not.toMatch(/\[start\] stockunopt:/);
      const house = join(co, 'build/dist/pyston-2.3.5/wheelhouse');
      const files = readdirSync(house).sort();
      const lite = files.find((f) => f.startsWith('pyston_lite-'))!;
      expect(lite, files.join(' ')).toMatch(/^pyston_lite-2\.3\.5-cp38-cp38-manylinux_2_\d+_x86_64(\.manylinux\w+)?\.whl$/);
      expect(files).toEqual(['SHA256SUMS', lite, 'pyston_lite_autoload-2.3.5-py3-none-any.whl', 'wheels.json'].sort());
      const info = JSON.parse(readFileSync(join(house, 'wheels.json'), 'utf8'));
      const w = info.wheels.find((x: { file: string }) => x.file === lite);
      expect(w.optimizations).toEqual({ pgo: true, lto: true, bolt: process.arch === 'x64' });
      expect(w.pgo.hotFunction).toBe('_PyEval_EvalFrame_AOT_Interpreter');
      expect(Object.values(w.pgo.use)).toEqual([0, 0, 0, 0, 0]);
      expect(w.lto.noLto).toEqual(['aot_ceval_jit_helper.c']);
      // The stock build's EXT_SUFFIX has Pyston's 'a' flag: the module is pyston_lite.so, which upstream CPython 3.8 imports too.
      expect([w.module, w.extSuffix]).toEqual(['pyston_lite.so', '.cpython-38a-x86_64-linux-gnu.so']);
      expect(w.check).toMatchObject({ record: 'ok (wheel unpack)', uninstall: 'clean', probe: 'wheel: OK (pyston_lite)' });
      // The installed wheel's JIT compiled a hot function, and DISABLE_PYSTON=1 kept it unloaded.
      const check = readFileSync(join(co, 'build/logs/wheels:cp38:check.log'), 'utf8');
      expect(check).toMatch(/^ok jit: compiled [1-9]\d* functions/m);
      expect(check).toMatch(/^ok disable: /m);
      // After the full tier's package, the release around the wheelhouse lists what it now holds.
      if (existsSync(join(co, 'build/dist/pyston-2.3.5/build-info.json'))) {
        expect(spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: join(co, 'build/dist/pyston-2.3.5') }).status).toBe(0);
        const release = JSON.parse(readFileSync(join(co, 'build/dist/pyston-2.3.5/build-info.json'), 'utf8'));
        expect(release.artifacts.filter((a: { file: string }) => a.file.startsWith('wheelhouse/')).map((a: { file: string }) => a.file)).toEqual([
          `wheelhouse/${lite}`,
          'wheelhouse/pyston_lite_autoload-2.3.5-py3-none-any.whl',
        ]);
      }
      passed++;
    },
    25 * MIN,
  );
});
