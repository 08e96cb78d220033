/**
 * runtime/bench and runtime/train on every Python they must run on: the
 * system's python3.11 (CPython variants) and a Python 3.8 (a Pyston tree is
 * CPython 3.8.12, so its PGO training and bench/interp run them on 3.8).
 * A short real run of each on each interpreter: every benchmark and every
 * workload runs and verifies what it computed; none is skipped.
 *
 * Python 3.8 is $PYSTON_BUILD_PY38, else a pyenv 3.8 in ~/.pyenv, else
 * python3.8 on PATH; without one the 3.8 cases are skipped, and the test
 * name says why.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { REPO, tmpProject } from '../helpers.js';

/** `python` when it runs and is a 3.8 (a PATH entry may be a pyenv shim that cannot run here). */
function is38(python: string): boolean {
  const r = spawnSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 && r.stdout.trim() === '3.8';
}

function findPython38(): string | undefined {
  if (process.env.PYSTON_BUILD_PY38) return process.env.PYSTON_BUILD_PY38; // as given: a wrong one fails the tests
  const pyenv = join(homedir(), '.pyenv', 'versions');
  const versions = existsSync(pyenv) ? readdirSync(pyenv).filter((v) => /^3\.8\.\d+$/.test(v)) : [];
  const candidates = [
    ...versions
      .sort()
      .reverse()
      .map((v) => join(pyenv, v, 'bin', 'python3.8')),
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((d) => join(d, 'python3.8')),
  ];
  return candidates.find((py) => existsSync(py) && is38(py));
}

const PY38 = findPython38();
const PY311 = '/usr/bin/python3.11';
const cases = [
  { label: `Python 3.8 (${PY38 ?? 'none found: set PYSTON_BUILD_PY38, or install a pyenv 3.8, to run these'})`, python: PY38, minor: '3.8' },
  { label: `Python 3.11 (${existsSync(PY311) ? PY311 : `${PY311} missing`})`, python: existsSync(PY311) ? PY311 : undefined, minor: '3.11' },
];

function py(python: string, args: string[]) {
  // Outside the source tree, as the builds and bench/interp run them; -W error: a deprecation on this version fails too.
  return spawnSync(python, ['-W', 'error', ...args], { cwd: tmpdir(), encoding: 'utf8', timeout: 300_000 });
}

/** The names `script --list` prints; every one must import. */
function listed(python: string, script: string): string[] {
  const list = py(python, [join(REPO, script), '--list']);
  expect(list.status, list.stderr).toBe(0);
  expect(list.stdout).not.toContain('cannot import');
  return list.stdout
    .split('\n')
    .map((l) => l.split(/\s+/)[0])
    .filter((n): n is string => Boolean(n));
}

describe.each(cases)('runtime/ on $label', ({ python, minor }) => {
  it.skipIf(python === undefined)(
    'runtime/bench/run.py runs every benchmark once, verified',
    () => {
      const names = listed(python!, 'runtime/bench/run.py');
      expect(names.length).toBeGreaterThanOrEqual(14);

      const dir = tmpProject('pb-runtime-bench-');
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const out = join(dir, 'bench.json');
      const r = py(python!, [join(REPO, 'runtime/bench/run.py'), '--reps', '1', '--inner', '1', '--warmup', '1', '--json', out]);
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      const data = JSON.parse(readFileSync(out, 'utf8')) as { python: string; results: Record<string, number[]>; failed: Record<string, string> };
      expect(data.python.startsWith(`${minor}.`)).toBe(true);
      expect(data.failed).toEqual({});
      expect(Object.keys(data.results).sort()).toEqual([...names].sort());
      for (const n of names) expect(data.results[n]![0]).toBeGreaterThan(0);
    },
    300_000,
  );

  it.skipIf(python === undefined)(
    'runtime/train/run.py runs every workload at a small scale, none skipped',
    () => {
      const names = listed(python!, 'runtime/train/run.py');

      const r = py(python!, [join(REPO, 'runtime/train/run.py'), '--scale', '0.05', '--strict']);
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^train: cpython ${minor.replace('.', '\\.')}\\.\\d+, scale 0\\.05, ${names.length} workload\\(s\\)$`, 'm'));
      for (const n of names) expect(r.stdout).toMatch(new RegExp(`^${n}\\s+\\d+\\.\\d+s\\s+ok\\s`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`^train: OK \\(${names.length} workloads\\) in `, 'm'));
    },
    300_000,
  );
});
