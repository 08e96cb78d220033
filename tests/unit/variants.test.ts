/** The variant table and the pure flag function, called directly. */
import { describe, expect, it } from 'vitest';
import { findVariant, VARIANT_TABLE, variantsOf } from '../../src/variants/table.js';
import { profileDonor, variantFlags, type FlagInputs } from '../../src/variants/flags.js';
import { CPYTHON, PYSTON } from '../../src/flavors/index.js';

const base = (variant: string, o: Partial<FlagInputs> = {}): FlagInputs => ({
  variant: findVariant(variant)!,
  flavor: CPYTHON,
  family: 'gcc',
  arch: 'amd64',
  pgo: true,
  lto: true,
  bolt: true,
  configureExtra: [],
  root: '/p',
  srcDir: '/p/build/src/Python-3.11.2',
  ...o,
});

describe('the variant table', () => {
  it("has Pyston's Makefile set: unopt, opt, dbg, release, each also shared, and stock, stockunopt, stockdbg", () => {
    expect(VARIANT_TABLE.map((v) => v.name)).toEqual(['unopt', 'opt', 'dbg', 'release', 'unoptshared', 'optshared', 'dbgshared', 'releaseshared', 'stock', 'stockunopt', 'stockdbg']);
    expect(variantsOf(CPYTHON).some((v) => v.stock)).toBe(false);
    expect(
      variantsOf(PYSTON)
        .filter((v) => v.stock)
        .map((v) => v.name),
    ).toEqual(['stock', 'stockunopt', 'stockdbg']);
  });
  it('optimizes opt and release (and their shared forms) with PGO, LTO and BOLT; stock without BOLT', () => {
    const opts = (n: string) => {
      const v = findVariant(n)!;
      return [v.pgo, v.lto, v.bolt];
    };
    for (const n of ['opt', 'release', 'optshared', 'releaseshared']) expect(opts(n), n).toEqual([true, true, true]);
    for (const n of ['unopt', 'dbg', 'unoptshared', 'stockunopt', 'stockdbg']) expect(opts(n), n).toEqual([false, false, false]);
    expect(opts('stock')).toEqual([true, true, false]);
    expect(VARIANT_TABLE.filter((v) => v.packaged).map((v) => v.name)).toEqual(['release', 'releaseshared']);
  });
});

describe('profileDonor', () => {
  it("release and releaseshared use opt's and optshared's profile with gcc; clang, Pyston and other variants say why not", () => {
    expect(profileDonor(findVariant('release')!, 'gcc', CPYTHON)).toEqual({ variant: 'opt' });
    expect(profileDonor(findVariant('releaseshared')!, 'gcc', CPYTHON)).toEqual({ variant: 'optshared' });
    expect(profileDonor(findVariant('release')!, 'clang', CPYTHON)).toMatchObject({ reason: expect.stringContaining('clang profile') });
    expect(profileDonor(findVariant('release')!, 'gcc', PYSTON)).toMatchObject({ reason: expect.stringContaining("Pyston's JIT traces") });
    expect(profileDonor(findVariant('opt')!, 'gcc', CPYTHON)).toEqual({ reason: 'not a packaged variant' });
  });
});

