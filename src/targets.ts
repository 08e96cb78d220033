/**
 * Target name -> root tasks. Reading this file tells you the whole build.
 *
 *   source      fetch/unpack the tree to build (or use a checkout), and apply
 *               pyston-build's patches for it to a copy (src/steps/patches.ts)
 *   submodules  sync the submodules a checkout's flavor needs, at their pins
 *   <variant>   configure + make + install + venv + probes, one per row of
 *               the variant table (src/variants/table.ts): unopt, opt, dbg,
 *               release, each also *shared, and for a Pyston tree stock,
 *               stockunopt, stockdbg. opt and release get our PGO
 *               (src/pgo), LTO and, where the architecture has it, BOLT
 *               (src/bolt); release is configured for the packages' prefix
 *   all         opt, then the pyston3 / pyston3.X links (as `make all`)
 *   package     the release variant staged, as a .deb and a portable
 *               .tar.gz, verified, then published to
 *               build/dist/<name>-<version>/ (src/packaging)
 *   docker      the full and the slim image of that release per architecture,
 *               built on a docker engine from bases made by debootstrap,
 *               pulled back and checked, then pushed as multi-platform
 *               indexes to docker.registry (src/packaging/docker)
 *   wheels      a wheel project's extension (a Pyston tree's pyston_lite)
 *               and its autoload package, for each interpreter of
 *               wheels.pythons (their plain builds), with PGO, LTO and
 *               BOLT, verified, then published to
 *               build/dist/<name>-<version>/wheelhouse/ (src/packaging/wheel)
 *
 * Building the graph has no side effects: it runs no tool and reads no dpkg
 * status (the installed library versions are read when keys are computed),
 * and builds only the targets asked for. Settings are validated by
 * {@link checkTargets}, only for the targets a build will run, so `clean`,
 * `graph` and `doctor` work with settings that only `package` would reject.
 */
import { join } from 'node:path';
import type { Target, Task, TaskGraph } from './graph/index.js';
import { UsageError } from './graph/index.js';
import type { BuildConfig } from './config.js';
import { resolveSource, sourceTasks, type CheckoutSubmodules, type SourceTasks } from './steps/source.js';
import { readGitmodules } from './steps/gitfiles.js';
import { cacheDir, packageRoot } from './steps/paths.js';
import { discoverToolchain, type Toolchain } from './llvm/toolchain.js';
import { linkTask, variantTasks, type BoltOptions, type VariantTasks } from './variants/tasks.js';
import { VARIANT_TABLE, type VariantDef } from './variants/table.js';
import { profileDonor } from './variants/flags.js';
import { defaultApplyFlags, DEFAULT_INSTRUMENT_FLAGS } from './bolt/pipeline.js';
import { skipFuncsFromConfig } from './bolt/skip.js';
import { defaultSkipFuncs, type Flavor } from './flavors/index.js';
import { archInfo, hostArch, type Arch } from './debian/arch.js';
import { CPYTHON_BUILD_DEPS } from './debian/apt.js';
import { packageKeys } from './debian/dpkg.js';
import { checkMaintainer, checkRootfsSettings, checkSourceDateEpoch, releaseNames, type ReleaseNames } from './packaging/release.js';
import { packageTasks, publishTask } from './packaging/tasks.js';
import { checkDockerSettings, dockerTasks } from './packaging/docker/tasks.js';
import type { DaemonMode } from './packaging/docker/engine.js';
import { submoduleTasks } from './steps/submodules.js';
import { aotChain } from './aot/chain.js';
import { wheelInterpreter, wheelProject, wheelTagMinor } from './packaging/wheel/pythons.js';
import { wheelTasks } from './packaging/wheel/tasks.js';
import { rangeText, supports } from './packaging/wheel/project.js';
import { training } from './variants/tasks.js';
import { binfmtEntry, canCross, crossBuildPackages, crossTargets, crossToolchain } from './variants/cross.js';

/** Env vars any task of the product graph may declare as inputs. */
export const ENV_ALLOW_LIST: readonly string[] = ['SOURCE_DATE_EPOCH'];

