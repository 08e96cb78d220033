/**
 * One interpreter variant, named as in Pyston's Makefile: configure, make,
 * install and a venv, each its own task, in build/<variant>_{build,install,env},
 * then the runtime/ probes. `opt` gets its profile from src/pgo/ (our own
 * instrumented build, training, merge and validation, not CPython's
 * `make profile-opt`) and is linked with LTO.
 *
 * This is the composition layer between src/targets.ts and the factories:
 * it joins the sources (steps/), the toolchain (llvm/) and PGO (pgo/), so
 * that none of those folders imports another.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { copyFileAtomic, TaskFailure, type Task, type TaskInputs, type ToolRef } from './graph/index.js';
import type { Toolchain } from './llvm/toolchain.js';
import { instrumentFlags, pgoTasks, profileOutput, useFlags, type PgoFlags } from './pgo/pipeline.js';
import { boltTasks, type BoltBinary, type BoltCommand } from './bolt/pipeline.js';
import type { SourceTasks } from './steps/source.js';
import { packageRoot } from './steps/paths.js';

export const VARIANTS = ['unopt', 'opt', 'dbg', 'release'] as const;
export type Variant = (typeof VARIANTS)[number];

const MAKE: ToolRef = { name: 'make', package: 'make' };
const SH: ToolRef = { name: 'sh', package: 'dash', versionArgs: [] };

export interface VariantOptions {
  readonly variant: Variant;
  readonly source: SourceTasks;
  readonly toolchain: Toolchain;
  readonly root: string;
  readonly pgo: boolean;
  readonly lto: boolean;
  readonly configureExtra: readonly string[];
  /** 'runtime', 'regrtest' or a command (its first word is replaced by nothing: the instrumented python is run with the rest). */
  readonly profileTask: string;
  readonly tolerateTrainingFailure: boolean;
  /** Upstream keys of installed system libraries the build links (e.g. libssl-dev's version). */
  readonly systemKeys: Readonly<Record<string, string>>;
  /** BOLT for opt and release, or why not. */
  readonly bolt: BoltOptions;
  /**
   * The install prefix of `release`, the one its packages use (e.g.
   * /usr/lib/cpython). It is configured in, and `make install` writes under
   * build/release_install with DESTDIR.
   */
  readonly releasePrefix: string;
}

/** opt and release get PGO, LTO and BOLT; they differ only in the install prefix. */
export function isOptimized(v: Variant): boolean {
  return v === 'opt' || v === 'release';
}

export type BoltOptions =
  | { readonly enabled: false; readonly reason: string }
  | {
      readonly enabled: true;
      readonly policy: 'required' | 'auto';
      readonly minCoverage: number;
      readonly applyFlags: readonly string[];
      readonly instrumentFlags: readonly string[];
      /** The skip list for position-independent code (a shared libpython) and for the -no-pie executable. */
      readonly skipFuncs: (pic: boolean) => readonly string[];
      /** Absolute cache directory for merged BOLT profiles. */
      readonly cacheDir: string;
      readonly timeoutSeconds: number;
    };

/** True when the configure arguments ask for a shared libpython. */
export function isShared(configureArgs: readonly string[]): boolean {
  return configureArgs.includes('--enable-shared');
}

export interface VariantTasks {
  readonly tasks: Task[];
  /** The variant's last task (the probe). */
  readonly last: string;
  /** The venv python, relative to the root. */
  readonly python: string;
}

/** Counts of clang's -Wprofile-instr-* warnings in a build log. */
export function profileWarnings(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of log.matchAll(/\[-W(profile-instr-[a-z-]+)\]/g)) counts[m[1]!] = (counts[m[1]!] ?? 0) + 1;
  return counts;
}

function buildEnv(tc: Toolchain, flags: PgoFlags, lto: boolean): Record<string, string> {
  const env: Record<string, string> = { PATH: tc.path, CC: tc.cc.command ?? tc.cc.name, CXX: tc.cxx.command ?? tc.cxx.name };
  const cflags = [...flags.cflags];
  const ldflags = [...flags.ldflags];
  if (lto && tc.family === 'clang') ldflags.push('-fuse-ld=lld');
  if (cflags.length) env.CFLAGS_NODIST = cflags.join(' ');
  if (ldflags.length) env.LDFLAGS_NODIST = ldflags.join(' ');
  if (tc.family === 'clang') env.LLVM_AR = tc.ar.command ?? tc.ar.name;
  return env;
}

