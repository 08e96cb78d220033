/**
 * Submodule sync with real git: a superproject made in the test whose
 * `pyston/LuaJIT` gitlink pins the middle commit of a small upstream
 * repository, served from a bare repository or a bundle under a mirror
 * directory laid out like the upstream URL. Through the CLI (`pyston-build
 * submodules`) and the engine; and once on the real Pyston checkout of
 * ../shared/pyston.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, cli, graphOf, tmpProject, write } from '../helpers.js';
import { rewriteRules, rewriteUrl, submoduleTasks, type SubmoduleOptions } from '../../src/steps/submodules.js';
import { readGitlinks, readGitmodules } from '../../src/steps/gitfiles.js';

const GIT_ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org' };
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_ENV }, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

const URL = 'https://example.org/lib/up.git';
const SUB = 'pyston/LuaJIT';

interface Fixture {
  /** The superproject (a Pyston-looking checkout) = the project root. */
  readonly root: string;
  /** A directory laid out like the upstream URL: <mirror>/example.org/lib/up.git (a bare repository). */
  readonly mirror: string;
  /** The same history as a bundle file. */
  readonly bundle: string;
  /** The upstream commits, oldest first; the gitlink pins commits[1]. */
  readonly commits: string[];
}

function fixture(): Fixture {
  const base = tmpProject('pb-sub-');
  const up = join(base, 'up');
  mkdirSync(up);
  git(up, 'init', '-q', '-b', 'main');
  const commits: string[] = [];
  for (const n of ['one', 'two', 'three']) {
    write(up, 'src/dynasm.lua', `-- ${n}\n`);
    write(up, `notes/${n}.txt`, `${n}\n`);
    git(up, 'add', '-A');
    git(up, 'commit', '-q', '-m', n);
    commits.push(git(up, 'rev-parse', 'HEAD'));
  }
  const mirror = join(base, 'mirror');
  mkdirSync(join(mirror, 'example.org/lib'), { recursive: true });
  git(base, 'clone', '-q', '--bare', up, join(mirror, 'example.org/lib/up.git'));
  const bundle = join(base, 'bundles', 'up.bundle');
  mkdirSync(join(base, 'bundles'));
  git(up, 'bundle', 'create', '-q', bundle, '--all');
  const root = join(base, 'super');
  mkdirSync(root);
  write(root, 'configure', '#!/bin/sh\n');
  write(root, 'Include/patchlevel.h', '#define PY_VERSION "3.8.12"\n');
  write(root, 'pyston/README', 'a Pyston tree has pyston/\n');
  write(root, '.gitignore', '/build/\n');
  write(root, '.gitmodules', `[submodule "${SUB}"]\n\tpath = ${SUB}\n\turl = ${URL}\n`);
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'add', '-A');
  mkdirSync(join(root, SUB), { recursive: true });
  git(root, 'update-index', '--add', '--cacheinfo', `160000,${commits[1]},${SUB}`);
  git(root, 'commit', '-q', '-m', 'super');
  return { root, mirror, bundle, commits };
}

const sub = (f: Fixture): string => join(f.root, SUB);
const head = (f: Fixture): string => git(sub(f), 'rev-parse', 'HEAD');
const warnings = (r: ReturnType<typeof cli>): string[] => r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
const ranCount = (r: ReturnType<typeof cli>): number => Number(/ok: (\d+) ran/.exec(r.stdout)?.[1] ?? NaN);

function sync(f: Fixture, ...sets: string[]): ReturnType<typeof cli> {
  return cli(['-C', f.root, 'submodules', ...sets.flatMap((s) => ['--set', s])]);
}

