/**
 * The engine on hostile filesystems, through the CLI's `main()`: a full
 * disk (a small tmpfs), a read-only bind mount, a file where build/ should
 * be, a directory where the config file should be, a path longer than
 * PATH_MAX, symlinks out of build/, hand-edited outputs, and input that is
 * not what it claims (FIFOs, JavaScript member names as config keys, an
 * enormous state file, control characters, spaces in the project path).
 *
 * Every fault must give one `error:` line naming the path plus a `hint:`,
 * the documented exit code, no stack trace, no live descendant, no lock
 * left, nothing changed outside the test's directory, and a rerun after the
 * fault must resume. Mounting needs root, as on the project's machines and CI.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { PassThrough } from 'node:stream';
import { join, relative } from 'node:path';
import { main } from '../../src/cli.js';
import type { BuildConfig } from '../../src/config.js';
import { demoGraph } from '../../examples/demo/graph.js';
import { loadState, mountsUnder, statePath, type Task, type TaskGraph } from '../../src/graph/index.js';
import { graphOf, processesWith, REPO, tmpProject } from '../helpers.js';

const ROOT_USER = process.getuid?.() === 0;

interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Run the CLI in this process. `graph` goes through the CLI's makeGraph seam; without it, the demo example's graph for `demo`, else src/targets.ts. */
async function run(argv: string[], graph?: (config: Record<string, unknown>) => TaskGraph): Promise<CliResult> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (c: Buffer) => (o += c.toString()));
  err.on('data', (c: Buffer) => (e += c.toString()));
  // The demo target is the example graph's (examples/demo), through the same seam.
  const makeGraph = graph
    ? { makeGraph: (c: BuildConfig) => graph(c as unknown as Record<string, unknown>) }
    : argv.includes('demo')
      ? { makeGraph: (_c: BuildConfig, _r: string, env: NodeJS.ProcessEnv) => demoGraph(env) }
      : {};
  const code = await main(argv, { out, err, env: { PATH: process.env.PATH, HOME: process.env.HOME }, cwd: '/', ...makeGraph });
  return { code, out: o, err: e };
}

/** What `dir` holds, as path -> type, mode and content (or link target): to prove nothing changed there. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (p: string): void => {
    const st = lstatSync(p);
    const rel = relative(dir, p) || '.';
    if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(p)}`;
    else if (st.isDirectory()) {
      out[rel] = `dir ${(st.mode & 0o7777).toString(8)}`;
      for (const n of readdirSync(p).sort()) visit(join(p, n));
    } else out[rel] = `file ${(st.mode & 0o7777).toString(8)} ${readFileSync(p, 'base64')}`;
  };
  visit(dir);
  return out;
}

/**
 * A test's directory: `project/` (the root) and `outside/` (what symlinks
 * point at, and what must never change), both under one temp directory.
 */
const sandboxes: string[] = [];

function sandbox(): { dir: string; root: string; outside: string } {
  const dir = tmpProject('pb-hostile-');
  sandboxes.push(dir);
  const root = join(dir, 'project');
  const outside = join(dir, 'outside');
  mkdirSync(root);
  mkdirSync(join(outside, 'data'), { recursive: true });
  writeFileSync(join(outside, 'victim.txt'), 'precious\n');
  writeFileSync(join(outside, 'data/keep.txt'), 'keep me\n');
  chmodSync(join(outside, 'data/keep.txt'), 0o600);
  return { dir, root, outside };
}

/** A copy of the demo's C fixture in `root`. */
function withDemo(root: string): string {
  cpSync(join(REPO, 'tests/fixtures/cdemo'), join(root, 'tests/fixtures/cdemo'), { recursive: true });
  return root;
}

/** A task that writes `text` to `out` with sh, and starts a background `sleep MARK` it waits for (a child that would outlive it). */
function shTask(id: string, out: string, script: string, opts: { deps?: string[]; config?: Record<string, unknown> } = {}): Task {
  return {
    id,
    deps: opts.deps ?? [],
    inputs: { tools: [{ name: 'sh' }], config: { script, ...(opts.config ?? {}) } },
    outputs: [out],
    async run(ctx) {
      mkdirSync(ctx.path(out, '..'), { recursive: true });
      await ctx.exec('sh', ['-c', script, 'sh', ctx.path(out)], { jobserver: false });
    },
  };
}

