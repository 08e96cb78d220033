/**
 * When stdout or stderr goes away during a build (`pyston-build | head`, a
 * closed terminal, a dropped ssh session): the build stops as on an
 * interrupt, exit 130, with no stack trace, no descendant left (setsid ones
 * included), no lock or FIFO left, and a rerun resumes. Real pipes whose
 * reading end is really closed, and a real pseudo-terminal that really goes
 * away (`script`).
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_CLI, demoProject, leftovers, processesWith, REPO, tmpProject, until } from '../helpers.js';

const RUNNER = join(REPO, 'tests/fixtures/runner.ts');
let counter = 0;
const marker = () => `300.${process.pid % 1000}5${String(++counter).padStart(2, '0')}`;
const sleeps = (mark: string) => [...processesWith(mark).values()].filter((c) => c.startsWith('sleep ')).length;

/** The rerun resumes: the ticks that finished are up to date, `long` was interrupted. */
function expectResumes(root: string): void {
  const dry = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, 'ticker', '-C', root, '-n'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, PB_MARKER: '0.01' } });
  expect(dry.status).toBe(0);
  const m = /(\d+) of 101 tasks would run/.exec(dry.stdout);
  expect(Number(m?.[1])).toBeLessThan(101);
  expect(dry.stdout).toMatch(/long\s+previous run interrupted/);
}

// github mode writes only failure blocks to stderr (warnings are annotations on stdout): no stderr case there.
const modes = [
  { name: 'plain', env: {}, lose: ['stdout', 'stderr'] },
  { name: 'github', env: { GITHUB_ACTIONS: 'true' }, lose: ['stdout'] },
] as const;

