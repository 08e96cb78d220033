/**
 * Release naming and the pieces of staging that need no build: the prefix and
 * version checks, SOURCE_DATE_EPOCH, the pipeline-flag filter, the sysconfig
 * rewriter (run by the real python3), the relocatable launcher (run by the
 * real sh and python3), and the apt mirror lookup.
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO, tmpProject } from '../helpers.js';
import { hostArch } from '../../src/debian/arch.js';
import { MIN_EPOCH, prefixProblem, ReleaseConfigError, releaseNames, sourceDateEpoch } from '../../src/packaging/release.js';
import { dropPipelineFlags, PIPELINE_FLAG } from '../../src/packaging/stage.js';
import { relocatableScript } from '../../src/packaging/portable/portable.js';
import { aptMirror } from '../../src/debian/apt.js';
import { debFileName } from '../../src/packaging/deb/deb.js';

const base = { name: '', prefix: '', version: '', flavor: 'cpython' as const, sourceVersion: '3.11.2', arch: 'amd64' as const, validate: true };

describe('releaseNames', () => {
  it('defaults by flavor, and maps the architecture to dpkg and GNU names', () => {
    expect(releaseNames(base)).toEqual({
      name: 'cpython',
      flavor: 'cpython',
      prefix: '/usr/lib/cpython',
      upstreamVersion: '3.11.2',
      debVersion: '3.11.2-1',
      debArch: 'amd64',
      triplet: 'x86_64-linux-gnu',
    });
    expect(releaseNames({ ...base, flavor: 'pyston', arch: 'arm64' })).toMatchObject({ name: 'pyston', prefix: '/usr/lib/pyston', debArch: 'arm64', triplet: 'aarch64-linux-gnu' });
    // The architecture is a value (dpkg's name); the host's is what dpkg says.
    expect(releaseNames({ ...base, arch: 'ppc64el' })).toMatchObject({ debArch: 'ppc64el', triplet: 'powerpc64le-linux-gnu' });
    expect(releaseNames({ ...base, arch: hostArch()! }).debArch).toBe(spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim());
    expect(releaseNames({ ...base, name: 'fastpy', version: '1:3.11.2-0ubuntu1' })).toMatchObject({ prefix: '/usr/lib/fastpy', debVersion: '1:3.11.2-0ubuntu1' });
    // A renamed package keeps what its source is.
    expect(releaseNames({ ...base, name: 'mypyston', flavor: 'pyston' })).toMatchObject({ name: 'mypyston', flavor: 'pyston', prefix: '/usr/lib/mypyston' });
  });

  it('without validate, computes the names as given (for planning targets that do not use them)', () => {
    expect(releaseNames({ ...base, validate: false, name: 'Bad_Name', prefix: '/usr' })).toMatchObject({ name: 'Bad_Name', prefix: '/usr' });
  });

  it.each([
    [{ name: 'Bad_Name' }, /invalid package.name 'Bad_Name'/],
    [{ prefix: '/usr' }, /invalid package.prefix '\/usr': the system Python/],
    [{ prefix: '/usr/local' }, /system Python/],
    [{ prefix: '/usr/lib/python3.11/x' }, /inside the system Python's directories/],
    [{ prefix: 'usr/lib/x' }, /not an absolute path/],
    [{ prefix: '/usr/lib/../x' }, /not in normal form/],
    [{ prefix: '/usr/lib/a b' }, /white space/],
    [{ version: '3.11.2 final' }, /invalid package.version '3.11.2 final': it contains white space/],
    [{ version: 'v3.11' }, /does not start with a digit/],
  ])('rejects %j in one line with a hint', (bad, re) => {
    let err: unknown;
    try {
      releaseNames({ ...base, ...bad });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReleaseConfigError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).not.toContain('\n');
    expect((err as ReleaseConfigError).hint).toBeTruthy();
  });

  it('accepts a prefix of its own', () => {
    expect(prefixProblem('/usr/lib/cpython')).toBeUndefined();
    expect(prefixProblem('/opt/pyston')).toBeUndefined();
  });

  it('names the .deb as dpkg-name does, without the epoch', () => {
    expect(debFileName('cpython', '1:3.11.2-1', 'amd64')).toBe('cpython_3.11.2-1_amd64.deb');
  });
});

describe('sourceDateEpoch', () => {
  it('takes SOURCE_DATE_EPOCH, else the source date, never before 1980', () => {
    const src = tmpProject();
    mkdirSync(join(src, 'Include'));
    writeFileSync(join(src, 'Include/patchlevel.h'), '');
    utimesSync(join(src, 'Include/patchlevel.h'), 1675000000, 1675000000);
    expect(sourceDateEpoch({}, src)).toBe(1675000000);
    expect(sourceDateEpoch({ SOURCE_DATE_EPOCH: '1700000000' }, src)).toBe(1700000000);
    expect(sourceDateEpoch({ SOURCE_DATE_EPOCH: '5' }, src)).toBe(MIN_EPOCH);
    expect(sourceDateEpoch({}, join(src, 'missing'))).toBe(MIN_EPOCH);
    expect(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: 'yesterday' }, src)).toThrow(/SOURCE_DATE_EPOCH must be a whole number of seconds, got 'yesterday'/);
  });
});

describe('pipeline flags', () => {
  it('drops profile, BOLT and path-map words and keeps the rest', () => {
    expect(dropPipelineFlags('-O3 -fprofile-use=/b/gcda -fprofile-correction -Wall')).toBe('-O3 -Wall');
    expect(dropPipelineFlags('-fprofile-use=/b -flto -Wl,--emit-relocs -fno-reorder-blocks-and-partition')).toBe('-flto');
    expect(dropPipelineFlags('-fmacro-prefix-map=/b=. -fdebug-prefix-map=/b=. -g ')).toBe('-g ');
    expect(dropPipelineFlags('gcc -no-pie')).toBe('gcc -no-pie');
    expect(dropPipelineFlags('')).toBe('');
  });

  it('the sysconfig rewriter (real python3) replaces build paths and drops the flags; too few arguments exit 2', () => {
    const dir = tmpProject();
    const f = join(dir, '_sysconfigdata_x.py');
    writeFileSync(
      f,
      "build_time_vars = {'CFLAGS': '-O3 -Wall',\n 'PY_CFLAGS_NODIST': '-fprofile-use=/b/pgo/gcda '\n                     '-fprofile-correction -I/s/Include/internal',\n 'abs_builddir': '/b/build', 'srcdir': '/s', 'SIZEOF_INT': 4}\n",
    );
    const run = (...extra: string[]) =>
      spawnSync('python3', [join(REPO, 'runtime/packaging/sanitize_sysconfig.py'), f, '/usr/lib/x/config', PIPELINE_FLAG.source, '/b/build', '/s', ...extra], { encoding: 'utf8' });
    const r = run();
    expect(r.status, r.stderr).toBe(0);
    const vars = spawnSync('python3', ['-c', `import runpy; v = runpy.run_path(${JSON.stringify(f)})['build_time_vars']; import json; print(json.dumps(v, sort_keys=True))`], { encoding: 'utf8' });
    expect(JSON.parse(vars.stdout)).toEqual({
      CFLAGS: '-O3 -Wall',
      PY_CFLAGS_NODIST: '-I/usr/lib/x/config/Include/internal',
      SIZEOF_INT: 4,
      abs_builddir: '/usr/lib/x/config',
      srcdir: '/usr/lib/x/config',
    });
    // A flag alone as a value leaves an empty value; too few arguments is a usage error.
    writeFileSync(f, "build_time_vars = {'X': '-fprofile-use'}\n");
    expect(run().status).toBe(0);
    expect(readFileSync(f, 'utf8')).toContain("'X': ''");
    const usage = spawnSync('python3', [join(REPO, 'runtime/packaging/sanitize_sysconfig.py'), f], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^Usage: sanitize_sysconfig.py \[--map FROM TO\]\.\.\. FILE LIBPL DROP_REGEX BUILD_PATH/);
  });

  it('the sysconfig rewriter maps a cross build python to the installed interpreter before the build paths', () => {
    const dir = tmpProject();
    const f = join(dir, '_sysconfigdata_x.py');
    writeFileSync(
      f,
      `build_time_vars = {'PYTHON_FOR_FREEZE': '/b/build/unopt_install/usr/bin/python3.11', 'CONFIG_ARGS': "'--with-build-python=/b/build/unopt_install/usr/bin/python3.11' '--x=/b/build/y'"}\n`,
    );
    const r = spawnSync(
      'python3',
      [
        join(REPO, 'runtime/packaging/sanitize_sysconfig.py'),
        '--map',
        '/b/build/unopt_install/usr/bin/python3.11',
        '/usr/lib/x/bin/python3.11',
        f,
        '/usr/lib/x/config',
        PIPELINE_FLAG.source,
        '/b/build',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const vars = spawnSync('python3', ['-c', `import runpy, json; print(json.dumps(runpy.run_path(${JSON.stringify(f)})['build_time_vars'], sort_keys=True))`], { encoding: 'utf8' });
    expect(JSON.parse(vars.stdout)).toEqual({
      CONFIG_ARGS: "'--with-build-python=/usr/lib/x/bin/python3.11' '--x=/usr/lib/x/config/y'",
      PYTHON_FOR_FREEZE: '/usr/lib/x/bin/python3.11',
    });
  });
});

describe('relocatableScript', () => {
  it('runs the interpreter next to its real location, through a link, with the script as Python', () => {
    const dir = tmpProject();
    mkdirSync(join(dir, 'moved/bin'), { recursive: true });
    symlinkSync(spawnSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).stdout.trim(), join(dir, 'moved/bin/python3.11'));
    writeFileSync(
      join(dir, 'moved/bin/tool'),
      relocatableScript('#!/usr/lib/cpython/bin/python3.11\nimport sys\nprint("args", sys.argv[1:], sys.argv[0].split("/")[-1].startswith("tool"))\n', 'python3.11'),
    );
    chmodSync(join(dir, 'moved/bin/tool'), 0o755);
    symlinkSync('moved/bin/tool', join(dir, 'tool-link'));
    for (const p of [join(dir, 'moved/bin/tool'), join(dir, 'tool-link')]) {
      const r = spawnSync(p, ['a b', 'c'], { encoding: 'utf8', cwd: '/' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe("args ['a b', 'c'] True\n");
    }
  });
});

describe('aptMirror', () => {
  it('reads one-line and deb822 sources, matching the suite', () => {
    const etc = tmpProject();
    mkdirSync(join(etc, 'sources.list.d'));
    writeFileSync(join(etc, 'sources.list'), '# none here\ndeb-src http://src.example/debian bookworm main\n');
    writeFileSync(
      join(etc, 'sources.list.d/a.sources'),
      'Types: deb-src\nURIs: http://nope.example/\nSuites: bookworm\n\nTypes: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n',
    );
    expect(aptMirror('bookworm', etc)).toBe('http://mirror.example/debian');
    expect(aptMirror('trixie', etc)).toBeUndefined();
    writeFileSync(join(etc, 'sources.list'), 'deb [arch=amd64] http://first.example/debian bookworm main\n');
    expect(aptMirror('bookworm', etc)).toBe('http://first.example/debian');
  });
});
