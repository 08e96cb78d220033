/**
 * argv -> command. Exit codes: 0 success, 1 a task failed, 2 bad usage or
 * bad config (nothing ran), 130 interrupted (SIGINT, SIGTERM, SIGHUP, SIGQUIT, or
 * the output went away). No build logic lives here.
 */
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { loadConfig, describeConfig, type BuildConfig } from './config.js';
import { buildGraph, checkTargets, type GraphRequest } from './targets.js';
import { doctor, setup } from './doctor.js';
import { EventBus, PbError, UsageError, errorMessage, planBuild, resolveTargets, runBuild, topoClosure, validateGraph, type BuildSummary, type EngineOptions, type TaskGraph } from './graph/index.js';
import { cleanBuildDir, cleanTasks } from './graph/clean.js';
import { asFsError } from './graph/fserror.js';
import { projectPathProblem } from './graph/fsguard.js';
import { forceMatcher } from './graph/plan.js';
import { exportGraph, GRAPH_FORMATS, type GraphFormat } from './graph/export.js';
import { planJson, planText } from './report/dryrun.js';
import { safeWrite, watchStreams } from './report/streams.js';
import { checkScript, programOf, runProgram } from './run.js';

const COMMANDS = ['build', 'graph', 'clean', 'doctor', 'setup', 'run'] as const;
type Command = (typeof COMMANDS)[number];

interface Args {
  command: Command;
  targets: string[];
  jobs: number;
  dryRun: boolean;
  explain: boolean;
  json: boolean;
  keepGoing: boolean;
  force: string[];
  directory: string;
  config: string | undefined;
  sets: string[];
  format: GraphFormat;
  debug: boolean;
  noWait: boolean;
  verifyOutputs: boolean;
  help: boolean;
  version: boolean;
  /** The word after a bare `-j`, taken as a target (see {@link explainBareJobs}). */
  wordAfterBareJobs?: string | undefined;
  /** `run`: the script, as typed, and the words after it (the script's own, untouched). */
  script?: string | undefined;
  scriptArgs?: string[];
}

const HELP = `pyston-build: build and release optimized Python interpreters

usage: pyston-build [options] [TARGET...]        build targets (default: all)
       pyston-build graph [--format dot|json|mermaid] [TARGET...]
       pyston-build clean [TARGET...]            remove build outputs (all of build/ without targets)
       pyston-build doctor                       check the tools the build needs
       pyston-build setup [TARGET...]            install the Debian packages those targets need (as root)
       pyston-build run VARIANT SCRIPT [ARGS...] build VARIANT if needed, run SCRIPT with its python (run --help)

options:
  -j, --jobs [N]        run at most N jobs at once, sub-builds included (default and bare -j: CPUs)
  -n, --dry-run         print the tasks that would run, in order, with the reason for each
      --explain         with -n: list up-to-date tasks and every changed input; without: print that before building
      --json            machine-readable output (with -n: the plan; otherwise: the build summary)
  -k, --keep-going      after a failure, keep building everything that does not depend on it
      --force PATTERN   rerun the tasks whose id matches PATTERN (* is a wildcard); repeatable
  -C, --directory DIR   run as if started in DIR
      --config FILE     read config from FILE instead of DIR/pyston-build.toml
      --set KEY=VALUE   override one config value; repeatable
      --source DIR|ARCHIVE  build this tree (default: the project dir if it is a checkout, else CPython 3.11.2)
      --profile-task T  PGO training: runtime (default), regrtest, or a command
      --no-wait         fail at once instead of waiting when another build holds the build directory
      --verify-outputs  digest every file of every output directory (default: only when its directories changed)
      --debug           show stack traces for internal errors
  -h, --help            show this help
      --version         print the version

short options bundle (-nkj4); -j 4, -j4, --jobs=4 and a bare -j all work; -C DIR repeats
cumulatively (-C a -C b is a/b); a unique prefix of a long option is enough; -- ends options.

exit codes: 0 success, 1 a task failed, 2 bad usage or config,
            130 interrupted: SIGINT, SIGTERM, SIGHUP, SIGQUIT, or stdout/stderr closed (every child is stopped first)
logs: build/logs/<task>.log   trace: build/.pyston-build/trace.json`;