/** What the caller wants the graph for. */
export interface GraphRequest {
  /** Target names or task ids; undefined = every target (graph, doctor). */
  readonly targets?: readonly string[];
}

/** BOLT settings from the config, or why BOLT is off (config, or an architecture without it). */
export function boltOptions(config: BuildConfig, cache: string, arch: Arch, flavor: Flavor): BoltOptions {
  if (config.bolt === 'off') return { enabled: false, reason: 'bolt = off (USE_BOLT=0 or NOBOLT=1)' };
  if (!archInfo(arch).bolt) return { enabled: false, reason: boltUnavailable(arch) };
  const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);
  return {
    enabled: true,
    policy: config.bolt as 'required' | 'auto',
    minCoverage: config['bolt.min_coverage'],
    applyFlags: config['bolt.apply_flags'].trim() ? words(config['bolt.apply_flags']) : defaultApplyFlags(arch),
    instrumentFlags: [...DEFAULT_INSTRUMENT_FLAGS, ...words(config['bolt.instrument_flags'])],
    skipFuncs: (pic) => skipFuncsFromConfig(config['bolt.skip_funcs'], defaultSkipFuncs(flavor, pic)),
    cacheDir: cache,
    timeoutSeconds: config['bolt.timeout'],
  };
}

/**
 * Why BOLT does not run for `arch`: llvm-bolt 19 rewrites x86-64 and
 * aarch64 code only. (arm64 is cross-built here, and BOLT-instrumented with
 * the aarch64 runtime of libbolt-19-dev:arm64: src/bolt/runtime.ts.)
 */
export function boltUnavailable(arch: Arch): string {
  return `BOLT runs on x86_64 and arm64 only; this build is for ${arch}`;
}

/**
 * The architectures the config asks for (config `arch`, a list; `host` =
 * the build machine's), in the order given, without duplicates.
 */
export function configuredArchs(config: BuildConfig): Arch[] {
  const archs = config.arch.split(',').map((a): Arch => {
    if (a !== 'host') return a as Arch;
    const host = hostArch();
    if (!host) throw new UsageError(`pyston-build does not know this machine's architecture (${process.arch})`, 'set arch to one of amd64, arm64, ppc64el, s390x, riscv64');
    return host;
  });
  return [...new Set(archs)];
}

/** The task `id` and every task it depends on, among `tasks` (in their order). */
function upstreamOf(tasks: readonly Task[], id: string): Task[] {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const keep = new Set<string>();
  const visit = (i: string): void => {
    const t = byId.get(i);
    if (!t || keep.has(i)) return;
    keep.add(i);
    for (const d of t.deps) visit(d);
  };
  visit(id);
  return tasks.filter((t) => keep.has(t.id));
}

/** Memoize a function of no arguments. */
function once<T>(f: () => T): () => T {
  let done = false;
  let v: T;
  return () => {
    if (!done) {
      v = f();
      done = true;
    }
    return v;
  };
}

interface TargetDef {
  readonly name: string;
  readonly description: string;
  /** Targets whose tasks this one's tasks depend on. */
  readonly needs: readonly string[];
  /** False when the tree has no such target (the stock variants of a CPython tree): left out of "every target". */
  available?(): boolean;
  /** The target's own tasks and roots. Called only when the target is wanted. */
  build(): { tasks: readonly Task[]; roots: readonly string[]; program?: string };
}

/** A checkout's submodules for its source: the flavor's build set synced first (none for CPython). */
function checkoutSubmodules(checkout: string, paths: readonly string[], config: BuildConfig, root: string): CheckoutSubmodules {
  const sm = submoduleTasks({ checkout, root, paths, mirror: config['submodules.mirror'], rewrite: config['submodules.rewrite'], force: config['submodules.force'] });
  let declared: string[] = [];
  try {
    declared = readGitmodules(checkout).map((e) => e.path);
  } catch {
    // An unreadable .gitmodules is reported by the sync tasks, which read it again.
  }
  return { tasks: sm.tasks, ids: sm.ids, paths: [...new Set([...declared, ...paths])], synced: paths };
}

