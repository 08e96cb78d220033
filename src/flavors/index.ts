/**
 * Flavors: what differs between the kinds of tree pyston-build builds, as
 * data. A CPython tree and a Pyston tree (CPython plus Pyston's JIT) are
 * configured, validated, BOLTed and packaged the same way except for what
 * is here. Everything else in the build asks the flavor instead of testing
 * the tree's name.
 *
 * The flavor is decided here only: {@link detectFlavor} (a checkout or an
 * unpacked tree), {@link flavorOfPin} (a pinned archive) and
 * {@link archiveFlavor} (a `--source` archive), and travels with the source
 * (src/steps/source.ts) to the variants and the packages.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';

export type FlavorName = 'cpython' | 'pyston';

/** One entry of a BOLT skip list: the functions, and why BOLT must leave them alone. */
export interface SkipEntry {
  readonly names: readonly string[];
  readonly why: string;
}

/**
 * A command link the flavor's `.deb` adds (src/packaging/links.ts fills in
 * the placeholders `{prefix}`, `{name}`, `{minor}`, `{python}`, `{suffix}`).
 */
export interface DebLink {
  readonly link: string;
  readonly to: string;
}

export interface Layout {
  readonly buildBinary: string;
  readonly installedBinary: string;
  readonly libpython: string;
}

export interface Flavor {
  readonly name: FlavorName;
  /** The upstream project's name, for package descriptions. */
  readonly title: string;
  /** Arguments every variant of this flavor passes to configure (before the variant's own). */
  readonly configureArgs: readonly string[];
  /** Arguments of the `stock*` variants (the flavor's own CPython without its additions); undefined when it has none. */
  readonly stockConfigureArgs: readonly string[] | undefined;
  /** The function PGO validation checks for profile data, and the object file it is compiled into. */
  readonly hotFunction: string;
  readonly hotObject: string;
  /** Functions BOLT leaves alone in every binary of this flavor. */
  readonly boltSkip: readonly SkipEntry[];
  /** Functions BOLT leaves alone in position-independent code (a shared libpython). */
  readonly boltSkipPic: readonly SkipEntry[];
  /**
   * The tree's own version from Include/patchlevel.h's text (Pyston's
   * version for a Pyston tree, CPython's otherwise): it names the tree's
   * patch set (src/steps/patches.ts).
   */
  treeVersion(patchlevel: string): string | undefined;
  /**
   * File names of a build of this flavor, from the Python version (3.11)
   * and the tree's own version (Pyston's 2.3.5): the interpreter in the
   * build directory, the one `make install` puts in bin/, and the shared
   * libpython.
   */
  layout(minor: string, treeVersion: string): Layout;
  /** Arguments for runtime/probes/probe.py: what a build of this flavor (a stock variant or not) must show. */
  probeArgs(stock: boolean): readonly string[];
  /** Submodules (paths) a checkout of this flavor needs synced: for any build, and for the benchmarks. */
  readonly submodules: { readonly build: readonly string[]; readonly bench: readonly string[] };
  /** Package metadata: the default package name, the project's homepage and where its source is published. */
  readonly packageName: string;
  readonly homepage: string;
  readonly sourceUrl: string;
  /** The links this flavor's `.deb` adds to the ones every package has. */
  readonly debLinks: readonly DebLink[];
  /**
   * The flavor's JIT, when it has one that is built from the tree's bitcode
   * (Pyston's AOT traces, src/aot/chain.ts): the LLVM major version that
   * chain needs, and the eval loop of its JIT variants (for PGO validation).
   * Its non-stock variants then depend on that chain.
   */
  readonly aot: { readonly llvmMajor: number; readonly hotFunction: string; readonly hotObject: string } | undefined;
  /**
   * Link every static interpreter of this flavor -no-pie, not only BOLTed
   * ones (src/variants/flags.ts): Pyston's JIT encodes addresses below 4 GiB
   * in shorter instructions, and Pyston's own build links all its
   * interpreters without PIE.
   */
  readonly noPie: boolean;
  /**
   * Macros the headers of the flavor's stock build are conditional on, and
   * upstream CPython's are not, with the values that give upstream's form
   * of those headers. An extension written for upstream CPython may define
   * such a macro for its own code (pyston_lite defines PYSTON_SPEEDUPS=1),
   * which must not change the structs it sees. So the wheels compile
   * against a copy of the stock build's headers with these resolved
   * (src/packaging/wheel/compile.ts).
   */
  readonly stockHeaderMacros: Readonly<Record<string, string>>;
}