/** The promises every fault must keep. */
function expectCleanFailure(r: CliResult, root: string, opts: { code: number; path: string; marker?: string }): void {
  expect(r.code).toBe(opts.code);
  expect(r.err).not.toMatch(/\n\s+at /);
  expect(r.err).not.toMatch(/internal error|this is a bug/);
  expect(r.err).toContain(opts.path);
  // A `hint:` line: the CLI's own, or the one under a task's failure.
  expect(r.err).toMatch(/^ *hint: +\S/m);
  expect(existsSync(join(root, 'build/.pyston-build/lock'))).toBe(false);
  const sdir = join(root, 'build/.pyston-build');
  if (existsSync(sdir) && statSync(sdir).isDirectory()) expect(readdirSync(sdir).filter((n) => n.startsWith('jobserver-'))).toEqual([]);
  if (opts.marker) expect([...processesWith(opts.marker).values()]).toEqual([]);
}

const mounts: string[] = [];
afterEach((ctx) => {
  // Even when a test failed: nothing of ours stays mounted.
  for (const m of mounts.splice(0).reverse()) for (const at of mountsUnder(m)) spawnSync('umount', ['-l', at]);
  // A passing test's directory goes; a failing one's stays for inspection.
  const dirs = sandboxes.splice(0);
  if (ctx.task.result?.state !== 'fail') for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function mount(args: string[], at: string): void {
  const r = spawnSync('mount', [...args, at], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  mounts.push(at);
}

describe.skipIf(!ROOT_USER)('1. filesystem errors: one line naming the path, nothing lost', () => {
  // Every fault here leaves the sandbox's outside/ exactly as it was.
  let outsideBefore: { outside: string; snap: Record<string, string> } | undefined;
  const guardedSandbox = (): ReturnType<typeof sandbox> => {
    const sb = sandbox();
    outsideBefore = { outside: sb.outside, snap: snapshot(sb.outside) };
    return sb;
  };
  afterEach(() => {
    if (outsideBefore) expect(snapshot(outsideBefore.outside)).toEqual(outsideBefore.snap);
    outsideBefore = undefined;
  });

  it('ENOSPC while a task streams its output: the task stops, its child too, the state keeps what finished, a rerun resumes', async () => {
    const { root } = guardedSandbox();
    mount(['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs'], root);
    const marker = `71${process.pid}.25`;
    const graph = (bytes: number): TaskGraph =>
      graphOf([
        shTask('first', 'build/out/first.txt', 'echo first > "$1"'),
        // Prints `bytes` bytes, then leaves a child that waits: the disk fills long before it finishes.
        shTask('noisy', 'build/out/noisy.txt', `yes "warning: a long compiler diagnostic" | head -c ${bytes}; ${bytes > 1_000_000 ? `sleep ${marker} & wait; ` : ''}echo done > "$1"`, {
          deps: ['first'],
        }),
      ]);
    const r = await run(['-C', root, '-j2'], () => graph(8_000_000));
    expectCleanFailure(r, root, { code: 1, path: join(root, 'build/logs/noisy.log'), marker });
    expect(r.err).toContain(`cannot write ${join(root, 'build/logs/noisy.log')}: no space left on device`);
    // The state is as the last save before the disk filled left it: 'first' done, 'noisy' not.
    const { state, problem } = loadState(statePath(join(root, 'build')));
    expect(problem).toBeUndefined();
    expect(state.tasks.first?.status).toBe('ok');
    expect(state.tasks.noisy?.status).not.toBe('ok');
    // Free the space the log took, and resume: only the failed task runs.
    rmSync(join(root, 'build/logs/noisy.log'));
    const again = await run(['-C', root, '-j2'], () => graph(1000));
    expect(again.err).toBe('');
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^\[start\] noisy /m);
    expect(again.out).not.toMatch(/^\[start\] first /m);
  });

  it('ENOSPC before the first byte: the lock cannot be written (exit 2), or a log header cannot (exit 1); a rerun after freeing space resumes', async () => {
    const { root } = guardedSandbox();
    mount(['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs'], root);
    const fill = (name: string): void => {
      spawnSync('dd', ['if=/dev/zero', `of=${join(root, name)}`, 'bs=4k'], { encoding: 'utf8' });
    };
    // The filler fills the disk only the first time (its config changes after), so a rerun finds space.
    const graphWith = (fills: boolean): TaskGraph =>
      graphOf([
        shTask('filler', 'build/out/filler.txt', `echo x > "$1"; ${fills ? 'dd if=/dev/zero of="$(dirname "$1")/../fill.bin" bs=4k 2>/dev/null; ' : ''}true`),
        shTask('after', 'build/out/after.txt', 'echo after > "$1"', { deps: ['filler'] }),
      ]);
    const graph = graphWith(true);
    // The disk is full before the run: nothing can start.
    fill('filler-before');
    const before = await run(['-C', root, '-j1'], () => graph);
    expectCleanFailure(before, root, { code: 2, path: join(root, 'build') });
    expect(before.err).toMatch(/^error: cannot .*: no space left on device$/m);
    rmSync(join(root, 'filler-before'));
    // The first task fills the disk: the second cannot write its log header.
    const mid = await run(['-C', root, '-j1'], () => graph);
    expectCleanFailure(mid, root, { code: 1, path: join(root, 'build/logs/after.log') });
    expect(mid.out + mid.err).toContain(`cannot write ${join(root, 'build/logs/after.log')}: no space left on device`);
    rmSync(join(root, 'build/fill.bin'));
    const again = await run(['-C', root, '-j1'], () => graphWith(false));
    expect(again.err).toBe('');
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^\[start\] after /m);
  });

  it("ENOSPC in a task's own write (not a child's): the failure says where, a rerun with space resumes", async () => {
    const { root } = guardedSandbox();
    mount(['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs'], root);
    const graph = (bytes: number): TaskGraph =>
      graphOf([
        {
          id: 'writer',
          deps: [],
          inputs: { config: { bytes } },
          outputs: ['build/out/big.bin'],
          async run(ctx) {
            mkdirSync(ctx.path('build/out'), { recursive: true });
            writeFileSync(ctx.path('build/out/big.bin'), Buffer.alloc(bytes));
          },
        },
      ]);
    const r = await run(['-C', root], () => graph(1024 * 1024));
    expectCleanFailure(r, root, { code: 1, path: join(root, 'build') });
    expect(r.err).toMatch(/error: cannot write .*: no space left on device\n +hint: +free some disk space where /);
    const again = await run(['-C', root], () => graph(1024));
    expect(again.code).toBe(0);
  });

  it('EROFS: a read-only project says so, changes nothing, and builds once it is writable again', async () => {
    const { root } = guardedSandbox();
    const graph = (v: number): TaskGraph => graphOf([shTask('a', 'build/out/a.txt', `echo ${v} > "$1"`)]);
    expect((await run(['-C', root], () => graph(1))).code).toBe(0);
    const state = readFileSync(statePath(join(root, 'build')));
    mount(['--bind', root], root);
    mount(['-o', 'remount,bind,ro'], root);
    const r = await run(['-C', root], () => graph(2));
    expectCleanFailure(r, root, { code: 2, path: join(root, 'build') });
    expect(r.err).toMatch(/^error: cannot .*: read-only filesystem$/m);
    expect(r.err.trimEnd().split('\n')).toHaveLength(2);
    spawnSync('umount', [root]);
    spawnSync('umount', [root]);
    expect(readFileSync(statePath(join(root, 'build')))).toEqual(state);
    const again = await run(['-C', root], () => graph(2));
    expect(again.code).toBe(0);
    expect(readFileSync(join(root, 'build/out/a.txt'), 'utf8')).toBe('2\n');
  });

  it('ENOTDIR: build is a file', async () => {
    const { root } = guardedSandbox();
    writeFileSync(join(root, 'build'), 'not a directory\n');
    const graph = graphOf([shTask('a', 'build/out/a.txt', 'echo a > "$1"')]);
    const r = await run(['-C', root], () => graph);
    expectCleanFailure(r, root, { code: 2, path: join(root, 'build') });
    expect(r.err).toContain(`hint: ${join(root, 'build')} is a file where a directory is needed: move it away and run again`);
    expect(r.err.trimEnd().split('\n')).toHaveLength(2);
    expect(readFileSync(join(root, 'build'), 'utf8')).toBe('not a directory\n');
    rmSync(join(root, 'build'));
    expect((await run(['-C', root], () => graph)).code).toBe(0);
  });

  it('ENOENT for the current directory (removed under the shell): one line; an absolute -C still works', async () => {
    const { dir, root } = guardedSandbox();
    const gone = join(dir, 'gone');
    mkdirSync(gone);
    const back = process.cwd();
    process.chdir(gone);
    rmSync(gone, { recursive: true });
    const errs: string[] = [];
    const io = (): { out: PassThrough; err: PassThrough; env: NodeJS.ProcessEnv; makeGraph: () => TaskGraph } => {
      const err = new PassThrough();
      err.on('data', (c: Buffer) => errs.push(c.toString()));
      return { out: new PassThrough(), err, env: { PATH: process.env.PATH }, makeGraph: () => graphOf([shTask('a', 'build/out/a.txt', 'echo a > "$1"')]) };
    };
    try {
      expect(await main(['-n'], io())).toBe(2);
      expect(errs.join('')).toBe('error: the current directory no longer exists (it was removed or renamed)\nhint: cd to an existing directory, or pass -C with an absolute path\n');
      errs.length = 0;
      expect(await main(['-C', root], io())).toBe(0);
      expect(errs.join('')).toBe('');
    } finally {
      process.chdir(back);
    }
  });

  it('EISDIR: pyston-build.toml is a directory (and no --config was given)', async () => {
    const { root } = guardedSandbox();
    mkdirSync(join(root, 'pyston-build.toml'));
    const r = await run(['-C', root, '-n'], () => graphOf([shTask('a', 'build/out/a.txt', 'echo a > "$1"')]));
    expect(r.code).toBe(2);
    expect(r.err).toBe(`error: cannot read config file ${join(root, 'pyston-build.toml')}: it is a directory\nhint: pyston-build.toml must be a file: move the directory away\n`);
    expect(existsSync(join(root, 'build'))).toBe(false);
    rmSync(join(root, 'pyston-build.toml'), { recursive: true });
    expect((await run(['-C', root], () => graphOf([shTask('a', 'build/out/a.txt', 'echo a > "$1"')]))).code).toBe(0);
  });

  it('ENAMETOOLONG: a project path near PATH_MAX gives one line, with the path shortened', async () => {
    const { dir } = guardedSandbox();
    // Just under PATH_MAX (4096): the project itself is usable, build/... is not.
    let root = dir;
    while (root.length < 4060) root = join(root, 'n'.repeat(Math.min(200, 4060 - root.length)));
    mkdirSync(root, { recursive: true });
    expect(existsSync(root)).toBe(true);
    const r = await run(['-C', root], () => graphOf([shTask('a', 'build/out/a.txt', 'echo a > "$1"')]));
    expect(r.code).toBe(2);
    const [error, hint, ...rest] = r.err.trimEnd().split('\n');
    expect(error).toMatch(/^error: cannot .*\(\d+ characters\): file name too long$/);
    expect(error!.length).toBeLessThan(400);
    expect(hint).toBe('hint: the path exceeds what the system allows (4096 bytes, 255 per name): use a shorter project directory');
    expect(rest).toEqual([]);
    expect(existsSync(join(root, 'build/.pyston-build/lock'))).toBe(false);
    // Moved to a shorter path, the same project builds.
    const short = join(dir, 'short');
    spawnSync('mv', [root, short]);
    expect((await run(['-C', short], () => graphOf([shTask('a', 'build/out/a.txt', 'echo a > "$1"')]))).code).toBe(0);
  });
});

/** A task writing build/out/a.txt, with build/out a symlink to outside/data (which holds an a.txt of its own). */
function outDirLinkedOut(root: string, outside: string): { graph: TaskGraph; before: Record<string, string> } {
  mkdirSync(join(root, 'build'));
  writeFileSync(join(outside, 'data/a.txt'), 'not yours\n');
  symlinkSync(join(outside, 'data'), join(root, 'build/out'));
  return { graph: graphOf([shTask('a', 'build/out/a.txt', 'echo fresh > "$1"')]), before: snapshot(outside) };
}

describe('4. symlinks in and under build/', () => {
  it('clean removes a symlinked build/ as a link and leaves what it points to', async () => {
    const { root, outside } = sandbox();
    const before = snapshot(outside);
    symlinkSync(join(outside, 'data'), join(root, 'build'));
    const r = await run(['-C', root, 'clean'], () => graphOf([]));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`removed the symlink ${join(root, 'build')} (to ${join(outside, 'data')}); what it points to was left as it is\n`);
    expect(existsSync(join(root, 'build'))).toBe(false);
    expect(snapshot(outside)).toEqual(before);
  });

  it('a build/ that is a symlink (to another disk, say) is where the build lives; a rerun is up to date', async () => {
    const { dir, root } = sandbox();
    const disk = join(dir, 'disk/build');
    mkdirSync(disk, { recursive: true });
    symlinkSync(disk, join(root, 'build'));
    const graph = graphOf([shTask('a', 'build/out/a.txt', 'echo a > "$1"')]);
    expect((await run(['-C', root], () => graph)).code).toBe(0);
    expect(readFileSync(join(disk, 'out/a.txt'), 'utf8')).toBe('a\n');
    expect((await run(['-C', root, '-n'], () => graph)).out).toMatch(/^0 of 1 tasks would run/);
    expect((await run(['-C', root, '--force', 'a'], () => graph)).code).toBe(0);
    expect(readFileSync(join(disk, 'out/a.txt'), 'utf8')).toBe('a\n');
  });

  it('clean unlinks symlinks under build/ (to a file, to a directory) and never deletes through them', async () => {
    const { root, outside } = sandbox();
    const graph = graphOf([shTask('a', 'build/out/a.txt', 'echo a > "$1"')]);
    expect((await run(['-C', root], () => graph)).code).toBe(0);
    symlinkSync(join(outside, 'data'), join(root, 'build/out/dirlink'));
    symlinkSync(join(outside, 'victim.txt'), join(root, 'build/filelink'));
    const before = snapshot(outside);
    const r = await run(['-C', root, 'clean'], () => graph);
    expect(r.code).toBe(0);
    expect(existsSync(join(root, 'build'))).toBe(false);
    expect(snapshot(outside)).toEqual(before);
  });

  it('clean TARGET refuses an output reached through a directory link that leads outside', async () => {
    const { root, outside } = sandbox();
    const { graph, before } = outDirLinkedOut(root, outside);
    const r = await run(['-C', root, 'clean', 'a'], () => graph);
    expectCleanFailure(r, root, { code: 1, path: join(root, 'build/out') });
    expect(r.err).toContain(`error: ${join(root, 'build/out')} is a symlink to ${join(outside, 'data')}, outside ${join(root, 'build')}: pyston-build does not write or delete through it`);
    expect(snapshot(outside)).toEqual(before);
  });

  it('a declared output that is a symlink to a file outside is replaced, never written through', async () => {
    const { root, outside } = sandbox();
    const graph = graphOf([shTask('a', 'build/out/a.txt', 'echo fresh > "$1"')]);
    expect((await run(['-C', root], () => graph)).code).toBe(0);
    rmSync(join(root, 'build/out/a.txt'));
    symlinkSync(join(outside, 'victim.txt'), join(root, 'build/out/a.txt'));
    const before = snapshot(outside);
    const r = await run(['-C', root], () => graph);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\[start\] a \(output changed: build\/out\/a\.txt\)/m);
    expect(lstatSync(join(root, 'build/out/a.txt')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(root, 'build/out/a.txt'), 'utf8')).toBe('fresh\n');
    expect(snapshot(outside)).toEqual(before);
  });

  it('an output directory that is a symlink leading outside is refused in one line; removing the link resumes', async () => {
    const { root, outside } = sandbox();
    const { graph, before } = outDirLinkedOut(root, outside);
    const r = await run(['-C', root], () => graph);
    expectCleanFailure(r, root, { code: 1, path: join(root, 'build/out') });
    expect(r.out + r.err).toContain(`${join(root, 'build/out')} is a symlink to ${join(outside, 'data')}, outside ${join(root, 'build')}`);
    expect(snapshot(outside)).toEqual(before);
    rmSync(join(root, 'build/out'));
    expect((await run(['-C', root], () => graph)).code).toBe(0);
    expect(readFileSync(join(root, 'build/out/a.txt'), 'utf8')).toBe('fresh\n');
  });

  it('a logs directory or a log that is a symlink leading outside is never written through', async () => {
    const { root, outside } = sandbox();
    const graph = (v: number): TaskGraph => graphOf([shTask('a', 'build/out/a.txt', `echo ${v} > "$1"`)]);
    expect((await run(['-C', root], () => graph(1))).code).toBe(0);
    rmSync(join(root, 'build/logs/a.log'));
    symlinkSync(join(outside, 'victim.txt'), join(root, 'build/logs/a.log'));
    const before = snapshot(outside);
    expect((await run(['-C', root], () => graph(2))).code).toBe(0);
    expect(lstatSync(join(root, 'build/logs/a.log')).isSymbolicLink()).toBe(false);
    rmSync(join(root, 'build/logs'), { recursive: true });
    symlinkSync(join(outside, 'data'), join(root, 'build/logs'));
    const r = await run(['-C', root], () => graph(3));
    expectCleanFailure(r, root, { code: 2, path: join(root, 'build/logs') });
    expect(snapshot(outside)).toEqual(before);
  });

  it("the output trees' stat caches: a trees directory that is a symlink leading outside is never written through", async () => {
    const { root, outside } = sandbox();
    const graph = (v: number): TaskGraph => graphOf([shTask('t', 'build/tree', `mkdir -p "$1/lib" && echo ${v} > "$1/lib/f"`)]);
    expect((await run(['-C', root], () => graph(1))).code).toBe(0);
    expect(readdirSync(join(root, 'build/.pyston-build/trees'))).toHaveLength(1);
    rmSync(join(root, 'build/.pyston-build/trees'), { recursive: true });
    symlinkSync(join(outside, 'data'), join(root, 'build/.pyston-build/trees'));
    const before = snapshot(outside);
    const r = await run(['-C', root], () => graph(2));
    expectCleanFailure(r, root, { code: 2, path: join(root, 'build/.pyston-build/trees') });
    expect(snapshot(outside)).toEqual(before);
  });
});