/**
 * A second LLVM's tools named with their version (clang-13), so that a task
 * that runs both (a Pyston variant built with cc = clang, which compiles
 * its AOT traces with clang 13) has two distinct tools in its key.
 */
function versionedNames(tc: Toolchain): Toolchain {
  const llvm = Object.fromEntries(Object.entries(tc.llvm).map(([k, t]) => [k, { ...t, name: `${t.name}-${tc.llvmMajor}` }])) as unknown as Toolchain['llvm'];
  return { ...tc, llvm, cc: llvm.clang, cxx: llvm['clang++'], ar: llvm['llvm-ar'] };
}

/** The upstream version a release is named by: Pyston's own (2.3.5) for a Pyston tree, as Pyston names its packages; CPython's otherwise. */
function releaseVersion(s: SourceTasks): string {
  return s.flavor.name === 'pyston' ? s.flavorVersion : s.version;
}

/** Everything the factories share, each part computed when first needed. */
function parts(config: BuildConfig, root: string, env: NodeJS.ProcessEnv) {
  const cache = cacheDir(config['cache.dir'], env);
  const src = once((): SourceTasks => {
    const spec = resolveSource({ root, source: config.source, pin: config['source.pin'] });
    return sourceTasks(spec, root, cache, spec.kind === 'checkout' ? checkoutSubmodules(spec.dir, spec.flavor.submodules.build, config, root) : undefined);
  });
  const archs = once(() => configuredArchs(config));
  const toolchain = once((): Toolchain => discoverToolchain({ llvmMajor: config['llvm.version'], llvmBin: config['llvm.bin'], family: config.cc as 'clang' | 'gcc' }, env.PATH));
  // Not validated here: checkTargets does that for the targets a build runs.
  const names = (arch: Arch): ReleaseNames =>
    releaseNames({
      name: config['package.name'],
      prefix: config['package.prefix'],
      version: config['package.version'],
      flavor: src().flavor.name,
      sourceVersion: releaseVersion(src()),
      arch,
      validate: false,
    });
  const systemKeys = once(() => packageKeys(CPYTHON_BUILD_DEPS));
  // The flavor's AOT chain (Pyston: bitcode build, nitrous, pystol, traces), with its own LLVM.
  const aot = once(() => {
    const s = src();
    const spec = s.flavor.aot;
    if (!spec) return undefined;
    const llvm = versionedNames(discoverToolchain({ llvmMajor: spec.llvmMajor, llvmBin: '', family: 'clang' }, env.PATH));
    const minor = s.version.split('.').slice(0, 2).join('.');
    const layout = s.flavor.layout(minor, s.flavorVersion);
    const version = layout.installedBinary.replace(/^python/, '');
    const chain = aotChain({ root, srcDir: s.srcDir, sourceDeps: s.deps, sourceFiles: s.files, llvm, version });
    return { ...chain, llvm };
  });
  const variants = new Map<string, VariantTasks>();
  /** What every variant takes from the config, whatever its architecture. */
  const settings = () => ({
    root,
    pgo: config.pgo,
    lto: config.lto,
    ltoParallel: config['lto.parallel'],
    partialTraining: config['pgo.partial_training'],
    reuseProfiles: config['release.reuse_profiles'],
    configureExtra: config['configure.extra'].split(/\s+/).filter(Boolean),
    profileTask: config['pgo.task'],
    tolerateTrainingFailure: config['pgo.tolerate_failure'],
    releasePrefix: names(archs()[0]!).prefix,
  });
  const crossKeys = new Map<Arch, () => ReturnType<typeof packageKeys>>();
  const crossKeysOf = (a: Arch) => {
    if (!crossKeys.has(a))
      crossKeys.set(
        a,
        once(() => packageKeys(crossBuildPackages(CPYTHON_BUILD_DEPS, a))),
      );
    return crossKeys.get(a)!;
  };
  /**
   * A variant for an architecture (default: the first configured). A cross
   * build (not the build machine's) is named `<variant>-<arch>`
   * (release-arm64), so its tasks and directories never collide with the
   * native variant's, and its configure waits for the build machine's
   * unopt install, the interpreter CPython's cross build runs its build
   * scripts with.
   */
  const variant = (def: VariantDef, a: Arch = archs()[0]!): VariantTasks => {
    const host = hostArch();
    const cross = a !== host;
    const name = cross ? `${def.name}-${a}` : def.name;
    let v = variants.get(name);
    if (!v) {
      const s = src();
      if (def.stock && s.flavor.stockConfigureArgs === undefined) {
        throw new UsageError(
          `the ${def.name} variant builds a Pyston tree's plain CPython (--disable-pyston); ${s.srcDir} is a ${s.flavor.title} tree`,
          'use unopt, opt or dbg, or build a Pyston checkout',
        );
      }
      const crossSpec = cross ? crossOf(a) : undefined;
      // One training per release: a packaged variant uses its opt
      // counterpart's PGO profile (for the same architecture), and the
      // graph gets that variant's tasks up to its validated profile.
      let profileFrom: { variant: string; ready: string } | { reason: string } | undefined;
      let donorTasks: Task[] = [];
      if (def.packaged && def.pgo && config.pgo && !config['release.reuse_profiles']) profileFrom = { reason: 'release.reuse_profiles = false' };
      else if (def.packaged && def.pgo && config.pgo) {
        const d = profileDonor(def, toolchain().family, src().flavor);
        const donorDef = d.variant !== undefined ? VARIANT_TABLE.find((x) => x.name === d.variant) : undefined;
        if (donorDef) {
          const dv = variant(donorDef, a);
          const dname = cross ? `${donorDef.name}-${a}` : donorDef.name;
          profileFrom = { variant: dname, ready: `${dname}:pgo:validate` };
          // Only its own tasks: the source, the AOT chain and a cross build's
          // build python are this variant's upstream too, added as they are.
          donorTasks = upstreamOf(dv.tasks, profileFrom.ready).filter((t) => t.id.startsWith(`${dname}:`));
        } else profileFrom = { reason: 'reason' in d ? d.reason : `no variant ${String(d.variant)}` };
      }
      v = variantTasks({
        variant: cross ? { ...def, name } : def,
        flavor: s.flavor,
        arch: a,
        source: s,
        toolchain: cross ? crossToolchain(toolchain(), a) : toolchain(),
        ...settings(),
        systemKeys: cross ? crossKeysOf(a) : systemKeys,
        buildPackages: cross ? crossBuildPackages(CPYTHON_BUILD_DEPS, a) : CPYTHON_BUILD_DEPS,
        bolt: boltOptions(config, cache, a, s.flavor),
        ...(aot() ? { aot: { static: aot()!.dirs.static, pic: aot()!.dirs.pic, llvm: aot()!.llvm } } : {}),
        ...(crossSpec ? { cross: crossSpec } : {}),
        ...(profileFrom ? { profileFrom } : {}),
      });
      if (donorTasks.length) v = { ...v, tasks: [...donorTasks, ...v.tasks.filter((t) => !donorTasks.some((d) => d.id === t.id))] };
      if (aot() && !def.stock) v = { ...v, tasks: [...aot()!.tasks, ...v.tasks] };
      // Its training, venv and probes run arm64 programs: through qemu, by the kernel's binfmt entry (setup enables it).
      if (crossSpec) v = { ...v, tasks: [...nativeUnopt().tasks, ...v.tasks.map((t) => ({ ...t, binfmt: [binfmtEntry(a)] }))] };
      variants.set(name, v);
    }
    return v;
  };
  /** The build machine's own unopt interpreter: a cross build's build python (the same tasks as the unopt target's). */
  const nativeUnopt = (): VariantTasks => variant(VARIANT_TABLE.find((d) => d.name === 'unopt')!, hostArch()!);
  const crossOf = (a: Arch) => {
    const s = src();
    const host = hostArch();
    if (!canCross(host, a))
      throw new UsageError(
        `arch = ${a}: pyston-build cannot cross-build for ${a} on this ${host ?? process.arch} machine (it can for: ${crossTargets(host).join(', ') || 'nothing'})`,
        `leave arch at host, or build on an ${a} machine`,
      );
    const minor = s.version.split('.').slice(0, 2).map(Number);
    if (s.flavor.name !== 'cpython' || minor[0]! < 3 || (minor[0] === 3 && minor[1]! < 11))
      throw new UsageError(
        `arch = ${a}: cross builds need CPython 3.11 or later (configure's --with-build-python); ${s.srcDir} is ${s.flavor.title} ${s.flavorVersion} (CPython ${s.version})`,
        `build ${s.flavor.title} for ${a} on an ${a} machine, or cross-build the embedded CPython 3.11.2`,
      );
    if (config.cc !== 'gcc') throw new UsageError(`arch = ${a}: cross builds use Debian's cross gcc; cc is ${config.cc}`, `set cc = gcc (the default) for arch = ${a}`);
    const unopt = nativeUnopt();
    const layout = s.flavor.layout(s.version.split('.').slice(0, 2).join('.'), s.flavorVersion);
    return { buildMachine: host!, target: a, buildPython: join(unopt.release.prefix, 'bin', layout.installedBinary), deps: [`unopt:install`] };
  };
  // The wheels: the project, and each interpreter's plain build.
  const wheelProj = once(() => wheelProject(config['wheels.project'], root, src()));
  // The wheels are built for the build machine (wheelGraph refuses a list without it).
  const wheelPythons = once(() =>
    wheelTags(config, src()).map((tag) =>
      wheelInterpreter(tag, {
        src: src(),
        variant: (def) => variant(def, hostArch()!),
        root,
        cache,
        arch: hostArch()!,
        toolchain: toolchain(),
        systemKeys,
        bolt: boltOptions(config, cache, hostArch()!, src().flavor),
        config,
      }),
    ),
  );
  /** Each configured architecture's variant, first the first configured (its python is what `run` uses). */
  const ofEveryArch = (def: VariantDef): VariantTasks[] => archs().map((a) => variant(def, a));
  return { cache, src, archs, toolchain, names, variant, ofEveryArch, aot, wheelProj, wheelPythons };
}

