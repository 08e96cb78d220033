/**
 * Interrupts and the build lock, on a real pyston-build process (the CLI's
 * `main` driving a test graph, see tests/fixtures/runner.ts).
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leftovers, processesWith, REPO, tmpProject, until } from '../helpers.js';
import { loadState, statePath } from '../../src/graph/index.js';
import { ownCgroupDir } from '../../src/graph/contain.js';

const RUNNER = join(REPO, 'tests/fixtures/runner.ts');
let counter = 0;
const marker = (seconds: number) => `${seconds}.${process.pid % 1000}${String(++counter).padStart(3, '0')}`;

interface Proc {
  child: ChildProcess;
  out: () => string;
  exit: Promise<{ code: number | null; signal: string | null; at: number }>;
}

function runner(graph: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, graph, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env, GITHUB_ACTIONS: '', FORCE_COLOR: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<{ code: number | null; signal: string | null; at: number }>((r) => child.on('exit', (code, signal) => r({ code, signal, at: Date.now() })));
  return { child, out: () => text, exit };
}

const sleeps = (mark: string) => [...processesWith(mark).values()].filter((c) => c.startsWith('sleep ')).length;

function expectNoTrace(text: string): void {
  expect(text).not.toMatch(/\n\s+at |internal error|Error:/);
}

function dryRun(root: string, graph = 'sleepy') {
  return spawnSync(process.execPath, ['--import', 'tsx', RUNNER, graph, '-C', root, '-n'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, PB_MARKER: '0.01' } });
}

describe('interrupts', () => {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) {
    it(`${sig} during a long task exits 130 quickly, leaves no descendant, and keeps the state readable`, async () => {
      const root = tmpProject();
      const mark = marker(300);
      const p = runner('sleepy', ['-C', root, '-j', '2'], { PB_MARKER: mark });
      await until(() => sleeps(mark) === 3, 'the long task to start its three sleeps');
      const sent = Date.now();
      p.child.kill(sig);
      const { code, at } = await p.exit;
      expect(code).toBe(130);
      expect(at - sent).toBeLessThan(5000);
      expect(processesWith(mark).size).toBe(0);
      const { state, problem } = loadState(statePath(join(root, 'build')));
      expect(problem).toBeUndefined();
      expect(state.tasks.quick?.status).toBe('ok');
      expect(state.tasks.long?.status).toBe('interrupted');
      expect(p.out()).toMatch(new RegExp(`interrupted by ${sig}`));
      expectNoTrace(p.out());
      expect(leftovers(root, p.child.pid)).toEqual([]);
      // The rerun resumes: only the interrupted task is left.
      const dry = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, 'sleepy', '-C', root, '-n'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, PB_MARKER: mark } });
      expect(dry.status).toBe(0);
      expect(dry.stdout).toContain('1 of 2 tasks would run');
      expect(dry.stdout).toMatch(/long\s+previous run interrupted/);
    });
  }

  for (const sig of ['SIGINT', 'SIGHUP'] as const) {
    it(`${sig} during two make -j sub-builds stops every job`, async () => {
      const root = tmpProject();
      const mark = marker(200);
      const p = runner('make2', ['-C', root, '-j', '2'], { PB_MARKER: mark });
      await until(() => sleeps(mark) === 2, 'two make jobs');
      p.child.kill(sig);
      const { code } = await p.exit;
      expect(code).toBe(130);
      expectNoTrace(p.out());
      expect(processesWith(mark).size).toBe(0);
      expect(leftovers(root, p.child.pid)).toEqual([]);
      expect(loadState(statePath(join(root, 'build'))).problem).toBeUndefined();
    });
  }
});

describe('descendants that leave their process group', () => {
  for (const sig of ['SIGINT', 'SIGHUP'] as const) {
    it(`${sig}: a setsid child and a daemonized grandchild are stopped too`, async () => {
      const root = tmpProject();
      const mark = marker(300);
      const p = runner('escape', ['-C', root, '-j', '2'], { PB_MARKER: mark });
      await until(() => sleeps(mark) === 3, 'the three sleeps (two in sessions of their own)');
      // The premise: two of them really left the runner's process group.
      const groups = new Set([...processesWith(mark).keys()].map((pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]));
      expect(groups.size).toBeGreaterThanOrEqual(3);
      p.child.kill(sig);
      const { code } = await p.exit;
      expect(code).toBe(130);
      expectNoTrace(p.out());
      await until(() => processesWith(mark).size === 0, 'no descendant alive', 3000);
      expect(leftovers(root, p.child.pid)).toEqual([]);
      const dry = dryRun(root, 'escape');
      expect(dry.status).toBe(0);
      expect(dry.stdout).toMatch(/long\s+previous run interrupted/);
    });
  }

  it('a task that exits leaving a setsid daemon behind finishes, and the daemon is stopped', async () => {
    const root = tmpProject();
    const mark = marker(300);
    const p = runner('daemon', ['-C', root], { PB_MARKER: mark });
    const { code } = await p.exit;
    expect(code).toBe(0);
    expect(processesWith(mark).size).toBe(0);
    expect(leftovers(root, p.child.pid)).toEqual([]);
    expect(dryRun(root, 'daemon').stdout).toContain('0 of 1 tasks would run');
  });

  it('after kill -9 of pyston-build, the next run stops what it left running and removes its FIFO and lock files', async () => {
    const root = tmpProject();
    const mark = marker(300);
    const p = runner('escape', ['-C', root, '-j', '2'], { PB_MARKER: mark });
    await until(() => sleeps(mark) === 3, 'the long task');
    p.child.kill('SIGKILL');
    await p.exit;
    const dead = p.child.pid!;
    const sdir = join(root, 'build/.pyston-build');
    // What a kill -9 leaves: the lock, the FIFO, the orphaned sleeps.
    expect(readdirSync(sdir)).toEqual(expect.arrayContaining(['lock', `jobserver-${dead}.fifo`]));
    expect(sleeps(mark)).toBe(3);
    // An empty lock temp file of a dead process (a failed write), and one of a live process (a waiting build).
    const other = spawn('sleep', [`999.${process.pid % 1000}`]);
    writeFileSync(join(sdir, `lock.${dead}`), '');
    writeFileSync(join(sdir, `lock.${other.pid}`), '');
    // A state file it was writing when it was killed.
    writeFileSync(join(sdir, `state.json.tmp-${dead}`), '{"half');
    try {
      const rerun = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, 'escape', '-C', root], { cwd: REPO, encoding: 'utf8', env: { ...process.env, PB_MARKER: '0.01' } });
      expectNoTrace(rerun.stdout + rerun.stderr);
      expect(rerun.status).toBe(0);
      expect(rerun.stdout + rerun.stderr).toContain(`removed a stale lock`);
      expect(rerun.stdout).toMatch(/1 ran, 1 up to date/);
      if (ownCgroupDir()) expect(rerun.stderr).toMatch(/stopped \d+ processes that a killed earlier run had left running/);
      expect(readdirSync(sdir).filter((n) => n.startsWith('lock') || n.startsWith('jobserver-') || n.includes('.tmp-'))).toEqual([`lock.${other.pid}`]);
      expect(leftovers(root, dead)).toEqual([`lock.${other.pid}`]);
      if (ownCgroupDir()) expect(sleeps(mark)).toBe(0);
    } finally {
      other.kill('SIGKILL');
    }
  });
});

describe('build lock', () => {
  it('a second build on the same directory fails clearly with --no-wait, and waits without it', async () => {
    const root = tmpProject();
    const mark = marker(3);
    const first = runner('sleepy', ['-C', root], { PB_MARKER: mark });
    await until(() => sleeps(mark) === 3, 'the first build to be running');
    const second = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, 'sleepy', '-C', root, '--no-wait'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, PB_MARKER: mark } });
    expect(second.status).toBe(2);
    expect(second.stderr).toMatch(/^error: build directory is in use by another pyston-build \(pid \d+\)\nhint: /);
    const third = runner('sleepy', ['-C', root], { PB_MARKER: mark });
    await until(() => third.out().includes('waiting for another pyston-build'), 'the waiting message');
    expect((await first.exit).code).toBe(0);
    expect((await third.exit).code).toBe(0);
    expect(third.out()).toMatch(/0 ran, 2 up to date|2 up to date/);
  });

  it('a lock left by a dead process is stale and taken over', async () => {
    const root = tmpProject();
    const dead = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
    mkdirSync(join(root, 'build/.pyston-build'), { recursive: true });
    writeFileSync(join(root, 'build/.pyston-build/lock'), JSON.stringify({ pid: Number(dead), start: '1' }));
    const r = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, 'sleepy', '-C', root], { cwd: REPO, encoding: 'utf8', env: { ...process.env, PB_MARKER: '0.1' } });
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toContain(`removed a stale lock`);
    expect(r.stdout + r.stderr).toContain(`left by pid ${dead}, which is gone`);
  });
});

describe.skipIf(process.getuid?.() !== 0)('a lock write that fails', () => {
  it('leaves no empty lock.<pid> temp file behind (a full build/.pyston-build), and the next run works', () => {
    const root = tmpProject();
    const sdir = join(root, 'build/.pyston-build');
    mkdirSync(sdir, { recursive: true });
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', sdir]).status).toBe(0);
    try {
      // Fill it: the lock's temp file can be created, but not written.
      spawnSync('dd', ['if=/dev/zero', `of=${join(sdir, 'fill')}`, 'bs=4k'], { stdio: 'ignore' });
      const r = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, 'sleepy', '-C', root], { cwd: REPO, encoding: 'utf8', env: { ...process.env, PB_MARKER: '0.01' } });
      expect(r.status).not.toBe(0);
      expect(readdirSync(sdir).filter((n) => n.startsWith('lock'))).toEqual([]);
    } finally {
      spawnSync('umount', [sdir]);
    }
    const again = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, 'sleepy', '-C', root], { cwd: REPO, encoding: 'utf8', env: { ...process.env, PB_MARKER: '0.01' } });
    expect(again.status).toBe(0);
    expect(leftovers(root, undefined)).toEqual([]);
  });
});

describe('exec timeouts', () => {
  it('a command past its timeoutMs is stopped with its whole group and fails in one line', async () => {
    const { build, graphOf } = await import('../helpers.js');
    const root = tmpProject();
    const mark = marker(97);
    const task = {
      id: 'hang',
      deps: [],
      inputs: {},
      outputs: [],
      async run(ctx: import('../../src/graph/index.js').TaskContext) {
        await ctx.exec('sh', ['-c', `sleep ${mark} & sleep ${mark}; wait`], { jobserver: false, timeoutMs: 500 });
      },
    };
    const t0 = Date.now();
    const r = await build(graphOf([task]), root);
    const fail = r.events.find((e) => e.type === 'fail');
    expect(fail?.type === 'fail' && [fail.message, fail.hint]).toEqual(['sh timed out after 0.5 s', 'it may hang: see its log; raise the timeout if it is just slow']);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await until(() => sleeps(mark) === 0, 'no sleep left', 5_000);
  });
});
