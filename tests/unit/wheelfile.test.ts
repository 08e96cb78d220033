/**
 * Wheel assembly (PEP 427), checked by the real tools on this machine:
 * Debian's `python3 -m wheel unpack` (which verifies RECORD's hashes),
 * Python's zipfile, csv and hashlib, and pip installing into a fresh venv.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildWheel, distInfoDir, distName, readWheel, recordHash, WheelError, wheelFileName, type WheelFile, type WheelMetadata, type WheelSpec } from '../../src/packaging/wheel/wheelfile.js';
import { DOS_EPOCH_MIN, readZip, writeZip, ZipError, type ZipEntry } from '../../src/packaging/wheel/zip.js';
import { tmpProject } from '../helpers.js';
import { catchErr, PY, run, runEnv } from '../zip-fixture.js';

const T = 1700000000; // 2023-11-14 22:13:20 UTC

const init = 'enabled = False\n\ndef enable():\n    global enabled\n    enabled = True\n';
const pkgFiles: WheelFile[] = [
  { path: 'pbdemo/__init__.py', data: Buffer.from(init), mode: 0o664 },
  { path: 'pbdemo/tool.sh', data: Buffer.from('#!/bin/sh\necho tool\n'), mode: 0o700 },
  { path: 'pbdemo/data/table.txt', data: Buffer.from('row\n'.repeat(300)), mode: 0o600 },
  { path: 'pbdemo/data/a,b "q".txt', data: Buffer.from('comma and quotes in the name\n'), mode: 0o644 },
];
const pkgSpec: WheelSpec = {
  meta: {
    name: 'pb_demo',
    version: '1.0.0',
    summary: 'A demo package for the wheel writer',
    homepage: 'https://example.invalid/pb_demo',
    author: 'pyston-build tests',
    license: 'MIT',
    requiresPython: '>=3.7',
    description: '# pb_demo\n\nA test fixture.',
    descriptionContentType: 'text/markdown',
  },
  tags: ['py3-none-any'],
  rootIsPurelib: true,
  generator: 'pyston-build 0.1.0',
  files: pkgFiles,
  mtime: T,
};
/** The autoload wheel: a .pth that imports pbdemo at startup unless DISABLE_PBDEMO is set, pinned to pb_demo's exact version. */
const autoloadSpec: WheelSpec = {
  ...pkgSpec,
  meta: { name: 'pb_demo_autoload', version: '1.0.0', summary: 'Enables pb_demo at startup', requiresDist: ['pb_demo==1.0.0'] },
  files: [{ path: 'pb_demo_autoload.pth', data: Buffer.from('import os, sys; exec("""("DISABLE_PBDEMO" not in os.environ) and __import__("pbdemo").enable()""")\n'), mode: 0o644 }],
};

function writeWheel(dir: string, spec: WheelSpec): string {
  const w = buildWheel(spec);
  const file = join(dir, w.fileName);
  writeFileSync(file, w.data);
  return file;
}

/** Every file under `root`, relative, sorted. */
function tree(root: string, rel = ''): string[] {
  return readdirSync(join(root, rel), { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? [`${rel}${d.name}/`, ...tree(root, `${rel}${d.name}/`)] : [`${rel}${d.name}`]))
    .sort();
}

