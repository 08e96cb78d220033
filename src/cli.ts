/**
 * argv -> command. Exit codes: 0 success, 1 a task failed, 2 bad usage or
 * bad config (nothing ran), 130 interrupted (SIGINT, SIGTERM, SIGHUP, or
 * the output went away). No build logic lives here.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { loadConfig, describeConfig, type BuildConfig } from './config.js';
import { buildGraph } from './targets.js';
import { doctor, setup } from './doctor.js';
import { EventBus, PbError, UsageError, errorMessage, planBuild, resolveTargets, runBuild, topoClosure, validateGraph, type EngineOptions, type TaskGraph } from './graph/index.js';
import { cleanBuildDir, cleanTasks } from './graph/clean.js';
import { exportGraph, GRAPH_FORMATS, type GraphFormat } from './graph/export.js';
import { planJson, planText } from './report/dryrun.js';
import { safeWrite, watchStreams } from './report/streams.js';

const COMMANDS = ['build', 'graph', 'clean', 'doctor', 'setup'] as const;
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
  help: boolean;
  version: boolean;
}

const HELP = `pyston-build: build and release optimized Python interpreters

usage: pyston-build [options] [TARGET...]        build targets (default: all)
       pyston-build graph [--format dot|json|mermaid] [TARGET...]
       pyston-build clean [TARGET...]            remove build outputs (all of build/ without targets)
       pyston-build doctor                       check the tools the build needs
       pyston-build setup [TARGET...]            install the Debian packages those targets need (as root)

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
      --debug           show stack traces for internal errors
  -h, --help            show this help
      --version         print the version

exit codes: 0 success, 1 a task failed, 2 bad usage or config, 130 interrupted
logs: build/logs/<task>.log   trace: build/.pyston-build/trace.json`;

/** Options that take a value, by long name. */
const VALUE_OPTS = new Set(['force', 'directory', 'config', 'set', 'format', 'source', 'profile-task']);
const FLAG_OPTS = new Set(['dry-run', 'explain', 'json', 'keep-going', 'debug', 'no-wait', 'help', 'version']);
const SHORT: Record<string, string> = { j: 'jobs', n: 'dry-run', k: 'keep-going', C: 'directory', h: 'help' };

function parsePositiveInt(v: string, opt: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 4096) throw new UsageError(`invalid value '${v}' for ${opt}: expected a whole number from 1 to 4096`, `for example: ${opt} 4`);
  return Number(v);
}

export function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    command: 'build', targets: [], jobs: availableParallelism(), dryRun: false, explain: false, json: false, keepGoing: false,
    force: [], directory: '.', config: undefined, sets: [], format: 'dot', debug: false, noWait: false, help: false, version: false,
  };
  const positional: string[] = [];
  let formatGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    let name: string;
    let inline: string | undefined;
    let shown: string;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      shown = `--${name}`;
    } else if (arg.startsWith('-') && arg.length > 1) {
      const long = SHORT[arg[1]!];
      if (!long) throw new UsageError(`unknown option '${arg}'`, 'see pyston-build --help');
      name = long;
      inline = arg.length > 2 ? arg.slice(2) : undefined;
      shown = `-${arg[1]}`;
      if (inline !== undefined && FLAG_OPTS.has(long)) {
        // Bundled short flags such as -nk.
        const rest = [...inline].map((c) => `-${c}`);
        argv = [...argv.slice(0, i + 1), ...rest, ...argv.slice(i + 1)];
        inline = undefined;
      }
    } else {
      positional.push(arg);
      continue;
    }
    if (name === 'jobs') {
      // -j alone (as with make) means: one job per CPU.
      const next = argv[i + 1];
      const v = inline ?? (next !== undefined && /^\d+$/.test(next) ? (i++, next) : next !== undefined && /^-?\d/.test(next) ? (i++, next) : undefined);
      if (v !== undefined) a.jobs = parsePositiveInt(v, shown === '-j' ? '-j' : '--jobs');
      continue;
    }
    if (FLAG_OPTS.has(name)) {
      if (inline !== undefined) throw new UsageError(`option ${shown} takes no value`, 'see pyston-build --help');
      const key = name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()) as 'dryRun' | 'explain' | 'json' | 'keepGoing' | 'debug' | 'noWait' | 'help' | 'version';
      a[key] = true;
      continue;
    }
    if (!VALUE_OPTS.has(name)) throw new UsageError(`unknown option '${shown}'`, 'see pyston-build --help');
    let v = inline;
    if (v === undefined) {
      v = argv[++i];
      if (v === undefined) throw new UsageError(`option ${shown} needs a value`, 'see pyston-build --help');
    }
    switch (name) {
      case 'force':
        a.force.push(v);
        break;
      case 'directory':
        a.directory = v;
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
  }
  if (positional.length > 0 && (COMMANDS as readonly string[]).includes(positional[0]!)) a.command = positional.shift() as Command;
  a.targets = positional;
  if (formatGiven && a.command !== 'graph') throw new UsageError('--format only applies to the graph command', 'pyston-build graph --format dot|json|mermaid');
  if (a.command === 'doctor' && a.targets.length > 0) throw new UsageError(`doctor takes no targets (got '${a.targets[0]}')`, 'run: pyston-build doctor');
  return a;
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
  /** The graph to build. Default: src/targets.ts. Benchmarks and test runners pass their own. */
  readonly makeGraph?: (config: BuildConfig, root: string, env: NodeJS.ProcessEnv) => TaskGraph;
}

