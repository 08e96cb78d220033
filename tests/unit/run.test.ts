/** src/run.ts: how a process's end becomes an exit status, on real python3 processes. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { exitStatus, runProgram } from '../../src/run.js';
import { tmpProject, write } from '../helpers.js';

describe('exit status of a script', () => {
  it.each([
    [0, null, 0],
    [3, null, 3],
    [null, 'SIGINT', 130],
    [null, 'SIGKILL', 137],
    [null, 'SIGSEGV', 139],
  ] as const)('code %s signal %s gives %i', (code, signal, status) => expect(exitStatus(code, signal)).toBe(status));

  it('real python3 scripts: an exit code, an uncaught exception, a signal death', async () => {
    const dir = tmpProject('pb-runprog-');
    write(dir, 'exit.py', 'import sys; sys.exit(42)\n');
    write(dir, 'raise.py', 'raise SystemError("boom")\n');
    write(dir, 'abort.py', 'import os; os.abort()\n');
    const env = { PATH: '/usr/bin:/bin' };
    expect(await runProgram('t', '/usr/bin/python3', 'exit.py', [], dir, env)).toBe(42);
    expect(await runProgram('t', '/usr/bin/python3', join(dir, 'raise.py'), [], '/', env)).toBe(1);
    expect(await runProgram('t', '/usr/bin/python3', 'abort.py', [], dir, env)).toBe(134);
  });

  it('a program that cannot start is a one-line error naming it', async () => {
    await expect(runProgram('opt', '/nonexistent/python', 'x.py', [], '/', {})).rejects.toThrow('cannot start /nonexistent/python: spawn /nonexistent/python ENOENT');
  });
});
