/**
 * The command links of a release's .deb (src/packaging/links.ts), made in
 * small fake install trees of real files: Pyston's links as its
 * debian/pyston.links lists them (checked against the file in the Pyston
 * source when ../shared/pyston is there), relative as dh_link makes them,
 * and a link that would dangle failing in one line. Then the real
 * package:deb task of a Pyston release on such a tree: its .deb read by
 * dpkg-deb and checked by lintian for symlink tags
 * (lintian 2.116 has no tag for a dangling link inside the package, so
 * applyLinks' own check is what catches one).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readlinkSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, graphOf, REPO, tmpProject } from '../helpers.js';
import { packageTasksOf } from '../release-fixture.js';
import { TaskFailure, type Task } from '../../src/graph/index.js';
import { applyLinks, linkText, packageLinks, type PackageLink } from '../../src/packaging/links.js';
import { CPYTHON, PYSTON as PYSTON_FLAVOR } from '../../src/flavors/index.js';
import { interpreterName } from '../../src/packaging/layout.js';
import { buildDeb } from '../../src/packaging/deb/deb.js';
import { gzipDeterministic } from '../../src/packaging/tar.js';
import { releaseNames, type ReleaseNames } from '../../src/packaging/release.js';

/** A package root whose prefix holds bin/<python>, bin/python3 -> <python> and, unless told, bin/pip<minor>. */
function fakeTree(prefix: string, python: string, minor: string, opts: { pip?: boolean } = {}): string {
  const root = tmpProject('pb-links-');
  const bin = join(root, prefix, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, python), '#!/bin/sh\necho interpreter\n', { mode: 0o755 });
  symlinkSync(python, join(bin, 'python3'));
  if (opts.pip ?? true) writeFileSync(join(bin, `pip${minor}`), `#!${prefix}/bin/${python}\n`, { mode: 0o755 });
  return root;
}

const PYSTON = { prefix: '/usr/lib/pyston', name: 'pyston', minor: '3.8', python: 'python3.8-pyston2.3' };

/** link -> what it stores, for every symlink made. */
const stored = (root: string, links: readonly PackageLink[]): Record<string, string> => Object.fromEntries(links.map((l) => [l.link, readlinkSync(join(root, l.link))]));

