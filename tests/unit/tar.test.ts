/** The tar writer and deterministic gzip, read back by the real GNU tar and gzip on this machine. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { gzipDeterministic, tarArchive, TarError, walkTree, type TarEntry } from '../../src/packaging/tar.js';
import { tmpProject } from '../helpers.js';

const T = 1700000000; // 2023-11-14 22:13:20 UTC
const env = { ...process.env, TZ: 'UTC', LC_ALL: 'C' };

function tar(args: string[], cwd: string): string {
  const r = spawnSync('tar', args, { cwd, encoding: 'utf8', env });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** `tar -tv --full-time` as [mode, owner, size, date time, name(, target)]. */
function listing(dir: string, file: string): string[][] {
  return tar(['-tv', '--full-time', '--quoting-style=literal', '-f', file], dir)
    .trim()
    .split('\n')
    .map((l) => {
      const [mode, owner, size, date, time, ...rest] = l.split(/\s+/);
      const arrow = rest.indexOf('->');
      const name = arrow < 0 ? rest.join(' ') : rest.slice(0, arrow).join(' ');
      return [mode!, owner!, size!, `${date} ${time}`, name, ...(arrow < 0 ? [] : [rest.slice(arrow + 1).join(' ')])];
    });
}

/** A path of exactly `n` characters made of 50-character directories, so every component fits NAME_MAX. */
function longPath(n: number, letter: string): string {
  const parts: string[] = [];
  let left = n;
  while (left > 51) {
    parts.push(letter.repeat(49) + String(parts.length % 10));
    left -= 51;
  }
  parts.push('f'.repeat(left));
  const p = parts.join('/');
  expect(p.length).toBe(n);
  return p;
}

const debEntries: TarEntry[] = [
  { type: 'file', path: './usr/share/doc/cpython/README', mode: 0o100644, data: Buffer.from('read me\n') },
  { type: 'symlink', path: './usr/bin/python3', target: 'python3.11' },
  { type: 'dir', path: './usr/bin', mode: 0o755 },
  { type: 'file', path: './usr/bin/python3.11', mode: 0o755, data: Buffer.from('#!/bin/sh\necho hi\n') },
  { type: 'file', path: './usr/bin/suid', mode: 0o4755, data: Buffer.from('x') },
  { type: 'dir', path: './', mode: 0o755 },
  { type: 'dir', path: './usr/', mode: 0o40755 },
  { type: 'dir', path: './usr/share', mode: 0o755 },
  { type: 'dir', path: './usr/share/doc', mode: 0o755 },
  { type: 'dir', path: './usr/share/doc/cpython', mode: 0o700 },
];

