import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { aptMirror, debSrcEntry, debSrcFile, hasDebSrc, hostDebianSuite, parseDeb822Sources, parseSourcesList, planDebSrc, planSetup, readAptSources, writeDebSrc } from '../../src/debian/apt.js';
import { PbError } from '../../src/graph/index.js';
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

  it("gives name:arch the version of that architecture's copy, and a bare name what it gave before", () => {
    const admin = tmpProject();
    write(
      admin,
      'status',
      [
        'Package: libssl-dev\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 3.0.15-1~deb12u1\n',
        'Package: libssl-dev\nStatus: install ok installed\nArchitecture: arm64\nMulti-Arch: same\nVersion: 3.0.14-1~deb12u2\n',
        'Package: zlib1g-dev\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\n',
        'Package: libffi-dev\nStatus: install ok installed\nArchitecture: arm64\nVersion: 3.4.4-1\n',
        'Package: libgdbm-dev\nStatus: deinstall ok config-files\nArchitecture: arm64\nVersion: 1.23-3\n',
      ].join('\n'),
    );
    const names = ['libssl-dev', 'libssl-dev:amd64', 'libssl-dev:arm64', 'zlib1g-dev', 'zlib1g-dev:arm64', 'libffi-dev', 'libffi-dev:amd64', 'libffi-dev:arm64', 'libgdbm-dev:arm64'];
    // A bare name matches any architecture, the last paragraph winning, as it always did.
    expect(Object.fromEntries(installedVersions(names, admin))).toEqual({
      'libssl-dev': '3.0.14-1~deb12u2',
      'libssl-dev:amd64': '3.0.15-1~deb12u1',
      'libssl-dev:arm64': '3.0.14-1~deb12u2',
      'zlib1g-dev': '1:1.2.13.dfsg-1',
      'libffi-dev': '3.4.4-1',
      'libffi-dev:arm64': '3.4.4-1',
    });
    expect(packageKeys(['zlib1g-dev', 'libssl-dev:arm64', 'libssl-dev:amd64', 'zlib1g-dev:arm64', 'libffi-dev:arm64', 'libgdbm-dev:arm64'], admin)).toEqual({
      'pkg:zlib1g-dev': '1:1.2.13.dfsg-1',
      'pkg:libssl-dev:arm64': '3.0.14-1~deb12u2',
      'pkg:libssl-dev:amd64': '3.0.15-1~deb12u1',
      'pkg:zlib1g-dev:arm64': 'missing',
      'pkg:libffi-dev:arm64': '3.4.4-1',
      'pkg:libgdbm-dev:arm64': 'missing',
    });
    // The DpkgDb method answers the same, and isInstalled agrees with it.
    const db = new DpkgDb(admin);
    expect(db.installedVersions(names)).toEqual(installedVersions(names, admin));
    expect(names.map((n) => db.isInstalled(n))).toEqual(names.map((n) => db.installedVersions([n]).has(n)));
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

  it('mirrors a one-line entry as a deb822 stanza (setup writes a .sources file), keeping its keyring', () => {
    const apt = tmpProject();
    write(apt, 'sources.list', 'deb http://mirror.example/debian bookworm main\n');
    expect(debSrcEntry('bookworm', apt)).toBe('Types: deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n');
    write(apt, 'sources.list', 'deb [signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib # x\n');
    expect(debSrcEntry('bookworm', apt)).toBe('Types: deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main contrib\nSigned-By: /k.gpg\n');
  });

  it('does not mirror its own deb-src file', () => {
    const apt = tmpProject();
    write(apt, 'sources.list.d/pyston-build-src.sources', 'Types: deb deb-src\nURIs: http://ours/\nSuites: bookworm\n');
    expect(hasDebSrc(apt)).toBe(true);
    expect(debSrcEntry('bookworm', apt)).toBeUndefined();
  });
});