describe('5. stale or tampered outputs are removed before their task reruns', () => {
  it('the demo binary replaced by text, the installed program without its execute bit: one rerun repairs both', async () => {
    const { root } = sandbox();
    withDemo(root);
    expect((await run(['-C', root, 'demo', '-j2'])).code).toBe(0);
    const bin = join(root, 'build/demo_build/demo');
    const installed = join(root, 'build/demo_install/usr/local/bin/demo');
    writeFileSync(bin, 'not a program\n');
    chmodSync(installed, 0o644);
    const explain = await run(['-C', root, 'demo', '-n', '--explain']);
    expect(explain.out).toContain('output changed: build/demo_build/demo');
    const r = await run(['-C', root, 'demo', '-j2']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(bin).subarray(0, 4)).toEqual(Buffer.from('\x7fELF', 'latin1'));
    expect(statSync(installed).mode & 0o111).toBe(0o111);
    expect(readFileSync(join(root, 'build/logs/demo:make.log'), 'utf8')).toContain('# removed the previous outputs: build/demo_build/demo');
    expect((await run(['-C', root, 'demo', '-n'])).out).toMatch(/^0 of 4 tasks would run/);
  });

  it('a directory output is emptied before a rerun, `!` exclusions included; outputs outside build/ are left to their task', async () => {
    const { root, outside } = sandbox();
    const shared = join(outside, 'cache.txt');
    const tree: Task = {
      id: 'tree',
      deps: [],
      inputs: { config: { v: 1 } },
      outputs: ['build/tree', '!**/scratch', shared],
      async run(ctx) {
        mkdirSync(ctx.path('build/tree/scratch'), { recursive: true });
        writeFileSync(ctx.path('build/tree/a.txt'), 'a\n');
        if (!existsSync(shared)) writeFileSync(shared, 'downloaded once\n');
      },
    };
    const graph = graphOf([tree]);
    expect((await run(['-C', root], () => graph)).code).toBe(0);
    writeFileSync(join(root, 'build/tree/stray.txt'), 'edited by hand\n');
    writeFileSync(join(root, 'build/tree/scratch/x'), 'excluded from the digest\n');
    symlinkSync(join(outside, 'data'), join(root, 'build/tree/link'));
    const before = snapshot(outside);
    const r = await run(['-C', root], () => graph);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\[start\] tree \(output changed: build\/tree\)/m);
    expect(readdirSync(join(root, 'build/tree')).sort()).toEqual(['a.txt', 'scratch']);
    expect(readdirSync(join(root, 'build/tree/scratch'))).toEqual([]);
    expect(snapshot(outside)).toEqual(before);
  });

  it("an output two tasks declare (a producer and a pass-through, as gcc PGO's profile directory) is removed by neither", async () => {
    const { root } = sandbox();
    const producer = shTask('train', 'build/prof/data.gcda', 'echo counts > "$1"');
    const passThrough: Task = { id: 'merge', deps: ['train'], inputs: { config: { v: 1 } }, outputs: ['build/prof'], run: async () => undefined };
    const graph = graphOf([producer, passThrough]);
    expect((await run(['-C', root], () => graph)).code).toBe(0);
    const forced = await run(['-C', root, '--force', 'merge'], () => graph);
    expect(forced.err).toBe('');
    expect(forced.code).toBe(0);
    expect(readFileSync(join(root, 'build/prof/data.gcda'), 'utf8')).toBe('counts\n');
    expect((await run(['-C', root, '-n'], () => graph)).out).toMatch(/^0 of 2 tasks would run/);
  });
});