/** The interpreter tags of wheels.pythons, or the default for the tree. */
function wheelTags(config: BuildConfig, s: SourceTasks): string[] {
  const given = config['wheels.pythons']
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (given.length) return [...new Set(given)];
  if (s.flavor.stockConfigureArgs !== undefined) return ['cp38', 'cp39'];
  return [`cp${s.version.split('.').slice(0, 2).join('')}`];
}

function catalog(config: BuildConfig, root: string, env: NodeJS.ProcessEnv): TargetDef[] {
  const p = parts(config, root, env);
  const defs: TargetDef[] = [
    {
      name: 'source',
      description: 'fetch and unpack the source tree',
      needs: [],
      build: () => ({ tasks: p.src().tasks, roots: p.src().deps }),
    },
  ];
  defs.push({
    name: 'submodules',
    description: "the submodules a Pyston checkout's build needs (pyston/LuaJIT), at their pins (none for a CPython tree)",
    needs: [],
    build: () => {
      const s = p.src();
      // The flavor names the set; only a checkout has submodules to sync.
      const paths = s.checkoutDir === undefined ? [] : s.flavor.submodules.build;
      const sm = submoduleTasks({ checkout: s.checkoutDir ?? s.srcDir, root, paths, mirror: config['submodules.mirror'], rewrite: config['submodules.rewrite'], force: config['submodules.force'] });
      return { tasks: sm.tasks, roots: sm.ids };
    },
  });
  // Pyston's bitcode/AOT chain, as targets of their own (a CPython tree has none).
  const aotTargets: readonly (readonly [string, string, string])[] = [
    ['bc', 'the bitcode build of a Pyston tree (clang through clang_wrapper.py), installed in build/bc_install', 'bc:install'],
    ['aot-tools', "nitrous and pystol (Pyston's LLVM-based tracer), built with cmake in build/aot_tools", 'aot-tools:pystol'],
    ['aot', "Pyston's AOT traces for a static interpreter, in build/aot", 'aot:trace'],
    ['aot_pic', "Pyston's AOT traces for a shared libpython, in build/aot_pic", 'aot_pic:trace'],
  ];
  for (const [name, description, root_] of aotTargets) {
    defs.push({
      name,
      description,
      needs: ['source'],
      available: () => p.src().flavor.aot !== undefined,
      build: () => {
        const a = p.aot();
        if (!a) throw new UsageError(`the ${name} target builds Pyston's JIT parts; ${p.src().srcDir} is a ${p.src().flavor.title} tree`, 'build a Pyston checkout');
        return { tasks: a.tasks, roots: [root_] };
      },
    });
  }
  for (const def of VARIANT_TABLE) {
    defs.push({
      name: def.name,
      description: `the ${def.name} interpreter in build/${def.name}_{build,install,env}${def.stock ? " (a Pyston tree's plain CPython)" : ''}`,
      needs: ['source'],
      ...(def.stock ? { available: () => p.src().flavor.stockConfigureArgs !== undefined } : {}),
      // Built for every configured architecture; `pyston-build run VARIANT script.py` runs the script with the first one's venv python.
      build: () => {
        const vs = p.ofEveryArch(def);
        return { tasks: vs.flatMap((v) => v.tasks), roots: vs.map((v) => v.release.last), program: vs[0]!.release.python };
      },
    });
  }
  const opt = VARIANT_TABLE.find((v) => v.name === 'opt')!;
  defs.push({
    name: 'all',
    description: 'the opt interpreter and the pyston3 links (make all); with several architectures, the links are to the first one',
    needs: ['opt'],
    build: () => {
      const r = p.variant(opt).release;
      return { tasks: [linkTask(r.python, r.last, r.version)], roots: ['all:links'] };
    },
  });
  defs.push({
    name: 'package',
    description: 'build/dist/<name>-<version>: the verified .deb, portable .tar.gz, SHA256SUMS and build-info.json (and the wheels, per package.wheels)',
    needs: ['release'],
    build: () => {
      const g = packageGraph(config, p, root);
      return { tasks: g.tasks, roots: [g.publish.id] };
    },
  });
  defs.push({
    name: 'docker',
    description: 'the full and the slim docker image of the release for every configured architecture, checked, then pushed to docker.registry as multi-platform indexes',
    needs: ['package'],
    build: () => {
      const g = packageGraph(config, p, root);
      const n = g.chains[0]!.part.names;
      const d = dockerTasks({
        parts: g.chains.map((c) => c.part),
        publish: g.publish.id,
        dist: `build/dist/${n.name}-${n.upstreamVersion}`,
        registry: config['docker.registry'],
        repository: dockerRepository(config, n.name),
        daemon: config['docker.daemon'] as DaemonMode,
        suite: config['package.suite'],
        mirror: config['package.mirror'],
        cacheDir: p.cache,
        packageRoot: packageRoot(),
        source: p.src().describe,
        probeArgs: p.src().flavor.probeArgs(false),
        binfmt: (a) => (a === hostArch() ? [] : [binfmtEntry(a)]),
        env,
      });
      return { tasks: [...g.tasks, ...d.tasks], roots: [d.root] };
    },
  });
  defs.push({
    name: 'wheels',
    description: 'build/dist/<name>-<version>/wheelhouse: the verified wheels of pyston_lite (or wheels.project) and its autoload package, per wheels.pythons',
    needs: ['source'],
    available: () => config['wheels.project'] !== '' || p.src().flavor.name === 'pyston',
    build: () => {
      const w = wheelGraph(config, p, root);
      return { tasks: w.tasks, roots: [w.publish] };
    },
  });
  return defs;
}

