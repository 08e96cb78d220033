/**
 * Target name -> root tasks. Reading this file tells you the whole build.
 *
 *   source      fetch/unpack the tree to build (or use a checkout)
 *   unopt       configure + make + install + venv + probes, plain
 *   opt         the same with our PGO (src/pgo), LTO and on x86_64 BOLT (src/bolt)
 *   dbg         --with-pydebug
 *   release     opt's build, configured for the packages' prefix (/usr/lib/<name>)
 *   all         opt, then the pyston3 / pyston3.X links (as `make all`)
 *   package     release staged, as a .deb and a portable .tar.gz, verified, then
 *               published to build/dist/<name>-<version>/ (src/packaging)
 *   demo        the engine's demonstration build of a small C program
 */
import type { Target, Task, TaskGraph } from './graph/index.js';
import type { BuildConfig } from './config.js';
import { DEMO_ENV, demoTasks } from './steps/demo.js';
import { resolveSource, sourceTasks } from './steps/source.js';
import { cacheDir, packageRoot } from './steps/paths.js';
import { join } from 'node:path';
import { discoverToolchain } from './llvm/toolchain.js';
import { linkTask, variantTasks, VARIANTS, type BoltOptions } from './variants.js';
import { DEFAULT_APPLY_FLAGS, DEFAULT_INSTRUMENT_FLAGS } from './bolt/pipeline.js';
import { skipFuncsFromConfig } from './bolt/skip.js';
import { CPYTHON_BUILD_DEPS } from './debian/apt.js';
import { packageKeys } from './debian/dpkg.js';
import { checkMaintainer, checkRootfsSettings, checkSourceDateEpoch, releaseNames } from './packaging/release.js';
import { packageTasks } from './packaging/tasks.js';

/** Env vars any task may declare as inputs (Makefile names). */
export const ENV_ALLOW_LIST: readonly string[] = [...DEMO_ENV, 'SOURCE_DATE_EPOCH'];

/**
 * Debian packages a target needs beyond its tools' own packages: CPython's
 * build libraries, and for PGO with clang, clang's profile runtime (in its
 * own package: without it the instrumented link fails).
 */
export function extraPackages(taskIds: readonly string[], llvmMajor = 19): string[] {
  const pkgs: string[] = [];
  if (taskIds.some((id) => /^(unopt|opt|dbg|release):/.test(id))) pkgs.push(...CPYTHON_BUILD_DEPS);
  if (taskIds.some((id) => id.includes(':pgo:'))) pkgs.push(`libclang-rt-${llvmMajor}-dev`);
  return pkgs;
}

/** BOLT settings from the config, or why BOLT is off (config, or not x86_64). */
export function boltOptions(config: BuildConfig, cache: string, arch: string = process.arch): BoltOptions {
  if (config.bolt === 'off') return { enabled: false, reason: 'bolt = off (USE_BOLT=0 or NOBOLT=1)' };
  if (arch !== 'x64') return { enabled: false, reason: `BOLT runs on x86_64 only; this machine is ${arch}` };
  const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);
  return {
    enabled: true,
    policy: config.bolt as 'required' | 'auto',
    minCoverage: config['bolt.min_coverage'],
    applyFlags: config['bolt.apply_flags'].trim() ? words(config['bolt.apply_flags']) : DEFAULT_APPLY_FLAGS,
    instrumentFlags: [...DEFAULT_INSTRUMENT_FLAGS, ...words(config['bolt.instrument_flags'])],
    skipFuncs: (pic) => skipFuncsFromConfig(config['bolt.skip_funcs'], pic),
    cacheDir: cache,
    timeoutSeconds: config['bolt.timeout'],
  };
}

export function buildGraph(config: BuildConfig, root: string, env: NodeJS.ProcessEnv = process.env): TaskGraph {
  const tasks: Task[] = [...demoTasks(config)];
  const targets: Target[] = [{ name: 'demo', description: 'configure, make, install and run a small C program through the engine', roots: ['demo:check'] }];

  const spec = resolveSource({ root, source: config.source, pin: config['source.pin'] });
  const src = sourceTasks(spec, root, cacheDir(config['cache.dir'], env));
  tasks.push(...src.tasks);
  if (src.deps.length) targets.push({ name: 'source', description: 'fetch and unpack the source tree', roots: src.deps });

  const toolchain = discoverToolchain({ llvmMajor: config['llvm.version'], llvmBin: config['llvm.bin'], family: config.cc as 'clang' | 'gcc' }, env.PATH);
  const systemKeys = packageKeys(CPYTHON_BUILD_DEPS);
  checkSourceDateEpoch(env);
  checkRootfsSettings(config['package.suite'], config['package.mirror']);
  checkMaintainer(config['package.maintainer']);
  const names = releaseNames({ name: config['package.name'], prefix: config['package.prefix'], version: config['package.version'], flavor: src.flavor, sourceVersion: src.version });
  const common = {
    source: src,
    toolchain,
    root,
    pgo: config.pgo,
    lto: config.lto,
    configureExtra: config['configure.extra'].split(/\s+/).filter(Boolean),
    profileTask: config['pgo.task'],
    tolerateTrainingFailure: config['pgo.tolerate_failure'],
    systemKeys,
    bolt: boltOptions(config, cacheDir(config['cache.dir'], env)),
    releasePrefix: names.prefix,
  };
  for (const variant of VARIANTS) {
    const v = variantTasks({ ...common, variant });
    tasks.push(...v.tasks);
    targets.push({ name: variant, description: `the ${variant} interpreter in build/${variant}_{build,install,env}`, roots: [v.last] });
    if (variant === 'opt') {
      tasks.push(linkTask(v.python, v.last, src.version));
      targets.push({ name: 'all', description: 'the opt interpreter and the pyston3 links (make all)', roots: ['all:links'] });
    }
  }
  const cache = cacheDir(config['cache.dir'], env);
  const pkg = packageTasks({
    names,
    root,
    srcDir: src.srcDir,
    releaseTask: 'release:probe',
    releaseReport: 'build/release_report.json',
    source: src.describe,
    maintainer: config['package.maintainer'],
    suite: config['package.suite'],
    mirror: config['package.mirror'],
    cacheDir: cache,
    toolchain: [toolchain.cc, ...(common.bolt.enabled ? [toolchain.llvm['llvm-bolt']] : [])],
    strip: toolchain.llvm['llvm-strip'],
    runtimeDir: join(packageRoot(), 'runtime'),
  });
  tasks.push(...pkg.tasks);
  targets.push({ name: 'package', description: `build/dist/${names.name}-${names.upstreamVersion}: the verified .deb, portable .tar.gz, SHA256SUMS and build-info.json`, roots: [pkg.last] });
  return {
    tasks: new Map(tasks.map((t) => [t.id, t])),
    targets: new Map(targets.map((t) => [t.name, t])),
    envAllowList: ENV_ALLOW_LIST,
  };
}
