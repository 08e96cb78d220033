/**
 * One interpreter variant's tasks: configure, make, install and a venv, each
 * its own task, in build/<variant>_{build,install,env}, then the runtime/
 * probes. What a variant is comes from the table (./table.ts); its flags
 * from one pure function (./flags.ts). Optimized variants get their profile
 * from src/pgo/ (our own instrumented build, training, merge and
 * validation, not CPython's `make profile-opt`), LTO, and BOLT from
 * src/bolt/. The result is a typed {@link Release} (src/steps/release.ts).
 *
 * This is the composition layer between src/targets.ts and the factories:
 * it joins the sources (steps/), the flavor (flavors/), the toolchain
 * (llvm/), PGO (pgo/) and BOLT (bolt/), so that none of those folders
 * imports another.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { copyFileAtomic, TaskFailure, writeFileAtomic, type Task, type TaskInputs, type ToolRef } from '../graph/index.js';
import type { Toolchain } from '../llvm/toolchain.js';
import { pgoTasks, profileOutput, type PgoFlags } from '../pgo/pipeline.js';
import { boltTasks, type BoltBinary } from '../bolt/pipeline.js';
import { runtimeTask } from '../bolt/runtime.js';
import type { Command } from '../steps/command.js';
import type { SourceTasks } from '../steps/source.js';
import { packageRoot } from '../steps/paths.js';
import type { BuildReport, Release } from '../steps/release.js';
import type { Arch } from '../debian/arch.js';
import type { Flavor, Layout } from '../flavors/index.js';
import { variantFlags } from './flags.js';
import { aotEvidence, jitBuild, type AotDir } from '../aot/chain.js';
import { archInfo } from '../debian/arch.js';
import type { VariantDef } from './table.js';
import { emulatedTraining, type CrossSpec } from './cross.js';

const MAKE: ToolRef = { name: 'make', package: 'make' };
const SH: ToolRef = { name: 'sh', package: 'dash', versionArgs: [] };

export interface VariantOptions {
  readonly variant: VariantDef;
  readonly flavor: Flavor;
  readonly arch: Arch;
  readonly source: SourceTasks;
  readonly toolchain: Toolchain;
  readonly root: string;
  readonly pgo: boolean;
  readonly lto: boolean;
  /** config lto.parallel. */
  readonly ltoParallel?: boolean;
  /** config pgo.partial_training. */
  readonly partialTraining?: boolean;
  /** config release.reuse_profiles: false makes a packaged variant train its own PGO and BOLT profiles. */
  readonly reuseProfiles?: boolean;
  readonly configureExtra: readonly string[];
  /** 'runtime', 'regrtest' or a command (its first word is replaced by nothing: the instrumented python is run with the rest). */
  readonly profileTask: string;
  readonly tolerateTrainingFailure: boolean;
  /**
   * Upstream keys of installed system libraries the build links (e.g.
   * libssl-dev's version), read when the keys are computed, not when the
   * graph is built.
   */
  readonly systemKeys: () => Readonly<Record<string, string>>;
  /** Debian packages configure needs (the build libraries), for setup and doctor. */
  readonly buildPackages: readonly string[];
  /** BOLT for the variants that have it, or why not. */
  readonly bolt: BoltOptions;
  /**
   * The install prefix of packaged variants (`release`), the one its
   * packages use (e.g. /usr/lib/cpython). It is configured in, and `make
   * install` writes under build/<variant>_install with DESTDIR.
   */
  readonly releasePrefix: string;
  /**
   * The flavor's AOT chain (src/aot/chain.ts), for its JIT variants: the
   * static and PIC trace directories and the LLVM toolchain that compiles
   * the traces. Absent for CPython and for the stock variants.
   */
  readonly aot?: { readonly static: AotDir; readonly pic: AotDir; readonly llvm: Toolchain };
  /**
   * A cross build (./cross.ts): the toolchain is the cross one, the build
   * libraries the target's, and configure waits for `deps` (the tasks that
   * make the build machine's interpreter named in `buildPython`).
   */
  readonly cross?: CrossSpec & { readonly deps: readonly string[] };
  /**
   * A packaged variant's PGO profile: another variant's (`release` uses
   * `opt`'s, see ./flags.ts profileDonor), whose tasks up to `ready` are in
   * the graph; or why it trains its own. Absent for other variants.
   */
  readonly profileFrom?: { readonly variant: string; readonly ready: string } | { readonly variant?: undefined; readonly reason: string };
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

