/**
 * The task: the one unit of work the engine knows.
 *
 * A task is a plain typed value. Everything it reads must be declared in
 * `inputs`, or the cache is wrong: an undeclared input is the classic
 * cache bug of every build tool. The engine knows nothing about what a task
 * builds; domain code (interpreters, LLVM, packages) lives in task factories
 * outside `src/graph/`.
 */

/**
 * A tool a task runs: installed on the machine ({@link InstalledTool}) or
 * built by the graph ({@link BuiltTool}). Its identity is part of the key.
 */
export type ToolRef = InstalledTool | BuiltTool;

/** A tool on the machine. Its identity (resolved path, version, content digest) is part of the key. */
export interface InstalledTool {
  /** Short name used in reasons and messages, e.g. `make`, `clang`. */
  readonly name: string;
  /** A command looked up on PATH, or an absolute path. Defaults to `name`. */
  readonly command?: string;
  /**
   * Arguments that print the version on the first line of output. Default
   * `['--version']`; `[]` for tools without one (their digest still counts).
   */
  readonly versionArgs?: readonly string[];
  /** The Debian package that provides it, e.g. `make`. Named in the hint when the tool is missing. */
  readonly package?: string;
  readonly producer?: never;
  readonly path?: never;
}

/**
 * A tool that a task of the graph builds (a compiler, llvm-bolt, a build
 * Python), e.g.
 *
 *     { name: 'mytool', producer: 'tool:build', path: 'build/tool/bin/mytool' }
 *
 * - The engine adds `producer` to the deps of every task that uses the
 *   tool (`topoClosure` returns the tasks with that edge), so a factory
 *   need not list it, and the producer runs first.
 * - The tool is never looked up on PATH or probed for a version, and is
 *   never "missing" at plan time: it does not have to exist before the
 *   build. `ctx.exec(name, ...)` (or `ctx.exec(path, ...)`) runs the built
 *   file, `<root>/<path>`.
 * - Its identity in the user's key is derived from the producer's key (see
 *   `builtToolIdentity` in tools.ts), which covers everything the file is
 *   made from; `--explain` says `tool rebuilt: NAME (by PRODUCER)`.
 */
export interface BuiltTool {
  /** Short name used in reasons and messages, and by `ctx.exec`. */
  readonly name: string;
  /** The id of the task that builds it. */
  readonly producer: string;
  /**
   * Where the producer puts it, relative to the root: one of the
   * producer's declared outputs, or a file inside an output directory.
   */
  readonly path: string;
  readonly command?: never;
  readonly versionArgs?: never;
  readonly package?: never;
}

/** Everything a task reads. Each kind feeds the action key and has its own `--explain` reason. */
export interface TaskInputs {
  /**
   * Files, directories (hashed recursively) or globs, relative to the project
   * root or absolute. Contents are hashed, never mtimes. Keys are computed
   * when the build is planned, before anything runs: declare files that
   * exist before the build (sources, scripts). What an upstream task makes
   * reaches the key through that task's key in `deps`; declared here, it
   * would be hashed before it is made, and rerun the task once next time.
   */
  readonly files?: readonly string[];
  /** Names of environment variables the task reads. Each must be on the engine's allow-list. */
  readonly env?: readonly string[];
  /** Tools the task runs. */
  readonly tools?: readonly ToolRef[];
  /** Config values the task reads, by dotted key. Values must be JSON-serialisable. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Extra keys from outside the graph, e.g. a source pin's sha256. */
  readonly upstream?: Readonly<Record<string, string>>;
}

/** Options for one child process started through {@link TaskContext.exec}. */
export interface ExecOptions {
  /** Working directory. Default: the project root. */
  readonly cwd?: string;
  /**
   * Extra environment for this child. The child's environment is a small
   * fixed base (PATH, HOME, TMPDIR, TERM, LANG, LC_ALL, SOURCE_DATE_EPOCH), plus the
   * task's declared env vars, plus these. Nothing else leaks in.
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Make the child a GNU make jobserver client: it gets `MAKEFLAGS` with
   * `--jobserver-auth` and must not be given its own `-j`.
   * `pipe` = the `R,W` file-descriptor form (make >= 4.2);
   * `fifo` = the `fifo:PATH` form (make >= 4.4, ninja >= 1.13).
   * Default: `pipe`. `false` = not a jobserver client.
   */
  readonly jobserver?: 'pipe' | 'fifo' | false;
  /** Bytes written to the child's stdin. Default: stdin is /dev/null. */
  readonly input?: string;
  /** Stop the child's process group after this many milliseconds, and fail with "timed out". */
  readonly timeoutMs?: number;
  /**
   * Also return the child's output (stdout and stderr, as interleaved in
   * the log) in `ExecResult.output`. It still goes to the log. For commands
   * whose output is read back, such as a tool's report; not for sub-builds.
   */
  readonly capture?: boolean;
}