describe('pyston-build submodules', () => {
  it('checks out the pinned commit, shallow, from the mirror; a second sync runs nothing', () => {
    const f = fixture();
    const r = sync(f, `submodules.mirror=${f.mirror}/`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(head(f)).toBe(f.commits[1]);
    expect(git(sub(f), 'rev-parse', '--is-shallow-repository')).toBe('true');
    expect(git(sub(f), 'status', '--porcelain')).toBe('');
    expect(readFileSync(join(sub(f), 'src/dynasm.lua'), 'utf8')).toBe('-- two\n');
    // As git submodule update leaves it: git knows it, at its pin, with its upstream URL as origin.
    expect(git(f.root, 'submodule', 'status', SUB)).toBe(`${f.commits[1]} ${SUB} (${f.commits[1]!.slice(0, 7)})`);
    expect(git(sub(f), 'config', 'remote.origin.url')).toBe(URL);
    expect(readFileSync(join(sub(f), '.git'), 'utf8')).toBe('gitdir: ../../.git/modules/pyston/LuaJIT\n');
    expect(git(f.root, 'status', '--porcelain')).toBe('');
    const log = readFileSync(join(f.root, 'build/logs/submodules:pyston_LuaJIT.log'), 'utf8');
    expect(log).toContain(`fetch --depth 1 --no-tags ${f.mirror}/example.org/lib/up.git ${f.commits[1]}`);
    expect(JSON.parse(readFileSync(join(f.root, 'build/submodules/pyston/LuaJIT.json'), 'utf8'))).toMatchObject({ commit: f.commits[1], url: URL, result: 'synced' });

    const again = sync(f, `submodules.mirror=${f.mirror}/`);
    expect(again.status).toBe(0);
    expect(ranCount(again)).toBe(0);
    expect(again.stdout).toContain('0 ran, 1 up to date');
  });

  it('a relative mirror is relative to the project root, and a new pin moves a submodule the sync put at the old one', () => {
    const f = fixture();
    expect(sync(f, 'submodules.mirror=../mirror/').status).toBe(0);
    expect(head(f)).toBe(f.commits[1]);
    git(f.root, 'update-index', '--cacheinfo', `160000,${f.commits[2]},${SUB}`);
    const r = sync(f, 'submodules.mirror=../mirror/');
    expect(r.status).toBe(0);
    expect(warnings(r)).toEqual([]);
    expect(ranCount(r)).toBe(1);
    expect(head(f)).toBe(f.commits[2]);
  });

  it('an explicit FROM=TO rule (longer than the mirror, so it wins) maps the URL onto a bundle', () => {
    const f = fixture();
    const r = sync(f, `submodules.mirror=${f.mirror}-nowhere/`, `submodules.rewrite=https://example.org/lib/up.git=${f.bundle}`);
    expect(r.status).toBe(0);
    expect(head(f)).toBe(f.commits[1]);
    const log = readFileSync(join(f.root, 'build/logs/submodules:pyston_LuaJIT.log'), 'utf8');
    expect(log).toContain(`${f.bundle} is a bundle: git reads it whole (no shallow fetch)`);
    expect(rewriteUrl(URL, rewriteRules('/m/', 'https://example.org/=/o/', '/r'))).toBe('/o/lib/up.git');
    expect(rewriteUrl('https://github.com/LuaJIT/LuaJIT.git', rewriteRules('rel/mirror/', '', '/r'))).toBe('/r/rel/mirror/github.com/LuaJIT/LuaJIT.git');
    expect(rewriteUrl('git@host:x.git', rewriteRules('/m/', '', '/r'))).toBe('git@host:x.git');
  });

  it('a server that refuses a commit by id gets a full fetch, said in the log', async () => {
    const f = fixture();
    // The v0 protocol without uploadpack.allowReachableSHA1InWant serves only advertised refs.
    const home = tmpProject('pb-home-');
    writeFileSync(join(home, '.gitconfig'), '[protocol]\n\tversion = 0\n');
    const opts: SubmoduleOptions = { checkout: f.root, root: f.root, paths: [SUB], mirror: `${f.mirror}/`, rewrite: '', force: false };
    const r = await build(graphOf(submoduleTasks(opts).tasks), f.root, { env: { PATH: process.env.PATH, HOME: home } });
    expect(r.summary.ok).toBe(true);
    expect(head(f)).toBe(f.commits[1]);
    const log = readFileSync(join(f.root, 'build/logs/submodules:pyston_LuaJIT.log'), 'utf8');
    expect(log).toMatch(/did not serve \w+ by id for a shallow fetch \(.*unadvertised object.*\); fetching its full history/);
    expect(git(sub(f), 'rev-parse', '--is-shallow-repository')).toBe('false');
  });

  it('a dirty submodule is reported in one line and left alone, and overwritten with submodules.force', () => {
    const f = fixture();
    const mirror = `submodules.mirror=${f.mirror}/`;
    expect(sync(f, mirror).status).toBe(0);
    writeFileSync(join(sub(f), 'src/dynasm.lua'), '-- my edit\n');
    writeFileSync(join(sub(f), 'scratch.txt'), 'mine\n');
    const r = cli(['-C', f.root, 'submodules', '--set', mirror, '--force', 'submodules:*']);
    expect(r.status).toBe(0);
    expect(warnings(r)).toEqual([`warning: submodules:${SUB}: submodule ${SUB} has 2 uncommitted changes (M src/dynasm.lua, ...); left alone (submodules.force = true overwrites it)`]);
    expect(readFileSync(join(sub(f), 'src/dynasm.lua'), 'utf8')).toBe('-- my edit\n');
    expect(existsSync(join(sub(f), 'scratch.txt'))).toBe(true);

    const forced = sync(f, mirror, 'submodules.force=true');
    expect(forced.status).toBe(0);
    expect(ranCount(forced)).toBe(1);
    expect(warnings(forced)[0]).toMatch(/submodule pyston\/LuaJIT has 2 uncommitted changes .*; overwritten \(submodules.force = true/);
    expect(readFileSync(join(sub(f), 'src/dynasm.lua'), 'utf8')).toBe('-- two\n');
    expect(existsSync(join(sub(f), 'scratch.txt'))).toBe(false);
    expect(head(f)).toBe(f.commits[1]);
    expect(git(sub(f), 'status', '--porcelain')).toBe('');
  });

  it('a submodule the user put at another commit is reported and left alone', () => {
    const f = fixture();
    const mirror = `submodules.mirror=${f.mirror}/`;
    expect(sync(f, mirror).status).toBe(0);
    git(sub(f), 'fetch', '-q', `${f.mirror}/example.org/lib/up.git`, f.commits[2]!);
    git(sub(f), 'checkout', '-q', '--detach', f.commits[2]!);
    const r = cli(['-C', f.root, 'submodules', '--set', mirror, '--force', 'submodules:*']);
    expect(r.status).toBe(0);
    expect(warnings(r)).toEqual([
      `warning: submodules:${SUB}: submodule ${SUB} is at ${f.commits[2]!.slice(0, 12)}, not at its pin ${f.commits[1]!.slice(0, 12)}; left alone (submodules.force = true overwrites it)`,
    ]);
    expect(head(f)).toBe(f.commits[2]);
    expect(sync(f, mirror, 'submodules.force=true').status).toBe(0);
    expect(head(f)).toBe(f.commits[1]);
  });

  it('edits after a sync do not rerun it; --force rechecks, and restores a deinitialised submodule', () => {
    const f = fixture();
    const mirror = `submodules.mirror=${f.mirror}/`;
    expect(sync(f, mirror).status).toBe(0);
    git(f.root, 'submodule', 'deinit', '-q', '-f', SUB);
    expect(readdirSync(sub(f))).toEqual([]);
    expect(ranCount(sync(f, mirror))).toBe(0);
    // git keeps .git/modules/<name> with an index that lists the files: the checkout is forced.
    const r = cli(['-C', f.root, 'submodules', '--set', mirror, '--force', 'submodules:*']);
    expect(r.status).toBe(0);
    expect(warnings(r)).toEqual([]);
    expect(head(f)).toBe(f.commits[1]);
    expect(readFileSync(join(sub(f), 'src/dynasm.lua'), 'utf8')).toBe('-- two\n');
    expect(git(sub(f), 'status', '--porcelain')).toBe('');
  });

  it('a missing mirror is a one-line error naming the URL', () => {
    const f = fixture();
    const r = sync(f, `submodules.mirror=${f.mirror}-nowhere/`);
    expect(r.status).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => /^\s*error:/.test(l));
    expect(errors).toEqual([`  error: submodule ${SUB}: ${f.mirror}-nowhere/example.org/lib/up.git (the mirror of ${URL}) does not exist`]);
    expect(r.stderr).toMatch(/^\s*hint: +check submodules.mirror and submodules.rewrite/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(sub(f)).filter((n) => n !== '.git')).toEqual([]);
    // An unreachable server: git's own complaint, in the same one line. Then the right mirror resumes.
    const down = sync(f, 'submodules.rewrite=https://example.org/=http://127.0.0.1:1/');
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/^\s*error: submodule pyston\/LuaJIT: cannot fetch http:\/\/127.0.0.1:1\/lib\/up.git \(the mirror of https:\/\/example.org\/lib\/up.git\): fatal: .*127.0.0.1.*$/m);
    expect(sync(f, `submodules.mirror=${f.mirror}/`).status).toBe(0);
    expect(head(f)).toBe(f.commits[1]);
  });

  it('a malformed rewrite rule, and a Pyston tree that is not a git checkout, are one-line errors', () => {
    const f = fixture();
    const bad = sync(f, 'submodules.rewrite=https://example.org/');
    expect(bad.status).toBe(1);
    expect(bad.stderr.split('\n').filter((l) => /^\s*error:/.test(l))).toEqual([`  error: submodules.rewrite: 'https://example.org/' is not a FROM=TO rule`]);
    rmSync(join(f.root, '.git'), { recursive: true });
    const plain = sync(f);
    expect(plain.status).toBe(1);
    expect(plain.stderr.split('\n').filter((l) => /^\s*error:/.test(l))).toEqual([`  error: submodule ${SUB}: ${sub(f)} is empty, and ${f.root} is not a git checkout to fetch it into`]);
    write(f.root, `${SUB}/dynasm/dynasm.lua`, '-- unpacked\n');
    expect(sync(f).status).toBe(0);
  });

  it('reads the gitlinks of every index version, and .gitmodules', () => {
    const f = fixture();
    for (const v of ['2', '3', '4']) {
      git(f.root, 'update-index', '--index-version', v);
      expect(readGitlinks(join(f.root, '.git'))).toEqual(new Map([[SUB, f.commits[1]]]));
    }
    expect(readGitmodules(f.root)).toEqual([{ name: SUB, path: SUB, url: URL }]);
  });

  it('a CPython tree has no submodules to sync: the target has no tasks', () => {
    const f = fixture();
    rmSync(join(f.root, 'pyston'), { recursive: true });
    const r = cli(['-C', f.root, 'submodules', '--set', `submodules.mirror=${f.mirror}/`]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('0 ran, 0 up to date');
    expect(existsSync(join(f.root, SUB))).toBe(false);
  });
});

describe('the real Pyston checkout (../shared/pyston)', () => {
  const shared = join(process.env.PYSTON_SHARED ?? '/work/shared/pyston');
  it.skipIf(!existsSync(join(shared, 'make-checkout.sh')))(
    'syncs pyston/LuaJIT from the shared mirror, and the benchmarks set adds pyston/macrobenchmarks',
    async () => {
      const tmp = tmpProject('pb-pyston-');
      const root = join(tmp, 'pyston');
      execFileSync(join(shared, 'make-checkout.sh'), [root], { stdio: 'ignore' });
      onTestFinished(() => rmSync(tmp, { recursive: true, force: true })); // 140 MB
      const pins = new Map(
        readFileSync(join(shared, 'gitlinks.txt'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string]),
      );
      const mirror = `submodules.mirror=${join(shared, 'mirror')}/`;
      const r = cli(['-C', root, 'submodules', '--set', mirror]);
      expect(r.status).toBe(0);
      expect(git(join(root, 'pyston/LuaJIT'), 'rev-parse', 'HEAD')).toBe(pins.get('pyston/LuaJIT'));
      expect(existsSync(join(root, 'pyston/LuaJIT/dynasm/dynasm.lua'))).toBe(true);
      // Only what the build needs: the other 12 stay uninitialised.
      expect(readdirSync(join(root, 'pyston/macrobenchmarks'))).toEqual([]);
      expect(readdirSync(join(root, 'pyston/llvm'))).toEqual([]);
      expect(ranCount(cli(['-C', root, 'submodules', '--set', mirror]))).toBe(0);

      const bench = submoduleTasks({ checkout: root, root, paths: ['pyston/LuaJIT', 'pyston/macrobenchmarks'], mirror: `${join(shared, 'mirror')}/`, rewrite: '', force: false });
      const b = await build(graphOf(bench.tasks), root);
      expect(b.summary.ok).toBe(true);
      expect(b.ran).toEqual(['submodules:pyston/macrobenchmarks']);
      expect(git(join(root, 'pyston/macrobenchmarks'), 'rev-parse', 'HEAD')).toBe(pins.get('pyston/macrobenchmarks'));
      expect(git(root, 'status', '--porcelain')).toBe('');
    },
    120_000,
  );
});