export interface VariantTasks {
  readonly tasks: Task[];
  readonly release: Release;
}

/** Counts of clang's -Wprofile-instr-* and gcc's -Wmissing-profile warnings in a build log. */
export function profileWarnings(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of log.matchAll(/\[-W(profile-instr-[a-z-]+|missing-profile)\]/g)) counts[m[1]!] = (counts[m[1]!] ?? 0) + 1;
  return counts;
}

/** `text` without the given whole words (space-separated), and how many were removed. */
export function dropMakefileWords(text: string, words: readonly string[]): { text: string; removed: number } {
  let removed = 0;
  const out = text
    .split('\n')
    .map((line) => {
      const parts = line.split(/( +|\t+)/);
      const kept: string[] = [];
      for (const p of parts) {
        if (words.includes(p)) {
          removed++;
          if (kept.length && /^[ \t]+$/.test(kept[kept.length - 1]!)) kept.pop();
          continue;
        }
        kept.push(p);
      }
      return kept.join('');
    })
    .join('\n');
  return { text: out, removed };
}

/**
 * gcc's -Wmissing-profile warnings per source file (its base name without
 * `.c`): functions the profile has no record of. A file compiled alike in
 * the instrumented and the final build has none.
 */
export function missingProfileByFile(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of log.matchAll(/^(?:[^\s:]*\/)?([^/\s:]+?)\.c:\d+:\d+: warning: [^\n]*\[-Wmissing-profile\]$/gm)) counts[m[1]!] = (counts[m[1]!] ?? 0) + 1;
  return counts;
}