const RELEASE = VARIANT_TABLE.find((v) => v.name === 'release')!;

/** The package target's tasks: one chain per architecture (package:*, package-arm64:*), then one publish. */
function packageGraph(config: BuildConfig, p: ReturnType<typeof parts>, root: string) {
  const host = hostArch();
  const tc = p.toolchain();
  const wheels = packageWheels(config, p.src()) ? wheelGraph(config, p, root) : undefined;
  const chains = p.archs().map((a) => {
    const r = p.variant(RELEASE, a).release;
    const bolt = boltOptions(config, p.cache, a, r.flavor);
    const cc = a === host ? tc.cc : crossToolchain(tc, a).cc;
    const chain = packageTasks({
      id: a === host ? 'package' : `package-${a}`,
      release: r,
      names: p.names(a),
      root,
      maintainer: config['package.maintainer'],
      suite: config['package.suite'],
      mirror: config['package.mirror'],
      cacheDir: p.cache,
      toolchain: [cc, ...(bolt.enabled ? [tc.llvm['llvm-bolt']] : [])],
      strip: tc.llvm['llvm-strip'],
      runtimeDir: join(packageRoot(), 'runtime'),
      source: p.src().describe,
    });
    // A cross release's staging and checks run its programs (through qemu).
    return { ...chain, tasks: a === host ? chain.tasks : chain.tasks.map((t) => ({ ...t, binfmt: [binfmtEntry(a)] })) };
  });
  const publish = publishTask({ parts: chains.map((c) => c.part), source: p.src().describe, ...(wheels ? { wheels: { task: wheels.publish, dir: wheels.dir } } : {}) });
  return { tasks: [...(wheels?.tasks ?? []), ...chains.flatMap((c) => c.tasks), publish], chains, publish };
}

