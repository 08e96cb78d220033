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
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TaskFailure, type Task, type ToolRef } from './graph/index.js';
import type { Toolchain } from './llvm/toolchain.js';
import { instrumentFlags, pgoTasks, profileOutput, useFlags, type PgoFlags } from './pgo/pipeline.js';
import type { SourceTasks } from './steps/source.js';
import { packageRoot } from './steps/paths.js';

export const VARIANTS = ['unopt', 'opt', 'dbg'] as const;
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
  args: string[];
  env: Record<string, string>;
  deps: string[];
  opts: VariantOptions;
  config: Record<string, unknown>;
  extraTools?: ToolRef[];
}): Task[] {
  const { opts } = o;
  const tc = opts.toolchain;
  const tools = [SH, MAKE, tc.cc, tc.cxx, ...(tc.family === 'clang' ? [tc.ar, tc.llvm['ld.lld']] : []), ...(o.extraTools ?? [])];
  return [
    {
      id: `${o.prefix}:configure`,
      title: `configure ${o.buildDir}`,
      deps: [...opts.source.deps],
      inputs: { files: opts.source.files, tools, config: { ...o.config, args: o.args, env: o.env }, upstream: opts.systemKeys },
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
        await ctx.exec(join(opts.source.srcDir, 'configure'), [`--prefix=${ctx.path(o.installDir)}`, ...o.args], { cwd: dir, env: o.env, jobserver: false });
      },
    },
    {
      id: `${o.prefix}:make`,
      title: `make in ${o.buildDir} (shares the jobserver)`,
      // Only compiling needs what `deps` make (e.g. the profile): configure runs alongside.
      deps: [`${o.prefix}:configure`, ...o.deps],
      weight: 20,
      inputs: { files: opts.source.files, tools, config: { env: o.env } },
      outputs: [`${o.buildDir}/python`, `${o.buildDir}/profile-warnings.json`],
      async run(ctx) {
        await ctx.exec('make', [], { cwd: ctx.path(o.buildDir), env: o.env });
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
  const installDir = `build/${v}_install/usr`;
  const envDir = `build/${v}_env`;
  const pyston = opts.source.flavor === 'pyston' ? ['--disable-debugging-features', '--enable-configure'] : [];
  const args = [...pyston, ...(v === 'dbg' ? ['--with-pydebug'] : []), ...(v === 'opt' && opts.lto ? ['--with-lto'] : []), ...opts.configureExtra];
  const config = { variant: v, cc: tc.family, pgo: v === 'opt' && opts.pgo, lto: v === 'opt' && opts.lto };
  const tasks: Task[] = [];
  let flags: PgoFlags = { cflags: [], ldflags: [] };
  const deps: string[] = [];
  const extraTools: ToolRef[] = [];

  if (v === 'opt' && opts.pgo) {
    const pgoBuild = `build/${v}_pgo_build`;
    const spec = {
      prefix: `${v}:pgo`,
      family: tc.family,
      dir: `build/${v}_pgo`,
      instrumentedBuildDir: join(opts.root, pgoBuild),
      optimizedBuildDir: join(opts.root, buildDir),
    };
    // The instrumented build needs no LTO: it only has to count.
    const gen = instrumentFlags(spec, opts.root);
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
      }),
    );
    const runtime = packageRoot();
    const py = join(opts.root, pgoBuild, 'python');
    const train =
      opts.profileTask === 'runtime'
        ? { file: py, args: [join(runtime, 'runtime/train/run.py')], cwd: join(opts.root, pgoBuild) }
        : opts.profileTask === 'regrtest'
          ? { file: py, args: ['-m', 'test', '--pgo', '--timeout=1200'], cwd: join(opts.root, pgoBuild) }
          : { file: py, args: opts.profileTask.split(/\s+/).filter(Boolean), cwd: join(opts.root, pgoBuild) };
    const pgo = pgoTasks({
      ...spec,
      profileTool: tc.family === 'clang' ? tc.llvm['llvm-profdata'] : { name: 'gcov-dump', package: 'gcc' },
      instrumentedTask: `${v}:pgo:instrumented:make`,
      train,
      trainInputs: {
        files: opts.profileTask === 'runtime' ? [join(runtime, 'runtime/train/**/*.py')] : [],
        config: { 'pgo.task': opts.profileTask },
      },
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

  tasks.push(...configureAndMake({ prefix: v, buildDir, installDir, args, env: buildEnv(tc, flags, v === 'opt' && opts.lto), deps, opts, config, extraTools }));
  tasks.push(
    {
      id: `${v}:install`,
      title: `make install into ${installDir}`,
      deps: [`${v}:make`],
      weight: 5,
      inputs: { tools: [MAKE] },
      outputs: [`build/${v}_install`],
      async run(ctx) {
        rmSync(ctx.path(`build/${v}_install`), { recursive: true, force: true });
        await ctx.exec('make', ['install'], { cwd: ctx.path(buildDir), env: { PATH: tc.path } });
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
      deps: [`${v}:venv`],
      inputs: { files: [join(packageRoot(), 'runtime/probes/probe.py')] },
      outputs: [`build/${v}_probe.txt`],
      async run(ctx) {
        await ctx.exec(ctx.path(envDir, 'bin', 'python'), [join(packageRoot(), 'runtime/probes/probe.py')], { jobserver: false });
        const last = readFileSync(ctx.logPath, 'utf8').split('\n').filter((l) => l.startsWith('probe:')).pop() ?? 'probe: OK';
        writeFileSync(ctx.path(`build/${v}_probe.txt`), last + '\n');
      },
    },
  );
  return { tasks, last: `${v}:probe`, python: `${envDir}/bin/python` };
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