describe('6. input that is not what it claims', () => {
  const graph = (): TaskGraph => graphOf([shTask('a', 'build/out/a.txt', 'echo a > "$1"')]);

  for (const key of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf']) {
    it(`--set ${key}=1 is an unknown key`, async () => {
      const { root } = sandbox();
      const r = await run(['-C', root, '-n', '--set', `${key}=1`], graph);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`^error: --set: unknown config key '${key}'\nhint: valid keys: `));
    });
  }

  it('a TOML key named like an object member is an unknown key', async () => {
    const { root } = sandbox();
    for (const [text, key] of [
      ['valueOf = 3\n', 'valueOf'],
      ['[constructor]\nname = 1\n', 'constructor.name'],
      ['"__proto__" = 1\n', '__proto__'],
    ] as const) {
      writeFileSync(join(root, 'pyston-build.toml'), text);
      const r = await run(['-C', root, '-n'], graph);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`unknown config key '${key}'`);
    }
  });

  it('a newline or another control character in a value is refused; a tab is not', async () => {
    const { root } = sandbox();
    for (const v of ['a\nb', 'a\rb', 'a\x1bb']) {
      const r = await run(['-C', root, '-n', '--set', `configure.extra=${v}`], graph);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^error: --set configure\.extra: configure\.extra contains a control character \(".*"\)\nhint: /);
    }
    writeFileSync(join(root, 'pyston-build.toml'), 'configure.extra = """two\nlines"""\n');
    expect((await run(['-C', root, '-n'], graph)).code).toBe(2);
    rmSync(join(root, 'pyston-build.toml'));
    expect((await run(['-C', root, '-n', '--set', 'configure.extra=a\tb'], graph)).code).toBe(0);
  });

  it('a FIFO or a device as --source, or a FIFO as --config, is refused before anything reads it, even in a dry run', async () => {
    const { root } = sandbox();
    withDemo(root);
    const fifo = join(root, 'src.tar.gz');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // A checkout whose version header is a FIFO.
    const checkout = join(root, 'checkout');
    mkdirSync(join(checkout, 'Include'), { recursive: true });
    writeFileSync(join(checkout, 'configure'), '#!/bin/sh\n');
    expect(spawnSync('mkfifo', [join(checkout, 'Include/patchlevel.h')]).status).toBe(0);
    for (const [args, what] of [
      [['--source', checkout], `${join(checkout, 'Include/patchlevel.h')} is a FIFO, not a regular file`],
      [['--source', fifo], `--source: '${fifo}' is a FIFO, not a regular file or a directory`],
      [['--source', '/dev/zero'], `--source: '/dev/zero' is a character device, not a regular file or a directory`],
      [['--config', fifo], `cannot read config file ${fifo}: it is not a regular file`],
      [['--set', `source.pin=${fifo}`], `source.pin: ${fifo} is a FIFO, not a regular file`],
    ] as const) {
      const r = await run(['-C', root, '-n', 'source', ...args]);
      expect(r.code).toBe(2);
      expect(r.err.split('\n')[0]).toBe(`error: ${what}`);
    }
  });

  it("a FIFO or a device among a task's input files is digested by its kind, never opened: a dry run and a build finish", async () => {
    const { root } = sandbox();
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src/a.c'), 'int a;\n');
    expect(spawnSync('mkfifo', [join(root, 'src/pipe')]).status).toBe(0);
    symlinkSync('/dev/zero', join(root, 'src/zero'));
    const task: Task = { ...shTask('a', 'build/out/a.txt', 'echo a > "$1"'), inputs: { files: ['src/**', 'src/pipe'], tools: [{ name: 'sh' }] } };
    const dry = await run(['-C', root, '-n'], () => graphOf([task]));
    expect(dry.code).toBe(0);
    expect((await run(['-C', root], () => graphOf([task]))).code).toBe(0);
    expect((await run(['-C', root, '-n'], () => graphOf([task]))).out).toMatch(/^0 of 1 tasks would run/);
  });

  it('a state file with a valid header and an enormous body is corrupt state, rebuilt from scratch', async () => {
    const { root } = sandbox();
    expect((await run(['-C', root], graph)).code).toBe(0);
    const path = statePath(join(root, 'build'));
    const fd = openSync(path, 'w');
    writeSync(fd, `pyston-build-state 2 ${'0'.repeat(64)}\n{"tasks":{`);
    closeSync(fd);
    truncateSync(path, 600 * 1024 * 1024); // sparse: longer than V8's longest string
    const r = await run(['-C', root], graph);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^warning: build state .*state\.json is corrupt \(629145600 bytes, more than the \d+ a state can have\); treating every task as not built$/m);
    expect(r.out).toMatch(/^\[start\] a /m);
    expect(statSync(path).size).toBeLessThan(100_000);
    // A FIFO in its place: corrupt too, never opened, replaced by the next save.
    rmSync(path);
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    const fifo = await run(['-C', root], graph);
    expect(fifo.code).toBe(0);
    expect(fifo.err).toMatch(/^warning: build state .*state\.json is corrupt \(not a regular file\); treating every task as not built$/m);
    expect(statSync(path).isFile()).toBe(true);
  });

  it('spaces, quotes and a newline in the project path: the demo builds', async () => {
    const { dir } = sandbox();
    const root = join(dir, `my project's "dir"\nnext line`);
    mkdirSync(root);
    withDemo(root);
    const r = await run(['-C', root, 'demo', '-j2']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(root, 'build/demo_check.txt'), 'utf8')).toContain('hello from pyston-build');
  });

  it('a $ in the project path (make would expand it) is refused up front in one line', async () => {
    const { dir } = sandbox();
    const root = join(dir, 'cost$HOME');
    mkdirSync(root);
    withDemo(root);
    const r = await run(['-C', root, 'demo']);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `error: the project path ${root} contains '$', which make expands: the sub-builds would use a different path\nhint: move or link the project to a path without '$' and run there\n`,
    );
    expect(existsSync(join(root, 'build'))).toBe(false);
  });
});
