/**
 * `pyston-build run VARIANT SCRIPT [ARGS...]`: run a script with the
 * interpreter a target makes (its `program`, src/graph/task.ts), the way
 * `make foo_opt` runs `foo.py` with the opt build's python. The CLI builds
 * the target first through the engine; this module checks the words, runs
 * the program and turns how it ended into an exit status.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { constants } from 'node:os';
import { PbError, UsageError, errorMessage, type TaskGraph } from './graph/index.js';

/** The example every hint shows. */
const USAGE = 'pyston-build run VARIANT SCRIPT [ARGS...]';

/**
 * The script word, checked before anything builds: given, and a file
 * (relative paths are taken from `root`, where the script will run).
 */
export function checkScript(root: string, variant: string | undefined, script: string | undefined): string {
  if (variant === undefined) throw new UsageError('run needs a variant and a script', `usage: ${USAGE}, e.g. pyston-build run opt bench.py`);
  if (script === undefined) throw new UsageError(`run ${variant}: no script given`, `usage: ${USAGE}, e.g. pyston-build run ${variant} bench.py`);
  const path = resolve(root, script);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new UsageError(`script '${script}' does not exist (looked for ${path})`, 'a relative path is taken from the project directory (-C); check the name');
    throw new UsageError(`cannot use the script '${script}': ${errorMessage(e)}`, 'pass a readable Python file');
  }
  if (isDir) throw new UsageError(`script '${script}' is a directory (${path})`, `pass the script file itself, e.g. ${script.replace(/\/+$/, '')}/__main__.py`);
  return path;
}

/** The targets of a graph that make a program: the variants `run` takes. */
export function runnableTargets(graph: TaskGraph): string[] {
  return [...graph.targets.values()]
    .filter((t) => t.program !== undefined)
    .map((t) => t.name)
    .sort();
}

/**
 * The program of target `name`, relative to the root; a one-line error when
 * it makes none. `everything` gives the graph of every target, to list the
 * variants in that error (a graph built for one target knows only its own
 * program).
 */
export function programOf(graph: TaskGraph, name: string, everything: () => TaskGraph): string {
  const program = graph.targets.get(name)?.program;
  if (program !== undefined) return program;
  let valid: string[];
  try {
    valid = runnableTargets(everything());
  } catch {
    // The list is only the hint: a graph that cannot be built for every target leaves it out.
    valid = [];
  }
  const what = graph.targets.has(name) ? `'${name}' makes no interpreter to run a script with` : `unknown variant '${name}'`;
  throw new UsageError(what, valid.length > 0 ? `variants: ${valid.join(', ')}` : 'this project has no variant to run a script with');
}

/** How a process ended, as a shell reports it: its exit code, or 128 + the signal's number. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal === null ? undefined : constants.signals[signal];
  return 128 + (n ?? 0);
}

/**
 * Signals while the script runs. The terminal sends SIGINT and SIGQUIT to
 * its whole foreground process group, the script included, so we only
 * outlive them and report how the script ended. SIGTERM and SIGHUP are sent
 * to us alone (kill, a closed session): the script gets them too.
 */
const IGNORED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGQUIT'];
const FORWARDED: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];

/**
 * Run `program script args...` in `cwd` with our stdin, stdout and stderr,
 * and resolve with its exit status (a signal death is 128 + N). The program
 * gets our environment unchanged. `variant` names the target in errors.
 */
export function runProgram(variant: string, program: string, script: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done, fail) => {
    // `python -- -x.py`: a script whose name starts with a dash is not taken for an option.
    const child = spawn(program, [...(script.startsWith('-') ? ['--'] : []), script, ...args], { cwd, env, stdio: 'inherit' });
    const handlers = new Map<NodeJS.Signals, () => void>();
    for (const s of IGNORED) handlers.set(s, () => {});
    for (const s of FORWARDED) handlers.set(s, () => child.kill(s));
    for (const [s, h] of handlers) process.on(s, h);
    const cleanup = (): void => {
      for (const [s, h] of handlers) process.off(s, h);
    };
    child.on('error', (e) => {
      cleanup();
      fail(new PbError(`cannot start ${program}: ${errorMessage(e)}`, `rebuild it: pyston-build --force '${variant}:*' ${variant}`, 1));
    });
    child.on('close', (code, signal) => {
      cleanup();
      done(exitStatus(code, signal));
    });
  });
}