const RUN_HELP = `usage: pyston-build [options] run VARIANT SCRIPT [ARGS...]

Runs SCRIPT with VARIANT's interpreter, build/<VARIANT>_env/bin/python (like
make's SCRIPT_VARIANT rules: pyston-build run opt foo.py is make foo_opt).
VARIANT is built first when it is not up to date, exactly as
pyston-build VARIANT builds it; its progress goes to stderr, and nothing is
printed when it is up to date.

- SCRIPT is a path, relative to the project directory (-C, default: the
  current one); it runs there, with stdin, stdout, stderr and the
  environment passed through.
- Options before SCRIPT are pyston-build's (-j, -C, --set, --explain, ...);
  every word after SCRIPT is the script's, untouched. -- ends
  pyston-build's options too: pyston-build run opt -- -odd-name.py.
- The exit status is the script's; a script killed by signal N gives
  128+N, as in a shell. A failed build exits 1 (usage errors: 2) and the
  script does not run.
- SIGINT and SIGQUIT from the terminal reach the script; SIGTERM and
  SIGHUP sent to pyston-build are passed on to it.

options that do not apply to run: -n, --json.`;

/**
 * The command line, as GNU getopt and make read it:
 * - long options: `--jobs=4`, `--jobs 4`, `--set K=V`, `--set=K=V`; a unique
 *   prefix is enough (`--keep` for `--keep-going`); a flag given `=value` is an error;
 * - short options bundle: `-nkj4` is `-n -k -j4`; in a bundle, a short option
 *   that takes a value takes the rest of the word (`-Cdir`, `-j4`), so
 *   `-j4n` is the bad job count `4n`, as with make;
 * - `-j` and `--jobs` take an optional count: attached (`-j4`, `--jobs=4`) or
 *   the next word when it looks like a number (`-j 4`, `-j -3` is then an
 *   error); otherwise a bare `-j` means one job per CPU and the next word is a
 *   target, as with make (`-j demo`);
 * - `-C DIR` repeated is cumulative (`-C a -C b` is `a/b`), as with make;
 * - options and targets mix in any order; `--` ends the options.
 */
const VALUE_OPTS = new Set(['force', 'directory', 'config', 'set', 'format', 'source', 'profile-task']);
const FLAG_OPTS = new Set(['dry-run', 'explain', 'json', 'keep-going', 'debug', 'no-wait', 'verify-outputs', 'help', 'version']);
const LONG_OPTS = ['jobs', ...VALUE_OPTS, ...FLAG_OPTS].sort();
const SHORT: Record<string, string> = { j: 'jobs', n: 'dry-run', k: 'keep-going', C: 'directory', h: 'help' };

function parsePositiveInt(v: string, opt: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 4096) throw new UsageError(`invalid value '${v}' for ${opt}: expected a whole number from 1 to 4096`, `for example: ${opt} 4`);
  return Number(v);
}

/** A long option's full name from what was typed (exact, or a unique prefix). */
function longName(typed: string): string {
  if (LONG_OPTS.includes(typed)) return typed;
  const candidates = typed === '' ? [] : LONG_OPTS.filter((o) => o.startsWith(typed));
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length > 1) throw new UsageError(`option '--${typed}' is ambiguous: it could be ${candidates.map((c) => `--${c}`).join(', ')}`, 'type more of its name; see pyston-build --help');
  throw new UsageError(`unknown option '--${typed === '' ? '=' : typed}'`, 'see pyston-build --help');
}

/** A word that a bare `-j`/`--jobs` takes as its count rather than as a target. */
const looksLikeCount = (w: string | undefined): boolean => w !== undefined && /^-?\d/.test(w);