/**
 * The regex matcher dispatches through computed gotos. On a GCC build linked
 * with --emit-relocs, llvm-bolt 19 cannot instrument it ("BOLT-ERROR: unable
 * to get new address" for sre_ucs1_match/1, NOTES.md). CPython 3.12+ skips it
 * for the same reason under LLVM 19. Names are as BOLT prints them: a local
 * symbol gets `/N`, and GCC's LTO renames file-local functions `.lto_priv.N`.
 */
const SRE_MATCH: SkipEntry = {
  names: ['sre_ucs1_match/1', 'sre_ucs2_match/1', 'sre_ucs4_match/1', 'sre_ucs1_match.lto_priv.0/1', 'sre_ucs2_match.lto_priv.0/1', 'sre_ucs4_match.lto_priv.0/1'],
  why: 'computed gotos that llvm-bolt 19 cannot instrument in a GCC build with --emit-relocs (CPython 3.12+ skips them too)',
};

/**
 * The eval loop is a computed-goto interpreter. In position-independent code
 * its dispatch table holds relative offsets that BOLT does not rewrite when
 * it moves the blocks (CPython 3.12+ skips it). pyston-build links a static
 * interpreter -no-pie, where the table holds absolute addresses that BOLT
 * relocates, so there the eval loop is BOLTed; a shared libpython keeps the skip.
 */
const EVAL_LOOP: SkipEntry = {
  names: ['_PyEval_EvalFrameDefault', '_PyEval_EvalFrameDefault.lto_priv.0'],
  why: 'a computed-goto dispatch table with relative offsets in PIC code, which BOLT does not rewrite',
};

const define = (text: string, name: string): string | undefined => new RegExp(`#define\\s+${name}\\s+"?([^"\\s]+)"?`).exec(text)?.[1];

export const CPYTHON: Flavor = {
  name: 'cpython',
  title: 'CPython',
  configureArgs: [],
  stockConfigureArgs: undefined,
  hotFunction: '_PyEval_EvalFrameDefault',
  hotObject: 'ceval',
  boltSkip: [SRE_MATCH],
  boltSkipPic: [EVAL_LOOP],
  treeVersion: (text) => define(text, 'PY_VERSION'),
  layout: (minor) => ({ buildBinary: 'python', installedBinary: `python${minor}`, libpython: `libpython${minor}.so.1.0` }),
  probeArgs: () => [],
  submodules: { build: [], bench: [] },
  packageName: 'cpython',
  homepage: 'https://www.python.org/',
  sourceUrl: 'https://www.python.org/downloads/source/',
  debLinks: [],
  aot: undefined,
  noPie: false,
  stockHeaderMacros: {},
};