/** configure, make (and for gcc/clang, count profile warnings), as tasks under `prefix` in `buildDir`. */
function configureAndMake(o: {
  prefix: string;
  buildDir: string;
  installDir: string;
  /** The configured prefix when it is not the install directory (release: installed with DESTDIR). */
  installPrefix?: string;
  args: string[];
  env: Record<string, string>;
  deps: string[];
  opts: VariantOptions;
  config: Record<string, unknown>;
  extraTools?: ToolRef[];
  /** Make command-line variables (e.g. PY_CORE_CFLAGS=...). */
  makeArgs?: readonly string[];
  /**
   * Run configure by a path relative to the build directory, so that the
   * build records a relative srcdir: CPython compiles $(VPATH) into
   * getpath.c, which would put the absolute source path in the binary.
   */
  relativeSource?: boolean;
  /**
   * Run `make clean` before `make`: for a build that uses a PGO profile.
   * Make tracks sources, not the profile, so after retraining it would
   * call every object up to date and keep code built with the old profile
   * (CPython's own profile-opt cleans for the same reason).
   */
  fromClean?: boolean;
}): Task[] {
  const { opts } = o;
  const tc = opts.toolchain;
  const tools = [SH, MAKE, tc.cc, tc.cxx, ...(tc.family === 'clang' ? [tc.ar, tc.llvm['ld.lld']] : []), ...(o.extraTools ?? [])];
  return [
    {
      id: `${o.prefix}:configure`,
      title: `configure ${o.buildDir}`,
      deps: [...opts.source.deps],
      // Make's command-line variables are in this key too: make does not
      // track them, so a change must reconfigure (which empties the build
      // directory) for make to rebuild with them.
      inputs: { files: opts.source.files, tools, config: { ...o.config, args: o.args, env: o.env, ...(o.relativeSource ? { relativeSource: true } : {}), ...(o.makeArgs?.length ? { makeArgs: o.makeArgs } : {}) }, upstream: opts.systemKeys },
      outputs: [`${o.buildDir}/Makefile`, `${o.buildDir}/pyconfig.h`],
      async run(ctx) {
        // A missing library would not fail configure: the module would just be left out.
        const missing = Object.entries(opts.systemKeys).filter(([, v]) => v === 'missing').map(([k]) => k.replace(/^pkg:/, ''));
        if (missing.length > 0) {
          throw new TaskFailure(`missing build libraries: ${missing.join(' ')}`, `run: npx pyston-build setup ${opts.variant} (or apt-get install -y ${missing.join(' ')})`);
        }
        const dir = ctx.path(o.buildDir);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const configure = o.relativeSource ? join(relative(dir, opts.source.srcDir), 'configure') : join(opts.source.srcDir, 'configure');
        await ctx.exec(configure, [`--prefix=${o.installPrefix ?? ctx.path(o.installDir)}`, ...o.args], { cwd: dir, env: o.env, jobserver: false });
      },
    },
    {
      id: `${o.prefix}:make`,
      title: `make in ${o.buildDir} (shares the jobserver)`,
      // Only compiling needs what `deps` make (e.g. the profile): configure runs alongside.
      deps: [`${o.prefix}:configure`, ...o.deps],
      weight: 20,
      inputs: { files: opts.source.files, tools, config: { env: o.env, makeArgs: o.makeArgs ?? [], ...(o.fromClean ? { fromClean: true } : {}) } },
      outputs: [`${o.buildDir}/python`, `${o.buildDir}/profile-warnings.json`],
      async run(ctx) {
        if (o.fromClean) await ctx.exec('make', ['clean', ...(o.makeArgs ?? [])], { cwd: ctx.path(o.buildDir), env: o.env });
        await ctx.exec('make', [...(o.makeArgs ?? [])], { cwd: ctx.path(o.buildDir), env: o.env });
        const warnings = profileWarnings(readFileSync(ctx.logPath, 'utf8'));
        const total = Object.values(warnings).reduce((a, b) => a + b, 0);
        if (total > 0) ctx.log(`clang profile warnings: ${JSON.stringify(warnings)}`);
        writeFileSync(ctx.path(o.buildDir, 'profile-warnings.json'), JSON.stringify({ total, byKind: warnings }, null, 2) + '\n');
      },
    },
  ];
}