describe('tarArchive', () => {
  it('is listed by GNU tar as root/root, with the modes and mtime given, sorted, a directory before its contents', () => {
    const dir = tmpProject('pb-tar-');
    writeFileSync(join(dir, 'x.tar'), tarArchive(debEntries, T));
    expect(listing(dir, 'x.tar')).toEqual([
      ['drwxr-xr-x', 'root/root', '0', '2023-11-14 22:13:20', './'],
      ['drwxr-xr-x', 'root/root', '0', '2023-11-14 22:13:20', './usr/'],
      ['drwxr-xr-x', 'root/root', '0', '2023-11-14 22:13:20', './usr/bin/'],
      ['lrwxrwxrwx', 'root/root', '0', '2023-11-14 22:13:20', './usr/bin/python3', 'python3.11'],
      ['-rwxr-xr-x', 'root/root', '18', '2023-11-14 22:13:20', './usr/bin/python3.11'],
      ['-rwsr-xr-x', 'root/root', '1', '2023-11-14 22:13:20', './usr/bin/suid'],
      ['drwxr-xr-x', 'root/root', '0', '2023-11-14 22:13:20', './usr/share/'],
      ['drwxr-xr-x', 'root/root', '0', '2023-11-14 22:13:20', './usr/share/doc/'],
      ['drwx------', 'root/root', '0', '2023-11-14 22:13:20', './usr/share/doc/cpython/'],
      ['-rw-r--r--', 'root/root', '8', '2023-11-14 22:13:20', './usr/share/doc/cpython/README'],
    ]);
  });

  it('writes the same bytes as `tar --format=ustar`, including a prefix/name split', () => {
    const dir = tmpProject('pb-tar-');
    const src = join(dir, 'src');
    const long = longPath(200, 'p');
    mkdirSync(join(src, 'a', long, '..'), { recursive: true });
    writeFileSync(join(src, 'a', 'f'), 'hi\n');
    writeFileSync(join(src, 'a', long), 'deep\n');
    symlinkSync('f', join(src, 'a', 'l'));
    const names = ['a', 'a/f', ...long.split('/').map((_, i, all) => `a/${all.slice(0, i + 1).join('/')}`)];
    for (const n of names) chmodSync(join(src, n), n === `a/${long}` || n === 'a/f' ? 0o644 : 0o755);
    const sorted = walkTree(join(src, 'a'), 'a/').map((e) => e.path.replace(/\/$/, ''));
    tar(['--format=ustar', '--owner=root:0', '--group=root:0', `--mtime=@${T}`, '--no-recursion', '-cf', '../gnu.tar', ...sorted], src);
    const ours = tarArchive(walkTree(join(src, 'a'), 'a/'), T);
    expect(ours.toString('latin1')).not.toContain('PaxHeaders');
    expect(ours.equals(readFileSync(join(dir, 'gnu.tar')))).toBe(true);
  });

  it('round-trips through `tar -xf`: identical bytes, working symlinks, a 200-character path (ustar split) and pax for 300 characters', () => {
    const dir = tmpProject('pb-tar-');
    const all = Buffer.from(Array.from({ length: 1300 }, (_, i) => i % 256));
    const p200 = longPath(200, 'u');
    const p300 = longPath(300, 'x');
    const t120 = longPath(120, 't');
    const entries: TarEntry[] = [
      { type: 'file', path: 'bin/blob', mode: 0o644, data: all },
      { type: 'file', path: 'empty', mode: 0o600, data: Buffer.alloc(0) },
      { type: 'file', path: 'block', mode: 0o644, data: Buffer.alloc(512, 7) },
      { type: 'symlink', path: 'bin/link', target: 'blob' },
      { type: 'file', path: p200, mode: 0o644, data: Buffer.from('two hundred\n') },
      { type: 'file', path: p300, mode: 0o644, data: Buffer.from('three hundred\n') },
      { type: 'file', path: t120, mode: 0o644, data: Buffer.from('target\n') },
      { type: 'symlink', path: 'far', target: t120 },
      { type: 'dir', path: 'ünïcode', mode: 0o755 },
      { type: 'file', path: 'ünïcode/fïle', mode: 0o644, data: Buffer.from('ü\n') },
    ];
    const bytes = tarArchive(entries, T);
    const text = bytes.toString('latin1');
    expect(text).toContain(` path=${p300}\n`);
    expect(text).toContain(` linkpath=${t120}\n`);
    expect(text).not.toContain(` path=${p200}`); // the 200-character path fits ustar's prefix/name split
    writeFileSync(join(dir, 'x.tar'), bytes);
    mkdirSync(join(dir, 'out'));
    tar(['-xf', '../x.tar'], join(dir, 'out'));
    const out = (p: string): string => join(dir, 'out', p);
    expect(readFileSync(out('bin/blob')).equals(all)).toBe(true);
    expect(readFileSync(out('bin/link')).equals(all)).toBe(true);
    expect(readlinkSync(out('bin/link'))).toBe('blob');
    expect(readFileSync(out('empty')).length).toBe(0);
    expect(readFileSync(out('block')).equals(Buffer.alloc(512, 7))).toBe(true);
    expect(readFileSync(out(p200), 'utf8')).toBe('two hundred\n');
    expect(readFileSync(out(p300), 'utf8')).toBe('three hundred\n');
    expect(readlinkSync(out('far'))).toBe(t120);
    expect(readFileSync(out('far'), 'utf8')).toBe('target\n');
    expect(readFileSync(out('ünïcode/fïle'), 'utf8')).toBe('ü\n');
    expect(statSync(out('empty')).mode & 0o777).toBe(0o600);
    // The pax header itself is not an entry: GNU tar lists exactly what we gave.
    expect(listing(dir, 'x.tar').map((l) => l[4])).toEqual([...entries.map((e) => (e.type === 'dir' ? `${e.path}/` : e.path))].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });

  it('is the same bytes for the same input in any order, different for another mtime, and padded to 10240-byte records', () => {
    const a = tarArchive(debEntries, T);
    expect(a.equals(tarArchive(debEntries, T))).toBe(true);
    expect(a.equals(tarArchive([...debEntries].reverse(), T))).toBe(true);
    expect(a.equals(tarArchive(debEntries, T + 1))).toBe(false);
    expect(a.length % 10240).toBe(0);
    expect(tarArchive([], 0).equals(Buffer.alloc(10240))).toBe(true);
    // The last header is followed by its one data block and then only zeros (the two end blocks and padding).
    expect(a.subarray(a.length - 1024).every((b) => b === 0)).toBe(true);
  });

  it('normalises paths: no leading /, duplicate slashes and . components collapsed, directories end in /', () => {
    const dir = tmpProject('pb-tar-');
    writeFileSync(
      join(dir, 'x.tar'),
      tarArchive(
        [
          { type: 'file', path: '/abs', mode: 0o644, data: Buffer.from('1') },
          { type: 'file', path: 'b//./c', mode: 0o644, data: Buffer.from('2') },
          { type: 'dir', path: 'd', mode: 0o755 },
        ],
        T,
      ),
    );
    expect(listing(dir, 'x.tar').map((l) => l[4])).toEqual(['abs', 'b/c', 'd/']);
  });

  it('rejects duplicates, .., empty paths, NUL bytes, mixed ./ forms and a bad mtime with a TarError and a hint', () => {
    const f = (path: string): TarEntry => ({ type: 'file', path, mode: 0o644, data: Buffer.from('x') });
    const cases: [TarEntry[], number, RegExp][] = [
      [[f('a'), f('a')], T, /'a' appears twice/],
      [[f('a'), { type: 'dir', path: 'a/', mode: 0o755 }], T, /appears twice/],
      [[f('./a'), f('.//a')], T, /appears twice/],
      [[f('a/../b')], T, /'\.\.' component/],
      [[f('..')], T, /'\.\.' component/],
      [[f('')], T, /is empty/],
      [[{ type: 'dir', path: '/', mode: 0o755 }], T, /names no file/],
      [[f('a\0b')], T, /NUL byte/],
      [[{ type: 'symlink', path: 'l', target: '' }], T, /link target/],
      [[f('./a'), f('b')], T, /mix '\.\/' paths/],
      [[f('a')], -1, /non-negative/],
      [[f('a')], 1.5, /non-negative/],
    ];
    for (const [entries, mtime, re] of cases) {
      let e: unknown;
      try {
        tarArchive(entries, mtime);
      } catch (x) {
        e = x;
      }
      expect(e, String(re)).toBeInstanceOf(TarError);
      expect((e as TarError).message).toMatch(re);
      expect((e as TarError).hint.length).toBeGreaterThan(0);
    }
  });
});

describe('gzipDeterministic', () => {
  it('is valid gzip with header mtime 0 that decompresses to the input, the same bytes every call', () => {
    const dir = tmpProject('pb-gz-');
    const data = tarArchive(debEntries, T);
    const gz = gzipDeterministic(data);
    writeFileSync(join(dir, 'x.tar.gz'), gz);
    expect(spawnSync('gzip', ['-t', 'x.tar.gz'], { cwd: dir }).status).toBe(0);
    const d = spawnSync('gzip', ['-dc', 'x.tar.gz'], { cwd: dir });
    expect(d.status).toBe(0);
    expect(d.stdout.equals(data)).toBe(true);
    expect(gunzipSync(gz).equals(data)).toBe(true);
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]); // no FNAME flag, mtime 0, XFL 2 (level 9), OS Unix
    expect(gz.equals(gzipDeterministic(data))).toBe(true);
    expect(gz.equals(gzipDeterministic(tarArchive(debEntries, T + 1)))).toBe(false);
  });
});