export function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    command: 'build',
    targets: [],
    jobs: availableParallelism(),
    dryRun: false,
    explain: false,
    json: false,
    keepGoing: false,
    force: [],
    directory: '.',
    config: undefined,
    sets: [],
    format: 'dot',
    debug: false,
    noWait: false,
    verifyOutputs: false,
    help: false,
    version: false,
  };
  const positional: string[] = [];
  let formatGiven = false;
  let i = 0;
  const setValue = (name: string, v: string, shown: string): void => {
    switch (name) {
      case 'jobs':
        a.jobs = parsePositiveInt(v, shown);
        a.wordAfterBareJobs = undefined;
        break;
      case 'force':
        a.force.push(v);
        break;
      case 'directory':
        if (v === '') throw new UsageError(`option ${shown} needs a directory, got an empty string`, 'for example: -C path/to/project');
        a.directory = isAbsolute(v) ? v : join(a.directory, v);
        break;
      case 'config':
        a.config = v;
        break;
      case 'set':
        a.sets.push(v);
        break;
      case 'source':
        a.sets.push(`source=${v}`);
        break;
      case 'profile-task':
        a.sets.push(`pgo.task=${v}`);
        break;
      case 'format':
        if (!(GRAPH_FORMATS as readonly string[]).includes(v)) throw new UsageError(`invalid value '${v}' for --format`, `valid formats: ${GRAPH_FORMATS.join(', ')}`);
        a.format = v as GraphFormat;
        formatGiven = true;
        break;
    }
  };
  const setFlag = (name: string): void => {
    const key = name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()) as 'dryRun' | 'explain' | 'json' | 'keepGoing' | 'debug' | 'noWait' | 'verifyOutputs' | 'help' | 'version';
    a[key] = true;
  };
  /** A bare -j/--jobs: take the next word as the count if it looks like one. */
  const bareJobs = (shown: string): void => {
    const next = argv[i + 1];
    if (next !== undefined && looksLikeCount(next)) {
      i++;
      setValue('jobs', next, shown);
      return;
    }
    a.jobs = availableParallelism();
    a.wordAfterBareJobs = next !== undefined && !next.startsWith('-') ? next : undefined;
  };
  /** The value of an option that needs one: attached, or the next word. */
  const needValue = (attached: string | undefined, shown: string): string => {
    if (attached !== undefined) return attached;
    const next = argv[++i];
    if (next === undefined) throw new UsageError(`option ${shown} needs a value`, 'see pyston-build --help');
    return next;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = longName(eq < 0 ? arg.slice(2) : arg.slice(2, eq));
      const inline = eq < 0 ? undefined : arg.slice(eq + 1);
      const shown = `--${name}`;
      if (name === 'jobs') {
        if (inline !== undefined) setValue('jobs', inline, shown);
        else bareJobs(shown);
      } else if (FLAG_OPTS.has(name)) {
        if (inline !== undefined) throw new UsageError(`option ${shown} takes no value (got '${inline}')`, 'see pyston-build --help');
        setFlag(name);
      } else {
        setValue(name, needValue(inline, shown), shown);
      }
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      // `run VARIANT SCRIPT`: option parsing stops at the script; every word after it is the script's.
      if (positional[0] === 'run' && positional.length === 3) {
        positional.push(...argv.slice(i + 1));
        break;
      }
      continue;
    }
    // A bundle of short options: -n, -nk, -nj4, -Cdir, -kC dir.
    for (let k = 1; k < arg.length; k++) {
      const c = arg[k]!;
      const name = SHORT[c];
      const shown = `-${c}`;
      if (!name) throw new UsageError(`unknown option '${shown}'${arg.length > 2 ? ` in '${arg}'` : ''}`, 'see pyston-build --help');
      const rest = k + 1 < arg.length ? arg.slice(k + 1) : undefined;
      if (FLAG_OPTS.has(name)) {
        setFlag(name);
        continue;
      }
      if (name === 'jobs') {
        if (rest !== undefined) setValue('jobs', rest, shown);
        else bareJobs(shown);
      } else {
        setValue(name, needValue(rest, shown), shown);
      }
      break;
    }
  }
  if (positional.length > 0 && (COMMANDS as readonly string[]).includes(positional[0]!)) a.command = positional.shift() as Command;
  a.targets = positional;
  if (a.command === 'run') {
    a.targets = positional.slice(0, 1);
    a.script = positional[1];
    a.scriptArgs = positional.slice(2);
    for (const [on, opt] of [
      [a.dryRun, '-n'],
      [a.json, '--json'],
    ] as const) {
      if (on && !a.help) throw new UsageError(`${opt} does not apply to run: it builds the variant, then runs the script`, 'to see what building it would do: pyston-build -n --explain VARIANT');
    }
  }
  if (formatGiven && a.command !== 'graph') throw new UsageError('--format only applies to the graph command', 'pyston-build graph --format dot|json|mermaid');
  if (a.command === 'doctor' && a.targets.length > 0) throw new UsageError(`doctor takes no targets (got '${a.targets[0]}')`, 'run: pyston-build doctor');
  return a;
}