export const PYSTON: Flavor = {
  name: 'pyston',
  title: 'Pyston',
  // Pyston's configure refuses to run without --enable-configure (its
  // Makefile is meant to drive it); --disable-debugging-features is what its
  // Makefile passes to every JIT variant.
  configureArgs: ['--disable-debugging-features', '--enable-configure'],
  // The stock variants build the same tree as plain CPython (NOTES.md).
  stockConfigureArgs: ['--disable-pyston', '--enable-configure'],
  hotFunction: '_PyEval_EvalFrameDefault',
  hotObject: 'ceval',
  boltSkip: [SRE_MATCH],
  // llvm-bolt matches these names as anchored regular expressions.
  boltSkipPic: [
    EVAL_LOOP,
    { names: ['_PyEval_EvalFrame_AOT_Interpreter.*'], why: "Pyston's AOT interpreter loops: computed gotos in PIC code, as the eval loop (Pyston's Makefile skips them in the .so)" },
  ],
  treeVersion: (text) => {
    const [a, b, c] = ['MAJOR', 'MINOR', 'MICRO'].map((k) => define(text, `PYSTON_${k}_VERSION`));
    return a && b && c ? `${a}.${b}.${c}` : undefined;
  },
  // Pyston's configure sets VERSION to 3.8-pyston2.3 (also in the stock
  // variants), and its Makefile calls the build-tree interpreter `pyston`.
  layout: (minor, treeVersion) => {
    const version = `${minor}-pyston${treeVersion.split('.').slice(0, 2).join('.')}`;
    return { buildBinary: 'pyston', installedBinary: `python${version}`, libpython: `libpython${version}.so.1.0` };
  },
  // Its JIT variants have sys.pyston_version_info; the stock ones (--disable-pyston) must not.
  probeArgs: (stock) => ['--pyston', stock ? 'no' : 'yes'],
  // DynASM, for the JIT; the macrobenchmarks only for bench/ (pyston/llvm and pyston/bolt only for an LLVM built from source).
  submodules: { build: ['pyston/LuaJIT'], bench: ['pyston/macrobenchmarks'] },
  packageName: 'pyston',
  homepage: 'https://www.pyston.org/',
  sourceUrl: 'https://github.com/pyston/pyston',
  // As Pyston's package: its interpreter and pip in /usr/bin (pyston.install),
  // and the short names linked to those (pyston.links).
  debLinks: [
    { link: '/usr/bin/{python}', to: '{prefix}/bin/{python}' },
    { link: '/usr/bin/pip{suffix}', to: '{prefix}/bin/pip{minor}' },
    { link: '/usr/bin/pyston', to: '/usr/bin/{python}' },
    { link: '/usr/bin/pyston3', to: '/usr/bin/{python}' },
    { link: '/usr/bin/pyston{minor}', to: '/usr/bin/{python}' },
    { link: '/usr/bin/pip-pyston', to: '/usr/bin/pip{suffix}' },
  ],
  // Pyston 2.3 pins LLVM 13.0.1; nitrous relies on typed pointers, which LLVM 15+ removed.
  // Its JIT variants interpret in aot_ceval.c, not in ceval.c: PGO validation checks that loop there.
  aot: { llvmMajor: 13, hotFunction: '_PyEval_EvalFrame_AOT_Interpreter', hotObject: 'aot_ceval' },
  noPie: true,
  // Its stock build's pyconfig.h has PYSTON_SPEEDUPS 0 and
  // PY_DEBUGGING_FEATURES 1 (as upstream behaves), and its public headers
  // (code.h, object.h, tupleobject.h, ...) change structs under them.
  // PY_DEBUGGING_CHECKS is never defined: under `#if !PY_DEBUGGING_CHECKS`
  // Pyston turns _Py_CheckFunctionResult and PyErr_BadInternalCall into
  // macros, where upstream declares the functions (which the stock
  // libpython still exports), so 1 gives upstream's declarations.
  stockHeaderMacros: { PYSTON_SPEEDUPS: '0', PY_DEBUGGING_FEATURES: '1', PY_DEBUGGING_CHECKS: '1' },
};

export const FLAVORS: Readonly<Record<FlavorName, Flavor>> = { cpython: CPYTHON, pyston: PYSTON };

/** The flavor of a checkout: a Pyston tree has its `pyston/` directory beside CPython's. */
export function detectFlavor(dir: string): Flavor {
  return existsSync(join(dir, 'pyston')) ? PYSTON : CPYTHON;
}

/** The flavor of a pinned source, by the pin's project name. */
export function flavorOfPin(name: string): Flavor {
  return name === 'pyston' ? PYSTON : CPYTHON;
}

/**
 * The flavor of a source archive, known before it is unpacked: by its file
 * name (`pyston-*` is Pyston's). The unpack task checks the tree against it.
 */
export function archiveFlavor(file: string): Flavor {
  return /^pyston[-_]/i.test(basename(file)) ? PYSTON : CPYTHON;
}

/** The flavor's default BOLT skip list (names only), for PIC code or not. */
export function defaultSkipFuncs(flavor: Flavor, pic: boolean): string[] {
  return [...flavor.boltSkip, ...(pic ? flavor.boltSkipPic : [])].flatMap((e) => e.names);
}
