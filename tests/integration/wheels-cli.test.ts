/**
 * The wheels target's settings through the real CLI, on dry runs (nothing
 * builds): every bad value is one error line plus a hint, before anything
 * runs; good values give the graph the wheels need.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cli, expectUsageError, REPO, tmpProject, write } from '../helpers.js';

const FIXTURE = join(REPO, 'tests/fixtures/wheeldemo');

/** A minimal Pyston-shaped checkout: enough to build the graph, not to build anything. */
function pystonTree(): string {
  const root = tmpProject('pb-wheels-pyston-');
  write(root, 'configure', '#!/bin/sh\n');
  write(root, 'Include/patchlevel.h', '#define PY_VERSION "3.8.12"\n#define PYSTON_MAJOR_VERSION 2\n#define PYSTON_MINOR_VERSION 3\n#define PYSTON_MICRO_VERSION 5\n');
  write(root, 'pyston/pyston_lite/lib.c', '');
  return root;
}

/** A CPython-shaped checkout (3.11.2). */
function cpythonTree(): string {
  const root = tmpProject('pb-wheels-cpython-');
  write(root, 'configure', '#!/bin/sh\n');
  write(root, 'Include/patchlevel.h', '#define PY_VERSION "3.11.2"\n');
  return root;
}

describe('wheels settings', () => {
  it('a Pyston tree builds pyston_lite for cp38 (its stock CPython) and cp39 (the pinned 3.9.2) by default', () => {
    const root = pystonTree();
    const r = cli(['-C', root, 'wheels', '-n', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const ids = (JSON.parse(r.stdout) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    for (const id of [
      'stockunopt:probe',
      'cp39:fetch',
      'cp39:unpack',
      'cp39:probe',
      'wheels:gen',
      'wheels:autoload',
      'wheels:cp38:pgo:train',
      'wheels:cp39:bolt:verify',
      'wheels:cp38:check',
      'wheels:publish',
    ]) {
      expect(ids, id).toContain(id);
    }
    // Only plain interpreters: no optimized variant is built for the wheels.
    expect(ids.filter((i) => /^(opt|stock|release):/.test(i))).toEqual([]);
  });

  it('NOPGO, NOLTO and NOBOLT apply to the wheels too', () => {
    const root = pystonTree();
    const r = cli(['-C', root, 'wheels', '-n', '--json', '--set', 'wheels.pythons=cp38'], { env: { ...process.env, NOPGO: '1', NOBOLT: '1' } });
    expect(r.status, r.stderr).toBe(0);
    const ids = (JSON.parse(r.stdout) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    expect(ids.filter((i) => i.startsWith('wheels:cp38:'))).toEqual(['wheels:cp38:sysconfig', 'wheels:cp38:build', 'wheels:cp38:wheel', 'wheels:cp38:check']);
  });

  it('an interpreter pyston_lite does not support is one line naming the range', () =>
    expectUsageError(
      cli(['-C', pystonTree(), 'wheels', '-n', '--set', 'wheels.pythons=cp38,cp311']),
      'pyston_lite supports CPython 3.7 to 3.10; wheels.pythons has cp311 (3.11)',
      /^hint: set wheels.pythons to interpreters in that range/,
    ));

  it('a tag that is not a CPython tag', () =>
    expectUsageError(cli(['-C', pystonTree(), 'wheels', '-n', '--set', 'wheels.pythons=cp38,pypy39']), "wheels.pythons: 'pypy39' is not a CPython tag such as cp38 or cp39", /^hint: list tags/));

  it('an interpreter pyston-build cannot build', () =>
    expectUsageError(
      cli(['-C', pystonTree(), 'wheels', '-n', '--set', 'wheels.pythons=cp37']),
      'wheels.pythons: pyston-build cannot build cp37 here',
      /^hint: choose from: cp38 \(this tree\), cp39, cp311$/,
    ));

  it('a CPython tree has no wheel project of its own', () =>
    expectUsageError(
      cli(['-C', cpythonTree(), 'wheels', '-n']),
      'a CPython tree has no wheel project of its own (pyston_lite is part of a Pyston tree)',
      /^hint: build a Pyston checkout, or set wheels.project/,
    ));

  it('wheels.project names a project file; the tree itself is the default interpreter', () => {
    const root = cpythonTree();
    const r = cli(['-C', root, 'wheels', '-n', '--json', '--set', `wheels.project=${join(FIXTURE, 'pyston-wheel.json')}`]);
    expect(r.status, r.stderr).toBe(0);
    const ids = (JSON.parse(r.stdout) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    expect(ids).toContain('unopt:probe');
    expect(ids).toContain('wheels:cp311:wheel');
    expect(ids).not.toContain('wheels:gen');
  });

  it('a missing project file', () =>
    expectUsageError(
      cli(['-C', cpythonTree(), 'wheels', '-n', '--set', 'wheels.project=/nonexistent/p.json']),
      "wheels.project: cannot read /nonexistent/p.json: ENOENT: no such file or directory, stat '/nonexistent/p.json'",
      /^hint: point wheels.project at a wheel project JSON file/,
    ));

  it('a project whose range leaves out the tree', () =>
    expectUsageError(
      cli(['-C', cpythonTree(), 'wheels', '-n', '--set', `wheels.project=${join(FIXTURE, 'pyston-wheel.json')}`, '--set', 'wheels.pythons=cp311,cp39,cp314']),
      'wheeldemo supports CPython 3.9 to 3.13; wheels.pythons has cp314 (3.14)',
      /^hint: /,
    ));

  it('package.wheels is checked', () =>
    expectUsageError(cli(['-C', pystonTree(), 'package', '-n', '--set', 'package.wheels=maybe']), '--set package.wheels: invalid value "maybe" for package.wheels', /^hint: .*auto, on, off/));
});