function buildEnv(tc: Toolchain, flags: PgoFlags, lto: boolean, cross = false): Record<string, string> {
  const env: Record<string, string> = { PATH: tc.path, CC: tc.cc.command ?? tc.cc.name, CXX: tc.cxx.command ?? tc.cxx.name };
  // A cross build runs the build machine's unopt install as its build python:
  // it must not write .pyc files into that install (another task's output,
  // whose change would rebuild everything after it). compileall still writes
  // the target's .pyc at make install: it writes them explicitly.
  if (cross) env.PYTHONDONTWRITEBYTECODE = '1';
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
  /** What configure waits for besides the source (the flavor's pre-configure tasks). */
  configureDeps: readonly string[];
  opts: VariantOptions;
  config: Record<string, unknown>;
  /** Debian packages this build needs beyond the build libraries. */
  packages?: readonly string[];
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
  /** Tools the build runs besides the compiler (Pyston's JIT: clang-13, luajit, python3). */
  extraTools?: readonly ToolRef[];
  /** The variant's AOT directory (relative): the make task records what its log says about the traces. */
  aotDir?: string;
  /** Files the build links that a package provides (clang's profile runtime), checked before configure. */
  requiredFiles?: readonly { readonly path: string; readonly package: string }[];
  /**
   * A build that uses another variant's profile: make fails unless gcc
   * found a profile for every function of this object (`ceval`), the
   * evidence that the profile applied to this build's objects.
   */
  profileCheck?: { readonly from: string; readonly hotObject: string };
  /** Words removed from the generated Makefile after configure (see ./flags.ts makefileDrop). */
  makefileDrop?: readonly string[];
  /** Lines appended to the generated Makefile after configure (see ./flags.ts makefileAppend). */
  makefileAppend?: readonly string[];
}): Task[] {
  const { opts } = o;
  const tc = opts.toolchain;
  const tools = [SH, MAKE, tc.cc, tc.cxx, ...(tc.family === 'clang' ? [tc.ar, tc.llvm['ld.lld']] : []), ...(o.extraTools ?? [])];
  const packages = [...opts.buildPackages, ...(o.packages ?? [])];
  // A getter: the installed versions are read when the key is computed, not when the graph is built.
  const configureInputs: TaskInputs = {
    files: opts.source.files,
    tools,
    // Make's command-line variables are in this key too: make does not
    // track them, so a change must reconfigure (which empties the build
    // directory) for make to rebuild with them.
    config: {
      ...o.config,
      args: o.args,
      env: o.env,
      ...(o.relativeSource ? { relativeSource: true } : {}),
      ...(o.makeArgs?.length ? { makeArgs: o.makeArgs } : {}),
      ...(o.makefileDrop?.length ? { makefileDrop: o.makefileDrop } : {}),
      ...(o.makefileAppend?.length ? { makefileAppend: o.makefileAppend } : {}),
    },
    get upstream() {
      return opts.systemKeys();
    },
  };
  return [
    {
      id: `${o.prefix}:configure`,
      title: `configure ${o.buildDir}`,
      deps: [...opts.source.deps, ...o.configureDeps],
      packages,
      inputs: configureInputs,
      outputs: [`${o.buildDir}/Makefile`, `${o.buildDir}/pyconfig.h`],
      async run(ctx) {
        // A missing library would not fail configure: the module would just be left out.
        const missing = Object.entries(opts.systemKeys())
          .filter(([, v]) => v === 'missing')
          .map(([k]) => k.replace(/^pkg:/, ''));
        if (missing.length > 0) {
          throw new TaskFailure(`missing build libraries: ${missing.join(' ')}`, `run: npx pyston-build setup ${opts.variant.name} (or apt-get install -y ${missing.join(' ')})`);
        }
        for (const r of o.requiredFiles ?? []) {
          if (!existsSync(r.path)) throw new TaskFailure(`${r.path} is missing`, `run: npx pyston-build setup ${opts.variant.name} (or apt-get install -y ${r.package})`);
        }
        const dir = ctx.path(o.buildDir);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const configure = o.relativeSource ? join(relative(dir, opts.source.srcDir), 'configure') : join(opts.source.srcDir, 'configure');
        await ctx.exec(configure, [`--prefix=${o.installPrefix ?? ctx.path(o.installDir)}`, ...o.args], { cwd: dir, env: o.env, jobserver: false });
        if (o.makefileDrop?.length || o.makefileAppend?.length) {
          const r = dropMakefileWords(readFileSync(join(dir, 'Makefile'), 'utf8'), o.makefileDrop ?? []);
          const added = o.makefileAppend?.length ? `\n# Added by pyston-build (src/variants/flags.ts)\n${o.makefileAppend.join('\n')}\n` : '';
          writeFileAtomic(join(dir, 'Makefile'), r.text + added);
          if (o.makefileDrop?.length) ctx.log(`Makefile: removed ${o.makefileDrop.join(', ')} (${r.removed} times)`);
          for (const l of o.makefileAppend ?? []) ctx.log(`Makefile: added ${l}`);
        }
      },
    },
    {
      id: `${o.prefix}:make`,
      title: `make in ${o.buildDir} (shares the jobserver)`,
      // Only compiling needs what `deps` make (e.g. the profile): configure runs alongside.
      deps: [`${o.prefix}:configure`, ...o.deps],
      packages,
      weight: 20,
      inputs: { files: opts.source.files, tools, config: { env: o.env, makeArgs: o.makeArgs ?? [], ...(o.fromClean ? { fromClean: true } : {}) } },
      outputs: [`${o.buildDir}/${layoutOf(opts).buildBinary}`, `${o.buildDir}/profile-warnings.json`, ...(o.aotDir ? [`${o.buildDir}/aot-evidence.json`] : [])],
      async run(ctx) {
        if (o.fromClean) await ctx.exec('make', ['clean', ...(o.makeArgs ?? [])], { cwd: ctx.path(o.buildDir), env: o.env });
        await ctx.exec('make', [...(o.makeArgs ?? [])], { cwd: ctx.path(o.buildDir), env: o.env });
        const log = readFileSync(ctx.logPath, 'utf8');
        const warnings = profileWarnings(log);
        const total = Object.values(warnings).reduce((a, b) => a + b, 0);
        const missing = missingProfileByFile(log);
        if (total > 0) ctx.log(`profile warnings: ${JSON.stringify(warnings)}`);
        if (o.profileCheck) {
          const n = missing[o.profileCheck.hotObject] ?? 0;
          if (n > 0)
            throw new TaskFailure(
              `the profile of ${o.profileCheck.from} did not apply to ${o.buildDir}: gcc found no profile for ${n} functions of ${o.profileCheck.hotObject}.c`,
              `read ${ctx.logPath}; the two builds must compile the same code (or run: npx pyston-build clean, to retrain)`,
            );
          ctx.log(`the profile of ${o.profileCheck.from} applied: every function of ${o.profileCheck.hotObject}.c has one`);
        }
        writeFileSync(
          ctx.path(o.buildDir, 'profile-warnings.json'),
          JSON.stringify({ total, byKind: warnings, missingProfileByFile: missing, ...(o.profileCheck ? { profileFrom: o.profileCheck.from } : {}) }, null, 2) + '\n',
        );
        if (o.aotDir) {
          const evidence = aotEvidence(readFileSync(ctx.logPath, 'utf8'), ctx.path(o.aotDir, 'summary.json'));
          if (evidence.tracesPgo === 'not built') throw new TaskFailure(`make in ${o.buildDir} did not compile the AOT traces (aot_optimized.o)`, `read ${ctx.logPath}`);
          ctx.log(`AOT traces: ${String(evidence.tracesPgo)}`);
          writeFileSync(ctx.path(o.buildDir, 'aot-evidence.json'), JSON.stringify(evidence, null, 2) + '\n');
        }
      },
    },
  ];
}

