/** The ZIP writer and reader, read back by Info-ZIP's zipinfo/unzip and Python's zipfile on this machine. */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, DOS_EPOCH_MAX, DOS_EPOCH_MIN, readZip, writeZip, ZipError, type ZipEntry } from '../../src/packaging/wheel/zip.js';
import { tmpProject } from '../helpers.js';
import { catchErr, PY, run } from '../zip-fixture.js';

const T = 1700000000; // 2023-11-14 22:13:20 UTC

/** Python's view of each member: name, mode, date_time, method, create_system, flags, size. */
function pyList(file: string): { name: string; mode: string; date: number[]; method: number; system: number; flags: number; size: number }[] {
  const code = [
    'import json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'bad = z.testzip()',
    'assert bad is None, bad',
    'print(json.dumps([dict(name=i.filename, mode=oct(i.external_attr >> 16), date=list(i.date_time), method=i.compress_type, system=i.create_system, flags=i.flag_bits, size=len(z.read(i))) for i in z.infolist()]))',
  ].join('\n');
  return JSON.parse(run(PY, ['-c', code, file]));
}

const text = Buffer.from('hello, wheel\n'.repeat(200));
const entries: ZipEntry[] = [
  { path: 'pkg/__init__.py', data: text, mode: 0o644 },
  { path: 'bin/tool', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
  { path: 'pkg/empty.txt', data: Buffer.alloc(0), mode: 0o600 },
  { path: 'pkg/données/é.txt', data: Buffer.from('accent\n'), mode: 0o644 },
];

describe('writeZip', () => {
  it('is read by Python zipfile (testzip passes) with the modes, time, methods, Unix host and UTF-8 flag written', () => {
    const dir = tmpProject('pb-zip-');
    const file = join(dir, 'a.zip');
    writeFileSync(file, writeZip(entries, T));
    expect(pyList(file)).toEqual([
      { name: 'pkg/__init__.py', mode: '0o100644', date: [2023, 11, 14, 22, 13, 20], method: 8, system: 3, flags: 0, size: text.length },
      { name: 'bin/tool', mode: '0o100755', date: [2023, 11, 14, 22, 13, 20], method: 0, system: 3, flags: 0, size: 18 },
      { name: 'pkg/empty.txt', mode: '0o100600', date: [2023, 11, 14, 22, 13, 20], method: 0, system: 3, flags: 0, size: 0 },
      { name: 'pkg/données/é.txt', mode: '0o100644', date: [2023, 11, 14, 22, 13, 20], method: 0, system: 3, flags: 0x800, size: 7 },
    ]);
  });

  it('is listed by zipinfo (unzip -Z) with Unix modes, the timestamp and no extra fields or data descriptors, and extracted intact by unzip', () => {
    const dir = tmpProject('pb-zip-');
    const file = join(dir, 'a.zip');
    writeFileSync(file, writeZip(entries, T));
    const lines = run('zipinfo', ['-T', file]).trim().split('\n').slice(2, -1); // past 'Archive:' and 'Zip file size:', before the totals
    expect(lines.map((l) => l.split(/\s+/).filter((_, i) => [0, 2, 4, 5, 6, 7].includes(i)))).toEqual([
      ['-rw-r--r--', 'unx', 'b-', 'defN', '20231114.221320', 'pkg/__init__.py'],
      ['-rwxr-xr-x', 'unx', 'b-', 'stor', '20231114.221320', 'bin/tool'],
      ['-rw-------', 'unx', 'b-', 'stor', '20231114.221320', 'pkg/empty.txt'],
      ['-rw-r--r--', 'unx', 'b-', 'stor', '20231114.221320', 'pkg/données/é.txt'],
    ]);
    expect(run('unzip', ['-tq', file])).toContain('No errors detected');
  });

  it('gives the same bytes for the same input, and other bytes for another mtime', () => {
    const a = writeZip(entries, T);
    expect(
      writeZip(
        entries.map((e) => ({ ...e, data: Buffer.from(e.data) })),
        T,
      ).equals(a),
    ).toBe(true);
    expect(writeZip(entries, T + 2).equals(a)).toBe(false);
  });

  it('clamps an mtime before 1980 to 1980-01-01 and one past 2107 to the last DOS second, and rounds to even seconds', () => {
    const dir = tmpProject('pb-zip-');
    const cases: [number, number, number[]][] = [
      [0, DOS_EPOCH_MIN, [1980, 1, 1, 0, 0, 0]],
      [-86400, DOS_EPOCH_MIN, [1980, 1, 1, 0, 0, 0]],
      [T + 1, T, [2023, 11, 14, 22, 13, 20]],
      [2 ** 40, DOS_EPOCH_MAX, [2107, 12, 31, 23, 59, 58]],
    ];
    for (const [given, back, date] of cases) {
      const buf = writeZip([entries[0]!], given);
      expect(readZip(buf)[0]!.mtime).toBe(back);
      writeFileSync(join(dir, 'c.zip'), buf);
      expect(pyList(join(dir, 'c.zip'))[0]!.date).toEqual(date);
    }
    expect(writeZip(entries, 0).equals(writeZip(entries, -5))).toBe(true);
  });

  it('stores data that deflate does not shrink and deflates data it does', () => {
    const noise = randomBytes(4096);
    const [a, b] = readZip(
      writeZip(
        [
          { path: 'noise', data: noise, mode: 0o644 },
          { path: 'text', data: text, mode: 0o644 },
        ],
        T,
      ),
    );
    expect([a!.method, a!.data.equals(noise)]).toEqual([0, true]);
    expect([b!.method, b!.data.equals(text)]).toEqual([8, true]);
  });

  it('rejects bad paths with a one-line error naming the path and a hint', () => {
    const bad: [string, RegExp][] = [
      ['/etc/passwd', /'\/etc\/passwd' is absolute/],
      ['pkg/../../x', /'pkg\/..\/..\/x' has a '..' segment/],
      ['pkg\\mod.py', /'pkg\\mod.py' contains a backslash/],
      ['pkg//mod.py', /'pkg\/\/mod.py' has an empty segment/],
      ['pkg/', /'pkg\/' ends in '\/'/],
      ['./pkg', /'.\/pkg' has a '.' segment/],
      ['', /'' is empty/],
      ['a\nb', /'a\?b' contains a control character/],
      ['C:/x', /'C:\/x' starts with a drive letter/],
    ];
    for (const [path, re] of bad) {
      const e = catchErr(() => writeZip([{ path, data: text, mode: 0o644 }], T));
      expect(e, path).toBeInstanceOf(ZipError);
      expect(e.message).toMatch(re);
      expect(e.message).not.toContain('\n');
      expect(e.hint).toBeTruthy();
    }
    const dup = catchErr(() => writeZip([entries[0]!, { ...entries[1]!, path: 'pkg/__init__.py' }], T));
    expect(dup.message).toBe("zip path 'pkg/__init__.py' appears twice");
  });

  it('refuses more entries than a zip without Zip64 holds', () => {
    const many = Array.from({ length: 65536 }, (_, i) => ({ path: `f${i}`, data: Buffer.alloc(0), mode: 0o644 }));
    expect(catchErr(() => writeZip(many, T)).message).toBe('zip archive would have 65536 entries, more than 65534 without Zip64');
    expect(readZip(writeZip(many.slice(0, 65534), T))).toHaveLength(65534);
  });
});

describe('readZip', () => {
  it('returns what was written: paths, modes, data, in order', () => {
    const back = readZip(writeZip(entries, T));
    expect(back.map((e) => [e.path, e.mode.toString(8), e.type.toString(8), e.data.toString('utf8'), e.madeBy])).toEqual(
      entries.map((e) => [e.path, e.mode.toString(8), '100000', e.data.toString('utf8'), 3]),
    );
  });

  it('reads an archive Python zipfile wrote', () => {
    const dir = tmpProject('pb-zip-');
    const file = join(dir, 'py.zip');
    run(PY, [
      '-c',
      'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:\n  i = zipfile.ZipInfo("a/b.txt", (2001, 2, 3, 4, 5, 6)); i.external_attr = 0o100751 << 16; i.compress_type = zipfile.ZIP_DEFLATED\n  z.writestr(i, "x" * 1000)\n  z.writestr("c", "")',
      file,
    ]);
    const back = readZip(readFileSync(file));
    expect(back.map((e) => [e.path, e.mode.toString(8), e.data.length, e.mtime])).toEqual([
      ['a/b.txt', '751', 1000, Date.UTC(2001, 1, 3, 4, 5, 6) / 1000],
      ['c', '600', 0, back[1]!.mtime],
    ]);
  });

  it('refuses an archive whose entry would extract outside the target directory (zip slip), as Python zipfile writes it', () => {
    const dir = tmpProject('pb-zip-');
    const file = join(dir, 'slip.zip');
    run(PY, ['-c', 'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z:\n  z.writestr("ok.txt", "fine")\n  z.writestr("pkg/../../evil.sh", "boom")', file]);
    expect(catchErr(() => readZip(readFileSync(file), 'slip.zip')).message).toBe("slip.zip: entry 'pkg/../../evil.sh' has a '..' segment");
  });

  it('fails on a corrupted byte (CRC-32), a truncated archive and a non-zip, naming the archive', () => {
    const good = writeZip([{ path: 'noise', data: randomBytes(64), mode: 0o644 }], T);
    const flipped = Buffer.from(good);
    flipped[30 + 'noise'.length + 10]! ^= 0xff;
    expect(catchErr(() => readZip(flipped, 'x.whl')).message).toBe("x.whl: 'noise' fails its CRC-32 check");
    expect(catchErr(() => readZip(good.subarray(0, good.length - 5), 'x.whl')).message).toBe('x.whl: no end-of-central-directory record');
    expect(catchErr(() => readZip(Buffer.from('not a zip at all, just text'))).message).toBe('zip archive: no end-of-central-directory record');
  });

  it('computes the CRC-32 check value of the standard test string', () => {
    expect(crc32(Buffer.from('123456789')).toString(16)).toBe('cbf43926');
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });
});