/** docker.repository, or the package name. */
function dockerRepository(config: BuildConfig, name: string): string {
  return config['docker.repository'] || name;
}

/** The wheels' tasks: the interpreters' plain builds, then the wheel pipeline. */
function wheelGraph(config: BuildConfig, p: ReturnType<typeof parts>, root: string) {
  const host = hostArch();
  if (!host || !p.archs().includes(host))
    throw new UsageError(
      `arch = ${p.archs().join(',')}: the wheels are built for the build machine's architecture only (${host ?? process.arch})`,
      `leave arch at host for the wheels target, or list it: arch = ${[host ?? 'host', ...p.archs()].join(',')}`,
    );
  const s = p.src();
  const wp = p.wheelProj();
  // Checked before any interpreter is looked for: an unsupported one is one line naming the range.
  for (const tag of wheelTags(config, s)) {
    const minor = wheelTagMinor(tag);
    if (!supports(wp.project.python, minor))
      throw new UsageError(
        `${wp.project.name} supports CPython ${rangeText(wp.project.python)}; wheels.pythons has ${tag} (${minor.join('.')})`,
        'set wheels.pythons to interpreters in that range, e.g. --set wheels.pythons=cp38,cp39',
      );
  }
  const pythons = p.wheelPythons();
  const bolt = boltOptions(config, p.cache, host, s.flavor);
  const tc = p.toolchain();
  const n = p.names(host);
  const w = wheelTasks({
    project: wp.project,
    projectDeps: wp.deps,
    interpreters: pythons.map((x) => x.interpreter),
    root,
    arch: host,
    pgo: config.pgo,
    lto: config.lto,
    bolt: bolt.enabled
      ? {
          enabled: true,
          bolt: tc.llvm['llvm-bolt'],
          mergeFdata: tc.llvm['merge-fdata'],
          policy: bolt.policy,
          minCoverage: bolt.minCoverage,
          applyFlags: bolt.applyFlags,
          instrumentFlags: bolt.instrumentFlags,
          skipFuncs: skipFuncsFromConfig(config['bolt.skip_funcs'], wp.project.boltSkip),
          cacheDir: bolt.cacheDir,
          timeoutSeconds: bolt.timeoutSeconds,
        }
      : { enabled: false, reason: bolt.reason },
    training: training(config['pgo.task']),
    tolerateTrainingFailure: config['pgo.tolerate_failure'],
    publishDir: `build/dist/${n.name}-${n.upstreamVersion}/wheelhouse`,
    mapPaths: [wp.project.dir, s.srcDir, root],
    dateSource: s.srcDir,
    runtimeDir: join(packageRoot(), 'runtime'),
  });
  const seen = new Set<string>();
  const tasks = [...pythons.flatMap((x) => x.tasks), ...w.tasks].filter((t) => !seen.has(t.id) && seen.add(t.id));
  return { tasks, publish: w.publish, dir: w.dir };
}