describe('names', () => {
  it('escapes runs of - _ . to one _ and keeps case', () => {
    expect(distName('pyston_lite')).toBe('pyston_lite');
    expect(distName('pyston-lite-autoload')).toBe('pyston_lite_autoload');
    expect(distName('Foo.-_Bar')).toBe('Foo_Bar');
    expect(distInfoDir({ name: 'pb.demo', version: '2.3.5', summary: '' })).toBe('pb_demo-2.3.5.dist-info');
  });

  it('names the file {name}-{version}-{py}-{abi}-{plat}.whl, compressing tag sets', () => {
    const meta: WheelMetadata = { name: 'pyston-lite', version: '2.3.5', summary: '' };
    expect(wheelFileName(meta, ['py3-none-any'])).toBe('pyston_lite-2.3.5-py3-none-any.whl');
    expect(wheelFileName(meta, ['cp38-cp38-manylinux_2_17_x86_64', 'cp38-cp38-manylinux2014_x86_64'])).toBe('pyston_lite-2.3.5-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl');
    expect(wheelFileName(meta, ['py2-none-any', 'py3-none-any'])).toBe('pyston_lite-2.3.5-py2.py3-none-any.whl');
    expect(catchErr(() => wheelFileName(meta, ['cp38-cp38-linux_x86_64', 'py3-none-any'])).message).toMatch(/^wheel tags cp38-cp38-linux_x86_64, py3-none-any are not every combination/);
  });

  it('rejects bad names, versions and tags with the value in a one-line message and a hint', () => {
    const bad: [WheelMetadata, string[], string][] = [
      [{ name: 'pb demo', version: '1.0', summary: '' }, ['py3-none-any'], "wheel name 'pb demo' is not a valid distribution name"],
      [{ name: '', version: '1.0', summary: '' }, ['py3-none-any'], "wheel name '' is not a valid distribution name"],
      [{ name: '-pb', version: '1.0', summary: '' }, ['py3-none-any'], "wheel name '-pb' is not a valid distribution name"],
      [{ name: 'pb', version: '1.0-1', summary: '' }, ['py3-none-any'], "wheel version '1.0-1' of 'pb' is not a normalised PEP 440 version"],
      [{ name: 'pb', version: '', summary: '' }, ['py3-none-any'], "wheel version '' of 'pb' is not a normalised PEP 440 version"],
      [{ name: 'pb', version: '1.0 beta', summary: '' }, ['py3-none-any'], "wheel version '1.0 beta' of 'pb' is not a normalised PEP 440 version"],
      [{ name: 'pb', version: 'v1.0', summary: '' }, ['py3-none-any'], "wheel version 'v1.0' of 'pb' is not a normalised PEP 440 version"],
      [{ name: 'pb', version: '1.0', summary: '' }, ['py3-none'], "wheel tag 'py3-none' is not python-abi-platform"],
      [{ name: 'pb', version: '1.0', summary: '' }, ['py3-none-any-x'], "wheel tag 'py3-none-any-x' is not python-abi-platform"],
      [{ name: 'pb', version: '1.0', summary: '' }, ['py3.py2-none-any'], "wheel tag 'py3.py2-none-any' is not python-abi-platform"],
      [{ name: 'pb', version: '1.0', summary: '' }, ['py3--any'], "wheel tag 'py3--any' is not python-abi-platform"],
      [{ name: 'pb', version: '1.0', summary: '' }, ['py3-none-any', 'py3-none-any'], "wheel tag 'py3-none-any' is listed twice"],
      [{ name: 'pb', version: '1.0', summary: '' }, [], 'wheel has no tags'],
      [{ name: 'pb', version: '1.0', summary: 'two\nlines' }, ['py3-none-any'], "wheel summary 'two\\nlines' spans several lines"],
    ];
    for (const [meta, tags, message] of bad) {
      const e = catchErr(() => buildWheel({ ...pkgSpec, meta, tags }));
      expect(e).toBeInstanceOf(WheelError);
      expect(e.message).toBe(message);
      expect(e.hint).toBeTruthy();
    }
    for (const v of ['2.3.5', '1!2.0', '1.0a1', '1.0rc2', '1.0.post3', '1.0.dev4', '1.0+local.7', '0'])
      expect(() => wheelFileName({ name: 'pb', version: v, summary: '' }, ['py3-none-any'])).not.toThrow();
  });

  it('rejects a payload that brings its own dist-info, and bad paths through the zip writer', () => {
    const own = catchErr(() => buildWheel({ ...pkgSpec, files: [...pkgFiles, { path: 'pb_demo-1.0.0.dist-info/METADATA', data: Buffer.from('x'), mode: 0o644 }] }));
    expect(own).toBeInstanceOf(WheelError);
    expect(own.message).toBe("wheel file 'pb_demo-1.0.0.dist-info/METADATA' lies in a .dist-info directory");
    const up = catchErr(() => buildWheel({ ...pkgSpec, files: [{ path: '../evil.py', data: Buffer.from('x'), mode: 0o644 }] }));
    expect(up).toBeInstanceOf(ZipError);
    expect(up.message).toBe("zip path '../evil.py' has a '..' segment");
    const dup = catchErr(() => buildWheel({ ...pkgSpec, files: [...pkgFiles, pkgFiles[0]!] }));
    expect(dup.message).toBe("zip path 'pbdemo/__init__.py' appears twice");
  });
});