describe('walkTree', () => {
  function tree(): string {
    const dir = tmpProject('pb-walk-');
    const root = join(dir, 'root');
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'skip', 'inner'), { recursive: true });
    writeFileSync(join(root, 'private'), 'p');
    writeFileSync(join(root, 'bin', 'tool'), '#!/bin/sh\n');
    writeFileSync(join(root, 'bin', 'suid'), 's');
    writeFileSync(join(root, 'skip', 'inner', 'file'), 'no');
    symlinkSync('bin/tool', join(root, 'link'));
    chmodSync(join(root, 'private'), 0o600);
    chmodSync(join(root, 'bin', 'tool'), 0o700);
    chmodSync(join(root, 'bin', 'suid'), 0o4755);
    chmodSync(join(root, 'bin'), 0o700);
    return root;
  }

  it('normalises modes (0600 -> 0644, 0700 -> 0755, setuid dropped) and keeps symlinks, under the prefix', () => {
    const root = tree();
    expect(statSync(join(root, 'bin', 'suid')).mode & 0o7777).toBe(0o4755);
    const entries = walkTree(root, 'cpython-3.11.2/');
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(byPath.get('cpython-3.11.2/')).toEqual({ type: 'dir', path: 'cpython-3.11.2/', mode: 0o755 });
    expect(byPath.get('cpython-3.11.2/bin/')).toEqual({ type: 'dir', path: 'cpython-3.11.2/bin/', mode: 0o755 });
    expect(byPath.get('cpython-3.11.2/private')).toMatchObject({ type: 'file', mode: 0o644 });
    expect(byPath.get('cpython-3.11.2/bin/tool')).toMatchObject({ type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') });
    expect(byPath.get('cpython-3.11.2/bin/suid')).toMatchObject({ type: 'file', mode: 0o755 });
    expect(byPath.get('cpython-3.11.2/link')).toEqual({ type: 'symlink', path: 'cpython-3.11.2/link', target: 'bin/tool' });
    expect(byPath.has('cpython-3.11.2/skip/inner/file')).toBe(true);
    // And GNU tar extracts the walked tree with those modes.
    const dir = join(root, '..');
    writeFileSync(join(dir, 'x.tar'), tarArchive(entries, T));
    mkdirSync(join(dir, 'out'));
    tar(['-xf', '../x.tar'], join(dir, 'out'));
    expect(statSync(join(dir, 'out', 'cpython-3.11.2', 'private')).mode & 0o7777).toBe(0o644);
    expect(statSync(join(dir, 'out', 'cpython-3.11.2', 'bin', 'suid')).mode & 0o7777).toBe(0o755);
    expect(readFileSync(join(dir, 'out', 'cpython-3.11.2', 'link'), 'utf8')).toBe('#!/bin/sh\n');
  });

  it('leaves out a filtered directory with its whole subtree', () => {
    const root = tree();
    const asked: string[] = [];
    const entries = walkTree(root, './', (rel) => {
      asked.push(rel);
      return rel !== 'skip';
    });
    expect(entries.map((e) => e.path).sort()).toEqual(['./', './bin/', './bin/suid', './bin/tool', './link', './private']);
    expect(asked).toContain('skip');
    expect(asked.filter((r) => r.startsWith('skip/'))).toEqual([]);
  });

  it('rejects a fifo with a TarError naming it', () => {
    const root = tree();
    expect(spawnSync('mkfifo', [join(root, 'bin', 'pipe')]).status).toBe(0);
    let e: unknown;
    try {
      walkTree(root, '');
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(TarError);
    expect((e as TarError).message).toContain(join(root, 'bin', 'pipe'));
    // Filtering it out is the way around it.
    expect(walkTree(root, '', (rel) => rel !== 'bin/pipe').map((x) => x.path)).not.toContain('bin/pipe');
  });
});