describe('standard output closes during a build', () => {
  for (const mode of modes) {
    for (const lost of mode.lose) {
      it(`${mode.name} mode, ${lost} closed: stops like an interrupt`, async () => {
        const root = tmpProject();
        const mark = marker();
        const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '', GITHUB_ACTIONS: '', ...mode.env, PB_MARKER: mark };
        if (mode.name === 'github') env.GITHUB_STEP_SUMMARY = join(root, 'summary.md');
        const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, 'ticker', '-C', root, '-j', '2'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let kept = '';
        const keep = lost === 'stdout' ? child.stderr! : child.stdout!;
        keep.on('data', (d: Buffer) => (kept += d.toString()));
        const gone = lost === 'stdout' ? child.stdout! : child.stderr!;
        gone.resume();
        const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
        await until(() => sleeps(mark) === 3, 'the long task');
        await until(() => existsSync(join(root, 'build/logs/tick3.log')), 'three ticks done');
        if (lost === 'stderr') await until(() => kept.includes('tick4'), 'tick4 to start, before tick5 warns');
        gone.destroy();
        const code = await exit;
        expect(kept).not.toMatch(/\n\s+at |internal error|Error:/);
        expect(code).toBe(130);
        if (lost === 'stdout') expect(kept).toContain('warning: stdout closed (EPIPE): stopping the build as on an interrupt');
        else expect(kept).toMatch(/interrupted by stderr closed \(EPIPE\)/);
        await until(() => processesWith(mark).size === 0, 'no descendant alive', 3000);
        expect(leftovers(root, child.pid!)).toEqual([]);
        expectResumes(root);
      });
    }
  }

  it('json mode writes nothing until the end: the build completes and the lost JSON is no crash', async () => {
    const root = tmpProject();
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, 'sleepy', '-C', root, '--json'], { cwd: REPO, env: { ...process.env, PB_MARKER: '0.3' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.destroy();
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(leftovers(root, child.pid!)).toEqual([]);
  });

  it('tty mode: the terminal goes away (SIGHUP, then EIO on every write): stops like an interrupt', async () => {
    const root = tmpProject();
    const mark = marker();
    // pyston-build leads the session on the terminal, as a command run by a login shell over ssh does.
    const wrapper = join(root, 'in-tty.sh');
    writeFileSync(wrapper, '#!/bin/sh\nexec "$PB_NODE" --import tsx "$PB_RUNNER" ticker -C "$PB_ROOT" -j 2\n');
    chmodSync(wrapper, 0o755);
    const rc = join(root, 'rc');
    const env = { ...process.env, FORCE_COLOR: '', GITHUB_ACTIONS: '', TERM: 'xterm', PB_MARKER: mark, PB_NODE: process.execPath, PB_RUNNER: RUNNER, PB_ROOT: root, PB_RC_FILE: rc };
    const term = spawn('script', ['-qfec', wrapper, '/dev/null'], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    term.stdout!.on('data', (d: Buffer) => (screen += d.toString()));
    await until(() => sleeps(mark) === 3, 'the long task');
    await until(() => existsSync(join(root, 'build/logs/tick3.log')), 'three ticks done');
    // The premise: pyston-build is on a terminal, in tty mode.
    const build = [...processesWith(`ticker -C ${root}`).keys()].find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(process.execPath));
    expect(readlinkSync(`/proc/${build}/fd/1`)).toMatch(/^\/dev\/pts\//);
    term.kill('SIGKILL');
    await until(() => existsSync(rc) && readFileSync(rc, 'utf8').endsWith('\n'), 'the build to exit', 15_000);
    expect(readFileSync(rc, 'utf8').trim()).toBe('130');
    expect(screen).not.toMatch(/\n\s+at |internal error/);
    await until(() => processesWith(mark).size === 0, 'no descendant alive', 3000);
    expect(leftovers(root, 0)).toEqual([]);
    expectResumes(root);
  });
});

describe('a command whose output cannot be written', () => {
  /** The real command with stdout on /dev/full (every write fails with ENOSPC), or on a pipe closed after the first line. */
  function run(args: string[], stdout: 'full' | 'closed-pipe'): Promise<{ code: number | null; err: string; first: string }> {
    const fd = stdout === 'full' ? openSync('/dev/full', 'w') : undefined;
    const child = spawn(process.execPath, [DEMO_CLI, ...args], { cwd: REPO, env: { ...process.env, GITHUB_ACTIONS: '', FORCE_COLOR: '' }, stdio: ['ignore', fd ?? 'pipe', 'pipe'] });
    if (fd !== undefined) closeSync(fd);
    let err = '';
    let first = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.once('data', (d: Buffer) => {
      first = d.toString().split('\n')[0]!;
      child.stdout!.destroy();
    });
    return new Promise((r) => child.on('exit', (code) => r({ code, err, first })));
  }

  it('a dry run or --help on a full disk fails in one line; piped into head, it is no error', async () => {
    const root = demoProject();
    for (const args of [['-C', root, '-n', 'demo'], ['--help']]) {
      const full = await run(args, 'full');
      expect(full.err).toBe('error: stdout closed (ENOSPC): the output is incomplete\nhint: free space or redirect the output elsewhere, and run the command again\n');
      expect(full.code).toBe(1);
      const head = await run(args, 'closed-pipe');
      expect(head.first).not.toBe('');
      expect(head.err).toBe('');
      expect(head.code).toBe(0);
    }
  });

  it('a build with stdout on a full disk stops like an interrupt: make stopped, no lock or FIFO, a rerun resumes', async () => {
    const root = demoProject();
    const r = await run(['-C', root, 'demo'], 'full');
    expect(r.err).toBe("warning: stdout closed (ENOSPC): stopping the build as on an interrupt; build/logs/ has every task's full output\n");
    expect(r.code).toBe(130);
    expect(processesWith(root).size).toBe(0);
    expect(leftovers(root, undefined)).toEqual([]);
    const again = spawnSync(process.execPath, [DEMO_CLI, '-C', root, 'demo'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, GITHUB_ACTIONS: '' } });
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/ok: \d ran, \d up to date/);
  });
});
