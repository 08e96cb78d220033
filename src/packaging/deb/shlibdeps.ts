/**
 * The `Depends` of a .deb, computed from the ELF files it ships: what
 * dh_shlibdeps (dpkg-shlibdeps) does, without running either.
 *
 * For every DT_NEEDED library of every ELF: find the file the loader would
 * load (RPATH/RUNPATH, then the system path from /etc/ld.so.conf), find the
 * installed package that owns it in dpkg's database, then the minimum
 * version of that package:
 *   - from its symbols file (deb-symbols(5)): the highest minimum version
 *     over the symbols this ELF imports from the library;
 *   - else from its shlibs file (deb-shlibs(5)): the line for the library's
 *     name and soversion;
 *   - else the package with no version.
 * One dependency per package remains, with the highest minimum over all ELFs.
 *
 * Version order is deb-version(7). Where we stop short of dpkg-shlibdeps:
 * no debian/shlibs.local, /etc/dpkg/shlibs.override or shlibs.default, no
 * dpkg diversions, and symbols tagged (c++) or (regex) are skipped, since
 * matching them needs a demangler or Perl's regex dialect. A dependency
 * template we cannot write as `package (>= version)` (alternatives with `|`,
 * upper bounds) is an error rather than a silently weaker dependency.
 */
import type { ElfFile } from '../../elf/reader.js';
import { librarySearchPath, resolveLibrary } from '../../elf/search.js';
import { DpkgDb, splitSoname, type SymbolsLibrary } from '../../debian/dpkg.js';
import { TaskFailure } from '../../graph/errors.js';

/** A dependency the package cannot state (a library not found, owned by no package, an unsupported template): a build failure, with its fix. */
export class ShlibdepsError extends TaskFailure {
  constructor(
    message: string,
    override readonly hint: string,
  ) {
    super(message, hint);
  }
}

// ---------------------------------------------------------------------------
// Versions

/**
 * Debian version comparison (deb-version(7)): the epoch compares as a
 * number, then the upstream version, then the revision, each with the same
 * rule: alternate non-digit and digit parts; non-digit parts compare
 * character by character with `~` before the end of the part, the end before
 * letters, letters before everything else (by ASCII); digit parts compare as
 * numbers. A missing epoch is 0, a missing revision compares like "0".
 * Returns <0, 0 or >0.
 */
export function compareDebianVersions(a: string, b: string): number {
  const va = splitVersion(a);
  const vb = splitVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  return sign(compareVersionPart(va.upstream, vb.upstream)) || sign(compareVersionPart(va.revision, vb.revision));
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function splitVersion(v: string): { epoch: bigint; upstream: string; revision: string } {
  const s = v.trim();
  const colon = s.indexOf(':');
  const epochText = colon >= 0 ? s.slice(0, colon) : '';
  const rest = colon >= 0 ? s.slice(colon + 1) : s;
  const dash = rest.lastIndexOf('-');
  return {
    epoch: /^\d+$/.test(epochText) ? BigInt(epochText) : 0n,
    upstream: dash >= 0 ? rest.slice(0, dash) : rest,
    revision: dash >= 0 ? rest.slice(dash + 1) : '',
  };
}

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isLetter = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

/** The weight of one character of a non-digit part; '' is the end of the part. */
function order(c: string): number {
  if (c === '' || isDigit(c)) return 0;
  if (isLetter(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

function compareVersionPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const at = (s: string, k: number): string => (k < s.length ? s[k]! : '');
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(at(a, i))) || (j < b.length && !isDigit(at(b, j)))) {
      const d = order(at(a, i)) - order(at(b, j));
      if (d !== 0) return d;
      i++;
      j++;
    }
    let da = '';
    let db = '';
    while (isDigit(at(a, i))) da += a[i++];
    while (isDigit(at(b, j))) db += b[j++];
    da = da.replace(/^0+/, '');
    db = db.replace(/^0+/, '');
    if (da.length !== db.length) return da.length - db.length;
    if (da !== db) return da < db ? -1 : 1;
  }
  return 0;
}

function maxVersion(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareDebianVersions(a, b) >= 0 ? a : b;
}

// ---------------------------------------------------------------------------
// Depends

/** One package of a Depends field; rendered as `libc6 (>= 2.34)`, or `libc6` without a version. */
export interface Dependency {
  readonly package: string;
  readonly minVersion?: string;
}

/** A needed library, found and owned. */
interface Needed {
  readonly soname: string;
  readonly path: string;
  readonly pkg: string;
  readonly symbols: SymbolsLibrary | undefined;
  /** Highest minimum version per template index, over the symbols this ELF takes from the library. */
  readonly found: Map<number, string>;
}

/**
 * The dependencies of a package shipping `elfFiles`, one per package with
 * the highest minimum version, sorted by package name.
 *
 * Each DT_NEEDED library is looked up, except the ELF's own soname and the
 * sonames in `provided` (libraries the package ships itself). Each imported
 * symbol counts for the first needed library, in DT_NEEDED order, whose
 * symbols file lists it (the order in which dpkg-shlibdeps looks); an
 * unversioned import is looked up as `name@Base`. Weak imports count as
 * well when found: the program uses them when they are there.
 *
 * Throws ShlibdepsError when a needed library is not found or no installed
 * package owns it, and when a dependency template cannot be written as
 * `package (>= version)`.
 */