export interface ExecResult {
  readonly exitCode: number;
  /** With `capture`: what the child wrote. */
  readonly output?: string;
}

/** What a task's `run` gets from the engine. */
export interface TaskContext {
  readonly id: string;
  /** Absolute project root (`-C`). */
  readonly root: string;
  /** Absolute build directory (`<root>/build`). */
  readonly buildDir: string;
  /** Absolute path of this task's log file. */
  readonly logPath: string;
  /** Aborted when the build is interrupted. */
  readonly signal: AbortSignal;
  /** Values of the declared env vars (unset ones are absent). */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The digests behind this task's key, as the engine computed them: each
   * declared input file (named as declared, globs expanded) and each tool's
   * identity (resolved path, version, content digest), keyed by tool name.
   * A task that needs content identity (a cache key) reads it here instead
   * of hashing again.
   */
  readonly inputDigests: { readonly files: Readonly<Record<string, string>>; readonly tools: Readonly<Record<string, string>> };
  /**
   * Each declared tool's version, the first line it printed for its version
   * arguments, as the engine read it for the key (by tool name). A task that
   * records versions (a build report) reads them here instead of running
   * the tools again. A built tool is never probed: its entry reads
   * `built by <producer>`.
   */
  readonly toolVersions: Readonly<Record<string, string>>;
  /** The global job budget (`-j`). */
  readonly jobs: number;
  /**
   * Take up to `max` more job slots from the global budget, only those free
   * right now (it never waits), for a task that runs several processes of
   * its own at once (e.g. a training split in shards). `release()` gives
   * them back; the engine also takes them back when the task ends.
   */
  tryExtraJobs(max: number): { readonly count: number; release(): void };
  /** Append a line to the task's log (and to the live tail). */
  log(line: string): void;
  /**
   * Something the user must see that is not a failure (e.g. an optimization
   * fell back). Goes to the log and, as a `warning` event, to every renderer.
   */
  warn(message: string): void;
  /**
   * Run a command: an argument array, never a shell string. Output goes to
   * the task log. Rejects with a `TaskFailure` on a non-zero exit (its
   * `reason` says how it failed). `file` is looked up on PATH, except that
   * the name or path of a declared built tool runs the built file.
   */
  exec(file: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Resolve a path relative to the project root. */
  path(...segments: string[]): string;
}

export interface Task {
  /** Unique id, e.g. `unopt:configure`. Also the log file name. */
  readonly id: string;
  /** One line for `graph` and `--explain`. */
  readonly title?: string;
  /** Bump to invalidate every cached result of this task when its code changes. */
  readonly version?: number;
  /** Ids of the tasks that must finish first. */
  readonly deps: readonly string[];
  readonly inputs: TaskInputs;
  /**
   * Files or directories this task produces, relative to the root. After a
   * successful run each must exist; their digests are recorded, and a
   * missing or edited output reruns the task. Entries starting with `!` are
   * globs (relative to each directory output) left out of its digest.
   */
  readonly outputs: readonly string[];
  /** Rough cost estimate used for critical-path ordering before a first run. Default 1. */
  readonly weight?: number;
  /**
   * System packages the task needs besides its tools' own (e.g. the
   * libraries a build links). The engine does not read this: `setup` and
   * `doctor` do, from the tasks of the requested targets.
   */
  readonly packages?: readonly string[];
  /**
   * Debian suites (e.g. `bullseye`) whose source packages the task fetches
   * with `apt-get source`, which needs a `deb-src` entry for each. Like
   * `packages` it is no part of the key, and the engine does not read it:
   * `setup` adds the entries, `doctor` reports them.
   */
  readonly debSrcSuites?: readonly string[];
  /**
   * binfmt_misc entries (e.g. `qemu-aarch64`) through which the task runs
   * programs of another architecture under qemu-user. Like `packages` it is
   * no part of the key, and the engine does not read it: `setup` enables
   * the entries, `doctor` reports them.
   */
  readonly binfmt?: readonly string[];
  run(ctx: TaskContext): Promise<void>;
}

/** A named set of root tasks, e.g. `all` or `unopt`. */
export interface Target {
  readonly name: string;
  readonly description: string;
  readonly roots: readonly string[];
  /**
   * The program this target makes, relative to the project root (an
   * interpreter variant's `build/<variant>_env/bin/python`): what
   * `pyston-build run TARGET SCRIPT` runs once the target is up to date.
   * Absent for targets that make no program to run.
   */
  readonly program?: string;
}

/** Everything the engine needs to plan: the tasks and the targets over them. */
export interface TaskGraph {
  readonly tasks: ReadonlyMap<string, Task>;
  readonly targets: ReadonlyMap<string, Target>;
  /** Env vars tasks may declare. A task declaring any other is a plan error. */
  readonly envAllowList: readonly string[];
}
