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
  /** CONFIGURE_EXTRA_FLAGS, split. */
  readonly configureExtra: readonly string[];
  /** Absolute project root and source directory. */
  readonly root: string;
  readonly srcDir: string;
  /** A cross build (./cross.ts): the interpreter is for another architecture than the build machine's. */
  readonly cross?: CrossSpec;
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
}

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
  const noPie =
    (bolt || i.flavor.noPie) && !shared
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

  const pgoSpec = pgo ? { prefix: `${name}:pgo`, family: i.family, dir: dirs.pgo, instrumentedBuildDir: join(i.root, dirs.pgoBuild), optimizedBuildDir: join(i.root, dirs.build) } : undefined;
  const gen = pgoSpec ? instrumentFlags(pgoSpec, i.root) : { cflags: [], ldflags: [] };
  const use = pgoSpec ? useFlags(pgoSpec, i.root) : { cflags: [], ldflags: [] };
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
    final: { cflags: [...use.cflags, ...both.cflags], ldflags: [...use.ldflags, ...both.ldflags, ...(bolt ? ['-Wl,--emit-relocs'] : [])] },
    makeArgs: [...noPie, ...runpath],
  };
}
