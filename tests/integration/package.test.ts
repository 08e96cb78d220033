/**
 * Packaging on the tiny C fixture, with the real tools: our .deb writer read
 * by dpkg-deb and checked by lintian, built twice for the same bytes, and
 * installed into a real debootstrap minbase root; the portable directory's
 * library bundling and $ORIGIN RUNPATH proven by running it moved inside
 * that root, which lacks the bundled library. Also the one-line errors for
 * missing packaging tools.
 *
 * The minbase root is cached in the user cache (about a minute the first
 * time), as the package target caches it.
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { build, graphOf, REPO, tmpProject } from '../helpers.js';
import { MissingToolError, TaskFailure, type Task } from '../../src/graph/index.js';
import { buildDeb } from '../../src/packaging/deb/deb.js';
import { computeDepends, formatDepends } from '../../src/packaging/deb/shlibdeps.js';
import { DpkgDb } from '../../src/debian/dpkg.js';
import { gzipDeterministic } from '../../src/packaging/tar.js';
import { copyRoot, ensureRootfs, removeRoot, withMounts } from '../../src/debian/rootfs.js';
import { makePortable } from '../../src/packaging/portable/portable.js';
import { openDistTemp } from '../../src/packaging/tasks.js';
import { releaseNames } from '../../src/packaging/release.js';
import { CPYTHON } from '../../src/flavors/index.js';
import { readElf } from '../../src/elf/reader.js';
import { cacheDir } from '../../src/steps/paths.js';
import { packageTasksOf } from '../release-fixture.js';

const FIX = join(REPO, 'tests/fixtures/cdemo');
const CACHE = cacheDir('', process.env);
const ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';
const EPOCH = 1700000000;

/** The fixture built, stripped and staged under usr/lib/cdemo, with a /usr/bin link and its doc files. */
function stageTask(): Task {
  return {
    id: 'stage',
    deps: [],
    inputs: { files: [FIX], tools: [{ name: 'make' }, { name: 'gcc' }, { name: 'strip', package: 'binutils' }] },
    outputs: ['build/stage'],
    async run(ctx) {
      const b = ctx.path('build/c');
      mkdirSync(b, { recursive: true });
      await ctx.exec('sh', [join(FIX, 'configure')], { cwd: b, env: { CC: 'gcc', CFLAGS: '-O2' }, jobserver: false });
      await ctx.exec('make', [], { cwd: b });
      const s = ctx.path('build/stage');
      mkdirSync(join(s, 'usr/lib/cdemo/bin'), { recursive: true });
      mkdirSync(join(s, 'usr/bin'), { recursive: true });
      mkdirSync(join(s, 'usr/share/doc/cdemo'), { recursive: true });
      cpSync(join(b, 'demo'), join(s, 'usr/lib/cdemo/bin/cdemo'));
      await ctx.exec('strip', ['--strip-unneeded', '-R', '.comment', join(s, 'usr/lib/cdemo/bin/cdemo')], { jobserver: false });
      symlinkSync('../lib/cdemo/bin/cdemo', join(s, 'usr/bin/cdemo'));
      writeFileSync(
        join(s, 'usr/share/doc/cdemo/copyright'),
        'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: cdemo\n\nFiles: *\nCopyright: 2026 pyston-build\nLicense: MIT\n\nLicense: MIT\n Permission is hereby granted, free of charge, to any person.\n',
      );
      writeFileSync(
        join(s, 'usr/share/doc/cdemo/changelog.Debian.gz'),
        gzipDeterministic(Buffer.from('cdemo (1.0-1) unstable; urgency=medium\n\n  * Test build.\n\n -- pyston-build <pyston-build@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n')),
      );
      chmodSync(join(s, 'usr/share/doc/cdemo/copyright'), 0o600); // walkTree normalises it to 0644
    },
  };
}

