/**
 * `pyston-build run VARIANT SCRIPT [ARGS...]`, on the real CLI entry with a
 * test graph (tests/fixtures/runner.ts, graph `venv`): `py:venv` makes a
 * real venv of the system python3 through the engine, and `run py` builds
 * it when it is not up to date, then runs a real Python script with it.
 * The product's own messages (no script, a missing script, a directory,
 * run --help) are checked on the real `pyston-build` command.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cli, demoProject, expectUsageError, REPO, tmpProject, until, write } from '../helpers.js';

const RUNNER = join(REPO, 'tests/fixtures/runner.ts');

function run(root: string, args: string[], input = '') {
  return spawnSync(process.execPath, ['--import', 'tsx', RUNNER, 'venv', '-C', root, ...args], { cwd: REPO, encoding: 'utf8', input, timeout: 60_000 });
}

/** A script that prints what it was given, echoes stdin, and exits with its first argument. */
const ECHO = `import sys
print("argv", sys.argv)
print("prefix", sys.prefix)
print("stdin", repr(sys.stdin.read()))
sys.exit(int(sys.argv[1]))
`;

describe('pyston-build run on a test graph', () => {
  const root = tmpProject('pb-run-');
  write(root, 'tools/echo.py', ECHO);

  it('builds the variant first, then runs the script with its python: the arguments untouched, stdin and stdout passed through, the script’s exit status', () => {
    const r = run(root, ['-j2', 'run', 'py', 'tools/echo.py', '7', '-j', '--set', 'x=1', '--', '-n', '--help'], 'line one\n');
    expect(r.stderr).toMatch(/^\[start\] py:venv \(new\)$/m);
    expect(r.status, r.stderr).toBe(7);
    // stdout is the script's alone: the build reported on stderr.
    expect(r.stdout).toBe(`argv ['tools/echo.py', '7', '-j', '--set', 'x=1', '--', '-n', '--help']\nprefix ${join(root, 'build/py_env')}\nstdin 'line one\\n'\n`);
  });

  it('up to date: nothing rebuilt and not a line of ours, the venv untouched', () => {
    const python = join(root, 'build/py_env/pyvenv.cfg');
    const before = statSync(python).ino;
    const r = run(root, ['run', 'py', 'tools/echo.py', '0']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^argv \['tools\/echo.py', '0'\]$/m);
    expect(statSync(python).ino).toBe(before);
  });

  it('an output gone: the variant is rebuilt before the script runs', () => {
    rmSync(join(root, 'build/py_env'), { recursive: true });
    const r = run(root, ['run', 'py', 'tools/echo.py', '4']);
    expect(r.stderr).toMatch(/^\[start\] py:venv \(output .*missing/m);
    expect(r.status, r.stderr).toBe(4);
    expect(existsSync(join(root, 'build/py_env/bin/python'))).toBe(true);
  });

  it('-- ends our options before the variant or before the script; a dash-named script runs', () => {
    write(root, '-dash.py', 'import sys; print("dash", sys.argv[1:])\n');
    expect(run(root, ['run', '--', 'py', 'tools/echo.py', '3']).status).toBe(3);
    const r = run(root, ['run', 'py', '--', '-dash.py', '--x']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("dash ['--x']\n");
  });

  it('--explain before running prints the plan on stderr', () => {
    const r = run(root, ['--explain', 'run', 'py', 'tools/echo.py', '0']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/up to date/);
    expect(r.stdout).not.toMatch(/up to date/);
  });

  it('a script killed by a signal gives 128 + N, as a shell does', () => {
    write(root, 'die.py', 'import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n');
    expect(run(root, ['run', 'py', 'die.py']).status).toBe(143);
    write(root, 'segv.py', 'import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n');
    expect(run(root, ['run', 'py', 'segv.py']).status).toBe(137);
  });

  it('SIGTERM sent to pyston-build reaches the script, and its status is ours', async () => {
    const ready = join(root, 'ready');
    write(
      root,
      'wait.py',
      `import signal, sys, time\ndef bye(n, f):\n    print("got", signal.Signals(n).name, flush=True)\n    sys.exit(5)\nsignal.signal(signal.SIGTERM, bye)\nopen(${JSON.stringify(ready)}, "w").close()\ntime.sleep(60)\n`,
    );
    const p = spawn(process.execPath, ['--import', 'tsx', RUNNER, 'venv', '-C', root, 'run', 'py', 'wait.py'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const status = new Promise<number | null>((r) => p.on('close', (code) => r(code)));
    await until(() => existsSync(ready), 'the script to start');
    p.kill('SIGTERM');
    expect(await status).toBe(5);
    expect(out).toBe('got SIGTERM\n');
  });

  it('a failed build: exit 1, and the script does not run', () => {
    const r = run(root, ['run', 'broken', 'tools/echo.py', '0']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^\[fail\] broken:make /m);
    expect(r.stdout).toBe('');
  });

  it('unknown variant, and a target that makes no interpreter: the variants listed', () => {
    expectUsageError(run(root, ['run', 'nope', 'tools/echo.py']), "unknown variant 'nope'", /^hint: variants: broken, py$/);
    expectUsageError(run(root, ['run', 'all', 'tools/echo.py']), "'all' makes no interpreter to run a script with", /^hint: variants: broken, py$/);
  });

  it('-n and --json do not apply', () => {
    expectUsageError(run(root, ['-n', 'run', 'py', 'tools/echo.py']), '-n does not apply to run: it builds the variant, then runs the script', /^hint: .*-n --explain VARIANT$/);
    expectUsageError(run(root, ['run', '--json', 'py', 'tools/echo.py']), '--json does not apply to run: it builds the variant, then runs the script', /^hint: /);
  });
});

describe('pyston-build run: the real command’s messages', () => {
  const root = demoProject();
  mkdirSync(join(root, 'scripts'));

  it('no variant, no script', () => {
    expectUsageError(cli(['-C', root, 'run']), 'run needs a variant and a script', /^hint: usage: pyston-build run VARIANT SCRIPT \[ARGS\.\.\.\]/);
    expectUsageError(cli(['-C', root, 'run', 'opt']), 'run opt: no script given', /^hint: usage: pyston-build run VARIANT SCRIPT \[ARGS\.\.\.\], e\.g\. pyston-build run opt bench\.py$/);
  });

  it('a missing script, and a directory, named with the path they were looked for at', () => {
    expectUsageError(cli(['-C', root, 'run', 'opt', 'nope.py']), `script 'nope.py' does not exist (looked for ${join(root, 'nope.py')})`, /^hint: a relative path is taken from the project directory/);
    expectUsageError(cli(['-C', root, 'run', 'opt', 'scripts']), `script 'scripts' is a directory (${join(root, 'scripts')})`, /^hint: pass the script file itself, e\.g\. scripts\/__main__\.py$/);
  });

  it("an unknown variant lists the product's variants", () => {
    write(root, 'x.py', 'print(1)\n');
    expectUsageError(cli(['-C', root, 'run', 'nope', 'x.py']), "unknown variant 'nope'", /^hint: variants: dbg, dbgshared, opt, optshared, release, releaseshared, unopt, unoptshared$/);
  });

  it('run --help documents it; pyston-build --help names it', () => {
    const r = cli(['run', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: pyston-build \[options\] run VARIANT SCRIPT \[ARGS\.\.\.\]$/m);
    expect(r.stdout).toMatch(/128\+N/);
    expect(cli(['--help']).stdout).toMatch(/^ {7}pyston-build run VARIANT SCRIPT \[ARGS\.\.\.\] /m);
  });
});