export function variantTasks(opts: VariantOptions): VariantTasks {
  const v = opts.variant;
  const tc = opts.toolchain;
  const buildDir = `build/${v}_build`;
  const release = v === 'release';
  const installDir = release ? `build/${v}_install${opts.releasePrefix}` : `build/${v}_install/usr`;
  const opt = isOptimized(v);
  const envDir = `build/${v}_env`;
  const pyston = opts.source.flavor === 'pyston' ? ['--disable-debugging-features', '--enable-configure'] : [];
  // A release links the system's expat rather than CPython's copy, as
  // Debian policy (and lintian's embedded-library) requires of a package.
  const args = [...pyston, ...(v === 'dbg' ? ['--with-pydebug'] : []), ...(opt && opts.lto ? ['--with-lto'] : []), ...(release ? ['--with-system-expat'] : []), ...opts.configureExtra];
  const config = { variant: v, cc: tc.family, pgo: opt && opts.pgo, lto: opt && opts.lto, ...(release ? { prefix: opts.releasePrefix } : {}) };
  const tasks: Task[] = [];
  let flags: PgoFlags = { cflags: [], ldflags: [] };
  const deps: string[] = [];
  const extraTools: ToolRef[] = [];

  const bolt = opt && opts.bolt.enabled ? opts.bolt : undefined;
  const shared = isShared(args);
  // Code-shape flags for BOLT. GCC must not split functions into .cold
  // parts itself: BOLT skips such functions ("skipped N functions due to
  // cold fragments") and splits them better with the profile. Clang 19 does
  // no such splitting unless asked (-fsplit-machine-functions), so it needs
  // nothing. The final link also keeps its relocations (--emit-relocs).
  //
  // A static interpreter's core is compiled without PIE and linked -no-pie,
  // so that BOLT can rewrite the eval loop (src/bolt/skip.ts). Only the
  // core: CFLAGS_NODIST also reaches the shared extension modules (after
  // -fPIC, which -fno-pie would cancel) and LDFLAGS_NODIST their -shared
  // links (where -no-pie breaks them). So the flags go into the Makefile's
  // PY_CORE_CFLAGS, PY_BUILTIN_MODULE_CFLAGS and LINKCC, as make
  // command-line variables that extend the Makefile's own definitions. A
  // shared libpython stays PIC.
  //
  // The instrumented PGO build gets the same code shape: GCC's profile must
  // describe the same control flow (-fno-pie in the final build alone gave
  // -Werror=coverage-mismatch).
  const gccShape = bolt && tc.family === 'gcc' ? ['-fno-reorder-blocks-and-partition'] : [];
  // A release must not carry the build machine's paths: __FILE__ (in
  // CPython's error and assert messages) and debug info name the source and
  // build directories. Both builds get the same maps, so the instrumented
  // and final builds still compile the same code. Not -ffile-prefix-map:
  // in GCC 12 it also implies -fprofile-prefix-map, which PGO does not need.
  const pathMaps = release
    ? [opts.source.srcDir, join(opts.root, buildDir), join(opts.root, `build/${v}_pgo_build`)].flatMap((p) => [`-fmacro-prefix-map=${p}=.`, `-fdebug-prefix-map=${p}=.`])
    : [];
  // What CPython's configure adds for GCC under --enable-optimizations, which
  // our own PGO pipeline does not pass: without semantic interposition, GCC
  // may inline and clone across exported functions of the PIC parts (the
  // shared extension modules, a shared libpython). Both PGO builds get it, so
  // the profile describes the code it is used on.
  const noInterposition = opt && tc.family === 'gcc' ? ['-fno-semantic-interposition'] : [];
  // Flags the instrumented PGO build and the final build both get.
  const bothBuilds: PgoFlags = { cflags: [...gccShape, ...noInterposition, ...pathMaps], ldflags: [...gccShape, ...noInterposition] };
  const noPie =
    bolt && !shared
      ? ['PY_CORE_CFLAGS=$(PY_STDMODULE_CFLAGS) -DPy_BUILD_CORE -fno-pie', 'PY_BUILTIN_MODULE_CFLAGS=$(PY_STDMODULE_CFLAGS) -DPy_BUILD_CORE_BUILTIN -fno-pie', 'LINKCC=$(PURIFY) $(MAINCC) -no-pie']
      : [];
  // A shared libpython: the installed interpreter must load its own library,
  // never a system one with the same soname (Debian's libpython3.11 package
  // has one, and the loader falls back to it silently). So the interpreter
  // gets RUNPATH $ORIGIN/../lib, where make install puts the library, under
  // any prefix and wherever the tree is moved. LINKFORSHARED (Linux's default
  // plus the rpath) reaches only the interpreter's link (and _testembed's);
  // `$$` is make's escape and the quotes keep the shell off $ORIGIN. Runs in
  // the build tree use LD_LIBRARY_PATH instead, which outranks a RUNPATH.
  const runpath = shared ? ["LINKFORSHARED=-Xlinker -export-dynamic -Wl,-rpath,'$$ORIGIN/../lib'"] : [];
  const makeArgs = [...noPie, ...runpath];

  if (opt && opts.pgo) {
    const pgoBuild = `build/${v}_pgo_build`;
    const spec = {
      prefix: `${v}:pgo`,
      family: tc.family,
      dir: `build/${v}_pgo`,
      instrumentedBuildDir: join(opts.root, pgoBuild),
      optimizedBuildDir: join(opts.root, buildDir),
    };
    // The instrumented build needs no LTO: it only has to count.
    const genFlags = instrumentFlags(spec, opts.root);
    const gen = { cflags: [...genFlags.cflags, ...bothBuilds.cflags], ldflags: [...genFlags.ldflags, ...bothBuilds.ldflags] };
    tasks.push(
      ...configureAndMake({
        prefix: `${v}:pgo:instrumented`,
        buildDir: pgoBuild,
        installDir: `build/${v}_pgo_install/usr`,
        args: [...pyston, ...opts.configureExtra],
        env: buildEnv(tc, gen, false),
        deps: [],
        opts,
        config: { ...config, lto: false, instrumented: true },
        makeArgs,
        relativeSource: release,
      }),
    );
    const pgo = pgoTasks({
      ...spec,
      profileTool: tc.family === 'clang' ? tc.llvm['llvm-profdata'] : { name: 'gcov-dump', package: 'gcc' },
      instrumentedTask: `${v}:pgo:instrumented:make`,
      // A shared build's instrumented python must load the instrumented libpython beside it.
      train: { file: join(opts.root, pgoBuild, 'python'), args: training(opts.profileTask).args, cwd: join(opts.root, pgoBuild), ...(shared ? { env: { LD_LIBRARY_PATH: join(opts.root, pgoBuild) } } : {}) },
      trainInputs: training(opts.profileTask).inputs,
      hotFunction: '_PyEval_EvalFrameDefault',
      hotObject: 'ceval',
      tolerateFailure: opts.tolerateTrainingFailure,
    });
    tasks.push(...pgo.tasks);
    deps.push(pgo.ready);
    flags = useFlags(spec, opts.root);
    config.pgo = true;
    Object.assign(config, { profile: profileOutput(spec) });
  }

  flags = { cflags: [...flags.cflags, ...bothBuilds.cflags], ldflags: [...flags.ldflags, ...bothBuilds.ldflags, ...(bolt ? ['-Wl,--emit-relocs'] : [])] };
  if (bolt) Object.assign(config, { bolt: true, shared });
  tasks.push(
    ...configureAndMake({ prefix: v, buildDir, installDir, ...(release ? { installPrefix: opts.releasePrefix } : {}), args, env: buildEnv(tc, flags, opt && opts.lto), deps, opts, config, extraTools, makeArgs, relativeSource: release, fromClean: opt && opts.pgo }),
  );
  const destdir = release ? [`DESTDIR=${join(opts.root, `build/${v}_install`)}`] : [];
  const minor = opts.source.version.split('.').slice(0, 2).join('.');
  const installDeps = [`${v}:make`];
  let boltReport: string | undefined;
  const boltInstall: { from: string; to: string }[] = [];
  if (bolt) {
    const b = boltForVariant(v, bolt, opts, buildDir, minor, shared);
    tasks.push(...b.tasks.tasks);
    installDeps.push(b.tasks.ready);
    boltReport = b.tasks.report;
    boltInstall.push(...b.install.map((i) => ({ from: i.from, to: `${installDir}/${i.to}` })));
  }
  tasks.push(
    {
      id: `${v}:install`,
      title: bolt ? `make install into ${installDir}, with the BOLTed files` : `make install into ${installDir}`,
      deps: installDeps,
      weight: 5,
      inputs: { tools: [MAKE], config: { boltInstall, makeArgs, destdir } },
      outputs: [`build/${v}_install`],
      async run(ctx) {
        rmSync(ctx.path(`build/${v}_install`), { recursive: true, force: true });
        await ctx.exec('make', ['install', ...makeArgs, ...destdir], { cwd: ctx.path(buildDir), env: { PATH: tc.path } });
        // The verify task left either the BOLTed files or (bolt = auto, after a failure) the inputs.
        for (const f of boltInstall) {
          const to = ctx.path(f.to);
          if (!existsSync(to)) throw new TaskFailure(`make install did not install ${f.to}`, 'the BOLTed file has nowhere to go: check the install layout');
          copyFileAtomic(ctx.path(f.from), to, statSync(to).mode & 0o7777);
          ctx.log(`installed ${f.from} as ${f.to}`);
        }
      },
    },
    {
      id: `${v}:venv`,
      title: `create the venv ${envDir}`,
      deps: [`${v}:install`],
      inputs: {},
      outputs: [`${envDir}/bin/python`, `${envDir}/pyvenv.cfg`],
      async run(ctx) {
        rmSync(ctx.path(envDir), { recursive: true, force: true });
        await ctx.exec(ctx.path(installDir, 'bin', 'python3'), ['-m', 'venv', ctx.path(envDir)], { jobserver: false });
      },
    },
    {
      id: `${v}:probe`,
      title: `run the runtime/ probes on ${envDir}`,
      // 2: the report records the configure arguments.
      version: 2,
      deps: [`${v}:venv`],
      inputs: { files: [join(packageRoot(), 'runtime/probes/probe.py')] },
      outputs: [`build/${v}_probe.txt`, `build/${v}_report.json`],
      async run(ctx) {
        await ctx.exec(ctx.path(envDir, 'bin', 'python'), [join(packageRoot(), 'runtime/probes/probe.py')], { jobserver: false });
        const last = readFileSync(ctx.logPath, 'utf8').split('\n').filter((l) => l.startsWith('probe:')).pop() ?? 'probe: OK';
        writeFileSync(ctx.path(`build/${v}_probe.txt`), last + '\n');
        writeFileSync(ctx.path(`build/${v}_report.json`), JSON.stringify(buildReport(ctx.root, v, opts, config, args, boltReport, last), null, 2) + '\n');
      },
    },
  );
  return { tasks, last: `${v}:probe`, python: `${envDir}/bin/python` };
}