const defaultIo = (): Io => ({ out: process.stdout, err: process.stderr, env: process.env, cwd: process.cwd() });

/** Run the CLI; resolves with the exit code. */
export async function main(argv: readonly string[], io: Partial<Io> = {}): Promise<number> {
  const full: Io = { ...defaultIo(), ...io };
  return mainWith(argv, full);
}

async function mainWith(argv: readonly string[], io: Io): Promise<number> {
  let debug = argv.includes('--debug');
  // A closed stdout or stderr never crashes a command; during a build it stops the build (report/streams.ts).
  const outputLost = new AbortController();
  const unwatch = watchStreams([io.out, io.err], (reason) => outputLost.abort(reason));
  try {
    const args = parseArgs(argv);
    debug = args.debug;
    if (args.help) {
      io.out.write(HELP + '\n\nconfig keys (pyston-build.toml, --set KEY=VALUE):\n' + describeConfig().map((l) => `  ${l}`).join('\n') + '\n');
      return 0;
    }
    if (args.version) {
      io.out.write(`pyston-build ${version()}\n`);
      return 0;
    }
    return await dispatch(args, io, outputLost);
  } catch (e) {
    return reportError(e, io, debug);
  } finally {
    unwatch();
  }
}

function reportError(e: unknown, io: Io, debug: boolean): number {
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
  const root = resolve(io.cwd, args.directory);
  try {
    if (!(await import('node:fs')).statSync(root).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new UsageError(`-C: directory '${args.directory}' does not exist`, 'pass an existing project directory');
  }
  const buildDir = resolve(root, 'build');
  const { config } = await loadConfig({ root, env: io.env, sets: args.sets, ...(args.config !== undefined ? { file: args.config } : {}) });
  const graph = (io.makeGraph ?? buildGraph)(config, root, io.env);
  const targets = args.targets.length > 0 ? args.targets : ['all'];

  switch (args.command) {
    case 'graph': {
      validateGraph(graph);
      const roots = args.targets.length > 0 ? resolveTargets(graph, args.targets) : [...graph.tasks.keys()];
      io.out.write(exportGraph(topoClosure(graph, roots), args.format));
      return 0;
    }
    case 'doctor': {
      const r = doctor(graph, root, buildDir, io.env);
      io.out.write(`pyston-build doctor (${root})\n${r.lines.join('\n')}\n`);
      return r.ok ? 0 : 1;
    }
    case 'clean': {
      const onWait = (m: string) => io.err.write(m + '\n');
      if (args.targets.length === 0) {
        const r = await cleanBuildDir(buildDir, onWait);
        io.out.write(r.removed > 0 ? `removed ${buildDir}\n` : `nothing to clean in ${buildDir}\n`);
      } else {
        validateGraph(graph);
        const tasks = topoClosure(graph, resolveTargets(graph, args.targets));
        await cleanTasks(root, buildDir, tasks, onWait);
        io.out.write(`cleaned ${tasks.length} tasks of ${args.targets.join(' ')}\n`);
      }
      return 0;
    }
    case 'setup':
      return setup(graph, args.targets.length > 0 ? args.targets : ['all'], io);
    case 'build':
      break;
  }

  const engineOpts: EngineOptions = { root, buildDir, jobs: args.jobs, targets, keepGoing: args.keepGoing, force: args.force, env: io.env, waitForLock: !args.noWait };
  if (args.dryRun || args.explain) {
    const plan = planBuild(graph, engineOpts);
    if (plan.stateProblem) io.err.write(`warning: ${plan.stateProblem}\n`);
    const view = { targets, jobs: args.jobs, explain: args.explain };
    if (args.dryRun) {
      io.out.write(args.json ? planJson(plan, view) : planText(plan, view));
      return 0;
    }
    if (!args.json) io.out.write(planText(plan, view));
  }

  const { createReporter, detectMode } = await import('./report/index.js');
  const mode = args.json ? 'json' : detectMode(io.env, io.out.isTTY === true);
  // Colour: FORCE_COLOR wins; otherwise on a terminal unless NO_COLOR is set.
  const force = io.env.FORCE_COLOR;
  const color = force !== undefined && force !== '' ? force !== '0' && force !== 'false' : mode === 'tty' && !io.env.NO_COLOR;
  const reporter = await createReporter(mode, { out: io.out, err: io.err, color, onLost: (reason) => outputLost.abort(reason) });
  const bus = new EventBus();
  bus.on((e) => reporter.onEvent(e));
  let summary;
  try {
    summary = await runBuild(graph, { ...engineOpts, bus, stop: outputLost.signal });
  } finally {
    await reporter.close();
  }
  if (args.json) safeWrite(io.out, JSON.stringify(summary, null, 2) + '\n');
  return summary.interrupted ? 130 : summary.ok ? 0 : 1;
}