describe('variantFlags', () => {
  it('opt with gcc: LTO, BOLT code shape in both PGO builds, relocations only in the final one, a -no-pie core', () => {
    const f = variantFlags(base('opt'));
    expect(f.configureArgs).toEqual(['--with-lto']);
    expect(f.instrumentedConfigureArgs).toEqual([]);
    expect(f.dirs).toMatchObject({ build: 'build/opt_build', install: 'build/opt_install', env: 'build/opt_env', pgoBuild: 'build/opt_pgo_build' });
    for (const b of [f.instrumented, f.final]) {
      expect(b.cflags).toContain('-fno-reorder-blocks-and-partition');
      expect(b.cflags).toContain('-fno-semantic-interposition');
      expect(b.ldflags).toContain('-fno-semantic-interposition');
    }
    expect(f.instrumented.cflags).toContain('-fprofile-generate=/p/build/opt_pgo/gcda');
    expect(f.instrumented.cflags).toContain('-fprofile-prefix-path=/p/build/opt_pgo_build');
    expect(f.final.cflags).toContain('-fprofile-use=/p/build/opt_pgo/gcda');
    expect(f.final.cflags).toContain('-fprofile-prefix-path=/p/build/opt_build');
    expect(f.final.ldflags).toContain('-Wl,--emit-relocs');
    expect(f.instrumented.ldflags).not.toContain('-Wl,--emit-relocs');
    expect(f.makeArgs).toEqual([
      'PY_CORE_CFLAGS=$(PY_STDMODULE_CFLAGS) -DPy_BUILD_CORE -fno-pie',
      'PY_BUILTIN_MODULE_CFLAGS=$(PY_STDMODULE_CFLAGS) -DPy_BUILD_CORE_BUILTIN -fno-pie',
      'LINKCC=+$(PURIFY) $(MAINCC) -no-pie',
    ]);
    // The LTO link in parallel under the jobserver, with gcc's default partitioning: configure's -flto-partition=none goes.
    expect(f.final.ldflags.slice(-3)).toEqual(['-flto=jobserver', '--param=lto-max-streaming-parallelism=1', '-Wl,--emit-relocs']);
    expect(f.makefileDrop).toEqual(['-flto-partition=none']);
    // The programs that are never installed link without LTO.
    expect(f.makefileAppend).toContain('Programs/_testembed: PY_CORE_LDFLAGS += -fno-lto');
    expect(f.makefileAppend).toContain('Programs/_freeze_module: PY_CORE_LDFLAGS += -fno-lto');
    // No LTO in the instrumented build: it only has to count.
    expect(f.instrumented.ldflags.join(' ')).not.toContain('-flto');
  });

  it('pgo.partial_training: -fprofile-partial-training in the profile-using compile and link (gcc, PGO), nowhere else', () => {
    expect(variantFlags(base('opt')).final.cflags).not.toContain('-fprofile-partial-training');
    const f = variantFlags(base('opt', { partialTraining: true }));
    expect(f.final.cflags).toContain('-fprofile-partial-training');
    expect(f.final.ldflags).toContain('-fprofile-partial-training');
    expect(f.instrumented.cflags).not.toContain('-fprofile-partial-training');
    expect(variantFlags(base('opt', { partialTraining: true, family: 'clang' })).final.cflags).not.toContain('-fprofile-partial-training');
    expect(variantFlags(base('opt', { partialTraining: true, pgo: false })).final.cflags).not.toContain('-fprofile-partial-training');
  });

  it("without LTO, or with clang (ThinLTO), no jobserver link flags; a PIE build without LTO keeps configure's LINKCC", () => {
    expect(variantFlags(base('opt', { lto: false })).final.ldflags.join(' ')).not.toContain('-flto');
    expect(variantFlags(base('opt', { lto: false })).makefileDrop).toEqual([]);
    expect(variantFlags(base('opt', { lto: false })).makefileAppend).toEqual([]);
    expect(variantFlags(base('opt', { ltoParallel: false })).makefileAppend).toEqual([]);
    expect(variantFlags(base('opt', { family: 'clang' })).makefileDrop).toEqual([]);
    expect(variantFlags(base('opt', { family: 'clang' })).final.ldflags.join(' ')).not.toContain('-flto');
    expect(variantFlags(base('opt', { lto: false, bolt: false })).makeArgs).toEqual([]);
    expect(variantFlags(base('opt', { bolt: false })).makeArgs).toEqual(['LINKCC=+$(PURIFY) $(MAINCC)']);
  });

  it('clang needs no code-shape flag, and uses its own profile flags', () => {
    const f = variantFlags(base('opt', { family: 'clang' }));
    expect(f.final.cflags).not.toContain('-fno-reorder-blocks-and-partition');
    expect(f.final.cflags).not.toContain('-fno-semantic-interposition');
    expect(f.final.cflags.join(' ')).toContain('-fprofile-instr-use=');
    expect(f.instrumented.cflags).toContain('-fprofile-instr-generate');
  });

  it('optshared: shared in both builds, stays PIC, gets RUNPATH $ORIGIN/../lib through LINKFORSHARED', () => {
    const f = variantFlags(base('optshared'));
    expect(f.shared).toBe(true);
    expect(f.configureArgs).toEqual(['--with-lto', '--enable-shared']);
    expect(f.instrumentedConfigureArgs).toEqual(['--enable-shared']);
    expect(f.makeArgs).toEqual(['LINKCC=+$(PURIFY) $(MAINCC)', "LINKFORSHARED=-Xlinker -export-dynamic -Wl,-rpath,'$$ORIGIN/../lib'"]);
    expect(f.dirs.build).toBe('build/optshared_build');
  });

  it('CONFIGURE_EXTRA_FLAGS=--enable-shared makes any variant shared, as in the Makefile', () => {
    const f = variantFlags(base('opt', { configureExtra: ['--enable-shared'] }));
    expect(f.shared).toBe(true);
    expect(f.configureArgs).toEqual(['--with-lto', '--enable-shared']);
    expect(f.makeArgs.some((a) => a.includes('-no-pie'))).toBe(false);
  });

  it('release maps the build paths out and links the system expat; unopt and dbg get nothing but their own flag', () => {
    const r = variantFlags(base('release'));
    expect(r.configureArgs).toEqual(['--with-lto', '--with-system-expat']);
    expect(r.final.cflags).toContain('-fmacro-prefix-map=/p/build/src/Python-3.11.2=.');
    expect(r.final.cflags).toContain('-fdebug-prefix-map=/p/build/release_pgo_build=.');
    expect(r.instrumented.cflags).toContain('-fdebug-prefix-map=/p/build/release_build=.');
    const u = variantFlags(base('unopt'));
    expect([u.configureArgs, u.final, u.makeArgs, u.pgoSpec]).toEqual([[], { cflags: [], ldflags: [] }, [], undefined]);
    expect(variantFlags(base('dbg')).configureArgs).toEqual(['--with-pydebug']);
  });

  it('NOPGO, NOLTO and NOBOLT each remove only their part', () => {
    expect(variantFlags(base('opt', { pgo: false })).pgoSpec).toBeUndefined();
    expect(variantFlags(base('opt', { pgo: false })).final.cflags.join(' ')).not.toContain('profile');
    expect(variantFlags(base('opt', { lto: false })).configureArgs).toEqual([]);
    const nb = variantFlags(base('opt', { bolt: false }));
    expect([nb.bolt, nb.makeArgs, nb.final.ldflags.includes('-Wl,--emit-relocs')]).toEqual([false, ['LINKCC=+$(PURIFY) $(MAINCC)'], false]);
  });

  it('the architecture decides whether BOLT applies: none of its flags for s390x, all of them for arm64', () => {
    const arm = variantFlags(base('opt', { arch: 'arm64' }));
    expect([arm.bolt, arm.final.ldflags.includes('-Wl,--emit-relocs')]).toEqual([true, true]);
    const f = variantFlags(base('opt', { arch: 's390x' }));
    expect(f.bolt).toBe(false);
    expect(f.final.cflags).not.toContain('-fno-reorder-blocks-and-partition');
    expect(f.makeArgs).toEqual(['LINKCC=+$(PURIFY) $(MAINCC)']);
  });

  it("Pyston: the flavor's configure arguments, and --disable-pyston for the stock variants (no BOLT)", () => {
    expect(variantFlags(base('opt', { flavor: PYSTON })).configureArgs).toEqual(['--disable-debugging-features', '--enable-configure', '--with-lto']);
    const s = variantFlags(base('stock', { flavor: PYSTON }));
    expect(s.configureArgs).toEqual(['--disable-pyston', '--enable-configure', '--with-lto']);
    expect([s.pgo, s.lto, s.bolt]).toEqual([true, true, false]);
    expect(variantFlags(base('stockdbg', { flavor: PYSTON })).configureArgs).toEqual(['--disable-pyston', '--enable-configure', '--with-pydebug']);
  });

  it('Pyston links every static interpreter -no-pie (its JIT encodes low addresses shorter), a shared libpython stays PIC', () => {
    for (const v of ['unopt', 'dbg', 'stockunopt']) {
      expect(variantFlags(base(v, { flavor: PYSTON, bolt: false })).makeArgs).toContain('LINKCC=$(PURIFY) $(MAINCC) -no-pie');
    }
    // The LTO variants link under the jobserver too.
    for (const v of ['stock', 'opt']) {
      expect(variantFlags(base(v, { flavor: PYSTON, bolt: false })).makeArgs).toContain('LINKCC=+$(PURIFY) $(MAINCC) -no-pie');
    }
    expect(variantFlags(base('unoptshared', { flavor: PYSTON })).makeArgs.some((a) => a.includes('-no-pie'))).toBe(false);
    expect(variantFlags(base('unopt', { flavor: CPYTHON })).makeArgs).toEqual([]);
  });

  it("a Pyston release maps its AOT directory out of the binaries too (the traces' object is compiled from there)", () => {
    expect(variantFlags(base('release', { flavor: PYSTON })).final.cflags).toContain('-fdebug-prefix-map=/p/build/release_aot=.');
    expect(variantFlags(base('release', { flavor: CPYTHON })).final.cflags.join(' ')).not.toContain('_aot');
  });
});