/** The deb-src index targets real apt reads from the sources under `apt`: "URI SUITE" each. */
function aptSrcTargets(apt: string): string[] {
  const r = spawnSync(
    'apt-get',
    [
      '-o',
      `Dir::Etc::SourceList=${join(apt, 'sources.list')}`,
      '-o',
      `Dir::Etc::SourceParts=${join(apt, 'sources.list.d')}`,
      'indextargets',
      '--no-release-info',
      '--format',
      '$(SITE) $(RELEASE) $(IDENTIFIER)',
    ],
    { encoding: 'utf8' },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return [
    ...new Set(
      r.stdout
        .split('\n')
        .filter((l) => l.endsWith(' Sources'))
        .map((l) => l.replace(/ Sources$/, '')),
    ),
  ].sort();
}

const BOOKWORM_DEB822 =
  'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n\nTypes: deb\nURIs: http://mirror.example/security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n';
/** An os-release file of a Debian bookworm machine (or of another system). */
function osRelease(text = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'): string {
  const dir = tmpProject('pb-osrel-');
  write(dir, 'os-release', text);
  return join(dir, 'os-release');
}
const HEADER = '# Added by pyston-build setup: Debian source packages of the pinned sources (apt-get source).\n';

describe('deb-src entries for several suites', () => {
  it("derives bullseye's entry from the Debian deb822 source of the host's release, with only Suites changed", () => {
    const apt = tmpProject();
    write(apt, 'sources.list.d/debian.sources', BOOKWORM_DEB822);
    // No deb line serves bullseye: without the host's release there is nothing to mirror.
    expect(debSrcEntry('bullseye', apt)).toBeUndefined();
    const bullseye = 'Types: deb-src\nURIs: http://mirror.example/debian\nSuites: bullseye\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n';
    expect(debSrcEntry('bullseye', apt, 'bookworm')).toBe(bullseye);
    // A suite the machine has a deb line for is mirrored as before, with all that source's suites.
    const bookworm = 'Types: deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n';
    expect(debSrcEntry('bookworm', apt, 'bookworm')).toBe(bookworm);

    const change = planDebSrc(['bullseye', 'bookworm', 'bullseye'], apt, osRelease());
    expect(change).toEqual({ suites: ['bookworm', 'bullseye'], file: join(apt, 'sources.list.d/pyston-build-src.sources'), text: `${HEADER}\n${bookworm}\n${bullseye}` });
    expect(hasDebSrc(apt, 'bullseye')).toBe(false);
    writeDebSrc(change!);
    expect(readFileSync(debSrcFile(apt), 'utf8')).toBe(change!.text);
    expect(statSync(debSrcFile(apt)).mode & 0o777).toBe(0o644);
    expect(readdirSync(join(apt, 'sources.list.d')).sort()).toEqual(['debian.sources', 'pyston-build-src.sources']);
    expect([hasDebSrc(apt, 'bookworm'), hasDebSrc(apt, 'bookworm-updates'), hasDebSrc(apt, 'bullseye'), hasDebSrc(apt, 'trixie')]).toEqual([true, true, true, false]);
    // Real apt reads the file: a deb-src index for each suite.
    expect(aptSrcTargets(apt)).toEqual(['http://mirror.example/debian bookworm', 'http://mirror.example/debian bookworm-updates', 'http://mirror.example/debian bullseye']);
    // Nothing more to add.
    expect(planDebSrc(['bookworm', 'bullseye'], apt, osRelease())).toBeUndefined();
  });

  it("derives bullseye's entry from a one-line sources.list, keeping URI, components and keyring", () => {
    const apt = tmpProject();
    write(
      apt,
      'sources.list',
      '# the machine\ndeb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian bookworm main contrib\ndeb http://mirror.example/security bookworm-security main\n',
    );
    const change = planDebSrc(['bullseye'], apt, osRelease());
    expect(change?.suites).toEqual(['bullseye']);
    expect(change?.text).toBe(`${HEADER}\nTypes: deb-src\nURIs: http://mirror.example/debian\nSuites: bullseye\nComponents: main contrib\nSigned-By: /usr/share/keyrings/k.gpg\n`);
    writeDebSrc(change!);
    expect(readFileSync(join(apt, 'sources.list'), 'utf8')).toMatch(/^# the machine\n/);
    expect(aptSrcTargets(apt)).toEqual(['http://mirror.example/debian bullseye']);
  });

  it('adds bullseye to an existing file that has bookworm only, rewriting that file alone', () => {
    const apt = tmpProject();
    write(apt, 'sources.list.d/debian.sources', BOOKWORM_DEB822);
    // What an earlier setup wrote.
    const old =
      '# Added by pyston-build setup: source packages for the embedded CPython default.\nTypes: deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n';
    write(apt, 'sources.list.d/pyston-build-src.sources', old);
    write(apt, 'sources.list.d/other.list', 'deb-src http://other.example/ sid main\n');
    const otherBefore = statSync(join(apt, 'sources.list.d/other.list'));
    const change = planDebSrc(['bookworm', 'bullseye'], apt, osRelease());
    expect(change?.suites).toEqual(['bullseye']);
    expect(change?.text).toBe(`${old}\nTypes: deb-src\nURIs: http://mirror.example/debian\nSuites: bullseye\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n`);
    writeDebSrc(change!);
    expect(readFileSync(debSrcFile(apt), 'utf8')).toBe(change!.text);
    const otherAfter = statSync(join(apt, 'sources.list.d/other.list'));
    expect([otherAfter.ino, otherAfter.mtimeMs]).toEqual([otherBefore.ino, otherBefore.mtimeMs]);
    expect(readdirSync(join(apt, 'sources.list.d')).sort()).toEqual(['debian.sources', 'other.list', 'pyston-build-src.sources']);
    expect(aptSrcTargets(apt)).toEqual(['http://mirror.example/debian bookworm', 'http://mirror.example/debian bookworm-updates', 'http://mirror.example/debian bullseye', 'http://other.example sid']);
    // A deb-src entry for a suite in any other file counts: sid needs nothing.
    expect(planDebSrc(['sid', 'bullseye'], apt, osRelease())).toBeUndefined();
  });

  it('heals a one-line entry an earlier setup wrote into its .sources file, which apt refuses', () => {
    const apt = tmpProject();
    write(apt, 'sources.list', 'deb http://mirror.example/debian bookworm main\n');
    write(apt, 'sources.list.d/pyston-build-src.sources', '# Added by pyston-build setup: source packages for the embedded CPython default.\ndeb-src http://mirror.example/debian bookworm main\n');
    const change = planDebSrc(['bookworm'], apt, osRelease());
    expect(change?.text).toBe(
      '# Added by pyston-build setup: source packages for the embedded CPython default.\n\nTypes: deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n',
    );
    writeDebSrc(change!);
    expect(aptSrcTargets(apt)).toEqual(['http://mirror.example/debian bookworm']);
  });

  it('without a Debian source to mirror, a suite is a clear error naming it', () => {
    const apt = tmpProject();
    write(apt, 'sources.list.d/nodesource.sources', 'Types: deb\nURIs: https://deb.nodesource.example/node_20.x\nSuites: nodistro\nComponents: main\n');
    const err = (f: () => unknown): PbError => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(PbError);
        return e as PbError;
      }
      throw new Error('no error');
    };
    let e = err(() => planDebSrc(['bullseye'], apt, osRelease()));
    expect(e.message).toBe(`cannot add a deb-src entry for 'bullseye': no apt source in ${apt} to mirror (no 'deb' entry for bullseye, nor for this machine's Debian release bookworm)`);
    expect(e.hint).toBe(`add a deb-src entry for bullseye to ${join(apt, 'sources.list')} yourself`);
    e = err(() => planSetup([], ['bullseye'], apt, osRelease('ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n')));
    expect(e.message).toMatch(/for 'bullseye': .*and this machine is not Debian\)$/);
    expect(readdirSync(join(apt, 'sources.list.d'))).toEqual(['nodesource.sources']);
  });

  it('planSetup reports the suites it adds, and then updates the lists', () => {
    const apt = tmpProject();
    write(apt, 'sources.list.d/debian.sources', BOOKWORM_DEB822);
    const plan = planSetup([], ['bullseye'], apt, osRelease());
    expect(plan.missing).toEqual([]);
    expect(plan.addDebSrc?.suites).toEqual(['bullseye']);
    expect(plan.updateLists).toBe(true);
    writeDebSrc(plan.addDebSrc!);
    expect(planSetup([], ['bullseye'], apt, osRelease())).toEqual({ missing: [], addDebSrc: undefined, addArchitectures: [], updateLists: false, enableBinfmt: [] });
    expect(planSetup([], [], tmpProject(), osRelease()).addDebSrc).toBeUndefined();
  });

  it("reads the host's Debian release from os-release, and nothing on another system", () => {
    const dir = tmpProject();
    write(dir, 'debian', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n');
    write(dir, 'quoted', 'ID="debian"\nVERSION_CODENAME="trixie"\n');
    write(dir, 'ubuntu', 'ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=jammy\n');
    write(dir, 'sid', 'ID=debian\n');
    expect(['debian', 'quoted', 'ubuntu', 'sid', 'missing'].map((f) => hostDebianSuite(join(dir, f)))).toEqual(['bookworm', 'trixie', undefined, undefined, undefined]);
    // This machine, as its shell reads the file.
    const sh = spawnSync('sh', ['-c', '. /etc/os-release; [ "$ID" = debian ] && echo "$VERSION_CODENAME"'], { encoding: 'utf8' });
    expect(hostDebianSuite()).toBe(sh.stdout.trim() || undefined);
  });
});
