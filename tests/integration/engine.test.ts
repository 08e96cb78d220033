/**
 * The engine with real processes (sh, cat) on real files: caching, reasons,
 * failure handling and resume. Builds run in-process; every task is a real
 * child process.
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, catTask, graphOf, read, tmpProject, write } from '../helpers.js';
import { formatReason, MissingToolError, PlanError, statePath, loadState, type Task } from '../../src/graph/index.js';

function diamond(root: string, cfg: Record<string, unknown> = { 'demo.level': 1 }) {
  write(root, 'src/a.txt', 'A\n');
  write(root, 'src/c.txt', 'C\n');
  return graphOf([catTask('a', { files: ['src/a.txt'] }), catTask('b', { deps: ['a'] }), catTask('c', { files: ['src/c.txt'], config: cfg, env: ['CC'] }), catTask('d', { deps: ['b', 'c'] })], {}, [
    'CC',
    'CFLAGS',
  ]);
}

function reasons(r: Awaited<ReturnType<typeof build>>): Record<string, string> {
  return Object.fromEntries(r.events.flatMap((e) => (e.type === 'start' ? [[e.id, formatReason(e.reason)]] : [])));
}

describe('caching', () => {
  it('runs everything once, then nothing', async () => {
    const root = tmpProject();
    const g = diamond(root);
    const first = await build(g, root);
    expect(first.summary.ok).toBe(true);
    expect(first.ran.sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(read(root, 'build/out/d.txt')).toContain('A');
    const second = await build(g, root);
    expect(second.ran).toEqual([]);
    expect(second.summary.upToDate).toBe(4);
  });

  it('a touch without a content change runs nothing', async () => {
    const root = tmpProject();
    const g = diamond(root);
    await build(g, root);
    const future = new Date(Date.now() + 5000);
    utimesSync(join(root, 'src/a.txt'), future, future);
    expect((await build(g, root)).ran).toEqual([]);
  });

  it('a content change reruns exactly the task and its dependents', async () => {
    const root = tmpProject();
    const g = diamond(root);
    await build(g, root);
    write(root, 'src/a.txt', 'A2\n');
    const r = await build(g, root);
    expect(r.ran.sort()).toEqual(['a', 'b', 'd']);
    expect(reasons(r)).toEqual({ a: 'input changed: src/a.txt', b: 'dependency rebuilt: a', d: 'dependency rebuilt: b' });
    expect(read(root, 'build/out/d.txt')).toContain('A2');
  });

  it('a same-size edit within the same second is still seen (no racy stat-cache hit)', async () => {
    const root = tmpProject();
    const g = diamond(root);
    await build(g, root);
    const st = join(root, 'src/a.txt');
    const before = readFileSync(st);
    writeFileSync(st, 'B\n');
    expect(readFileSync(st).length).toBe(before.length);
    expect((await build(g, root)).ran.sort()).toEqual(['a', 'b', 'd']);
  });

  it('a config change reruns exactly the task that reads it, and its dependents', async () => {
    const root = tmpProject();
    await build(diamond(root), root);
    const r = await build(diamond(root, { 'demo.level': 2 }), root);
    expect(r.ran.sort()).toEqual(['c', 'd']);
    expect(reasons(r).c).toBe('config changed: demo.level');
  });

  it('an allow-listed env var change reruns its readers; another env var changes nothing', async () => {
    const root = tmpProject();
    const g = diamond(root);
    await build(g, root, { env: { PATH: process.env.PATH, CC: 'gcc' } });
    const same = await build(g, root, { env: { PATH: process.env.PATH, CC: 'gcc', UNLISTED_VAR: 'x', CFLAGS: '-O3' } });
    expect(same.ran).toEqual([]);
    const r = await build(g, root, { env: { PATH: process.env.PATH, CC: 'clang' } });
    expect(r.ran.sort()).toEqual(['c', 'd']);
    expect(reasons(r).c).toBe('env changed: CC');
    expect(read(root, 'build/out/c.txt')).toContain('CC=clang');
  });

  it('deleting or editing a declared output reruns its task', async () => {
    const root = tmpProject();
    const g = diamond(root);
    await build(g, root);
    rmSync(join(root, 'build/out/c.txt'));
    let r = await build(g, root);
    expect(reasons(r).c).toBe('output missing: build/out/c.txt');
    expect(r.ran.sort()).toEqual(['c', 'd']);
    write(root, 'build/out/a.txt', 'edited by hand\n');
    r = await build(g, root);
    expect(reasons(r).a).toBe('output changed: build/out/a.txt');
    expect(read(root, 'build/out/a.txt')).toContain('A');
  });

  it('a changed tool reruns the tasks that use it', async () => {
    const root = tmpProject();
    write(root, 'bin/mytool', '#!/bin/sh\necho "mytool 1.0"\n');
    chmodSync(join(root, 'bin/mytool'), 0o755);
    const env = { PATH: `${join(root, 'bin')}:${process.env.PATH}` };
    const t: Task = { ...catTask('t'), inputs: { tools: [{ name: 'sh' }, { name: 'mytool' }] } };
    const g = graphOf([t, catTask('u')]);
    await build(g, root, { env });
    write(root, 'bin/mytool', '#!/bin/sh\necho "mytool 2.0"\n');
    const r = await build(g, root, { env });
    expect(r.ran).toEqual(['t']);
    expect(reasons(r).t).toBe('tool changed: mytool');
  });

  it("a task reads its tools' versions from the engine, as the key saw them", async () => {
    const root = tmpProject();
    write(root, 'bin/mytool', '#!/bin/sh\necho "mytool 3.1 (build 7)"\necho second line\n');
    chmodSync(join(root, 'bin/mytool'), 0o755);
    const seen: Task = {
      id: 'seen',
      deps: [],
      inputs: { tools: [{ name: 'mytool' }, { name: 'quiet', command: 'true', versionArgs: [] }] },
      outputs: ['build/versions.json'],
      async run(ctx) {
        writeFileSync(ctx.path('build/versions.json'), JSON.stringify(ctx.toolVersions));
      },
    };
    const r = await build(graphOf([seen]), root, { env: { PATH: `${join(root, 'bin')}:${process.env.PATH}` } });
    expect(r.summary.failed).toEqual([]);
    expect(JSON.parse(read(root, 'build/versions.json'))).toEqual({ mytool: 'mytool 3.1 (build 7)', quiet: '' });
  });

  it('--force reruns matching tasks and their dependents', async () => {
    const root = tmpProject();
    const g = diamond(root);
    await build(g, root);
    const r = await build(g, root, { force: ['b*'] });
    expect(r.ran.sort()).toEqual(['b', 'd']);
    expect(reasons(r).b).toBe('forced');
  });

  it('records per-run state atomically and survives a corrupt state file', async () => {
    const root = tmpProject();
    const g = diamond(root);
    await build(g, root);
    const path = statePath(join(root, 'build'));
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.slice(0, Math.floor(text.length / 2)));
    const r = await build(g, root);
    const warning = r.events.find((e) => e.type === 'warning');
    expect(warning && warning.type === 'warning' ? warning.message : '').toMatch(/corrupt.*treating every task as not built/);
    expect(r.ran.sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(loadState(path).problem).toBeUndefined();
    writeFileSync(path, 'not a state file at all');
    expect((await build(g, root)).ran).toHaveLength(4);
    expect((await build(g, root)).ran).toHaveLength(0);
  });
});

describe('output exclusions', () => {
  it('files matching a ! output glob do not make a directory output changed', async () => {
    const root = tmpProject();
    const t: Task = {
      id: 'tree',
      deps: [],
      inputs: {},
      outputs: ['build/tree', '!**/__pycache__'],
      run: async (ctx) => write(ctx.root, 'build/tree/lib/mod.py', 'x = 1\n'),
    };
    await build(graphOf([t]), root);
    write(root, 'build/tree/lib/__pycache__/mod.cpython-311.pyc', 'cache');
    expect((await build(graphOf([t]), root)).ran).toEqual([]);
    write(root, 'build/tree/lib/mod.py', 'x = 2\n');
    const r = await build(graphOf([t]), root);
    expect(reasons(r).tree).toBe('output changed: build/tree');
  });
});

