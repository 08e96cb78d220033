/**
 * The variant's compiler, linker, configure and make flags, as one pure
 * function of (variant, flavor, toolchain, architecture, settings, paths).
 * Nothing here reads the disk or the environment: tests call it directly.
 *
 * Which build gets what:
 *   - the instrumented PGO build and the final build share `both` (code
 *     shape, path maps, -fno-semantic-interposition), so the profile
 *     describes the code it is used on;
 *   - the final build adds the profile (`pgoUse`) and, with BOLT, keeps its
 *     relocations (-Wl,--emit-relocs);
 *   - `makeArgs` are make command-line variables, the same for both builds
 *     and for `make install`.
 */
import { join } from 'node:path';
import type { Arch } from '../debian/arch.js';
import { archInfo } from '../debian/arch.js';
import type { Flavor } from '../flavors/index.js';
import { instrumentFlags, useFlags, type PgoFlags } from '../pgo/pipeline.js';
import type { CompilerFamily } from '../llvm/toolchain.js';
import type { VariantDef } from './table.js';
import { crossConfigureArgs, type CrossSpec } from './cross.js';

export interface FlagInputs {
  readonly variant: VariantDef;
  readonly flavor: Flavor;
  readonly family: CompilerFamily;
  readonly arch: Arch;
  /** Global switches (config pgo, lto; BOLT when it is enabled and the architecture has it). */
  readonly pgo: boolean;
  readonly lto: boolean;
  readonly bolt: boolean;
  /** config lto.parallel (default true): gcc's LTO link partitioned, under the jobserver. */
  readonly ltoParallel?: boolean;
  /** config pgo.partial_training (default false): gcc's -fprofile-partial-training in the profile-using build. */
  readonly partialTraining?: boolean;
  /** CONFIGURE_EXTRA_FLAGS, split. */
  readonly configureExtra: readonly string[];
  /** Absolute project root and source directory. */
  readonly root: string;
  readonly srcDir: string;
  /** A cross build (./cross.ts): the interpreter is for another architecture than the build machine's. */
  readonly cross?: CrossSpec;
  /**
   * The variant whose PGO profile the final build uses instead of its own
   * (release uses opt's: see {@link profileDonor}). The profile directory
   * is then that variant's.
   */
  readonly profileFrom?: string;
}

/**
 * The variant whose PGO profile a packaged variant can use, or why it
 * cannot. `release` differs from `opt` only in the configured prefix, the
 * path maps and the system expat: the same sources, flags and training
 * give the same code, so one training serves both. With gcc the profile
 * is found by object path relative to -fprofile-prefix-path, the same in
 * both build directories, and each function's record is checked against
 * its source location, file name included: both builds configure by the
 * same relative path (./tasks.ts). With clang the reuse is not verified
 * here, so a clang release trains its own.
 */
export function profileDonor(v: VariantDef, family: CompilerFamily, flavor: Flavor): { readonly variant: string } | { readonly variant?: undefined; readonly reason: string } {
  if (!v.packaged) return { reason: 'not a packaged variant' };
  // Pyston's AOT traces are compiled by clang with a profile that the
  // variant's own instrumented build writes beside its AOT directory
  // (src/aot/chain.ts); without that build they would lose it. Not shared yet.
  if (flavor.aot) return { reason: `${flavor.title}'s JIT traces take their clang profile from the variant's own instrumented build, so ${v.name} trains its own` };
  if (family !== 'gcc') return { reason: `reusing a clang profile across build directories is not verified, so ${v.name} trains its own` };
  return { variant: v.name.replace(/^release/, 'opt') };
}

export interface VariantFlags {
  /** The final build's configure arguments (without --prefix). */
  readonly configureArgs: readonly string[];
  /** The instrumented PGO build's configure arguments. */
  readonly instrumentedConfigureArgs: readonly string[];
  readonly shared: boolean;
  readonly pgo: boolean;
  readonly lto: boolean;
  readonly bolt: boolean;
  /** Directories, relative to the root. */
  readonly dirs: { readonly build: string; readonly install: string; readonly env: string; readonly pgoBuild: string; readonly pgo: string; readonly bolt: string; readonly aot: string };
  /** The PGO pipeline's layout (see src/pgo/pipeline.ts), when PGO applies. */
  readonly pgoSpec: { readonly prefix: string; readonly family: CompilerFamily; readonly dir: string; readonly instrumentedBuildDir: string; readonly optimizedBuildDir: string } | undefined;
  /** CFLAGS_NODIST / LDFLAGS_NODIST of the instrumented build. */
  readonly instrumented: PgoFlags;
  /** CFLAGS_NODIST / LDFLAGS_NODIST of the final build. */
  readonly final: PgoFlags;
  /** Make command-line variables, for both builds and make install. */
  readonly makeArgs: readonly string[];
  /** Words the final build's configure task removes from the generated Makefile. */
  readonly makefileDrop: readonly string[];
  /** Lines the final build's configure task appends to the generated Makefile. */
  readonly makefileAppend: readonly string[];
}

