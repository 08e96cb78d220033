/** The .deb building blocks: the ar writer (read back by binutils' ar), the control file and md5sums. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { arArchive, ArError } from '../../src/packaging/deb/ar.js';
import { ControlError, controlFile, debianVersionProblem, installedSizeKiB, md5sums, type ControlFields } from '../../src/packaging/deb/control.js';
import { maintainerScripts } from '../../src/packaging/tasks.js';
import { tmpProject } from '../helpers.js';

describe('arArchive', () => {
  const members = [
    { name: 'debian-binary', data: Buffer.from('2.0\n') },
    { name: 'odd.bin', data: Buffer.from('abc') },
    { name: 'empty', data: Buffer.alloc(0) },
  ];

  it('writes an archive binutils ar lists and extracts byte for byte', () => {
    const dir = tmpProject('pb-ar-');
    writeFileSync(join(dir, 'x.a'), arArchive(members, 1700000000));
    const t = spawnSync('ar', ['tv', 'x.a'], { cwd: dir, encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    expect(
      t.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/).pop()),
    ).toEqual(['debian-binary', 'odd.bin', 'empty']);
    expect(t.stdout).toMatch(/^rw-r--r-- 0\/0\s+4 /);
    mkdirSync(join(dir, 'out'));
    expect(spawnSync('ar', ['x', '../x.a'], { cwd: join(dir, 'out') }).status).toBe(0);
    expect(readFileSync(join(dir, 'out', 'odd.bin'), 'utf8')).toBe('abc');
    expect(readFileSync(join(dir, 'out', 'debian-binary'), 'utf8')).toBe('2.0\n');
  });

  it('is the same bytes for the same input, pads odd members, and starts with the magic', () => {
    const a = arArchive(members, 1700000000);
    expect(a.equals(arArchive(members, 1700000000))).toBe(true);
    expect(a.subarray(0, 8).toString('latin1')).toBe('!<arch>\n');
    expect(a.length % 2).toBe(0);
    expect(arArchive(members, 1700000001).equals(a)).toBe(false);
  });

  it('rejects names it cannot write, duplicates and a bad mtime', () => {
    expect(() => arArchive([{ name: 'a-name-longer-than-15', data: Buffer.alloc(1) }], 1)).toThrow(ArError);
    expect(() => arArchive([{ name: 'a/b', data: Buffer.alloc(1) }], 1)).toThrow(/without '\/'/);
    expect(() =>
      arArchive(
        [
          { name: 'x', data: Buffer.alloc(1) },
          { name: 'x', data: Buffer.alloc(1) },
        ],
        1,
      ),
    ).toThrow("ar member 'x' appears twice");
    expect(() => arArchive([], -1)).toThrow(/non-negative/);
  });
});

describe('Debian versions', () => {
  it('accepts what dpkg accepts', () => {
    for (const v of ['3.11.2', '3.11.2-1', '1:3.11.2-1+b1', '2.3~rc1-0pyston1', '3.11.2+dfsg-1~bpo12+1']) {
      expect(debianVersionProblem(v), v).toBeUndefined();
      const r = spawnSync('dpkg', ['--validate-version', v], { encoding: 'utf8' });
      expect(r.status, `${v}: ${r.stderr}`).toBe(0);
    }
  });
  it('names what is wrong, as dpkg also rejects it', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['v3.11', /does not start with a digit/],
      ['a:3.11', /epoch 'a' is not a number/],
      ['3.11_2', /contains '_'/],
      ['3.11-', /revision after the last - is empty/],
      ['3.11 2', /white space/],
    ];
    for (const [v, re] of cases) {
      expect(debianVersionProblem(v), v).toMatch(re);
      expect(spawnSync('dpkg', ['--validate-version', v]).status, v).not.toBe(0);
    }
  });
});

describe('controlFile', () => {
  const base: ControlFields = {
    package: 'cpython3.11',
    version: '3.11.2-1',
    architecture: 'amd64',
    maintainer: 'pyston-build <builds@example.org>',
    installedBytes: 1025,
    section: 'python',
    priority: 'optional',
    homepage: 'https://www.python.org/',
    depends: ['libc6 (>= 2.34)', 'libssl3 (>= 3.0.0)'],
    description: 'CPython 3.11 built with PGO, LTO and BOLT\nBuilt by pyston-build.\n\nInstalled under /usr/lib/cpython.',
  };
  it('writes the fields, Installed-Size in KiB rounded up, and a folded description', () => {
    expect(controlFile(base)).toBe(
      [
        'Package: cpython3.11',
        'Version: 3.11.2-1',
        'Architecture: amd64',
        'Maintainer: pyston-build <builds@example.org>',
        'Installed-Size: 2',
        'Depends: libc6 (>= 2.34), libssl3 (>= 3.0.0)',
        'Section: python',
        'Priority: optional',
        'Homepage: https://www.python.org/',
        'Description: CPython 3.11 built with PGO, LTO and BOLT',
        ' Built by pyston-build.',
        ' .',
        ' Installed under /usr/lib/cpython.',
        '',
      ].join('\n'),
    );
    expect([installedSizeKiB(0), installedSizeKiB(1), installedSizeKiB(1024), installedSizeKiB(1025)]).toEqual([0, 1, 1, 2]);
  });
  it('a bad version is a one-line error with a hint', () => {
    let e: unknown;
    try {
      controlFile({ ...base, version: 'latest' });
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ControlError);
    expect((e as ControlError).message).toBe("invalid Debian version 'latest': the upstream version 'latest' does not start with a digit");
    expect((e as ControlError).hint).toBe('use [epoch:]upstream[-revision], e.g. 3.11.2-1');
    expect(() => controlFile({ ...base, package: 'Bad_Name' })).toThrow(/invalid package name/);
    expect(() => controlFile({ ...base, maintainer: 'nobody' })).toThrow(/invalid maintainer/);
  });
});

describe('md5sums', () => {
  it('lists files sorted, without a leading ./, in md5sum -c format', () => {
    const files = [
      { path: './usr/bin/b', data: Buffer.from('b') },
      { path: 'usr/bin/a', data: Buffer.from('a') },
    ];
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    expect(md5sums(files)).toBe(`${md5('a')}  usr/bin/a\n${md5('b')}  usr/bin/b\n`);
    const dir = tmpProject('pb-md5-');
    mkdirSync(join(dir, 'usr/bin'), { recursive: true });
    for (const f of files) writeFileSync(join(dir, f.path), f.data);
    writeFileSync(join(dir, 'md5sums'), md5sums(files));
    expect(spawnSync('md5sum', ['-c', 'md5sums'], { cwd: dir }).status).toBe(0);
  });
});

describe('maintainer scripts', () => {
  /** A prefix whose bin/python3.11 is the system's real interpreter (or nothing), and the postinst run on it with sh. */
  function postinst(withPython: boolean, files: Record<string, string>): { status: number | null; stderr: string; prefix: string } {
    const prefix = join(tmpProject('pb-postinst-'), 'usr/lib/pyx');
    mkdirSync(join(prefix, 'bin'), { recursive: true });
    if (withPython) symlinkSync('/usr/bin/python3.11', join(prefix, 'bin/python3.11'));
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(dirname(join(prefix, 'lib/python3.11', rel)), { recursive: true });
      writeFileSync(join(prefix, 'lib/python3.11', rel), text);
    }
    const script = join(prefix, '..', 'postinst');
    writeFileSync(script, maintainerScripts(prefix, '3.11').postinst);
    const r = spawnSync('sh', [script, 'configure', ''], { encoding: 'utf8' });
    return { status: r.status, stderr: r.stderr, prefix };
  }

  it('postinst compiles what compiles, and a file that does not (exit 1 from compileall) does not fail the install', () => {
    const r = postinst(true, { 'good.py': 'X = 1\n', 'site-packages/broken.py': 'def (:\n', 'test/badsyntax_x.py': 'def (:\n' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(join(r.prefix, 'lib/python3.11/__pycache__/good.cpython-311.pyc'))).toBe(true);
  });

  it('postinst fails, saying why, when the interpreter itself does not run', () => {
    const r = postinst(false, { 'good.py': 'X = 1\n' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`postinst: ${r.prefix}/bin/python3.11 failed (exit status 127) while compiling ${r.prefix}/lib/python3.11`);
  });
});