/** Does `package` publish the wheels too (package.wheels)? */
function packageWheels(config: BuildConfig, s: SourceTasks): boolean {
  const v = config['package.wheels'];
  return v === 'on' || (v === 'auto' && (config['wheels.project'] !== '' || s.flavor.name === 'pyston'));
}

/** The target that makes a task id, by the id's first segment (`opt:make` -> `opt`). */
function targetOfTask(id: string): string {
  const head = id.split(':')[0]!;
  return head === 'all' ? 'all' : head;
}

/**
 * The product graph: only the targets asked for (and the targets they
 * build on) are constructed. Unknown names fall through to the engine's
 * "unknown target" error, which lists every target.
 */
export function buildGraph(config: BuildConfig, root: string, env: NodeJS.ProcessEnv = process.env, request: GraphRequest = {}): TaskGraph {
  const defs = catalog(config, root, env);
  const byName = new Map(defs.map((d) => [d.name, d]));
  const wanted = new Set<string>();
  const want = (name: string): void => {
    if (wanted.has(name) || !byName.has(name)) return;
    wanted.add(name);
    for (const n of byName.get(name)!.needs) want(n);
  };
  if (request.targets === undefined) {
    for (const d of defs) if (d.available?.() ?? true) want(d.name);
  } else {
    for (const t of request.targets) want(byName.has(t) ? t : targetOfTask(t));
  }

  const tasks = new Map<string, Task>();
  const targets = new Map<string, Target>();
  for (const d of defs) {
    // Every name is listed (for --help and the unknown-target hint); only wanted ones have tasks.
    if (!wanted.has(d.name)) {
      targets.set(d.name, { name: d.name, description: d.description, roots: [] });
      continue;
    }
    const b = d.build();
    for (const t of b.tasks) tasks.set(t.id, t);
    targets.set(d.name, { name: d.name, description: d.description, roots: b.roots, ...(b.program !== undefined ? { program: b.program } : {}) });
  }
  return { tasks, targets, envAllowList: ENV_ALLOW_LIST };
}

