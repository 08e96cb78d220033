/**
 * The variant table: every interpreter variant, named as in Pyston's
 * Makefile, as data. A row says what kind of build it is, whether its
 * libpython is shared, whether it is the flavor's stock CPython, where it
 * installs and which optimizations apply. Directories follow the name:
 * `build/<name>_build`, `build/<name>_install`, `build/<name>_env`.
 *
 *   name            kind     shared  stock  optimizations     prefix
 *   unopt           unopt    no      no     none              build/unopt_install/usr
 *   opt             opt      no      no     PGO, LTO, BOLT    build/opt_install/usr
 *   dbg             dbg      no      no     none              build/dbg_install/usr
 *   release         release  no      no     PGO, LTO, BOLT    the package prefix (DESTDIR build/release_install)
 *   <each>shared    as above, with --enable-shared (BOLT covers libpython too)
 *   stock           opt      no      yes    PGO, LTO          (Pyston only: --disable-pyston)
 *   stockunopt      unopt    no      yes    none              (Pyston only)
 *   stockdbg        dbg      no      yes    none              (Pyston only)
 *
 * The Makefile builds `stock` without BOLT; so does this table.
 */
import type { Flavor } from '../flavors/index.js';

/** The four kinds of build every flavor has. */
export type VariantKind = 'unopt' | 'opt' | 'dbg' | 'release';

export interface VariantDef {
  readonly name: string;
  readonly kind: VariantKind;
  /** --enable-shared: a libpython .so beside the interpreter. */
  readonly shared: boolean;
  /** The flavor's plain CPython (its `stockConfigureArgs`); only flavors that have one list these rows. */
  readonly stock: boolean;
  readonly pgo: boolean;
  readonly lto: boolean;
  readonly bolt: boolean;
  /**
   * Configured for the packages' prefix and installed with DESTDIR; links
   * the system's expat (Debian policy forbids an embedded copy) and maps the
   * build machine's paths out of the binaries.
   */
  readonly packaged: boolean;
}

const row = (name: string, kind: VariantKind, o: { shared?: boolean; stock?: boolean } = {}): VariantDef => {
  const optimized = kind === 'opt' || kind === 'release';
  const stock = o.stock ?? false;
  return { name, kind, shared: o.shared ?? false, stock, pgo: optimized, lto: optimized, bolt: optimized && !stock, packaged: kind === 'release' };
};

const KINDS: readonly VariantKind[] = ['unopt', 'opt', 'dbg', 'release'];

export const VARIANT_TABLE: readonly VariantDef[] = [
  ...KINDS.map((k) => row(k, k)),
  ...KINDS.map((k) => row(`${k}shared`, k, { shared: true })),
  row('stock', 'opt', { stock: true }),
  row('stockunopt', 'unopt', { stock: true }),
  row('stockdbg', 'dbg', { stock: true }),
];

/** The variants a flavor has: the stock rows only where the flavor has a stock build. */
export function variantsOf(flavor: Flavor): VariantDef[] {
  return VARIANT_TABLE.filter((v) => !v.stock || flavor.stockConfigureArgs !== undefined);
}

export function findVariant(name: string): VariantDef | undefined {
  return VARIANT_TABLE.find((v) => v.name === name);
}