/**
 * The variant's build report, `build/<variant>_report.json`: which
 * optimizations ran, with their evidence (the PGO profile summary and
 * clang's profile warnings, the BOLT report or why BOLT did not run) and
 * the probe result. Packaging reads it into build-info.json.
 */
function buildReport(root: string, v: Variant, opts: VariantOptions, config: Record<string, unknown>, args: readonly string[], boltReport: string | undefined, probe: string): Record<string, unknown> {
  const read = (p: string): unknown => (existsSync(join(root, p)) ? JSON.parse(readFileSync(join(root, p), 'utf8')) : null);
  const pgo = isOptimized(v) && opts.pgo;
  return {
    variant: v,
    compiler: opts.toolchain.family,
    pgo: pgo ? { enabled: true, summary: read(`build/${v}_pgo/summary.json`) } : { enabled: false },
    lto: isOptimized(v) && opts.lto,
    profileWarnings: read(`build/${v}_build/profile-warnings.json`),
    bolt: boltReport ? { enabled: true, ...(read(boltReport) as Record<string, unknown>) } : { enabled: false, reason: !isOptimized(v) ? `BOLT applies to opt and release only` : opts.bolt.enabled ? 'not configured' : opts.bolt.reason },
    configure: config,
    configureArgs: [...args, ...(config.prefix ? [`--prefix=${String(config.prefix)}`] : [])],
    probe,
  };
}

