/**
 * The real package:stage, package:deb and package:portable tasks on a Pyston-shaped install
 * tree (no Pyston is built: the tree is small and fake, its interpreter a
 * script that runs the system python3). A Pyston tree names its interpreter
 * bin/python3.8-pyston2.3 and its standard library lib/python3.8-pyston2.3
 * where CPython has python3.X: staging and the .deb must read those names
 * from the tree (src/packaging/layout.ts), not make them from the version.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { build, graphOf, tmpProject, write } from '../helpers.js';
import { packageTasksOf } from '../release-fixture.js';
import { releaseNames } from '../../src/packaging/release.js';
import { PYSTON } from '../../src/flavors/index.js';
import { installedNames } from '../../src/packaging/layout.js';
import { PYTHON_SHEBANG } from '../../src/packaging/stage.js';

const V = '3.8-pyston2.3';

/** A Pyston release install under build/release_install/usr/lib/pyston that names the build directory where make install leaves it. */
function pystonInstall(root: string, prefix: string): void {
  const top = join(root, 'build/release_install', prefix);
  const build = join(root, 'build/release_build');
  mkdirSync(join(top, 'bin'), { recursive: true });
  // The interpreter: a file in the tree, as the real one is (a link out of the tree would dangle in the .deb).
  write(top, `bin/python${V}`, '#!/bin/sh\nexec /usr/bin/python3 "$@"\n');
  chmodSync(join(top, `bin/python${V}`), 0o755);
  symlinkSync(`python${V}`, join(top, 'bin/python3'));
  write(top, 'bin/pip3.8', `#!${build}/python\nimport sys\nprint("pip", sys.argv)\n`);
  chmodSync(join(top, 'bin/pip3.8'), 0o755);
  const lib = join(top, 'lib', `python${V}`);
  write(lib, 'os_like.py', 'X = 1\n');
  write(lib, '_sysconfigdata__linux_x86_64-linux-gnu.py', `build_time_vars = {'CFLAGS': '-O2 -fprofile-use=${build}/x.profdata -g', 'abs_builddir': '${build}', 'VERSION': '${V}'}\n`);
  write(lib, `config-${V}-x86_64-linux-gnu/Makefile`, `VERSION=\t${V}\nabs_builddir=\t${build}\nCFLAGS=\t-O2 -fprofile-use -g\n`);
}

describe('staging and packaging a Pyston-shaped tree', () => {
  it('reads the interpreter and stdlib names from the tree: shebangs, sysconfig, .pyc, the links, the maintainer scripts and the portable directory use python3.8-pyston2.3', async () => {
    const names = releaseNames({ name: '', prefix: '', version: '', flavor: 'pyston', sourceVersion: '3.8.12', arch: 'amd64', validate: true });
    const tasks = packageTasksOf(PYSTON, '3.8.12', names).filter((t) => ['package:stage', 'package:deb', 'package:portable'].includes(t.id));
    const graph = graphOf(
      tasks.map((t) => (t.id === 'package:stage' ? { ...t, deps: [] } : t)),
      {},
      ['SOURCE_DATE_EPOCH'],
    );
    const root = tmpProject('pb-stage-pyston-');
    pystonInstall(root, names.prefix);
    const r = await build(graph, root, { env: { PATH: process.env.PATH, SOURCE_DATE_EPOCH: '1700000000' } });
    expect(
      r.summary.failed,
      r.events
        .map((e) => JSON.stringify(e))
        .join('\n')
        .slice(-2000),
    ).toEqual([]);

    const top = join(root, 'build/package/stage/usr/lib/pyston');
    expect(installedNames(top)).toEqual({ python: `python${V}`, version: V, minor: '3.8' });
    expect(readFileSync(join(top, 'bin/pip3.8'), 'utf8').split('\n')[0]).toBe(`#!/usr/lib/pyston/bin/python${V}`);
    const sysconfig = readFileSync(join(top, 'lib', `python${V}`, '_sysconfigdata__linux_x86_64-linux-gnu.py'), 'utf8');
    expect(sysconfig).not.toContain(root);
    expect(sysconfig).not.toContain('-fprofile-use');
    expect(sysconfig).toContain(`/usr/lib/pyston/lib/python${V}/config-${V}-x86_64-linux-gnu`);
    expect(readdirSync(join(top, 'lib', `python${V}`, '__pycache__')).some((f) => f.startsWith('os_like.'))).toBe(true);

    const file = join(root, 'build/package/deb/pyston_3.8.12-1_amd64.deb');
    const contents = spawnSync('dpkg-deb', ['--contents', file], { encoding: 'utf8' });
    expect(contents.status, contents.stderr).toBe(0);
    expect(contents.stdout).toContain(`./usr/bin/pyston3 -> python${V}`);
    expect(contents.stdout).toContain(`./usr/bin/python${V} -> ../lib/pyston/bin/python${V}`);
    const control = join(root, 'control');
    expect(spawnSync('dpkg-deb', ['-e', file, control]).status).toBe(0);
    const postinst = readFileSync(join(control, 'postinst'), 'utf8');
    expect(postinst).toContain(`/usr/lib/pyston/bin/python${V} -E -s -m compileall`);
    expect(postinst).toContain(`/usr/lib/pyston/lib/python${V} >/dev/null`);
    expect(existsSync(join(control, 'prerm'))).toBe(true);

    // The portable directory: top-level links to the interpreter, pip launched through it from anywhere.
    const portable = join(root, 'build/package/portable/pyston-3.8.12-x86_64-linux-gnu');
    for (const l of ['python3', 'python3.8', 'pyston3']) expect(readlinkSync(join(portable, l)), l).toBe(`bin/python${V}`);
    const pip = spawnSync(join(portable, 'bin/pip3.8'), ['--version'], { encoding: 'utf8', cwd: '/' });
    expect(pip.stderr).toBe('');
    expect(pip.stdout).toBe(`pip ['${join(portable, 'bin/pip3.8')}', '--version']\n`);
  }, 120_000);
});

describe('PYTHON_SHEBANG', () => {
  it.each([
    ['#!/usr/bin/python3', true],
    ['#! /usr/bin/env python3.11', true],
    ['#!/x/bin/python', true],
    [`#!/x/bin/python${V}`, true],
    ['#!/usr/bin/env python3.8-pyston2.3 ', true],
    ['#!/bin/sh', false],
    ['#!/usr/bin/python3-config', false],
    ['#!/usr/bin/perl', false],
  ])('%s: %s', (line, is) => expect(PYTHON_SHEBANG.test(line)).toBe(is));
});