/**
 * The settings the given targets use, checked before a build runs them:
 * a bad value is one line before anything builds. Settings that no
 * requested target uses are not checked.
 */
export function checkTargets(config: BuildConfig, root: string, env: NodeJS.ProcessEnv, graph: TaskGraph, targets: readonly string[]): void {
  const ids = new Set<string>();
  for (const t of targets) for (const r of graph.targets.get(t)?.roots ?? [t]) ids.add(r);
  const closure = new Set<string>();
  const visit = (id: string): void => {
    if (closure.has(id)) return;
    closure.add(id);
    for (const d of graph.tasks.get(id)?.deps ?? []) visit(d);
  };
  for (const id of ids) visit(id);
  const uses = (prefix: string): boolean => [...closure].some((id) => id.startsWith(prefix));
  // A packaged variant is configured for the package prefix: check it (and `package`'s own settings).
  const packaged = uses('package:') || [...closure].some((id) => /^package-[a-z0-9]+:/.test(id));
  if (packaged || VARIANT_TABLE.some((v) => v.packaged && (uses(`${v.name}:`) || uses(`${v.name}-`)))) {
    const p = parts(config, root, env);
    if (packaged) {
      checkSourceDateEpoch(env);
      checkRootfsSettings(config['package.suite'], config['package.mirror']);
      checkMaintainer(config['package.maintainer']);
    }
    const s = p.src();
    const names = p.archs().map((arch) =>
      releaseNames({
        name: config['package.name'],
        prefix: config['package.prefix'],
        version: config['package.version'],
        flavor: s.flavor.name,
        sourceVersion: releaseVersion(s),
        arch,
        validate: true,
      }),
    );
    if (uses('docker:')) checkDockerSettings(config['docker.registry'], dockerRepository(config, names[0]!.name));
  }
}
