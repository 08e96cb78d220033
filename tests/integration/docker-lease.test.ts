/**
 * One docker engine per run (src/packaging/docker/lease.ts), on a real
 * private dockerd: tasks that lease it at once share one daemon; it stops
 * when the last lets go, and its lines go only to tasks still running; an
 * interrupted task stops it for everyone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskContext } from '../../src/graph/index.js';
import { leaseEngine, type EngineLease } from '../../src/packaging/docker/lease.js';
import { processesWith, sleep } from '../helpers.js';

/** The dockerd processes whose command line names `dir` (its containerd names it too). */
const daemons = (dir: string): number => [...processesWith(dir).values()].filter((c) => /(^|\/)dockerd /.test(c)).length;

const top = mkdtempSync(join(tmpdir(), 'pb-lease-'));
// Every lease a test took is released here too, so a failed assertion leaves no daemon running.
const leases: EngineLease[] = [];
const take = async (...args: Parameters<typeof leaseEngine>): Promise<EngineLease> => {
  const l = await leaseEngine(...args);
  leases.push(l);
  return l;
};
afterAll(async () => {
  for (const l of leases) await l.release().catch(() => undefined);
  rmSync(top, { recursive: true, force: true });
}, 60_000);

/** What leaseEngine reads of a task's context: its log and its abort signal. */
function taskContext(lines: string[], signal = new AbortController().signal): TaskContext {
  let open = true;
  return {
    signal,
    log: (l: string) => {
      if (!open) throw new Error(`log written after the task ended: ${l}`);
      lines.push(l);
    },
    end: () => {
      open = false;
    },
  } as unknown as TaskContext & { end(): void };
}

const env = { PATH: process.env.PATH, DOCKER_HOST: `unix://${top}/none.sock` };

describe('one engine per run', () => {
  it('two tasks share one private daemon; it stops when the last one releases, logging only to a live task', async () => {
    const stateDir = join(top, 'engine-a');
    const a: string[] = [];
    const b: string[] = [];
    const ctxA = taskContext(a);
    const ctxB = taskContext(b);
    const [la, lb] = await Promise.all([take(ctxA, { daemon: 'auto', stateDir, env }), take(ctxB, { daemon: 'auto', stateDir, env })]);
    expect(la.engine).toBe(lb.engine);
    expect(la.engine.private).toBe(true);
    expect(daemons(stateDir)).toBe(1);
    expect(b).toContain('joining the docker engine another task of this run opened');
    expect(await la.engine.docker.ping()).toBeTruthy();
    await la.release();
    (ctxA as unknown as { end(): void }).end();
    // Still running for B.
    expect(await lb.engine.docker.ping()).toBeTruthy();
    await lb.release();
    expect(daemons(stateDir)).toBe(0);
    expect(b.some((l) => /private docker daemon stopped/.test(l))).toBe(true);
    expect(existsSync(join(stateDir, 'docker.sock'))).toBe(false);
    // The next lease starts a new one.
    const c: string[] = [];
    const lc = await take(taskContext(c), { daemon: 'auto', stateDir, env });
    expect(c.some((l) => /private docker daemon started/.test(l))).toBe(true);
    await lc.release();
    expect(daemons(stateDir)).toBe(0);
  }, 60_000);

  it('an interrupted task stops the daemon', async () => {
    const stateDir = join(top, 'engine-b');
    const abort = new AbortController();
    const l = await take(taskContext([], abort.signal), { daemon: 'auto', stateDir, env });
    expect(daemons(stateDir)).toBe(1);
    abort.abort();
    for (let i = 0; i < 100 && daemons(stateDir) > 0; i++) await sleep(100);
    expect(daemons(stateDir)).toBe(0);
    await l.release();
  }, 60_000);

  it('external with no daemon answering fails in one line, and the next lease tries again', async () => {
    const stateDir = join(top, 'engine-c');
    await expect(take(taskContext([]), { daemon: 'external', stateDir, env })).rejects.toThrow(/^no docker daemon answers at unix:\/\//);
    const l = await take(taskContext([]), { daemon: 'auto', stateDir, env });
    expect(l.engine.private).toBe(true);
    await l.release();
  }, 60_000);
});
