/**
 * bench/interp.js's Pyston mode, without building Pyston: its argument
 * checks; the macrobenchmark submodule synced by pyston-build's own step and
 * the stdlib-only macrobenchmarks run by bench/macro_driver.py; and a whole
 * `--reuse` run on a real checkout (make-checkout.sh) whose build/<v>_env
 * interpreters are stand-ins (links to the system's python3.11), which
 * exercises the script, not Pyston's speed.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, tmpProject } from '../helpers.js';

const INTERP = join(REPO, 'bench/interp.js');
const SHARED = process.env.PYSTON_SHARED ?? '/work/shared/pyston';
const MIRROR = `submodules.mirror=${join(SHARED, 'mirror')}/`;
const PY311 = '/usr/bin/python3.11';
const haveCheckout = existsSync(join(SHARED, 'make-checkout.sh')) && existsSync(PY311);

function node(args: string[], timeout = 120_000) {
  return spawnSync(process.execPath, args, { cwd: REPO, encoding: 'utf8', timeout });
}

/** A fresh Pyston checkout (make-checkout.sh), removed after the test. */
function checkout(): string {
  const tmp = tmpProject('pb-bench-interp-');
  onTestFinished(() => rmSync(tmp, { recursive: true, force: true }));
  const root = join(tmp, 'pyston');
  execFileSync(join(SHARED, 'make-checkout.sh'), [root], { stdio: 'ignore' });
  return root;
}

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8' }).trim();

describe('bench/interp.js --pyston-checkout', () => {
  it('refuses a directory that is not a Pyston checkout, and options of the other mode', () => {
    const dir = tmpProject('pb-bench-notpyston-');
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const r = node([INTERP, '--pyston-checkout', dir, '--reuse']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `bench/interp: error: ${dir} is not a Pyston checkout (it has no pyston/ directory)\nhint: give the top directory of a Pyston checkout, e.g. one made by /work/shared/pyston/make-checkout.sh DEST\n`,
    );
    for (const args of [['--macro'], ['--set', 'cc=gcc'], ['--pyston-checkout', dir, '--project', dir], ['--pyston-checkout', dir, '--clang'], ['--pyston-checkout', dir, '--set', 'nokey']]) {
      const bad = node([INTERP, ...args]);
      expect(bad.status, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(/^bench\/interp: error: .+\nusage: /);
    }
  });

  it.skipIf(!haveCheckout)('syncs pyston/macrobenchmarks at its pin, and macro_driver.py runs its stdlib-only benchmark', () => {
    const root = checkout();
    const sync = node(['--import', 'tsx', join(REPO, 'bench/sync-bench-submodules.ts'), root, '--set', MIRROR]);
    expect(sync.status, sync.stderr).toBe(0);
    const pin = git(root, 'ls-tree', 'HEAD', 'pyston/macrobenchmarks').split(/\s+/)[2];
    expect(git(join(root, 'pyston/macrobenchmarks'), 'rev-parse', 'HEAD')).toBe(pin);

    const out = join(root, 'build', 'macro.json');
    const r = spawnSync(
      PY311,
      [join(REPO, 'bench/macro_driver.py'), '--script', join(root, 'pyston/macrobenchmarks/benchmarks/bm_json/run_benchmark.py'), '--name', 'macro_json', '--loops', '3', '--reps', '2', '--json', out],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const data = JSON.parse(readFileSync(out, 'utf8')) as { results: Record<string, number[]>; inner: number };
    expect(data.results.macro_json).toHaveLength(2);
    for (const s of data.results.macro_json!) expect(s).toBeGreaterThan(0);
    expect(data.inner).toBe(3);
    // The run wrote nothing into the submodule, and the checkout stays clean.
    expect(git(join(root, 'pyston/macrobenchmarks'), 'status', '--porcelain', '--ignored')).toBe('');
    expect(git(root, 'status', '--porcelain')).toBe('');

    // A mirror that does not hold the submodule: one error line naming the URL, and the hint.
    const other = checkout();
    const missing = node(['--import', 'tsx', join(REPO, 'bench/sync-bench-submodules.ts'), other, '--set', 'submodules.mirror=/nonexistent/']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^error: submodules:pyston\/macrobenchmarks: .*\/nonexistent\/github\.com\/pyston\/python-macrobenchmarks .*does not exist\nhint: /);
  });

  it.skipIf(!haveCheckout)(
    '--reuse --macro measures the builds the checkout holds, over stock, and leaves out the missing ones',
    () => {
      const root = checkout();
      for (const v of ['stock', 'opt']) {
        mkdirSync(join(root, 'build', `${v}_env`, 'bin'), { recursive: true });
        symlinkSync(PY311, join(root, 'build', `${v}_env`, 'bin', 'python'));
      }
      const r = node([INTERP, '--pyston-checkout', root, '--reuse', '--macro', '--set', MIRROR, '--rounds', '1', '--reps', '1'], 600_000);
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`build: unopt: not in ${join(root, 'build', 'unopt_env')}, left out`);
      expect(r.stdout).toContain('interp: warning: opt has no sys.pyston_version_info');
      expect(r.stdout).toMatch(/^benchmark +stock +opt +python3\.11$/m);
      expect(r.stdout).toMatch(/^macro_json +1\.000 +\d+\.\d{3} +\d+\.\d{3}$/m);
      expect(r.stdout).toMatch(/^nbody +1\.000 /m);
      expect(r.stdout).toMatch(/^interp: opt over stock geomean \d+\.\d{3} \(target >= 1\.30\): (met|NOT met)$/m);
      expect(r.stdout).toMatch(/^interp: opt over python3\.11 geomean \d+\.\d{3} \(target > 1\.0\): (met|NOT met)$/m);
      const result = JSON.parse(readFileSync(join(root, 'build', 'interp-pyston.json'), 'utf8')) as { interpreters: Record<string, string>; speedup: Record<string, Record<string, number>> };
      expect(Object.keys(result.interpreters)).toEqual(['stock', 'opt', 'python3.11']);
      expect(Object.keys(result.speedup.stock!)).toContain('macro_json');
      expect(Object.keys(result.speedup.stock!).length).toBeGreaterThanOrEqual(15);
      expect(git(root, 'status', '--porcelain')).toBe('');
    },
    600_000,
  );
});