export function computeDepends(elfFiles: readonly ElfFile[], opts: { provided?: readonly string[]; db?: DpkgDb; searchPath?: readonly string[] } = {}): Dependency[] {
  const db = opts.db ?? new DpkgDb();
  const searchPath = opts.searchPath ?? librarySearchPath();
  const provided = new Set(opts.provided ?? []);
  const merged = new Map<string, string | undefined>();
  const add = (d: Dependency): void => {
    merged.set(d.package, merged.has(d.package) ? maxVersion(merged.get(d.package), d.minVersion) : d.minVersion);
  };

  for (const elf of elfFiles) {
    const needed: Needed[] = [];
    for (const soname of elf.needed) {
      if (provided.has(soname) || soname === elf.soname || needed.some((n) => n.soname === soname)) continue;
      const path = resolveLibrary(soname, elf, searchPath);
      if (path === undefined) {
        throw new ShlibdepsError(
          `${elf.path} needs ${soname}, which is in none of its RPATH/RUNPATH directories nor in the system library path`,
          `install the package that ships ${soname} (its runtime package, or the -dev package that pulls it in), or ship ${soname} in the package and list it as provided`,
        );
      }
      const pkg = db.owner(path);
      if (pkg === undefined) {
        throw new ShlibdepsError(
          `${elf.path} needs ${soname}, found at ${path}, which no installed package owns`,
          `a library outside dpkg's database cannot become a dependency: install ${soname} from a Debian package, or ship it in the package and list it as provided`,
        );
      }
      needed.push({ soname, path, pkg, symbols: db.symbols(pkg)?.get(soname), found: new Map() });
    }

    for (const sym of elf.imports) {
      const version = sym.version ?? 'Base';
      for (const lib of needed) {
        const hit = lib.symbols?.symbols.get(`${sym.name}@${version}`) ?? lib.symbols?.versions.get(version);
        if (!hit) continue;
        lib.found.set(hit.template, maxVersion(lib.found.get(hit.template), hit.minVersion)!);
        break;
      }
    }

    for (const lib of needed) {
      const source = `the symbols file of ${lib.pkg}`;
      const main = lib.found.get(0);
      if (lib.symbols && main !== undefined) {
        for (const d of applyTemplate(lib.symbols.templates[0]!, main, lib, source)) add(d);
      } else {
        const parts = splitSoname(lib.soname);
        const line = parts && db.shlibs(lib.pkg)?.find((e) => e.type === undefined && e.library === parts.library && e.soversion === parts.soversion);
        if (line && line.dependency !== '') {
          for (const d of applyTemplate(line.dependency, undefined, lib, `the shlibs file of ${lib.pkg}`)) add(d);
        } else if (lib.symbols) {
          for (const d of applyTemplate(lib.symbols.templates[0]!, undefined, lib, source)) add(d);
        } else {
          add({ package: lib.pkg.split(':')[0]! });
        }
      }
      // Symbols that select an alternative template (glibc's GLIBC_PRIVATE ones pin an exact upstream version).
      for (const [index, min] of lib.found) {
        if (index === 0) continue;
        const template = lib.symbols?.templates[index];
        if (template === undefined) {
          throw new ShlibdepsError(`${source} refers to dependency template ${index} for ${lib.soname}, which it does not define`, `reinstall ${lib.pkg}: its symbols file is damaged`);
        }
        for (const d of applyTemplate(template, min, lib, source)) add(d);
      }
    }
  }

  return [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([pkg, v]) => (v === undefined ? { package: pkg } : { package: pkg, minVersion: v }));
}

/**
 * A dependency template, `libc6 #MINVER#` or `zlib1g (>= 1:1.2.3.3.dfsg-1)`
 * or `libgail18 #MINVER#, libgail-common`, as dependencies: #MINVER# stands
 * for "(>= the highest minimum version found)". A minimum of 0 is no
 * constraint and is left out.
 */
function applyTemplate(template: string, minVersion: string | undefined, lib: Needed, source: string): Dependency[] {
  const out: Dependency[] = [];
  for (const clause of template
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '')) {
    const m = /^([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\s*(?:\(\s*(>=|>>|<<|<=|=|>|<)\s*([^\s)]+)\s*\))?\s*(#MINVER#)?$/.exec(clause);
    if (!m || (m[2] !== undefined && m[2] !== '>=')) {
      throw new ShlibdepsError(
        `${source} gives '${template}' as the dependency for ${lib.soname}; pyston-build writes only 'package (>= version)' dependencies, and '${clause}' is not one`,
        `write this dependency by hand, or ship ${lib.soname} in the package and list it as provided`,
      );
    }
    let v = m[3];
    if (m[4] !== undefined && minVersion !== undefined && compareDebianVersions(minVersion, '0') > 0) v = maxVersion(v, minVersion);
    out.push(v === undefined ? { package: m[1]! } : { package: m[1]!, minVersion: v });
  }
  return out;
}

/** Dependencies as Depends entries: `libc6 (>= 2.34)`, `libffi8`. */
export function formatDepends(deps: readonly Dependency[]): string[] {
  return deps.map((d) => (d.minVersion === undefined ? d.package : `${d.package} (>= ${d.minVersion})`));
}