describe('flavor layout and probes', () => {
  it("names the files as each tree's Makefile does", () => {
    expect(CPYTHON.layout('3.11', '3.11.2')).toEqual({ buildBinary: 'python', installedBinary: 'python3.11', libpython: 'libpython3.11.so.1.0' });
    expect(PYSTON.layout('3.8', '2.3.5')).toEqual({ buildBinary: 'pyston', installedBinary: 'python3.8-pyston2.3', libpython: 'libpython3.8-pyston2.3.so.1.0' });
  });
  it('reads the tree version from Include/patchlevel.h', () => {
    const text = '#define PYSTON_MAJOR_VERSION        2\n#define PYSTON_MINOR_VERSION        3\n#define PYSTON_MICRO_VERSION        5\n#define PY_VERSION              "3.8.12"\n';
    expect([PYSTON.treeVersion(text), CPYTHON.treeVersion(text)]).toEqual(['2.3.5', '3.8.12']);
    expect(PYSTON.treeVersion('#define PY_VERSION "3.8.12"\n')).toBeUndefined();
  });
  it('asks the probes for sys.pyston_version_info in Pyston builds, and for its absence in stock ones', () => {
    expect([PYSTON.probeArgs(false), PYSTON.probeArgs(true), CPYTHON.probeArgs(false)]).toEqual([['--pyston', 'yes'], ['--pyston', 'no'], []]);
  });
});