/** The file names of this flavor's build of this source (src/flavors). */
function layoutOf(opts: VariantOptions): Layout {
  return opts.flavor.layout(opts.source.version.split('.').slice(0, 2).join('.'), opts.source.flavorVersion);
}

export function variantTasks(opts: VariantOptions): VariantTasks {
  const def = opts.variant;
  const v = def.name;
  const tc = opts.toolchain;
  const layout = layoutOf(opts);
  const f = variantFlags({
    variant: def,
    flavor: opts.flavor,
    family: tc.family,
    arch: opts.arch,
    pgo: opts.pgo,
    lto: opts.lto,
    ltoParallel: opts.ltoParallel ?? true,
    partialTraining: opts.partialTraining ?? false,
    bolt: opts.bolt.enabled,
    configureExtra: opts.configureExtra,
    root: opts.root,
    srcDir: opts.source.srcDir,
    ...(opts.cross ? { cross: { buildMachine: opts.cross.buildMachine, target: opts.cross.target, buildPython: opts.cross.buildPython } } : {}),
    ...(opts.profileFrom?.variant ? { profileFrom: opts.profileFrom.variant } : {}),
  });
  const donor = opts.profileFrom?.variant !== undefined ? opts.profileFrom : undefined;
  const buildDir = f.dirs.build;
  const release = def.packaged;
  // Configure by a relative path for a release (no build-machine path in
  // the binary) and for every PGO build: gcc's profile checks each
  // function's source location, file name included, so the opt build whose
  // profile a release reuses must name its sources as the release does
  // (`../src/...` from sibling build directories). An absolute name gave
  // -Werror=coverage-mismatch ("source locations ... have changed").
  // (Pyston's releases train their own profile, see ./flags.ts profileDonor.)
  const relativeSource = release || (f.pgo && !opts.flavor.aot);
  const installDir = release ? `${f.dirs.install}${opts.releasePrefix}` : `${f.dirs.install}/usr`;
  const envDir = f.dirs.env;
  const args = [...f.configureArgs];
  const config: Record<string, unknown> = { variant: v, cc: tc.family, pgo: f.pgo, lto: f.lto, ...(release ? { prefix: opts.releasePrefix } : {}) };
  const tasks: Task[] = [];
  const deps: string[] = [];
  const bolt = f.bolt && opts.bolt.enabled ? opts.bolt : undefined;
  const shared = f.shared;
  const makeArgs = [...f.makeArgs];
  const configureDeps: string[] = [...(opts.cross?.deps ?? [])];
  // Pyston's JIT variants: their own copy of the AOT traces, and what their
  // make runs and links for the JIT (src/aot/chain.ts).
  const jit =
    opts.aot && !def.stock
      ? jitBuild({
          variant: v,
          root: opts.root,
          from: f.shared ? opts.aot.pic : opts.aot.static,
          dir: f.dirs.aot,
          llvm: opts.aot.llvm,
          cpu: archInfo(opts.arch).triplet.split('-')[0]!,
        })
      : undefined;
  if (jit) {
    tasks.push(jit.task);
    configureDeps.push(jit.task.id);
    makeArgs.push(...jit.makeArgs);
  }
  const jitParts = jit ? { extraTools: jit.tools, aotDir: jit.dir } : {};

  if (f.pgoSpec && donor) {
    // One training per release: the final build reads the donor's profile.
    deps.push(donor.ready);
    config.pgo = true;
    config.profile = profileOutput(f.pgoSpec);
    config.profileFrom = donor.variant;
  } else if (f.pgoSpec) {
    const spec = f.pgoSpec;
    // Under emulation (a cross build), runtime/train runs a quarter of its rounds (./cross.ts).
    const train = opts.cross ? emulatedTraining(training(opts.profileTask), opts.profileTask) : training(opts.profileTask);
    tasks.push(
      ...configureAndMake({
        prefix: `${v}:pgo:instrumented`,
        buildDir: f.dirs.pgoBuild,
        installDir: `build/${v}_pgo_install/usr`,
        args: [...f.instrumentedConfigureArgs],
        env: { ...buildEnv(tc, { cflags: f.instrumented.cflags, ldflags: [...f.instrumented.ldflags, ...(jit?.instrumented.ldflags ?? [])] }, false, !!opts.cross), ...jit?.env },
        deps: [],
        configureDeps,
        opts,
        config: { ...config, lto: false, instrumented: true },
        makeArgs,
        relativeSource,
        // clang's profile runtime is its own package: without it the instrumented link fails.
        packages: [...(tc.family === 'clang' ? [`libclang-rt-${tc.llvmMajor}-dev`] : []), ...(jit?.packages ?? [])],
        ...jitParts,
        ...(jit ? { requiredFiles: [jit.instrumented.requires] } : {}),
      }),
    );
    const pgo = pgoTasks({
      ...spec,
      profileTool: tc.family === 'clang' ? tc.llvm['llvm-profdata'] : { name: 'gcov-dump', package: 'gcc' },
      instrumentedTask: `${v}:pgo:instrumented:make`,
      // A shared build's instrumented python must load the instrumented libpython beside it.
      train: {
        file: join(opts.root, f.dirs.pgoBuild, layout.buildBinary),
        args: train.args,
        ...(train.shards ? { shards: train.shards } : {}),
        cwd: join(opts.root, f.dirs.pgoBuild),
        ...(shared ? { env: { LD_LIBRARY_PATH: join(opts.root, f.dirs.pgoBuild) } } : {}),
      },
      trainInputs: train.inputs,
      hotFunction: jit && opts.flavor.aot ? opts.flavor.aot.hotFunction : opts.flavor.hotFunction,
      hotObject: jit && opts.flavor.aot ? opts.flavor.aot.hotObject : opts.flavor.hotObject,
      tolerateFailure: opts.tolerateTrainingFailure,
    });
    tasks.push(...pgo.tasks);
    deps.push(pgo.ready);
    config.pgo = true;
    config.profile = profileOutput(spec);
  }

  if (bolt) Object.assign(config, { bolt: true, shared });
  tasks.push(
    ...configureAndMake({
      prefix: v,
      buildDir,
      installDir,
      ...(release ? { installPrefix: opts.releasePrefix } : {}),
      args,
      env: { ...buildEnv(tc, f.final, f.lto, !!opts.cross), ...jit?.env },
      deps,
      configureDeps,
      opts,
      config,
      makeArgs,
      relativeSource,
      fromClean: f.pgo,
      makefileDrop: f.makefileDrop,
      makefileAppend: f.makefileAppend,
      packages: jit?.packages ?? [],
      ...jitParts,
      ...(donor && f.pgoSpec && tc.family === 'gcc' ? { profileCheck: { from: donor.variant, hotObject: jit && opts.flavor.aot ? opts.flavor.aot.hotObject : opts.flavor.hotObject } } : {}),
    }),
  );
  const destdir = release ? [`DESTDIR=${join(opts.root, f.dirs.install)}`] : [];
  // A cross build's make install runs the build python too (see buildEnv).
  const installEnv: Record<string, string> = opts.cross ? { PYTHONDONTWRITEBYTECODE: '1' } : {};
  const installDeps = [`${v}:make`];
  let boltReport: string | undefined;
  const boltInstall: { from: string; to: string }[] = [];
  if (bolt) {
    const b = boltForVariant(v, bolt, opts, buildDir, layout, shared);
    tasks.push(...b.tasks.tasks);
    installDeps.push(b.tasks.ready);
    boltReport = b.tasks.report;
    boltInstall.push(...b.install.map((i) => ({ from: i.from, to: `${installDir}/${i.to}` })));
  }
  const probeArgs = opts.flavor.probeArgs(def.stock);
  const boltOff = !def.bolt
    ? def.stock
      ? "the stock variants are built without BOLT, as Pyston's Makefile builds them"
      : 'BOLT applies to the opt and release variants only'
    : !opts.bolt.enabled
      ? opts.bolt.reason
      : 'not configured';
  tasks.push(
    {
      id: `${v}:install`,
      title: bolt ? `make install into ${installDir}, with the BOLTed files` : `make install into ${installDir}`,
      deps: installDeps,
      weight: 5,
      inputs: { tools: [MAKE], config: { boltInstall, makeArgs, destdir, ...(opts.cross ? { env: installEnv, ensurepip: 'target' } : {}) } },
      outputs: [f.dirs.install],
      async run(ctx) {
        rmSync(ctx.path(f.dirs.install), { recursive: true, force: true });
        // A cross build's make install would run ensurepip with the build
        // python, whose pip sees itself already installed (in the build
        // python's site-packages) and installs nothing into the target tree.
        // So pip is installed by the installed target interpreter itself,
        // under emulation, as a native make install does with ./python.
        await ctx.exec('make', ['install', ...makeArgs, ...destdir, ...(opts.cross ? ['ENSUREPIP=no'] : [])], { cwd: ctx.path(buildDir), env: { PATH: tc.path, ...installEnv } });
        if (opts.cross) await ctx.exec(ctx.path(installDir, 'bin', layout.installedBinary), ['-m', 'ensurepip', '--upgrade'], { jobserver: false });
        // The verify task left either the BOLTed files or (bolt = auto, after a failure) the inputs.
        for (const i of boltInstall) {
          const to = ctx.path(i.to);
          if (!existsSync(to)) throw new TaskFailure(`make install did not install ${i.to}`, 'the BOLTed file has nowhere to go: check the install layout');
          copyFileAtomic(ctx.path(i.from), to, statSync(to).mode & 0o7777);
          ctx.log(`installed ${i.from} as ${i.to}`);
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
      inputs: { files: [join(packageRoot(), 'runtime/probes/probe.py')], ...(probeArgs.length ? { config: { probeArgs } } : {}) },
      outputs: [`build/${v}_probe.txt`, `build/${v}_report.json`],
      async run(ctx) {
        await ctx.exec(ctx.path(envDir, 'bin', 'python'), [join(packageRoot(), 'runtime/probes/probe.py'), ...probeArgs], { jobserver: false });
        const verdict = probeVerdict(readFileSync(ctx.logPath, 'utf8'));
        if (!verdict.ok) throw new TaskFailure(`the probes of ${envDir} did not report a verdict`, `read ${ctx.logPath}: runtime/probes/probe.py must end with a 'probe: OK' line`);
        writeFileSync(ctx.path(`build/${v}_probe.txt`), verdict.line + '\n');
        const report: BuildReport = {
          variant: v,
          flavor: opts.flavor.name,
          arch: opts.arch,
          compiler: tc.family,
          pgo: f.pgo
            ? {
                enabled: true,
                summary: readJsonOrNull(ctx.root, `${f.pgoSpec!.dir}/summary.json`),
                ...(donor ? { profileFrom: donor.variant } : opts.profileFrom && 'reason' in opts.profileFrom ? { ownTraining: opts.profileFrom.reason } : {}),
              }
            : { enabled: false },
          lto: f.lto,
          profileWarnings: readJsonOrNull(ctx.root, `${buildDir}/profile-warnings.json`),
          ...(jit ? { aot: readJsonOrNull(ctx.root, `${buildDir}/aot-evidence.json`) } : {}),
          bolt: boltReport ? { enabled: true, ...(readJsonOrNull(ctx.root, boltReport) as Record<string, unknown>) } : { enabled: false, reason: boltOff },
          configure: config,
          configureArgs: [...args, ...(config.prefix ? [`--prefix=${String(config.prefix)}`] : [])],
          probe: verdict.line,
        };
        writeFileSync(ctx.path(`build/${v}_report.json`), JSON.stringify(report, null, 2) + '\n');
      },
    },
  );
  const release_: Release = {
    variant: v,
    flavor: opts.flavor,
    arch: opts.arch,
    version: opts.source.version,
    last: `${v}:probe`,
    prefix: release ? opts.releasePrefix : join(opts.root, f.dirs.install, 'usr'),
    installRoot: f.dirs.install,
    installDir,
    buildDirs: [buildDir, ...(f.pgoSpec ? [f.dirs.pgoBuild] : [])],
    srcDir: opts.source.srcDir,
    python: `${envDir}/bin/python`,
    report: `build/${v}_report.json`,
    shared,
    ...(opts.cross ? { buildPython: opts.cross.buildPython } : {}),
  };
  return { tasks, release: release_ };
}

/**
 * The probes' verdict: their last `probe:` line. `probe: OK ...` passes;
 * a run that printed no verdict (killed, or a probe script that changed)
 * is a failure, never a silent pass.
 */
export function probeVerdict(log: string): { ok: boolean; line: string } {
  const line = log
    .split('\n')
    .filter((l) => l.startsWith('probe:'))
    .pop();
  if (line === undefined) return { ok: false, line: 'probe: no verdict' };
  return { ok: /^probe: OK\b/.test(line), line };
}

function readJsonOrNull(root: string, p: string): unknown {
  return existsSync(join(root, p)) ? JSON.parse(readFileSync(join(root, p), 'utf8')) : null;
}

/**
 * How many parts runtime/train is split into. Fixed, so the profile is the
 * same whatever the machine's load: the parts run at once when the -j
 * budget has a free slot, one after the other when not. Two halves the
 * training's wall time on the 2-core machine this was measured on.
 */
export const TRAINING_SHARDS = 2;

/**
 * The training workload (config `pgo.task`), for PGO and BOLT alike: the
 * arguments given to the python under training, and what it reads.
 */
export function training(task: string): { args: string[]; inputs: TaskInputs; shards?: Command['shards'] } {
  const runtime = packageRoot();
  const inputs = { files: task === 'runtime' ? [join(runtime, 'runtime/train/**/*.py')] : [], config: { 'pgo.task': task } };
  // runtime/train runs as TRAINING_SHARDS processes, at once when job slots are free (src/steps/command.ts).
  if (task === 'runtime')
    return {
      args: [join(runtime, 'runtime/train/run.py')],
      inputs: { ...inputs, config: { ...inputs.config, 'train.shards': TRAINING_SHARDS } },
      shards: { count: TRAINING_SHARDS, args: (k, n) => ['--shard', `${k}/${n}`] },
    };
  if (task === 'regrtest') return { args: ['-m', 'test', '--pgo', '--timeout=1200'], inputs };
  return { args: task.split(/\s+/).filter(Boolean), inputs };
}

/** The BOLT chain of a variant: the executable, and libpython when shared. */
function boltForVariant(v: string, bolt: Extract<BoltOptions, { enabled: true }>, opts: VariantOptions, buildDir: string, layout: Layout, shared: boolean) {
  const root = opts.root;
  const dir = `build/${v}_bolt`;
  const b = join(root, buildDir);
  const so = layout.libpython;
  const exe = layout.buildBinary;
  const binaries: BoltBinary[] = [{ name: exe, input: join(b, exe), instrumented: join(b, `${exe}.bolt-inst`), output: join(b, `${exe}.bolt`) }];
  const install = [{ from: `${buildDir}/${exe}.bolt`, to: `bin/${layout.installedBinary}` }];
  if (shared) {
    // Pyston's Makefile BOLTs the .so with -jump-tables=none.
    binaries.push({ name: so, input: join(b, so), instrumented: join(root, dir, 'inst-lib', so), output: join(root, dir, 'lib', so), extraApplyFlags: ['-jump-tables=none'] });
    install.push({ from: `${dir}/lib/${so}`, to: `lib/${so}` });
  }
  const runtime = packageRoot();
  // The build-tree python finds its stdlib and extension modules from its own directory (pybuilddir.txt).
  // Under emulation the training runs the same scaled-down rounds as the PGO training.
  const trained = opts.cross ? emulatedTraining(training(opts.profileTask), opts.profileTask) : training(opts.profileTask);
  const trainArgs = trained.args;
  const libPath = (first: string): Record<string, string> => (shared ? { LD_LIBRARY_PATH: `${first}:${b}` } : {});
  const train: Command = { file: join(b, `${exe}.bolt-inst`), args: trainArgs, ...(trained.shards ? { shards: trained.shards } : {}), cwd: b, env: libPath(join(root, dir, 'inst-lib')) };
  // The check must prove it ran on the BOLTed library, not the input beside the python.
  const check: Command = {
    file: join(b, `${exe}.bolt`),
    args: [join(runtime, 'runtime/probes/probe.py'), '--no-venv', ...(shared ? ['--libpython-dir', join(root, dir, 'lib')] : [])],
    cwd: b,
    env: libPath(join(root, dir, 'lib')),
  };
  // The installed instrumentation runtime is the build machine's: a cross build links the target's.
  const rt = opts.cross ? runtimeTask({ arch: opts.arch, llvmMajor: opts.toolchain.llvmMajor, bolt: opts.toolchain.llvm['llvm-bolt'], cacheDir: bolt.cacheDir }) : undefined;
  const tasks = boltTasks({
    prefix: `${v}:bolt`,
    root,
    dir,
    bolt: opts.toolchain.llvm['llvm-bolt'],
    mergeFdata: opts.toolchain.llvm['merge-fdata'],
    binaries,
    after: `${v}:make`,
    train,
    trainInputs: trained.inputs,
    check,
    instrumentFlags: bolt.instrumentFlags,
    applyFlags: bolt.applyFlags,
    skipFuncs: bolt.skipFuncs(shared),
    minCoverage: bolt.minCoverage,
    policy: bolt.policy,
    cacheDir: bolt.cacheDir,
    // release.reuse_profiles = false: a packaged variant trains its own BOLT profile too.
    layoutReuse: !(opts.variant.packaged && opts.reuseProfiles === false),
    timeoutSeconds: bolt.timeoutSeconds,
    ...(rt ? { runtime: { lib: join(root, rt.lib), task: rt.task.id } } : {}),
  });
  return { tasks: rt ? { ...tasks, tasks: [rt.task, ...tasks.tasks] } : tasks, install };
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