describe('buildWheel', () => {
  it('lays out payload sorted, then METADATA, WHEEL and RECORD last, with normalised modes and one timestamp', () => {
    const w = buildWheel(pkgSpec);
    expect(w.fileName).toBe('pb_demo-1.0.0-py3-none-any.whl');
    const entries = readZip(w.data);
    expect(entries.map((e) => [e.path, e.mode.toString(8)])).toEqual([
      ['pbdemo/__init__.py', '644'],
      ['pbdemo/data/a,b "q".txt', '644'],
      ['pbdemo/data/table.txt', '644'],
      ['pbdemo/tool.sh', '755'],
      ['pb_demo-1.0.0.dist-info/METADATA', '644'],
      ['pb_demo-1.0.0.dist-info/WHEEL', '644'],
      ['pb_demo-1.0.0.dist-info/RECORD', '644'],
    ]);
    expect(new Set(entries.map((e) => e.mtime))).toEqual(new Set([T]));
    const text = (p: string): string => entries.find((e) => e.path === `pb_demo-1.0.0.dist-info/${p}`)!.data.toString('utf8');
    expect(text('WHEEL')).toBe('Wheel-Version: 1.0\nGenerator: pyston-build 0.1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n');
    expect(text('METADATA')).toBe(
      [
        'Metadata-Version: 2.1',
        'Name: pb_demo',
        'Version: 1.0.0',
        'Summary: A demo package for the wheel writer',
        'Home-page: https://example.invalid/pb_demo',
        'Author: pyston-build tests',
        'License: MIT',
        'Requires-Python: >=3.7',
        'Description-Content-Type: text/markdown',
        '',
        '# pb_demo',
        '',
        'A test fixture.',
        '',
      ].join('\n'),
    );
    expect(text('RECORD')).toBe(w.record);
    expect(w.sha256).toBe(createHash('sha256').update(w.data).digest('hex'));
  });

  it('writes RECORD lines whose hashes and sizes match every entry, as Python csv and hashlib read them', () => {
    const dir = tmpProject('pb-wheel-');
    const file = writeWheel(dir, pkgSpec);
    const entries = readZip(readFileSync(file));
    const record = entries.at(-1)!;
    expect(record.path).toBe('pb_demo-1.0.0.dist-info/RECORD');
    // Our own view: every entry but RECORD has its hash and size, RECORD has none.
    const lines = record.data.toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(entries.length);
    expect(lines).toContain(`"pbdemo/data/a,b ""q"".txt",${recordHash(pkgFiles[3]!.data)},${pkgFiles[3]!.data.length}`);
    expect(lines.at(-1)).toBe('pb_demo-1.0.0.dist-info/RECORD,,');
    // Python's view, independent of our parser: csv rows, urlsafe-b64 sha256 without padding, sizes, every member listed once.
    const check = [
      'import base64, csv, hashlib, io, sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      'rec = [n for n in z.namelist() if n.endswith(".dist-info/RECORD")][0]',
      'rows = list(csv.reader(io.TextIOWrapper(z.open(rec), encoding="utf-8")))',
      'assert sorted(r[0] for r in rows) == sorted(z.namelist()), (rows, z.namelist())',
      'for path, h, size in rows:',
      '    if path == rec:',
      '        assert (h, size) == ("", ""), (h, size); continue',
      '    data = z.read(path)',
      '    want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()',
      '    assert h == want and int(size) == len(data), (path, h, want, size, len(data))',
      'print(len(rows))',
    ].join('\n');
    expect(run(PY, ['-c', check, file]).trim()).toBe(String(entries.length));
  });

  it('gives the same bytes for the same spec, in any file order, and other bytes for another mtime', () => {
    const a = buildWheel(pkgSpec);
    const b = buildWheel({ ...pkgSpec, files: [...pkgFiles].reverse().map((f) => ({ ...f, data: Buffer.from(f.data) })) });
    expect(b.data.equals(a.data)).toBe(true);
    expect(b.sha256).toBe(a.sha256);
    const later = buildWheel({ ...pkgSpec, mtime: T + 86400 });
    expect(later.data.equals(a.data)).toBe(false);
    expect(later.record).toBe(a.record); // only the zip timestamps differ
  });

  it('clamps an mtime before 1980 to 1980-01-01, as Python zipfile reads it', () => {
    const dir = tmpProject('pb-wheel-');
    const w = buildWheel({ ...pkgSpec, mtime: 0 });
    expect(buildWheel({ ...pkgSpec, mtime: 100 }).data.equals(w.data)).toBe(true);
    expect(new Set(readZip(w.data).map((e) => e.mtime))).toEqual(new Set([DOS_EPOCH_MIN]));
    writeFileSync(join(dir, w.fileName), w.data);
    const dates = run(PY, ['-c', 'import sys, zipfile; print(sorted({i.date_time for i in zipfile.ZipFile(sys.argv[1]).infolist()}))', join(dir, w.fileName)]);
    expect(dates.trim()).toBe('[(1980, 1, 1, 0, 0, 0)]');
  });

  it('passes zipfile.testzip and shows the normalised modes to Python zipfile', () => {
    const dir = tmpProject('pb-wheel-');
    const file = writeWheel(dir, pkgSpec);
    const out = run(PY, ['-c', 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nfor i in z.infolist(): print(oct(i.external_attr >> 16), i.filename)', file]);
    expect(out.trim().split('\n')).toEqual([
      '0o100644 pbdemo/__init__.py',
      '0o100644 pbdemo/data/a,b "q".txt',
      '0o100644 pbdemo/data/table.txt',
      '0o100755 pbdemo/tool.sh',
      '0o100644 pb_demo-1.0.0.dist-info/METADATA',
      '0o100644 pb_demo-1.0.0.dist-info/WHEEL',
      '0o100644 pb_demo-1.0.0.dist-info/RECORD',
    ]);
  });
});

describe('real tools', () => {
  it('`python3 -m wheel unpack` accepts the wheel and rejects one whose RECORD or payload was tampered with', () => {
    const dir = tmpProject('pb-wheel-');
    const file = writeWheel(dir, pkgSpec);
    run(PY, ['-m', 'wheel', 'unpack', '-d', join(dir, 'out'), file]);
    const root = join(dir, 'out', 'pb_demo-1.0.0');
    expect(readFileSync(join(root, 'pbdemo/__init__.py'), 'utf8')).toBe(init);
    // (wheel 0.38 extracts without modes; pip's install below shows the execute bit arrives.)

    // A RECORD whose hash for one file is wrong (the file itself unchanged), and
    // a payload file changed after RECORD was written (Pyston's stale-RECORD fault).
    const entries = readZip(readFileSync(file));
    const other = recordHash(Buffer.from('something else'));
    const rewrite = (edit: (e: { path: string; data: Buffer; mode: number }) => Buffer): Buffer =>
      writeZip(
        entries.map((e) => ({ path: e.path, mode: e.mode, data: edit(e) })),
        T,
      );
    const badRecord = rewrite((e) => (e.path.endsWith('/RECORD') ? Buffer.from(e.data.toString('utf8').replace(recordHash(pkgFiles[0]!.data), other)) : e.data));
    const badPayload = rewrite((e) => (e.path === 'pbdemo/__init__.py' ? Buffer.from(init + '# patched after RECORD\n') : e.data));
    for (const [name, data] of [
      ['record', badRecord],
      ['payload', badPayload],
    ] as const) {
      const sub = join(dir, name);
      run('mkdir', [sub]);
      writeFileSync(join(sub, 'pb_demo-1.0.0-py3-none-any.whl'), data);
      const r = spawnSync(PY, ['-m', 'wheel', 'unpack', '-d', join(sub, 'out'), join(sub, 'pb_demo-1.0.0-py3-none-any.whl')], { encoding: 'utf8', env: runEnv });
      expect(r.status, name).not.toBe(0);
      expect(r.stdout + r.stderr).toContain("Hash mismatch for file 'pbdemo/__init__.py'");
    }
  });

  it('pip --no-index installs the package and its autoload .pth into a fresh venv, and uninstalls every file', () => {
    const dir = tmpProject('pb-wheel-');
    const wheels = join(dir, 'wheels');
    run('mkdir', [wheels]);
    writeWheel(wheels, pkgSpec);
    writeWheel(wheels, autoloadSpec);
    const venv = join(dir, 'venv');
    run(PY, ['-m', 'venv', venv]);
    const env = { ...runEnv, PYTHONDONTWRITEBYTECODE: '1' };
    const py = join(venv, 'bin', 'python');
    run(py, ['-m', 'pip', '--version'], { env });
    const before = tree(venv);

    run(py, ['-m', 'pip', 'install', '--no-index', '--no-cache-dir', '--find-links', wheels, 'pb_demo_autoload'], { env });
    const probe =
      'import json, sys, importlib.metadata as m\nprint(json.dumps(["pbdemo" in sys.modules, sys.modules["pbdemo"].enabled if "pbdemo" in sys.modules else None, m.version("pb_demo"), m.requires("pb_demo_autoload")]))';
    expect(JSON.parse(run(py, ['-c', probe], { env }))).toEqual([true, true, '1.0.0', ['pb_demo==1.0.0']]);
    expect(JSON.parse(run(py, ['-c', probe], { env: { ...env, DISABLE_PBDEMO: '1' } }))).toEqual([false, null, '1.0.0', ['pb_demo==1.0.0']]);
    const site = run(py, ['-c', 'import pbdemo, os; print(os.path.dirname(pbdemo.__file__))'], { env }).trim();
    expect(statSync(join(site, 'tool.sh')).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(site, 'data', 'a,b "q".txt'), 'utf8')).toBe('comma and quotes in the name\n');

    run(py, ['-m', 'pip', 'uninstall', '-y', 'pb_demo_autoload', 'pb_demo'], { env });
    expect(tree(venv)).toEqual(before);
  });
});

describe('readWheel', () => {
  const good = buildWheel(pkgSpec);
  const name = good.fileName;
  const dist = 'pb_demo-1.0.0.dist-info';
  /** The wheel's entries, changed by `edit`, zipped again. */
  const rewrite = (edit: (entries: ZipEntry[]) => ZipEntry[]): Buffer => writeZip(edit(readZip(good.data).map((e) => ({ path: e.path, data: e.data, mode: e.mode }))), T);
  const editRecord = (from: string, to: string) => (es: ZipEntry[]) => es.map((e) => (e.path === `${dist}/RECORD` ? { ...e, data: Buffer.from(e.data.toString('utf8').replace(from, to)) } : e));

  it('accepts what buildWheel writes, returning its dist-info, tags and entries', () => {
    const w = readWheel(good.data, name);
    expect([w.distInfo, w.tags, w.rootIsPurelib, w.entries.length]).toEqual([dist, ['py3-none-any'], true, 7]);
    const multi = buildWheel({ ...pkgSpec, tags: ['cp38-cp38-manylinux_2_17_x86_64', 'cp38-cp38-manylinux2014_x86_64'], rootIsPurelib: false });
    expect(readWheel(multi.data, `/some/dir/${multi.fileName}`).tags).toEqual(['cp38-cp38-manylinux_2_17_x86_64', 'cp38-cp38-manylinux2014_x86_64']);
  });

  it('rejects a wheel changed after RECORD was written, naming the wheel and the file', () => {
    const cases: [string, Buffer, string][] = [
      [
        'payload',
        rewrite((es) => es.map((e) => (e.path === 'pbdemo/__init__.py' ? { ...e, data: Buffer.from('patched\n') } : e))),
        `${name}: RECORD says 'pbdemo/__init__.py' has ${recordHash(pkgFiles[0]!.data)}, its contents hash to ${recordHash(Buffer.from('patched\n'))}`,
      ],
      ['size', rewrite(editRecord(`,${pkgFiles[2]!.data.length}\n`, `,${pkgFiles[2]!.data.length + 1}\n`)), `${name}: RECORD says 'pbdemo/data/table.txt' is 1201 bytes, it is 1200`],
      ['unlisted', rewrite((es) => [{ path: 'pbdemo/extra.py', data: Buffer.from('x = 1\n'), mode: 0o644 }, ...es]), `${name}: 'pbdemo/extra.py' is not listed in RECORD`],
      ['missing', rewrite((es) => es.filter((e) => e.path !== 'pbdemo/tool.sh')), `${name}: RECORD lists 'pbdemo/tool.sh', which is not in the wheel`],
      [
        'order',
        rewrite((es) => [...es.filter((e) => !e.path.endsWith('/WHEEL')), es.find((e) => e.path.endsWith('/WHEEL'))!]),
        `${name}: '${dist}/WHEEL' comes after RECORD, which must be the last entry`,
      ],
      ['renamed', rewrite(editRecord('pbdemo/tool.sh,', 'pbdemo/table.txt,')), `${name}: RECORD lists 'pbdemo/table.txt', which is not in the wheel`],
      ['twice', rewrite(editRecord(`${dist}/RECORD,,`, `pbdemo/tool.sh,sha256=x,1\n${dist}/RECORD,,`)), `${name}: RECORD lists 'pbdemo/tool.sh' twice`],
      ['malformed', rewrite(editRecord(`${dist}/RECORD,,`, `${dist}/RECORD,`)), `${name}: RECORD line 7 is not path,hash,size: "${dist}/RECORD,"`],
      [
        'own dist-info',
        rewrite((es) => [{ path: 'other-2.0.dist-info/METADATA', data: Buffer.from(''), mode: 0o644 }, ...es]),
        `${name}: holds 'other-2.0.dist-info/', another dist-info than '${dist}/'`,
      ],
    ];
    for (const [what, data, message] of cases) {
      const e = catchErr(() => readWheel(data, name));
      expect(e, what).toBeInstanceOf(WheelError);
      expect(e.message, what).toBe(message);
      expect(e.hint).toBeTruthy();
    }
  });

  it('rejects a file name that disagrees with METADATA or WHEEL', () => {
    expect(catchErr(() => readWheel(good.data, 'other-1.0.0-py3-none-any.whl')).message).toBe(`other-1.0.0-py3-none-any.whl: holds '${dist}/', another dist-info than 'other-1.0.0.dist-info/'`);
    expect(catchErr(() => readWheel(good.data, 'pb_demo-1.0.0-cp38-cp38-linux_x86_64.whl')).message).toBe(
      "pb_demo-1.0.0-cp38-cp38-linux_x86_64.whl: WHEEL's tags (py3-none-any) are not the file name's (cp38-cp38-linux_x86_64)",
    );
    expect(
      catchErr(() =>
        readWheel(
          rewrite((es) => es.filter((e) => !e.path.endsWith('/METADATA'))),
          name,
        ),
      ).message,
    ).toBe(`${name}: has no ${dist}/METADATA`);
    expect(catchErr(() => readWheel(good.data, 'pb_demo.zip')).message).toMatch(/^pb_demo.zip: is not a wheel file name/);
  });

  it('catches a RECORD size `wheel unpack` lets through (it checks hashes only)', () => {
    const dir = tmpProject('pb-wheel-');
    const file = join(dir, name);
    writeFileSync(file, rewrite(editRecord(`,${pkgFiles[2]!.data.length}\n`, `,${pkgFiles[2]!.data.length + 1}\n`)));
    run(PY, ['-m', 'wheel', 'unpack', '-d', join(dir, 'out'), file]);
    expect(catchErr(() => readWheel(readFileSync(file), name)).message).toMatch(/is 1201 bytes, it is 1200$/);
  });
});
