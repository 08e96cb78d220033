/**
 * Typed failures: each way a task can fail, with real processes, reaches
 * the `fail` event (and the build summary) as its own `reason` kind, and a
 * domain error's hint reaches it as its own field.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { build, catTask, graphOf, tmpProject } from '../helpers.js';
import type { EngineEvent, Task, TaskContext } from '../../src/graph/index.js';
import { DpkgDb } from '../../src/debian/dpkg.js';
import { walkTree } from '../../src/packaging/tar.js';

type FailEvent = Extract<EngineEvent, { type: 'fail' }>;

/** A task with the given declared outputs that runs `body`. */
function task(id: string, body: (ctx: TaskContext) => Promise<void>, outputs: string[] = []): Task {
  return { id, deps: [], inputs: { tools: [{ name: 'sh' }] }, outputs, run: body };
}

/** Build one task that must fail; its `fail` event, checked against the summary. */
async function failureOf(t: Task): Promise<FailEvent> {
  const root = tmpProject('pb-fail-');
  const r = await build(graphOf([t]), root);
  expect(r.summary.ok).toBe(false);
  expect(r.summary.failed).toEqual([t.id]);
  const fails = r.events.filter((e): e is FailEvent => e.type === 'fail');
  expect(fails).toHaveLength(1);
  const fail = fails[0]!;
  // The summary (what `--json` prints) says the same as the event.
  const s = r.summary.tasks.find((x) => x.id === t.id);
  expect(s?.failure).toEqual({ message: fail.message, reason: fail.reason, ...(fail.hint !== undefined ? { hint: fail.hint } : {}) });
  return fail;
}

describe('a failure event carries a typed reason', () => {
  it('a command exiting 3 is kind exit, code 3', async () => {
    const fail = await failureOf(catTask('f', { fail: true }));
    expect(fail.reason).toEqual({ kind: 'exit', command: 'sh', code: 3 });
    expect(fail.message).toBe('sh exited with status 3');
    expect(fail.hint).toBeUndefined();
  });

  it('a command killed by a signal is kind signal', async () => {
    const fail = await failureOf(task('s', (ctx) => ctx.exec('sh', ['-c', 'kill -USR1 $$; sleep 5'], { jobserver: false }).then(() => undefined)));
    expect(fail.reason).toEqual({ kind: 'signal', command: 'sh', signal: 'SIGUSR1' });
    expect(fail.message).toBe('sh was killed by SIGUSR1');
  });

  it('a command over its time limit is kind timeout, with the limit and a hint', async () => {
    const fail = await failureOf(task('t', (ctx) => ctx.exec('sh', ['-c', 'sleep 30'], { jobserver: false, timeoutMs: 300 }).then(() => undefined)));
    expect(fail.reason).toEqual({ kind: 'timeout', command: 'sh', ms: 300 });
    expect(fail.message).toBe('sh timed out after 0.3 s');
    expect(fail.hint).toMatch(/raise the timeout/);
  });

  it('a command that does not exist is kind spawn, ENOENT, with a hint', async () => {
    const missing = '/nonexistent/pb-no-such-tool';
    const fail = await failureOf(task('x', (ctx) => ctx.exec(missing, ['--version'], { jobserver: false }).then(() => undefined)));
    expect(fail.reason).toEqual({ kind: 'spawn', command: 'pb-no-such-tool', code: 'ENOENT' });
    expect(fail.message).toBe(`command not found: ${missing}`);
    expect(fail.hint).toMatch(/install pb-no-such-tool/);
  });

  it('a declared output that was not made is kind missing-output, naming it', async () => {
    const fail = await failureOf(task('m', (ctx) => ctx.exec('sh', ['-c', 'true'], { jobserver: false }).then(() => undefined), ['build/never.txt']));
    expect(fail.reason).toEqual({ kind: 'missing-output', path: 'build/never.txt' });
    expect(fail.message).toBe('task m did not produce its declared output build/never.txt');
    expect(fail.hint).toBe('fix the task, or its declared outputs');
  });

  it('a bug in a task is kind exception, named after the error, with no hint', async () => {
    const fail = await failureOf(
      task('b', async () => {
        (undefined as unknown as { x: () => void }).x();
      }),
    );
    expect(fail.reason).toEqual({ kind: 'exception', name: 'TypeError' });
    expect(fail.message).toMatch(/^task b threw: /);
    expect(fail.hint).toBeUndefined();
  });
});

describe("a domain error's hint reaches the fail event", () => {
  it('a tar error (a fifo in the tree) keeps its message and hint', async () => {
    const fail = await failureOf(
      task('pack', async (ctx) => {
        await ctx.exec('sh', ['-c', 'mkdir -p build/tree && mkfifo build/tree/pipe'], { jobserver: false });
        walkTree(ctx.path('build/tree'), '');
      }),
    );
    expect(fail.reason).toEqual({ kind: 'exception', name: 'TarError' });
    expect(fail.message).toMatch(/^cannot archive '.*\/build\/tree\/pipe': it is not a regular file, directory or symlink$/);
    expect(fail.hint).toBe('remove the device, fifo or socket from the tree, or leave it out with the filter');
    // It is no longer wrapped as a bug.
    expect(fail.message).not.toMatch(/threw/);
  });

  it('a dpkg database error keeps its message and hint', async () => {
    const fail = await failureOf(
      task('owner', async (ctx) => {
        new DpkgDb(ctx.path('build/no-dpkg')).owner('/usr/lib/x86_64-linux-gnu/libc.so.6');
      }),
    );
    expect(fail.reason).toEqual({ kind: 'exception', name: 'DpkgError' });
    expect(fail.message).toBe(`cannot read the dpkg database at ${join(fail.logPath, '../../no-dpkg/info')}: ENOENT`);
    expect(fail.hint).toMatch(/needs a Debian or Ubuntu system/);
  });
});