function debOf(stageDir: string, mtime = EPOCH): Buffer {
  const depends = formatDepends(computeDepends([readElf(join(stageDir, 'usr/lib/cdemo/bin/cdemo'))]));
  return buildDeb({
    stageDir,
    mtime,
    control: {
      package: 'cdemo',
      version: '1.0-1',
      architecture: ARCH,
      maintainer: 'pyston-build <pyston-build@example.org>',
      section: 'devel',
      priority: 'optional',
      homepage: 'https://example.org/',
      depends,
      description: 'pyston-build test fixture\nA small C program packaged by the tests.',
    },
  }).bytes;
}

const sh = (cmd: string, args: string[], cwd?: string) => spawnSync(cmd, args, { cwd, encoding: 'utf8' });

describe('the .deb of the fixture', () => {
  it('is read by dpkg-deb, lintian finds no errors, Depends comes from DT_NEEDED, and a second build is the same bytes', async () => {
    const root = tmpProject('pb-pkg-');
    const r = await build(graphOf([stageTask()]), root);
    expect(r.summary.failed).toEqual([]);
    const stage = join(root, 'build/stage');
    const deb = debOf(stage);
    writeFileSync(join(root, 'cdemo.deb'), deb);
    expect(debOf(stage).equals(deb)).toBe(true);
    expect(debOf(stage, EPOCH + 1).equals(deb)).toBe(false);

    const info = sh('dpkg-deb', ['--info', 'cdemo.deb'], root);
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/Package: cdemo\n/);
    expect(info.stdout).toMatch(/Depends: libc6 \(>= 2\.\d+\)\n/);
    const contents = sh('dpkg-deb', ['--contents', 'cdemo.deb'], root);
    expect(contents.status).toBe(0);
    expect(contents.stdout).toMatch(/-rwxr-xr-x root\/root .* \.\/usr\/lib\/cdemo\/bin\/cdemo/);
    expect(contents.stdout).toMatch(/-rw-r--r-- root\/root .* \.\/usr\/share\/doc\/cdemo\/copyright/);
    expect(contents.stdout).toMatch(/lrwxrwxrwx root\/root .* \.\/usr\/bin\/cdemo -> \.\.\/lib\/cdemo\/bin\/cdemo/);
    mkdirSync(join(root, 'x'));
    expect(sh('dpkg-deb', ['-x', 'cdemo.deb', 'x'], root).status).toBe(0);
    expect(readFileSync(join(root, 'x/usr/lib/cdemo/bin/cdemo')).equals(readFileSync(join(stage, 'usr/lib/cdemo/bin/cdemo')))).toBe(true);

    const lint = sh('lintian', ['--no-tag-display-limit', 'cdemo.deb'], root);
    expect(lint.stdout.split('\n').filter((l) => l.startsWith('E: '))).toEqual([]);
  }, 180_000);

  it('installs into a fresh minbase root, where the packaged program runs', async () => {
    const root = tmpProject('pb-pkg-');
    const stage = stageTask();
    const install: Task = {
      id: 'install',
      deps: ['stage'],
      inputs: { tools: [{ name: 'debootstrap', package: 'debootstrap' }, { name: 'chroot' }] },
      outputs: ['build/installed.txt'],
      async run(ctx) {
        writeFileSync(ctx.path('build/cdemo.deb'), debOf(ctx.path('build/stage')));
        const base = await ensureRootfs(ctx, { cacheDir: CACHE, suite: 'bookworm', mirror: '', debArch: ARCH });
        const r = ctx.path('build/root');
        await copyRoot(ctx, base, r);
        cpSync(ctx.path('build/cdemo.deb'), join(r, 'tmp/cdemo.deb'));
        const out = await withMounts(ctx, r, async (run) => {
          await run(['dpkg', '-i', '/tmp/cdemo.deb']);
          return run(['/usr/bin/cdemo', '10']);
        });
        writeFileSync(ctx.path('build/installed.txt'), out);
        // dpkg in the root recorded it as installed.
        if (!new DpkgDb(join(r, 'var/lib/dpkg')).isInstalled('cdemo')) throw new Error('dpkg did not record cdemo');
        await removeRoot(ctx, r);
      },
    };
    const res = await build(graphOf([stage, install]), root);
    const fail = res.events.find((e) => e.type === 'fail');
    expect(fail, JSON.stringify(fail)).toBeUndefined();
    expect(readFileSync(join(root, 'build/installed.txt'), 'utf8')).toMatch(/hot_loop\(10\) = /);
    expect(existsSync(join(root, 'build/root'))).toBe(false);
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(join(root, 'build/root'));
  }, 600_000);
});

