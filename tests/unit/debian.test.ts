import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { aptMirror, debSrcEntry, hasDebSrc, parseDeb822Sources, parseSourcesList, readAptSources } from '../../src/debian/apt.js';
import { parseDeb822 } from '../../src/debian/deb822.js';
import { DpkgDb, installedVersions, packageKeys, parseDpkgStatus } from '../../src/debian/dpkg.js';
import { tmpProject, write } from '../helpers.js';

describe('deb822 paragraphs', () => {
  it('reads fields case-insensitively, keeps continuation lines, skips comments, splits on blank lines', () => {
    const ps = parseDeb822('# a comment\nTypes: deb\nuris:  http://a/ \nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n# inside\n\n  \nPackage: x\nDescription: one\n two\n');
    expect(ps.map((p) => Object.fromEntries(p))).toEqual([
      { types: 'deb', uris: 'http://a/', 'signed-by': '\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc' },
      { package: 'x', description: 'one\n two' },
    ]);
  });
});

const STATUS = [
  // Continuation lines that look like fields must stay part of their field.
  'Package: libssl-dev\nStatus: install ok installed\nPriority: optional\nVersion: 3.0.15-1~deb12u1\nDescription: SSL\n development files\n Package: not-a-package\n',
  'Package: zlib1g-dev\nStatus: deinstall ok config-files\nVersion: 1:1.2.13\nConffiles:\n /etc/x 0123\n',
  'Package: half\nStatus: install reinstreq half-installed\nVersion: 1\n',
  'Package: held\nStatus: hold ok installed\nVersion: 2.0\n',
  // Multi-Arch: same, installed for two architectures.
  'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 2.36-9\n',
  'Package: libc6\nStatus: install ok installed\nArchitecture: i386\nMulti-Arch: same\nVersion: 2.36-9\n',
  'Package: libfoo1\nStatus: deinstall ok config-files\nArchitecture: i386\nVersion: 1.0\n',
  'Package: libfoo1\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.1\n',
  // Fields in another order.
  'Version: 9\nPackage: late\nStatus: install ok installed\n',
].join('\n');

describe('the dpkg database', () => {
  it('parses the status file: installed is the third word of Status', () => {
    const e = parseDpkgStatus(STATUS);
    expect(e.map((x) => [x.package, x.architecture ?? '', x.installed])).toEqual([
      ['libssl-dev', '', true],
      ['zlib1g-dev', '', false],
      ['half', '', false],
      ['held', '', true],
      ['libc6', 'amd64', true],
      ['libc6', 'i386', true],
      ['libfoo1', 'i386', false],
      ['libfoo1', 'amd64', true],
      ['late', '', true],
    ]);
  });

  it('gives versions of installed packages only, and keys with `missing` for the rest', () => {
    const admin = tmpProject();
    write(admin, 'status', STATUS);
    const v = installedVersions(['libssl-dev', 'zlib1g-dev', 'half', 'held', 'libc6', 'libfoo1', 'late', 'not-a-package', 'absent'], admin);
    expect(Object.fromEntries(v)).toEqual({ 'libssl-dev': '3.0.15-1~deb12u1', held: '2.0', libc6: '2.36-9', libfoo1: '1.1', late: '9' });
    expect(packageKeys(['libc6', 'zlib1g-dev'], admin)).toEqual({ 'pkg:libc6': '2.36-9', 'pkg:zlib1g-dev': 'missing' });
  });

  it('answers isInstalled for a name or name:arch', () => {
    const admin = tmpProject();
    write(admin, 'status', STATUS);
    const db = new DpkgDb(admin);
    expect(['libfoo1', 'libfoo1:amd64', 'libfoo1:i386', 'libc6:i386', 'zlib1g-dev', 'lib.sl-dev', 'absent'].map((p) => db.isInstalled(p))).toEqual([true, true, false, true, false, false, false]);
    expect(new DpkgDb(join(admin, 'none')).isInstalled('libc6')).toBe(false);
  });

  it('agrees with dpkg-query on this machine', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    const q = spawnSync('dpkg-query', ['-W', '-f', '${Package}\t${Version}\t${db:Status-Status}\n'], { encoding: 'utf8' });
    expect(q.status).toBe(0);
    const expected = new Map<string, string>();
    for (const line of q.stdout.trim().split('\n')) {
      const [pkg, ver, state] = line.split('\t');
      if (state === 'installed') expected.set(pkg!, ver!);
    }
    expect(expected.size).toBeGreaterThan(100);
    const names = [
      ...new Set(
        q.stdout
          .trim()
          .split('\n')
          .map((l) => l.split('\t')[0]!),
      ),
    ];
    expect(installedVersions(names)).toEqual(expected);
  });
});