/**
 * Programs the build links from the whole core but never installs: the
 * freezer that the build runs (CPython 3.11's _freeze_module, 3.8's
 * _freeze_importlib) and the embedding test program. Each is one more
 * whole-program LTO link of libpython's objects (three in all with the
 * interpreter's), for programs whose speed does not matter. configure's
 * -ffat-lto-objects keeps ordinary code in every object, so these link
 * with -fno-lto, through a target-specific append to the Makefile
 * (Pyston's own Makefile links _testembed -fno-lto the same way).
 */
export const NO_LTO_PROGRAMS: readonly string[] = ['Programs/_freeze_module', 'Programs/_freeze_importlib', 'Programs/_testembed'];

/** True when the configure arguments ask for a shared libpython. */
export function isShared(configureArgs: readonly string[]): boolean {
  return configureArgs.includes('--enable-shared');
}

export function variantFlags(i: FlagInputs): VariantFlags {
  const v = i.variant;
  const name = v.name;
  const dirs = {
    build: `build/${name}_build`,
    install: `build/${name}_install`,
    env: `build/${name}_env`,
    pgoBuild: `build/${name}_pgo_build`,
    pgo: `build/${name}_pgo`,
    bolt: `build/${name}_bolt`,
    aot: `build/${name}_aot`,
  };
  const pgo = v.pgo && i.pgo;
  const lto = v.lto && i.lto;
  const bolt = v.bolt && i.bolt && archInfo(i.arch).bolt;
  const flavorArgs = v.stock ? (i.flavor.stockConfigureArgs ?? []) : i.flavor.configureArgs;
  const sharedArg = v.shared ? ['--enable-shared'] : [];
  const crossArgs = i.cross ? crossConfigureArgs(i.cross) : [];
  // A packaged build links the system's expat rather than CPython's copy, as
  // Debian policy (and lintian's embedded-library) requires of a package.
  const configureArgs = [
    ...flavorArgs,
    ...crossArgs,
    ...(v.kind === 'dbg' ? ['--with-pydebug'] : []),
    ...(lto ? ['--with-lto'] : []),
    ...(v.packaged ? ['--with-system-expat'] : []),
    ...sharedArg,
    ...i.configureExtra,
  ];
  const instrumentedConfigureArgs = [...flavorArgs, ...crossArgs, ...sharedArg, ...i.configureExtra];
  const shared = isShared(configureArgs);
  const gcc = i.family === 'gcc';

  // Code-shape flags for BOLT. GCC must not split functions into .cold
  // parts itself: BOLT skips such functions ("skipped N functions due to
  // cold fragments") and splits them better with the profile. Clang 19 does
  // no such splitting unless asked (-fsplit-machine-functions), so it needs
  // nothing. The instrumented PGO build gets the same code shape: GCC's
  // profile must describe the same control flow (-fno-pie in the final
  // build alone gave -Werror=coverage-mismatch).
  const gccShape = bolt && gcc ? ['-fno-reorder-blocks-and-partition'] : [];
  // A release must not carry the build machine's paths: __FILE__ (in
  // CPython's error and assert messages) and debug info name the source and
  // build directories. Both builds get the same maps, so the instrumented
  // and final builds still compile the same code. Not -ffile-prefix-map:
  // in GCC 12 it also implies -fprofile-prefix-map, which PGO does not need.
  // A JIT variant's AOT directory (src/aot/chain.ts) is compiled from too.
  const mapped = [i.srcDir, join(i.root, dirs.build), join(i.root, dirs.pgoBuild), ...(i.flavor.aot && !v.stock ? [join(i.root, dirs.aot)] : [])];
  const pathMaps = v.packaged ? mapped.flatMap((p) => [`-fmacro-prefix-map=${p}=.`, `-fdebug-prefix-map=${p}=.`]) : [];
  // What CPython's configure adds for GCC under --enable-optimizations, which
  // our own PGO pipeline does not pass: without semantic interposition, GCC
  // may inline and clone across exported functions of the PIC parts (the
  // shared extension modules, a shared libpython).
  const noInterposition = (v.kind === 'opt' || v.kind === 'release') && gcc ? ['-fno-semantic-interposition'] : [];
  const both: PgoFlags = { cflags: [...gccShape, ...noInterposition, ...pathMaps], ldflags: [...gccShape, ...noInterposition] };

  // A static interpreter's core is compiled without PIE and linked -no-pie,
  // so that BOLT can rewrite the eval loop (src/flavors/). Only the core:
  // CFLAGS_NODIST also reaches the shared extension modules (after -fPIC,
  // which -fno-pie would cancel) and LDFLAGS_NODIST their -shared links
  // (where -no-pie breaks them). So the flags go into the Makefile's
  // PY_CORE_CFLAGS, PY_BUILTIN_MODULE_CFLAGS and LINKCC, as make
  // command-line variables that extend the Makefile's own definitions. A
  // shared libpython stays PIC.
  // A flavor may want it for every static interpreter (Pyston: src/flavors).
  const noPieCore = (bolt || i.flavor.noPie) && !shared;
  const noPie = noPieCore ? ['PY_CORE_CFLAGS=$(PY_STDMODULE_CFLAGS) -DPy_BUILD_CORE -fno-pie', 'PY_BUILTIN_MODULE_CFLAGS=$(PY_STDMODULE_CFLAGS) -DPy_BUILD_CORE_BUILTIN -fno-pie'] : [];
  // The LTO link in parallel, under our -j (gcc). CPython's configure (3.8
  // to 3.12) gives gcc -flto-partition=none, which makes the whole
  // link-time optimization one serial job (cpython issue #132257 measured
  // 10 min 15 s against 2 min 28 s without it). gcc's lto-wrapper turns
  // partitioning off when -flto-partition=none appears anywhere on the
  // link line, whatever follows it (measured here), so it is removed from
  // the configured Makefile (`makefileDrop`, done by the configure task);
  // the objects' own copy of it does not matter. The link then gets gcc's
  // default partitioning and -flto=jobserver: the partitions are compiled
  // as jobs that take tokens from the make jobserver, which pyston-build
  // serves. Make hands its jobserver
  // descriptors only to a recipe line it knows to be recursive, marked
  // with `+`; make honours the prefix when it comes from a variable, so
  // LINKCC starts with it (every Makefile.pre.in recipe that links the
  // interpreter begins with $(LINKCC)). The shared libpython's link sits
  // inside a shell `if` of its recipe, where no prefix can reach; there
  // gcc finds no jobserver and uses as many jobs as the machine has
  // threads (measured: -fwpa=2 on this 2-thread machine). LINKCC on make's
  // command line does not reach the installed sysconfig data (written from
  // the Makefile's own text), so extensions built later see configure's.
  const ltoJobs = lto && gcc && i.ltoParallel !== false;
  // gcc 12 forks the whole-program pass's streaming of the partitions
  // without asking the jobserver (up to 32 processes, measured: 3 here
  // beside a -j 2 budget); one streaming process keeps that phase within
  // the link's own job.
  const ltoFlags = ltoJobs ? ['-flto=jobserver', '--param=lto-max-streaming-parallelism=1'] : [];
  const linkcc = noPieCore || ltoJobs ? [`LINKCC=${ltoJobs ? '+' : ''}$(PURIFY) $(MAINCC)${noPieCore ? ' -no-pie' : ''}`] : [];
  // A shared libpython: the installed interpreter must load its own library,
  // never a system one with the same soname (Debian's libpython3.11 package
  // has one, and the loader falls back to it silently). So the interpreter
  // gets RUNPATH $ORIGIN/../lib, where make install puts the library, under
  // any prefix and wherever the tree is moved. LINKFORSHARED (Linux's default
  // plus the rpath) reaches only the interpreter's link (and _testembed's);
  // `$$` is make's escape and the quotes keep the shell off $ORIGIN. Runs in
  // the build tree use LD_LIBRARY_PATH instead, which outranks a RUNPATH.
  const runpath = shared ? ["LINKFORSHARED=-Xlinker -export-dynamic -Wl,-rpath,'$$ORIGIN/../lib'"] : [];

  const pgoSpec = pgo
    ? {
        prefix: `${name}:pgo`,
        family: i.family,
        dir: i.profileFrom ? `build/${i.profileFrom}_pgo` : dirs.pgo,
        instrumentedBuildDir: join(i.root, dirs.pgoBuild),
        optimizedBuildDir: join(i.root, dirs.build),
      }
    : undefined;
  const gen = pgoSpec ? instrumentFlags(pgoSpec, i.root) : { cflags: [], ldflags: [] };
  // gcc says which functions it found no profile for (-Wmissing-profile):
  // the make task counts them per file, the evidence that the profile
  // applied (and must, when it comes from another variant).
  const use0 = pgoSpec ? useFlags(pgoSpec, i.root) : { cflags: [], ldflags: [] };
  // -fprofile-partial-training (gcc): code the training never ran keeps the
  // optimization it would get without a profile instead of being optimized
  // for size; on the link line too, where LTO compiles again.
  const partial = pgoSpec && gcc && i.partialTraining ? ['-fprofile-partial-training'] : [];
  const use = { cflags: [...use0.cflags.map((c) => (c === '-Wno-missing-profile' ? '-Wmissing-profile' : c)), ...partial], ldflags: [...use0.ldflags, ...partial] };
  return {
    configureArgs,
    instrumentedConfigureArgs,
    shared,
    pgo,
    lto,
    bolt,
    dirs,
    pgoSpec,
    // The instrumented build needs no LTO: it only has to count.
    instrumented: { cflags: [...gen.cflags, ...both.cflags], ldflags: [...gen.ldflags, ...both.ldflags] },
    final: { cflags: [...use.cflags, ...both.cflags], ldflags: [...use.ldflags, ...both.ldflags, ...ltoFlags, ...(bolt ? ['-Wl,--emit-relocs'] : [])] },
    makeArgs: [...noPie, ...linkcc, ...runpath],
    makefileDrop: ltoJobs ? ['-flto-partition=none'] : [],
    makefileAppend: ltoJobs ? NO_LTO_PROGRAMS.map((p) => `${p}: PY_CORE_LDFLAGS += -fno-lto`) : [],
  };
}