describe('the portable directory', () => {
  it('bundles libsqlite3 with its copyright, sets $ORIGIN RUNPATHs, and runs moved inside a root that lacks it', async () => {
    const root = tmpProject('pb-portable-');
    const prog: Task = {
      id: 'prog',
      deps: [],
      inputs: { tools: [{ name: 'gcc' }] },
      outputs: ['build/stage'],
      async run(ctx) {
        const s = ctx.path('build/stage');
        mkdirSync(join(s, 'bin'), { recursive: true });
        writeFileSync(ctx.path('build/v.c'), '#include <stdio.h>\n#include <sqlite3.h>\nint main(void) { printf("sqlite %s\\n", sqlite3_libversion()); return 0; }\n');
        await ctx.exec('gcc', ['-O2', '-o', join(s, 'bin/sqlv'), ctx.path('build/v.c'), '-lsqlite3'], { jobserver: false });
        writeFileSync(join(s, 'bin/tool'), '#!/usr/lib/whatever/bin/sqlv\nprint("not python")\n');
      },
    };
    const portable: Task = {
      id: 'portable',
      deps: ['prog'],
      inputs: {
        tools: [
          { name: 'patchelf', package: 'patchelf' },
          { name: 'debootstrap', package: 'debootstrap' },
        ],
      },
      outputs: ['build/portable.json', 'build/ran.txt'],
      async run(ctx) {
        const out = ctx.path('build/p/sqlv-1');
        const rep = await makePortable(ctx, { stagePrefix: ctx.path('build/stage'), outDir: out, interpreter: 'bin/sqlv', links: ['sqlv'] });
        writeFileSync(ctx.path('build/portable.json'), JSON.stringify(rep));
        const base = await ensureRootfs(ctx, { cacheDir: CACHE, suite: 'bookworm', mirror: '', debArch: ARCH });
        const r = ctx.path('build/root');
        await copyRoot(ctx, base, r);
        if (new DpkgDb(join(r, 'var/lib/dpkg')).isInstalled('libsqlite3-0')) throw new Error('minbase unexpectedly has libsqlite3');
        cpSync(out, join(r, 'opt/moved/here'), { recursive: true, verbatimSymlinks: true });
        const ran = await withMounts(ctx, r, async (run) => run(['/opt/moved/here/sqlv']));
        writeFileSync(ctx.path('build/ran.txt'), ran);
        await removeRoot(ctx, r);
      },
    };
    const res = await build(graphOf([prog, portable]), root);
    const fail = res.events.find((e) => e.type === 'fail');
    expect(fail, JSON.stringify(fail)).toBeUndefined();
    const rep = JSON.parse(readFileSync(join(root, 'build/portable.json'), 'utf8'));
    expect(rep.bundled.map((b: { soname: string }) => b.soname)).toContain('libsqlite3.so.0');
    expect(rep.bundled.find((b: { soname: string }) => b.soname === 'libsqlite3.so.0').package).toBe('libsqlite3-0');
    expect(rep.runpaths['bin/sqlv']).toBe('$ORIGIN/../lib');
    const dir = join(root, 'build/p/sqlv-1');
    expect(readElf(join(dir, 'bin/sqlv')).runpath).toBe('$ORIGIN/../lib');
    expect(readFileSync(join(dir, 'lib/libsqlite3.so.0.copyright'), 'utf8')).toMatch(/sqlite/i);
    // glibc is never bundled.
    expect(existsSync(join(dir, 'lib/libc.so.6'))).toBe(false);
    // The non-python script got the launcher only if its shebang names a python: this one does not.
    expect(readFileSync(join(dir, 'bin/tool'), 'utf8')).toMatch(/^#!\/usr\/lib\/whatever/);
    expect(readFileSync(join(root, 'build/ran.txt'), 'utf8')).toMatch(/^sqlite 3\.\d+/m);
  }, 600_000);
});

describe('missing packaging tools', () => {
  const names = releaseNames({ name: '', prefix: '', version: '', flavor: 'cpython', sourceVersion: '3.11.2', arch: 'amd64', validate: true });
  const tasks = packageTasksOf(CPYTHON, '3.11.2', names);
  for (const [id, tool, pkg] of [
    ['package:check:deb', 'lintian', 'lintian'],
    ['package:rootfs', 'debootstrap', 'debootstrap'],
    ['package:portable', 'patchelf', 'patchelf'],
  ] as const) {
    it(`${tool}: planning fails in one line that names the Debian package`, async () => {
      const root = tmpProject();
      const bin = join(root, 'bin');
      mkdirSync(bin);
      // Every tool but the one under test.
      for (const t of ['dpkg-deb', 'chroot', 'lintian', 'debootstrap', 'patchelf'].filter((t) => t !== tool)) {
        const w = sh('sh', ['-c', `command -v ${t}`]).stdout.trim();
        if (w) symlinkSync(w, join(bin, t));
      }
      const task = tasks.find((t) => t.id === id)!;
      let err: unknown;
      try {
        await build(graphOf([{ ...task, deps: [] }], {}, ['SOURCE_DATE_EPOCH']), root, { env: { PATH: bin } });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MissingToolError);
      expect((err as MissingToolError).message).toBe(`required tool '${tool}' was not found on PATH`);
      expect((err as MissingToolError).hint).toBe(`install it: apt-get install -y ${pkg}`);
    });
  }
});

describe('an unusable build/dist', () => {
  const fails = (dist: string): TaskFailure => {
    try {
      openDistTemp(dist, '.x.tmp');
    } catch (e) {
      return e as TaskFailure;
    }
    throw new Error('openDistTemp did not fail');
  };

  it('is a one-line failure when build/dist is a file', () => {
    const root = tmpProject();
    mkdirSync(join(root, 'build'));
    writeFileSync(join(root, 'build/dist'), 'not a directory');
    const e = fails(join(root, 'build/dist'));
    expect(e).toBeInstanceOf(TaskFailure);
    expect(e.message).toMatch(/^cannot write the release into .*build\/dist: (ENOTDIR|EEXIST)$/);
    expect(e.hint).toMatch(/writable directory/);
  });

  it('is a one-line failure on a read-only file system, and leaves nothing behind', () => {
    const root = tmpProject();
    const dist = join(root, 'dist');
    mkdirSync(dist);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dist]);
    expect(m.status, String(m.stderr)).toBe(0);
    try {
      const e = fails(dist);
      expect(e.message).toMatch(/: EROFS$/);
    } finally {
      spawnSync('umount', [dist]);
    }
    expect(existsSync(join(dist, '.x.tmp'))).toBe(false);
  });
});

describe('a root left mounted by a killed run', () => {
  it('is unmounted and removed before the next copy', async () => {
    const root = tmpProject();
    const dir = join(root, 'build/root-left');
    mkdirSync(join(dir, 'proc'), { recursive: true });
    mkdirSync(join(dir, 'dev/shm'), { recursive: true });
    // What a SIGKILLed check leaves: its mounts still in place.
    expect(spawnSync('mount', ['-t', 'proc', 'proc', join(dir, 'proc')]).status).toBe(0);
    expect(spawnSync('mount', ['-t', 'tmpfs', 'shm', join(dir, 'dev/shm')]).status).toBe(0);
    const clean: Task = {
      id: 'clean',
      deps: [],
      inputs: {},
      outputs: ['build/cleaned'],
      async run(ctx) {
        await removeRoot(ctx, dir);
        writeFileSync(ctx.path('build/cleaned'), 'ok');
      },
    };
    const r = await build(graphOf([clean]), root);
    expect(r.summary.failed).toEqual([]);
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(dir);
    expect(existsSync(dir)).toBe(false);
  });
});