describe('apt sources', () => {
  it('reads deb822 stanzas: several per file, deb and deb-src in one, options, Enabled: no', () => {
    const s = parseDeb822Sources(
      [
        'Types: deb deb-src\n# a mirror\nURIs: http://a.example/debian http://b.example/debian\nSuites: bookworm bookworm-updates\nComponents: main contrib\nSigned-By: /k.gpg\nArchitectures: amd64',
        'Types: deb\nURIs: http://off.example/\nSuites: bookworm\nEnabled: no',
        'types: deb\nuris: http://sec.example/\nsuites: bookworm-security',
      ].join('\n\n'),
      'f.sources',
    );
    expect(s.map((x) => ({ ...x, options: Object.fromEntries(x.options) }))).toEqual([
      {
        file: 'f.sources',
        format: 'deb822',
        types: ['deb', 'deb-src'],
        uris: ['http://a.example/debian', 'http://b.example/debian'],
        suites: ['bookworm', 'bookworm-updates'],
        components: ['main', 'contrib'],
        options: { 'signed-by': '/k.gpg', architectures: 'amd64' },
      },
      { file: 'f.sources', format: 'deb822', types: ['deb'], uris: ['http://sec.example/'], suites: ['bookworm-security'], components: [], options: {} },
    ]);
  });

  it('reads one-line entries: options, comments, other lines skipped', () => {
    const s = parseSourcesList(
      '# deb http://commented/ bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://a.example/debian bookworm main contrib # note\n\n  deb-src http://a.example/debian bookworm main\nrpm http://x/ y\ndeb http://flat.example/ ./\n',
      'sources.list',
    );
    expect(s.map((x) => [x.types, x.uris, x.suites, x.components, Object.fromEntries(x.options)])).toEqual([
      [['deb'], ['http://a.example/debian'], ['bookworm'], ['main', 'contrib'], { arch: 'amd64', 'signed-by': '/k.gpg' }],
      [['deb-src'], ['http://a.example/debian'], ['bookworm'], ['main'], {}],
      [['deb'], ['http://flat.example/'], ['./'], [], {}],
    ]);
  });

  it('reads the files apt reads, in its order', () => {
    const apt = tmpProject();
    write(apt, 'sources.list', 'deb http://first.example/ bookworm main\n');
    write(apt, 'sources.list.d/b.sources', 'Types: deb\nURIs: http://b.example/\nSuites: trixie\n');
    write(apt, 'sources.list.d/a.list', 'deb http://a.example/ trixie main\n');
    write(apt, 'sources.list.d/c.list.disabled', 'deb-src http://ignored.example/ trixie main\n');
    write(apt, 'sources.list.d/d~.list', 'deb-src http://ignored.example/ trixie main\n');
    expect(readAptSources(apt).map((s) => s.uris[0])).toEqual(['http://first.example/', 'http://a.example/', 'http://b.example/']);
    expect(aptMirror('trixie', apt)).toBe('http://a.example/');
    expect(aptMirror('sid', apt)).toBeUndefined();
    expect(hasDebSrc(apt)).toBe(false);
    expect(readAptSources(join(apt, 'nowhere'))).toEqual([]);
  });

  it("derives a deb-src entry from the machine's own deb822 sources, naming no host itself", () => {
    const apt = tmpProject();
    write(
      apt,
      'sources.list.d/debian.sources',
      'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n\nTypes: deb\nURIs: http://mirror.example/security\nSuites: bookworm-security\nComponents: main\n',
    );
    expect(hasDebSrc(apt)).toBe(false);
    expect(debSrcEntry('bookworm', apt)).toBe('Types: deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n');
    expect(debSrcEntry('trixie', apt)).toBeUndefined();
    write(apt, 'sources.list.d/src.sources', 'Types: deb-src\nURIs: x\n');
    expect(hasDebSrc(apt)).toBe(true);
  });

  it('keeps an inline keyring as continuation lines', () => {
    const apt = tmpProject();
    write(apt, 'sources.list.d/x.sources', 'Types: deb\nURIs: http://m/\nSuites: bookworm\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n -----END PGP PUBLIC KEY BLOCK-----\n');
    expect(debSrcEntry('bookworm', apt)).toBe(
      'Types: deb-src\nURIs: http://m/\nSuites: bookworm\nComponents: main\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n -----END PGP PUBLIC KEY BLOCK-----\n',
    );
  });

  it('falls back to a one-line entry, keeping its options', () => {
    const apt = tmpProject();
    write(apt, 'sources.list', 'deb http://mirror.example/debian bookworm main\n');
    expect(debSrcEntry('bookworm', apt)).toBe('deb-src http://mirror.example/debian bookworm main\n');
    write(apt, 'sources.list', 'deb [signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib # x\n');
    expect(debSrcEntry('bookworm', apt)).toBe('deb-src [signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib\n');
  });

  it('does not mirror its own deb-src file', () => {
    const apt = tmpProject();
    write(apt, 'sources.list.d/pyston-build-src.sources', 'Types: deb deb-src\nURIs: http://ours/\nSuites: bookworm\n');
    expect(hasDebSrc(apt)).toBe(true);
    expect(debSrcEntry('bookworm', apt)).toBeUndefined();
  });
});
