/**
 * End to end on a real Pyston checkout (../shared/pyston/make-checkout.sh):
 * the stockunopt variant, Pyston's plain CPython 3.8.12 built with
 * --disable-pyston from the same tree. It needs pyston-build's patches for
 * Pyston 2.3.5 (submodules/patches/pyston-2.3.5), applied to a copy, and
 * the flavor's file names (the build-tree interpreter is `pyston`). About 5
 * minutes on 2 cores. Run alone with: npx vitest run tests/e2e/pyston.test.ts
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cli, REPO, tmpProject } from '../helpers.js';

const MIN = 60_000;
const SHARED = join(REPO, '..', 'shared', 'pyston');

describe('a Pyston 2.3.5 checkout: stockunopt', () => {
  const dir = tmpProject('pb-e2e-pyston-');
  const co = join(dir, 'pyston');
  let passed = false;
  afterAll(() => {
    // Kept after a failure, for inspection.
    if (passed) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'builds the stock interpreter from a patched copy, and the probes pass without sys.pyston_version_info',
    () => {
      const mk = spawnSync('bash', [join(SHARED, 'make-checkout.sh'), co], { encoding: 'utf8' });
      expect(mk.status, mk.stderr).toBe(0);
      const r = cli(['-C', co, 'stockunopt', '-j', '2'], { timeout: 30 * MIN });
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
      const again = cli(['-C', co, 'stockunopt', '-n']);
      expect(again.stdout).toMatch(/^0 of \d+ tasks would run/);
      passed = true;
    },
    40 * MIN,
  );
});