describe('the links of a Pyston .deb', () => {
  it('are pyston.links’ names, relative as dh_link makes them, each leading to the interpreter or pip in the prefix', () => {
    const root = fakeTree(PYSTON.prefix, PYSTON.python, PYSTON.minor);
    expect(interpreterName(join(root, PYSTON.prefix))).toBe('python3.8-pyston2.3');
    const links = packageLinks(PYSTON_FLAVOR.debLinks, PYSTON);
    applyLinks(root, links);
    expect(stored(root, links)).toEqual({
      '/usr/bin/pip-pyston': 'pip-pyston2.3',
      '/usr/bin/pip-pyston2.3': '../lib/pyston/bin/pip3.8',
      '/usr/bin/pyston': 'python3.8-pyston2.3',
      '/usr/bin/pyston3': 'python3.8-pyston2.3',
      '/usr/bin/pyston3.8': 'python3.8-pyston2.3',
      '/usr/bin/python3.8-pyston2.3': '../lib/pyston/bin/python3.8-pyston2.3',
    });
    const python = realpathSync(join(root, PYSTON.prefix, 'bin', PYSTON.python));
    for (const l of ['pyston', 'pyston3', 'pyston3.8', 'python3.8-pyston2.3']) expect(realpathSync(join(root, 'usr/bin', l))).toBe(python);
    expect(realpathSync(join(root, 'usr/bin/pip-pyston'))).toBe(realpathSync(join(root, PYSTON.prefix, 'bin/pip3.8')));
  });

  const tarball = join(REPO, '..', 'shared', 'pyston', 'pyston-src.tar.xz');
  it.skipIf(!existsSync(tarball))('match the Pyston source’s debian/pyston.links: each link there leads to the file its source names', () => {
    const r = spawnSync('tar', ['-xJOf', tarball, '--wildcards', '*/pyston/debian/pyston.links'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const upstream = r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(/\s+/) as [string, string]);
    expect(upstream.length).toBeGreaterThanOrEqual(4);
    const root = fakeTree(PYSTON.prefix, PYSTON.python, PYSTON.minor);
    const links = packageLinks(PYSTON_FLAVOR.debLinks, PYSTON);
    applyLinks(root, links);
    for (const [source, link] of upstream) {
      expect(links.map((l) => l.link)).toContain(`/${link}`);
      // A link within one directory, as dh_link writes it, to a path the package has.
      expect(readlinkSync(join(root, link))).toBe(linkText(`/${link}`, `/${source}`));
      expect(existsSync(join(root, source)), source).toBe(true);
    }
  });

  it('a missing pip: the link that would dangle fails in one line, naming it', () => {
    const root = fakeTree(PYSTON.prefix, PYSTON.python, PYSTON.minor, { pip: false });
    let err: unknown;
    try {
      applyLinks(root, packageLinks(PYSTON_FLAVOR.debLinks, PYSTON));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TaskFailure);
    expect((err as TaskFailure).message).toBe('the link /usr/bin/pip-pyston -> /usr/bin/pip-pyston2.3 would dangle: /usr/lib/pyston/bin/pip3.8 is not in the package');
    expect((err as TaskFailure).message).not.toContain('\n');
    expect((err as TaskFailure).hint).toMatch(/release install lacks that file/);
  });

  it('a path the package already has is not replaced', () => {
    const root = fakeTree(PYSTON.prefix, PYSTON.python, PYSTON.minor);
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    writeFileSync(join(root, 'usr/bin/pyston'), 'mine');
    expect(() => applyLinks(root, packageLinks(PYSTON_FLAVOR.debLinks, PYSTON))).toThrow('the package already has /usr/bin/pyston; the link to /usr/bin/python3.8-pyston2.3 cannot be made');
  });
});

describe('the links of a CPython .deb, and other prefixes', () => {
  it('/usr/bin/<name>3 and <name>3.X, into the prefix', () => {
    const root = fakeTree('/usr/lib/cpython', 'python3.11', '3.11');
    const names = { prefix: '/usr/lib/cpython', name: 'cpython', minor: '3.11', python: interpreterName(join(root, 'usr/lib/cpython')) };
    const links = packageLinks(CPYTHON.debLinks, names);
    applyLinks(root, links);
    expect(stored(root, links)).toEqual({ '/usr/bin/cpython3': '../lib/cpython/bin/python3.11', '/usr/bin/cpython3.11': '../lib/cpython/bin/python3.11' });
  });

  it('a prefix in another top-level directory gets absolute links, as dh_link makes them', () => {
    const root = fakeTree('/opt/pyston', PYSTON.python, PYSTON.minor);
    const links = packageLinks(PYSTON_FLAVOR.debLinks, { ...PYSTON, prefix: '/opt/pyston' });
    applyLinks(root, links);
    expect(stored(root, links)['/usr/bin/python3.8-pyston2.3']).toBe('/opt/pyston/bin/python3.8-pyston2.3');
    expect(stored(root, links)['/usr/bin/pyston3']).toBe('python3.8-pyston2.3');
  });

  it('the interpreter’s name: what bin/python3 links to, python3 when it is a file, an error when it is missing', () => {
    const root = tmpProject('pb-links-');
    mkdirSync(join(root, 'bin'));
    expect(() => interpreterName(root)).toThrow(`the release tree has no ${join(root, 'bin/python3')}`);
    writeFileSync(join(root, 'bin/python3'), '');
    expect(interpreterName(root)).toBe('python3');
  });
});

/** The package:deb task of a Pyston release, for a fake staged tree (no interpreter is built). */
function pystonDebTask(): { task: Task; names: ReleaseNames } {
  const names = releaseNames({ name: '', prefix: '', version: '', flavor: 'pyston', sourceVersion: '3.8.12', arch: 'amd64', validate: true });
  const task = packageTasksOf(PYSTON_FLAVOR, '3.8.12', names).find((t) => t.id === 'package:deb')!;
  return { task: { ...task, deps: [] }, names };
}

describe('the package:deb task of a Pyston release', () => {
  const { task, names } = pystonDebTask();
  const project = (pip: boolean): string => {
    const root = tmpProject('pb-links-deb-');
    const tree = fakeTree(names.prefix, PYSTON.python, PYSTON.minor, { pip });
    cpSync(tree, join(root, 'build/package/stage'), { recursive: true, verbatimSymlinks: true });
    return root;
  };
  const env = { PATH: process.env.PATH, SOURCE_DATE_EPOCH: '1700000000' };

  it('ships pyston.links’ links: dpkg-deb lists them, lintian has no symlink tag', async () => {
    expect(names).toMatchObject({ name: 'pyston', prefix: '/usr/lib/pyston' });
    const root = project(true);
    const r = await build(graphOf([task], {}, ['SOURCE_DATE_EPOCH']), root, { env });
    expect(r.summary.failed).toEqual([]);
    const file = join(root, 'build/package/deb/pyston_3.8.12-1_amd64.deb');
    const contents = spawnSync('dpkg-deb', ['--contents', file], { encoding: 'utf8' });
    expect(contents.status, contents.stderr).toBe(0);
    const links = contents.stdout
      .split('\n')
      .filter((l) => l.startsWith('l'))
      .map((l) => l.replace(/^.* \.\//, '/'))
      .sort();
    expect(links).toEqual([
      '/usr/bin/pip-pyston -> pip-pyston2.3',
      '/usr/bin/pip-pyston2.3 -> ../lib/pyston/bin/pip3.8',
      '/usr/bin/pyston -> python3.8-pyston2.3',
      '/usr/bin/pyston3 -> python3.8-pyston2.3',
      '/usr/bin/pyston3.8 -> python3.8-pyston2.3',
      '/usr/bin/python3.8-pyston2.3 -> ../lib/pyston/bin/python3.8-pyston2.3',
      '/usr/lib/pyston/bin/python3 -> python3.8-pyston2.3',
    ]);
    const lint = spawnSync('lintian', ['--no-tag-display-limit', file], { encoding: 'utf8' });
    expect(lint.stdout.split('\n').filter((l) => /symlink/.test(l))).toEqual([]);
  }, 120_000);

  it('a release without pip: the task fails in one line naming the link that would dangle', async () => {
    const root = project(false);
    const r = await build(graphOf([task], {}, ['SOURCE_DATE_EPOCH']), root, { env });
    expect(r.summary.failed).toEqual(['package:deb']);
    const fail = r.events.find((e) => e.type === 'fail');
    expect(fail && 'message' in fail ? fail.message : '').toBe('the link /usr/bin/pip-pyston -> /usr/bin/pip-pyston2.3 would dangle: /usr/lib/pyston/bin/pip3.8 is not in the package');
  });

  it('lintian does flag a link dh_link would have made relative (the symlink check above is live)', () => {
    const bad = fakeTree(PYSTON.prefix, PYSTON.python, PYSTON.minor);
    mkdirSync(join(bad, 'usr/bin'), { recursive: true });
    symlinkSync('/usr/lib/pyston/bin/python3.8-pyston2.3', join(bad, 'usr/bin/pyston3'));
    const doc = join(bad, 'usr/share/doc/pyston');
    mkdirSync(doc, { recursive: true });
    writeFileSync(
      join(doc, 'copyright'),
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: t\n\nFiles: *\nCopyright: 2026 t\nLicense: MIT\n\nLicense: MIT\n Permission is granted.\n',
    );
    writeFileSync(
      join(doc, 'changelog.Debian.gz'),
      gzipDeterministic(Buffer.from('pyston (2.3.5-1) unstable; urgency=medium\n\n  * Test.\n\n -- T <t@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n')),
    );
    const deb = buildDeb({
      stageDir: bad,
      mtime: 1700000000,
      control: {
        package: 'pyston',
        version: '2.3.5-1',
        architecture: 'all',
        maintainer: 'T <t@example.org>',
        section: 'python',
        priority: 'optional',
        homepage: 'https://example.org/',
        depends: [],
        description: 'test\nA test package.',
      },
    });
    const file = join(bad, '..', 'bad.deb');
    writeFileSync(file, deb.bytes);
    const lint = spawnSync('lintian', ['--no-tag-display-limit', file], { encoding: 'utf8' });
    expect(lint.stdout).toMatch(/absolute-symlink-in-top-level-folder .*usr\/bin\/pyston3/);
  }, 120_000);
});
