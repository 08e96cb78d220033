/**
 * End to end on a real Pyston checkout (../shared/pyston/make-checkout.sh),
 * one checkout shared by both tests:
 *   - unopt: Pyston with its JIT. pyston/LuaJIT synced from the shared
 *     mirror, the bitcode build, nitrous and pystol against LLVM 13, the AOT
 *     traces, then the interpreter; the probes check sys.pyston_version_info
 *     and that the JIT compiles a hot function. About 8 minutes on 2 cores.
 *   - stockunopt: Pyston's plain CPython 3.8.12 (--disable-pyston) from the
 *     same patched copy. About 2 minutes.
 * Both need pyston-build's patches for Pyston 2.3.5
 * (submodules/patches/pyston-2.3.5), applied to a copy, and the flavor's file
 * names (the build-tree interpreter is `pyston`). Run alone with:
 * npx vitest run tests/e2e/pyston.test.ts
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cli, REPO, tmpProject } from '../helpers.js';

const MIN = 60_000;
const SHARED = join(REPO, '..', 'shared', 'pyston');
const MIRROR = ['--set', `submodules.mirror=${join(SHARED, 'mirror')}/`];

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
    if (passed === 2) rmSync(dir, { recursive: true, force: true });
  });

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
});
