/**
 * The command line's messages, on the real `pyston-build` command: bundled
 * flags, a word after a bare -j, -C on things that are not directories,
 * --force patterns that match nothing, and clean --no-wait.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, demoCli, demoProject, expectUsageError, processesWith, REPO, sleep, tmpProject } from '../helpers.js';

describe('the command line', () => {
  const root = demoProject();

  it('bundled short flags: -nj4 and -kj4 -n are a dry run with 4 jobs', () => {
    for (const argv of [['-nj4'], ['-kj4', '-n'], ['-j4n']]) {
      const r = demoCli(['-C', root, 'demo', ...argv]);
      if (argv[0] === '-j4n') {
        expectUsageError(r, "invalid value '4n' for -j: expected a whole number from 1 to 4096", /^hint: for example: -j 4$/);
        continue;
      }
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/would run for demo \(-j 4\)/);
    }
  });

  it('-j abc: the word is a target, as with make, and the error says both', () =>
    expectUsageError(
      cli(['-C', root, '-j', 'abc']),
      "unknown target 'abc' (a bare -j is followed by targets; a job count must be a whole number)",
      /^hint: for N jobs write -jN, -j N or --jobs=N; valid targets: /,
    ));

  it('-j demo builds demo with one job per CPU', () => {
    const r = demoCli(['-C', root, '-n', '-j', 'demo']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/for demo \(-j \d+\)/);
  });

  it('-C on a file, on a symlink loop, under a file, and empty', () => {
    const dir = tmpProject();
    writeFileSync(join(dir, 'file'), 'x');
    symlinkSync(join(dir, 'loop-b'), join(dir, 'loop-a'));
    symlinkSync(join(dir, 'loop-a'), join(dir, 'loop-b'));
    expectUsageError(cli(['-C', join(dir, 'file')]), `-C: '${join(dir, 'file')}' is not a directory`, /^hint: pass the project directory, not a file in it$/);
    expectUsageError(cli(['-C', join(dir, 'loop-a')]), `-C: '${join(dir, 'loop-a')}' is a loop of symbolic links`, /^hint: /);
    expectUsageError(cli(['-C', join(dir, 'file/sub')]), `-C: '${join(dir, 'file/sub')}' is not a directory: a part of the path is a file`, /^hint: /);
    expectUsageError(cli(['-C', '']), 'option -C needs a directory, got an empty string', /^hint: /);
  });

  it('-C repeated is cumulative', () => {
    const parent = join(root, '..');
    const r = demoCli(['-C', parent, '-C', root.slice(parent.length + 1), '-n', 'demo']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('would run for demo');
  });

  it('--force with a pattern that matches nothing warns; one that matches does not', () => {
    const r = demoCli(['-C', root, '-n', 'demo', '--force', 'demo:nothing*', '--force', 'demo:make']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("warning: --force 'demo:nothing*' matches no task of demo; nothing is forced by it (task ids: pyston-build -n --explain)\n");
  });

  it('clean --no-wait fails at once while a build holds the directory; clean waits without it', async () => {
    const project = tmpProject();
    const mark = `3.${process.pid % 1000}77`;
    const runner = join(REPO, 'tests/fixtures/runner.ts');
    const env = { ...process.env, PB_MARKER: mark };
    const first = spawn(process.execPath, ['--import', 'tsx', runner, 'sleepy', '-C', project], { cwd: REPO, env, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => first.on('exit', (code) => r(code)));
    for (let t = 0; [...processesWith(mark).values()].filter((c) => c.startsWith('sleep ')).length < 3; t++) {
      if (t > 1500) throw new Error('the build did not start');
      await sleep(20);
    }
    const noWait = spawnSync(process.execPath, ['--import', 'tsx', runner, 'sleepy', 'clean', '--no-wait', '-C', project], { cwd: REPO, encoding: 'utf8', env });
    expect(noWait.stderr).toMatch(/^error: build directory is in use by another pyston-build \(pid \d+\)\nhint: /);
    expect(noWait.status).toBe(2);
    const waited = spawnSync(process.execPath, ['--import', 'tsx', runner, 'sleepy', 'clean', '-C', project], { cwd: REPO, encoding: 'utf8', env });
    expect(waited.stderr).toContain('waiting for another pyston-build');
    expect(waited.status).toBe(0);
    expect(await exited).toBe(0);
  });
});