/**
 * The training workload (config `pgo.task`), for PGO and BOLT alike: the
 * arguments given to the python under training, and what it reads.
 */
function training(task: string): { args: string[]; inputs: TaskInputs } {
  const runtime = packageRoot();
  const inputs = { files: task === 'runtime' ? [join(runtime, 'runtime/train/**/*.py')] : [], config: { 'pgo.task': task } };
  if (task === 'runtime') return { args: [join(runtime, 'runtime/train/run.py')], inputs };
  if (task === 'regrtest') return { args: ['-m', 'test', '--pgo', '--timeout=1200'], inputs };
  return { args: task.split(/\s+/).filter(Boolean), inputs };
}

/** The BOLT chain of a variant: the executable, and libpython when shared. */
function boltForVariant(v: Variant, bolt: Extract<BoltOptions, { enabled: true }>, opts: VariantOptions, buildDir: string, minor: string, shared: boolean) {
  const root = opts.root;
  const dir = `build/${v}_bolt`;
  const b = join(root, buildDir);
  const so = `libpython${minor}.so.1.0`;
  const binaries: BoltBinary[] = [{ name: 'python', input: join(b, 'python'), instrumented: join(b, 'python.bolt-inst'), output: join(b, 'python.bolt') }];
  const install = [{ from: `${buildDir}/python.bolt`, to: `bin/python${minor}` }];
  if (shared) {
    // Pyston's Makefile BOLTs the .so with -jump-tables=none.
    binaries.push({ name: so, input: join(b, so), instrumented: join(root, dir, 'inst-lib', so), output: join(root, dir, 'lib', so), extraApplyFlags: ['-jump-tables=none'] });
    install.push({ from: `${dir}/lib/${so}`, to: `lib/${so}` });
  }
  const runtime = packageRoot();
  // The build-tree python finds its stdlib and extension modules from its own directory (pybuilddir.txt).
  const trainArgs = training(opts.profileTask).args;
  const libPath = (first: string): Record<string, string> => (shared ? { LD_LIBRARY_PATH: `${first}:${b}` } : {});
  const train: BoltCommand = { file: join(b, 'python.bolt-inst'), args: trainArgs, cwd: b, env: libPath(join(root, dir, 'inst-lib')) };
  // The check must prove it ran on the BOLTed library, not the input beside the python.
  const check: BoltCommand = {
    file: join(b, 'python.bolt'),
    args: [join(runtime, 'runtime/probes/probe.py'), '--no-venv', ...(shared ? ['--libpython-dir', join(root, dir, 'lib')] : [])],
    cwd: b,
    env: libPath(join(root, dir, 'lib')),
  };
  const tasks = boltTasks({
    prefix: `${v}:bolt`,
    root,
    dir,
    bolt: opts.toolchain.llvm['llvm-bolt'],
    mergeFdata: opts.toolchain.llvm['merge-fdata'],
    binaries,
    after: `${v}:make`,
    train,
    trainInputs: training(opts.profileTask).inputs,
    check,
    instrumentFlags: bolt.instrumentFlags,
    applyFlags: bolt.applyFlags,
    skipFuncs: bolt.skipFuncs(shared),
    minCoverage: bolt.minCoverage,
    policy: bolt.policy,
    cacheDir: bolt.cacheDir,
    timeoutSeconds: bolt.timeoutSeconds,
  });
  return { tasks, install };
}

/** `make all`'s links: pyston3 and pyston3.X in the project root, to the opt venv's python. */
export function linkTask(python: string, dep: string, version: string): Task {
  const minor = version.split('.').slice(0, 2).join('.');
  const links = ['pyston3', `pyston${minor}`];
  return {
    id: 'all:links',
    title: `link ${links.join(', ')} to ${python}`,
    deps: [dep],
    inputs: { config: { python, links } },
    outputs: links,
    async run(ctx) {
      for (const l of links) {
        rmSync(ctx.path(l), { force: true });
        symlinkSync(python, ctx.path(l));
      }
    },
  };
}