/**
 * `-j demo` builds `demo` with one job per CPU, as with make. When that word
 * is not a target either, say both things in the error.
 */
function explainBareJobs(e: unknown, args: Args | undefined): unknown {
  const word = args?.wordAfterBareJobs;
  if (!word || !(e instanceof UsageError) || e.message !== `unknown target '${word}'`) return e;
  return new UsageError(
    `unknown target '${word}' (a bare -j is followed by targets; a job count must be a whole number)`,
    `for N jobs write -jN, -j N or --jobs=N; ${e.hint ?? 'see pyston-build --help'}`,
  );
}

/**
 * `-C DIR` must name a directory we can enter: say which of the ways it
 * fails, with the path.
 */
function checkDirectory(root: string, given: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(root).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`-C: directory '${given}' does not exist`, 'pass an existing project directory');
    if (code === 'ELOOP') throw new UsageError(`-C: '${given}' is a loop of symbolic links`, 'pass the project directory itself, or fix the link');
    if (code === 'ENOTDIR') throw new UsageError(`-C: '${given}' is not a directory: a part of the path is a file`, 'pass an existing project directory');
    if (code === 'EACCES') throw new UsageError(`-C: permission denied for '${given}'`, 'run as a user who can read that directory');
    throw new UsageError(`-C: cannot use '${given}': ${errorMessage(e)}`, 'pass an existing project directory');
  }
  if (!isDir) throw new UsageError(`-C: '${given}' is not a directory`, 'pass the project directory, not a file in it');
}

