/** What the zip and wheel tests share: Debian's Python, a checked process runner, and catching an expected error. */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import type { PbError } from '../src/graph/errors.js';

/** Debian's Python, with its zipfile, wheel and venv modules; the python3 on PATH may be another one. */
export const PY = '/usr/bin/python3';
export const runEnv = { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8', PIP_DISABLE_PIP_VERSION_CHECK: '1' };

/** Run a command (argument array) and return its stdout; the test fails with its output when it exits non-zero. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, encoding: 'utf8', env: opts.env ?? runEnv });
  expect(r.status, `${cmd} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The error `f` throws; the test fails when it throws none. */
export function catchErr(f: () => unknown): PbError {
  try {
    f();
  } catch (e) {
    return e as PbError;
  }
  throw new Error('expected an error, none was thrown');
}
