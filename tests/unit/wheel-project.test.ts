import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { autoloadLine, loadProjectFile, pystonLiteProject, rangeText, supports } from '../../src/packaging/wheel/project.js';
import { abiTag, moduleFile } from '../../src/packaging/wheel/compile.js';
import { wheelTagMinor } from '../../src/packaging/wheel/pythons.js';
import { PbError } from '../../src/graph/index.js';
import { REPO, tmpProject } from '../helpers.js';

const FIXTURE = join(REPO, 'tests/fixtures/wheeldemo/pyston-wheel.json');

/** A project file in a fresh directory, from the fixture's fields with some replaced. */
function project(fields: Record<string, unknown>, files: Record<string, string> = { 'demo.c': '' }): string {
  const dir = tmpProject('pb-wheel-project-');
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  const base = { name: 'demo', version: '1.0', sources: ['demo.c'], python: { min: '3.8', max: '3.11' }, hot: { function: 'f', object: 'demo' } };
  const path = join(dir, 'p.json');
  writeFileSync(path, JSON.stringify({ ...base, ...fields }));
  return path;
}

function error(f: () => unknown): PbError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PbError);
    return e as PbError;
  }
  throw new Error('expected an error');
}

describe('wheel projects', () => {
  it('reads the fixture project', () => {
    const p = loadProjectFile(FIXTURE);
    expect([p.name, p.version, p.sources, p.noLto, p.python, p.autoload?.name]).toEqual([
      'wheeldemo',
      '1.0.0',
      ['demo.c', 'helper.c'],
      ['helper.c'],
      { min: [3, 9], max: [3, 13] },
      'wheeldemo_autoload',
    ]);
    expect(p.autoload?.pth).toBe('import os; "DISABLE_PYSTON" in os.environ or __import__("wheeldemo").enable()\n');
  });

  it('describes pyston_lite from a Pyston tree: five C files (one from DynASM), the helper without LTO, CPython 3.7 to 3.10', () => {
    const p = pystonLiteProject('/src/pyston-2.3.5', '2.3.5');
    expect(p.dir).toBe('/src/pyston-2.3.5/pyston/pyston_lite');
    expect([...p.sources, ...(p.generator?.outputs ?? [])].sort()).toEqual(['aot_ceval.c', 'aot_ceval_jit.gen.c', 'aot_ceval_jit_helper.c', 'aot_lite.c', 'lib.c']);
    expect(p.noLto).toEqual(['aot_ceval_jit_helper.c']);
    expect(p.defines).toContain('PYSTON_LITE');
    expect(rangeText(p.python)).toBe('3.7 to 3.10');
    expect([supports(p.python, [3, 8]), supports(p.python, [3, 10]), supports(p.python, [3, 11]), supports(p.python, [3, 6])]).toEqual([true, true, false, false]);
    expect(p.hot.object).toBe('aot_ceval');
  });

  it('the .pth line enables the module unless DISABLE_PYSTON is set', () => {
    expect(autoloadLine('pyston_lite')).toMatch(/^import os; "DISABLE_PYSTON" in os\.environ or __import__\("pyston_lite"\)\.enable\(\)\n$/);
  });

  it.each([
    [{ name: 'bad-name' }, /name must be a Python identifier, got "bad-name"/],
    [{ version: '1 0' }, /version must be a release version/],
    [{ sources: [] }, /sources must list at least one C file/],
    [{ sources: ['../x.c'] }, /source "\.\.\/x\.c" must be a \.c file inside the project directory/],
    [{ sources: ['missing.c'] }, /source missing\.c does not exist/],
    [{ noLto: ['other.c'] }, /noLto names other\.c, which is not one of the sources/],
    [{ python: { min: '3', max: '3.10' } }, /python\.min must be a CPython minor version such as "3\.9", got "3"/],
    [{ hot: {} }, /hot must be \{"function": NAME, "object": STEM\}/],
    [{ cflags: ['O2'] }, /compiler flag "O2" must start with '-'/],
    [{ libraries: ['z; rm -rf /'] }, /library "z; rm -rf \/" is not a library name/],
    [{ defines: ['1BAD'] }, /define "1BAD" must be NAME or NAME=VALUE/],
  ])('rejects a bad project file: %j', (fields, message) => {
    const e = error(() => loadProjectFile(project(fields)));
    expect(e.message).toMatch(message);
    expect(e.message.split('\n')).toHaveLength(1);
    expect(e.hint).toBeTruthy();
  });

  it('an unreadable or missing project file is one line naming it', () => {
    const e = error(() => loadProjectFile('/nonexistent/p.json'));
    expect(e.message).toMatch(/^wheels\.project: cannot read \/nonexistent\/p\.json/);
    const bad = project({});
    writeFileSync(bad, '{ not json');
    expect(error(() => loadProjectFile(bad)).message).toMatch(/cannot read/);
  });

  it("tags the ABI as pip does, and names the module by EXT_SUFFIX only when it is upstream CPython's", () => {
    const sc = (version: string, extSuffix: string, o: { pyDebug?: boolean; pymalloc?: boolean } = {}) =>
      ({ version, extSuffix, multiarch: 'x86_64-linux-gnu', pyDebug: false, pymalloc: true, cflags: '', ccshared: '', ldshared: '', includepy: '/i', ...o }) as const;
    const lite = pystonLiteProject('/src', '2.3.5');
    expect(abiTag(sc('3.8.12', '.cpython-38-x86_64-linux-gnu.so'))).toBe('cp38');
    expect(abiTag(sc('3.7.3', '.cpython-37m-x86_64-linux-gnu.so'))).toBe('cp37m');
    expect(abiTag(sc('3.9.2', '.cpython-39d-x86_64-linux-gnu.so', { pyDebug: true }))).toBe('cp39d');
    expect(moduleFile(lite, sc('3.9.2', '.cpython-39-x86_64-linux-gnu.so'))).toBe('pyston_lite.cpython-39-x86_64-linux-gnu.so');
    expect(moduleFile(lite, sc('3.7.3', '.cpython-37m-x86_64-linux-gnu.so'))).toBe('pyston_lite.cpython-37m-x86_64-linux-gnu.so');
    // Pyston's stock build: 'a' for its debugging features, which upstream CPython does not know.
    expect(abiTag(sc('3.8.12', '.cpython-38a-x86_64-linux-gnu.so'))).toBe('cp38');
    expect(moduleFile(lite, sc('3.8.12', '.cpython-38a-x86_64-linux-gnu.so'))).toBe('pyston_lite.so');
  });

  it('reads interpreter tags', () => {
    expect(wheelTagMinor('cp39')).toEqual([3, 9]);
    expect(wheelTagMinor('cp311')).toEqual([3, 11]);
    expect(error(() => wheelTagMinor('py39')).message).toBe("wheels.pythons: 'py39' is not a CPython tag such as cp38 or cp39");
  });
});