/** A `--force` pattern that matches no task of the targets does nothing: say so. */
function warnUnmatchedForce(graph: TaskGraph, targets: readonly string[], patterns: readonly string[], io: Io): void {
  if (patterns.length === 0) return;
  const ids = topoClosure(graph, resolveTargets(graph, targets)).map((t) => t.id);
  for (const p of patterns) {
    if (!ids.some(forceMatcher([p]))) io.err.write(`warning: --force '${p}' matches no task of ${targets.join(' ')}; nothing is forced by it (task ids: pyston-build -n --explain)\n`);
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export interface Io {
  readonly out: NodeJS.WritableStream & { isTTY?: boolean };
  readonly err: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /**
   * The graph to build. Default: src/targets.ts. Examples (examples/demo),
   * benchmarks and test runners pass their own. `request.targets` names
   * what the command needs (undefined: every target); a graph may build
   * only those.
   */
  readonly makeGraph?: (config: BuildConfig, root: string, env: NodeJS.ProcessEnv, request: GraphRequest) => TaskGraph;
}

/** The current directory, or '' when it was removed under us (then only an absolute -C works). */
function currentDir(): string {
  try {
    return process.cwd();
  } catch {
    return '';
  }
}

const defaultIo = (): Io => ({ out: process.stdout, err: process.stderr, env: process.env, cwd: currentDir() });

/** Run the CLI; resolves with the exit code. */
export async function main(argv: readonly string[], io: Partial<Io> = {}): Promise<number> {
  const full: Io = { ...defaultIo(), ...io };
  return mainWith(argv, full);
}

async function mainWith(argv: readonly string[], io: Io): Promise<number> {
  let debug = argv.includes('--debug');
  let parsed: Args | undefined;
  // A closed stdout or stderr never crashes a command; during a build it stops the build (report/streams.ts).
  const outputLost = new AbortController();
  const unwatch = watchStreams([io.out, io.err], (reason) => outputLost.abort(reason));
  try {
    const args = parseArgs(argv);
    parsed = args;
    debug = args.debug;
    if (args.help && args.command === 'run') {
      io.out.write(RUN_HELP + '\n');
      return await outputFailure(outputLost.signal, io);
    }
    if (args.help) {
      io.out.write(
        HELP +
          '\n\nconfig keys (pyston-build.toml, --set KEY=VALUE):\n' +
          describeConfig()
            .map((l) => `  ${l}`)
            .join('\n') +
          '\n',
      );
      return await outputFailure(outputLost.signal, io);
    }
    if (args.version) {
      io.out.write(`pyston-build ${version()}\n`);
      return await outputFailure(outputLost.signal, io);
    }
    const code = await dispatch(args, io, outputLost);
    return code === 0 ? await outputFailure(outputLost.signal, io) : code;
  } catch (e) {
    return reportError(explainBareJobs(e, parsed), io, debug);
  } finally {
    unwatch();
  }
}

/**
 * A command that succeeded but whose output could not be written fails,
 * except for a closed pipe: `pyston-build -n | head` is no error.
 */
async function outputFailure(lost: AbortSignal, io: Io): Promise<number> {
  // Let a failed last write report itself.
  await new Promise((r) => setImmediate(r));
  const reason = lost.aborted ? String(lost.reason) : undefined;
  if (reason === undefined || reason.includes('EPIPE')) return 0;
  safeWrite(io.err, `error: ${reason}: the output is incomplete\nhint: free space or redirect the output elsewhere, and run the command again\n`);
  return 1;
}

function reportError(e: unknown, io: Io, debug: boolean): number {
  // A filesystem error from anywhere is one line naming the path, not a bug report.
  // The engine converts its own (exit 1 once a task started); one that gets here came before any task.
  e = asFsError(e, undefined, 2);
  if (e instanceof PbError) {
    io.err.write(`error: ${e.message}\n`);
    if (e.hint) io.err.write(`hint: ${e.hint}\n`);
    if (debug && e.stack) io.err.write(e.stack + '\n');
    return e.exitCode;
  }
  io.err.write(`error: internal error: ${errorMessage(e)}\n`);
  io.err.write(debug && e instanceof Error && e.stack ? e.stack + '\n' : 'hint: this is a bug in pyston-build; rerun with --debug for a stack trace and report it\n');
  return 1;
}

async function dispatch(args: Args, io: Io, outputLost: AbortController): Promise<number> {
  if (io.cwd === '' && !isAbsolute(args.directory))
    throw new UsageError('the current directory no longer exists (it was removed or renamed)', 'cd to an existing directory, or pass -C with an absolute path');
  const root = resolve(io.cwd, args.directory);
  checkDirectory(root, args.directory);
  const buildDir = resolve(root, 'build');
  const { config } = await loadConfig({ root, env: io.env, sets: args.sets, ...(args.config !== undefined ? { file: args.config } : {}) });
  const targets = args.targets.length > 0 ? args.targets : ['all'];
  // Building the graph has no side effects; it builds what the command needs.
  const makeGraph = (request: GraphRequest): TaskGraph => (io.makeGraph ?? buildGraph)(config, root, io.env, request);

  switch (args.command) {
    case 'graph': {
      const graph = makeGraph(args.targets.length > 0 ? { targets: args.targets } : {});
      validateGraph(graph);
      const roots = args.targets.length > 0 ? resolveTargets(graph, args.targets) : [...graph.tasks.keys()];
      io.out.write(exportGraph(topoClosure(graph, roots), args.format));
      return 0;
    }
    case 'doctor': {
      const r = doctor(makeGraph({}), root, buildDir, io.env);
      io.out.write(`pyston-build doctor (${root})\n${r.lines.join('\n')}\n`);
      return r.ok ? 0 : 1;
    }
    case 'clean': {
      const onWait = (m: string) => io.err.write(m + '\n');
      if (args.targets.length === 0) {
        const r = await cleanBuildDir(buildDir, onWait, !args.noWait);
        if (r.unlinked !== undefined) io.out.write(`removed the symlink ${buildDir} (to ${r.unlinked}); what it points to was left as it is\n`);
        else io.out.write(r.removed > 0 ? `removed ${buildDir}\n` : `nothing to clean in ${buildDir}\n`);
      } else {
        const graph = makeGraph({ targets: args.targets });
        validateGraph(graph);
        const tasks = topoClosure(graph, resolveTargets(graph, args.targets));
        await cleanTasks(root, buildDir, tasks, onWait, !args.noWait);
        io.out.write(`cleaned ${tasks.length} tasks of ${args.targets.join(' ')}\n`);
      }
      return 0;
    }
    case 'setup':
      return setup(makeGraph({ targets }), targets, io);
    case 'run':
      return runScript(args, io, outputLost, root, makeGraph, (graph) => {
        if (!io.makeGraph) checkTargets(config, root, io.env, graph, args.targets);
      });
    case 'build':
      break;
  }
  const graph = makeGraph({ targets });
  // The settings the requested targets use are checked before anything runs.
  if (!io.makeGraph) checkTargets(config, root, io.env, graph, targets);
  return build(graph, targets, args, io, outputLost, root, io.out);
}

/**
 * `run VARIANT SCRIPT [ARGS...]`: check the words, build the variant when
 * it is not up to date (the same engine path as `pyston-build VARIANT`,
 * reported on stderr, silent when there is nothing to do), then run the
 * script with the variant's program and return the script's status.
 */
async function runScript(args: Args, io: Io, outputLost: AbortController, root: string, makeGraph: (request: GraphRequest) => TaskGraph, check: (graph: TaskGraph) => void): Promise<number> {
  const [variant] = args.targets;
  checkScript(root, variant, args.script);
  const graph = makeGraph({ targets: [variant!] });
  const program = programOf(graph, variant!, () => makeGraph({}));
  check(graph);
  // Up to date (and no --explain asked): not a line of ours before the script's output.
  const plan = planBuild(graph, { root, buildDir: resolve(root, 'build'), jobs: args.jobs, targets: [variant!], force: args.force, env: io.env });
  if (args.explain || plan.entries.some((e) => e.reason !== undefined)) {
    const code = await build(graph, [variant!], args, io, outputLost, root, io.err as Io['out']);
    if (code !== 0) return code;
  }
  return runProgram(variant!, resolve(root, program), args.script!, args.scriptArgs ?? [], root, io.env);
}

/** Build `targets` of `graph` and report on `out`; resolves with the exit code. */
async function build(graph: TaskGraph, targets: string[], args: Args, io: Io, outputLost: AbortController, root: string, out: Io['out']): Promise<number> {
  const buildDir = resolve(root, 'build');

  const pathProblem = projectPathProblem(root);
  if (pathProblem) throw pathProblem;
  warnUnmatchedForce(graph, targets, args.force, io);
  const engineOpts: EngineOptions = {
    root,
    buildDir,
    jobs: args.jobs,
    targets,
    keepGoing: args.keepGoing,
    force: args.force,
    env: io.env,
    waitForLock: !args.noWait,
    verifyOutputs: args.verifyOutputs,
  };
  if (args.dryRun || args.explain) {
    const plan = planBuild(graph, engineOpts);
    if (plan.stateProblem) io.err.write(`warning: ${plan.stateProblem}\n`);
    const view = { targets, jobs: args.jobs, explain: args.explain };
    if (args.dryRun) {
      out.write(args.json ? planJson(plan, view) : planText(plan, view));
      return 0;
    }
    if (!args.json) out.write(planText(plan, view));
  }

  const { createReporter, detectMode } = await import('./report/index.js');
  const mode = args.json ? 'json' : detectMode(io.env, out.isTTY === true);
  // Colour: FORCE_COLOR wins; otherwise on a terminal unless NO_COLOR is set.
  const force = io.env.FORCE_COLOR;
  const color = force !== undefined && force !== '' ? force !== '0' && force !== 'false' : mode === 'tty' && !io.env.NO_COLOR;
  const reporter = await createReporter(mode, { out, err: io.err, color, onLost: (reason) => outputLost.abort(reason) });
  const bus = new EventBus();
  bus.on((e) => reporter.onEvent(e));
  let summary: BuildSummary;
  try {
    summary = await runBuild(graph, { ...engineOpts, bus, stop: outputLost.signal });
  } finally {
    await reporter.close();
  }
  if (args.json) safeWrite(out, JSON.stringify(summary, null, 2) + '\n');
  return summary.interrupted ? 130 : summary.ok ? 0 : 1;
}