describe('explain data', () => {
  it('a lost explain.json only makes the reason less specific', async () => {
    const root = tmpProject();
    const g = diamond(root);
    await build(g, root);
    rmSync(join(root, 'build/.pyston-build/explain.json'));
    write(root, 'src/a.txt', 'A3\n');
    const r = await build(g, root);
    expect(reasons(r)).toEqual({ a: 'inputs changed', b: 'inputs changed', d: 'inputs changed' });
    write(root, 'src/a.txt', 'A4\n');
    expect(reasons(await build(g, root)).a).toBe('input changed: src/a.txt');
  });
});

describe('failures', () => {
  function failing(root: string, failFlag: boolean) {
    write(root, 'src/a.txt', 'A\n');
    return graphOf([
      catTask('a', { files: ['src/a.txt'] }),
      catTask('f', { deps: ['a'], fail: failFlag }),
      catTask('g', { deps: ['f'] }),
      catTask('s1', { sleep: 0.5 }),
      catTask('s2', { deps: ['s1'] }),
    ]);
  }

  it('does not run dependents, lets running siblings finish and keeps them, and a rerun resumes', async () => {
    const root = tmpProject();
    const r = await build(failing(root, true), root, { jobs: 2 });
    expect(r.summary.ok).toBe(false);
    expect(r.summary.failed).toEqual(['f']);
    // a and s1 start together; f fails while s1 still runs: s1 finishes, nothing new starts.
    expect(r.ran.sort()).toEqual(['a', 'f', 's1']);
    const status = Object.fromEntries(r.summary.tasks.map((t) => [t.id, t.status]));
    expect(status).toEqual({ a: 'ran', f: 'failed', g: 'cancelled', s1: 'ran', s2: 'not-run' });
    const fail = r.events.find((e) => e.type === 'fail');
    expect(fail?.type === 'fail' && fail.logTail.join('\n')).toContain('boom');
    expect(fail?.type === 'fail' && fail.message).toMatch(/sh exited with status 3/);
    expect(fail?.type === 'fail' && fail.logPath).toBe(join(root, 'build/logs/f.log'));
    const cancelled = r.events.flatMap((e) => (e.type === 'cancel' ? [e.id] : []));
    expect(cancelled.sort()).toEqual(['g', 's2']);
    // The fix: the task no longer fails. Only what did not finish runs again.
    const again = await build(failing(root, false), root, { jobs: 2 });
    expect(again.summary.ok).toBe(true);
    expect(again.ran.sort()).toEqual(['f', 'g', 's2']);
  });

  it('--keep-going builds everything that does not depend on the failure', async () => {
    const root = tmpProject();
    const r = await build(failing(root, true), root, { jobs: 1, keepGoing: true });
    expect(r.summary.ok).toBe(false);
    expect(r.ran.sort()).toEqual(['a', 'f', 's1', 's2']);
    expect(r.summary.tasks.find((t) => t.id === 'g')?.status).toBe('cancelled');
  });

  it('a task that does not produce a declared output fails and is not recorded', async () => {
    const root = tmpProject();
    const t: Task = { id: 'lazy', deps: [], inputs: {}, outputs: ['build/never.txt'], run: async () => undefined };
    const r = await build(graphOf([t]), root);
    const fail = r.events.find((e) => e.type === 'fail');
    expect(fail?.type === 'fail' && fail.message).toMatch(/did not produce its declared output build\/never.txt/);
    expect(loadState(statePath(join(root, 'build'))).state.tasks.lazy?.status).toBe('failed');
    expect((await build(graphOf([t]), root)).ran).toEqual(['lazy']);
  });
});

describe('planning errors', () => {
  it('a missing tool is a one-line error naming the tool and the package', async () => {
    const root = tmpProject();
    const t: Task = { ...catTask('t'), inputs: { tools: [{ name: 'no-such-tool-xyz', package: 'xyz-tools' }] } };
    const err = await build(graphOf([t]), root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingToolError);
    expect((err as MissingToolError).message).toBe("required tool 'no-such-tool-xyz' was not found on PATH");
    expect((err as MissingToolError).hint).toBe('install it: apt-get install -y xyz-tools');
  });

  it('a cycle is reported with its path', async () => {
    const root = tmpProject();
    const err = await build(graphOf([catTask('x', { deps: ['y'] }), catTask('y', { deps: ['x'] })]), root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlanError);
    expect((err as Error).message).toBe('dependency cycle: x -> y -> x');
  });

  it('an env var off the allow-list is refused', async () => {
    const root = tmpProject();
    const err = await build(graphOf([catTask('x', { env: ['SECRET'] })]), root).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/reads env var SECRET, which is not on the allow-list/);
  });
});
