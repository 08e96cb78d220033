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
import { closeSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, resolve } from 'node:path';
import type { ElfFile } from '../../elf/reader.js';

export class ShlibdepsError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
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
// Finding libraries

const TRIPLETS: Readonly<Record<string, string>> = {
  x64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
  ia32: 'i386-linux-gnu',
  arm: 'arm-linux-gnueabihf',
  riscv64: 'riscv64-linux-gnu',
  ppc64: 'powerpc64le-linux-gnu',
  s390x: 's390x-linux-gnu',
};

/**
 * The system library search path for the loader: the directories of
 * /etc/ld.so.conf (following its `include` globs, as ldconfig does), then
 * the multiarch defaults /lib/<triplet>, /usr/lib/<triplet>, /lib, /usr/lib.
 * Reads the files, runs no tool. Under another `root` (a sysroot, or a fake
 * tree in a test) the configuration is read there and the directories are
 * returned inside it. The triplet defaults to the one of the running Node.
 */
export function librarySearchPath(root = '/', triplet: string = TRIPLETS[process.arch] ?? `${process.arch}-linux-gnu`): string[] {
  const dirs: string[] = [];
  readLdSoConf(root, '/etc/ld.so.conf', dirs, new Set());
  dirs.push(`/lib/${triplet}`, `/usr/lib/${triplet}`, '/lib', '/usr/lib');
  const seen = new Set<string>();
  const out: string[] = [];
  for (const d of dirs) {
    const full = join(root, d);
    if (seen.has(full)) continue;
    seen.add(full);
    out.push(full);
  }
  return out;
}

/**
 * One configuration file, after glibc's ldconfig (parse_conf): `#` starts a
 * comment, `include` takes white-space separated glob patterns (relative
 * ones are relative to the including file's directory), `hwcap` lines are
 * obsolete and ignored, every other line is one directory. A file that is
 * missing contributes nothing, as for ldconfig; an include loop stops at the
 * second visit.
 */
function readLdSoConf(root: string, file: string, dirs: string[], visiting: Set<string>): void {
  if (visiting.has(file)) return;
  visiting.add(file);
  let text: string;
  try {
    text = readFileSync(join(root, file), 'utf8');
  } catch {
    return;
  }
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const include = /^include\s+(.*)$/.exec(line);
    if (include) {
      for (const pattern of include[1]!.split(/\s+/)) {
        const abs = posix.isAbsolute(pattern) ? pattern : posix.join(posix.dirname(file), pattern);
        for (const f of expandGlob(root, abs)) readLdSoConf(root, f, dirs, visiting);
      }
      continue;
    }
    if (/^hwcap\s/.test(line)) continue;
    // libc5-era `dir=type` entries: the type is ignored, the directory kept.
    const dir = line.replace(/=.*$/, '').replace(/\/+$/, '');
    if (dir !== '') dirs.push(dir);
  }
}

/** glob(3) for absolute patterns with `*`, `?` and `[...]`, sorted; paths are returned relative to `root`. */
function expandGlob(root: string, pattern: string): string[] {
  let found = ['/'];
  for (const part of pattern.split('/').filter((p) => p !== '')) {
    const next: string[] = [];
    if (!/[*?[]/.test(part)) {
      for (const f of found) next.push(posix.join(f, part));
    } else {
      const re = globPart(part);
      for (const f of found) {
        let names: string[];
        try {
          names = readdirSync(join(root, f));
        } catch {
          continue;
        }
        for (const n of names.sort()) if (re.test(n)) next.push(posix.join(f, n));
      }
    }
    found = next;
  }
  return found.filter((f) => {
    try {
      statSync(join(root, f));
      return true;
    } catch {
      return false;
    }
  });
}

function globPart(part: string): RegExp {
  let re = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = part.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        const body = part.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  // As in glob(3), a wildcard does not match a leading dot.
  return new RegExp(part.startsWith('.') ? `^${re}$` : `^(?!\\.)${re}$`);
}

/**
 * The file the loader would load for `soname` on behalf of `from`, as
 * ld.so(8) searches: DT_RPATH (only when there is no DT_RUNPATH), then
 * DT_RUNPATH, then `searchPath`. LD_LIBRARY_PATH is ignored: it belongs to
 * the build machine, not the machine that installs the package. `$ORIGIN`
 * (or `${ORIGIN}`) expands to the directory of `from`; other tokens ($LIB,
 * $PLATFORM) are left as they are and so match nothing. A file counts only
 * when its ELF class and machine are those of `from`, the way the loader
 * skips a 32-bit libc in a 64-bit process. Returns an absolute path.
 */
export function resolveLibrary(soname: string, from: ElfFile, searchPath: readonly string[]): string | undefined {
  if (soname.includes('/')) {
    const p = resolve(dirname(resolve(from.path)), soname);
    return matchesElf(p, from) ? p : undefined;
  }
  const origin = dirname(resolve(from.path));
  const split = (list: string | undefined): string[] =>
    (list ?? '')
      .split(':')
      .filter((d) => d !== '')
      .map((d) => d.replace(/\$(ORIGIN\b|\{ORIGIN\})/g, origin));
  const dirs = [...(from.runpath === undefined ? split(from.rpath) : []), ...split(from.runpath), ...searchPath];
  for (const d of dirs) {
    const p = resolve(d, soname);
    if (matchesElf(p, from)) return p;
  }
  return undefined;
}

/** A regular file (after symlinks) whose ELF header has the class and machine of `elf`. Reads 20 bytes. */
function matchesElf(path: string, elf: ElfFile): boolean {
  let fd: number | undefined;
  try {
    if (!statSync(path).isFile()) return false;
    fd = openSync(path, 'r');
    const h = Buffer.alloc(20);
    if (readSync(fd, h, 0, 20, 0) < 20) return false;
    if (h[0] !== 0x7f || h[1] !== 0x45 || h[2] !== 0x4c || h[3] !== 0x46) return false;
    const cls = h[4] === 2 ? 64 : h[4] === 1 ? 32 : 0;
    const machine = h[5] === 2 ? h.readUInt16BE(18) : h.readUInt16LE(18);
    return cls === elf.class && machine === elf.machine;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// ---------------------------------------------------------------------------
// dpkg's database

/** One symbol line of a symbols file: the minimum version and the dependency template it selects (0 = the header's). */
export interface SymbolVersion {
  readonly minVersion: string;
  readonly template: number;
}

/** One library of a symbols file (deb-symbols(5)). */
export interface SymbolsLibrary {
  readonly soname: string;
  /** [0] the header's dependency template, [n] the n-th `|` alternative. */
  readonly templates: readonly string[];
  /** Literal entries, by `name@version` (`@Base` for an unversioned symbol). */
  readonly symbols: ReadonlyMap<string, SymbolVersion>;
  /** `(symver)VERSION` and `*@VERSION` entries: any symbol of that version. */
  readonly versions: ReadonlyMap<string, SymbolVersion>;
}

/**
 * A symbols file as installed in /var/lib/dpkg/info (deb-symbols(5)):
 *
 *     libc.so.6 libc6 #MINVER#
 *     | libc6 (>> 2.36), libc6 (<< 2.37)
 *     * Build-Depends-Package: libc6-dev
 *      memcpy@GLIBC_2.14 2.14
 *      GLIBC_PRIVATE@GLIBC_PRIVATE 0 1
 *
 * A symbol line may start with tags in parentheses and quote its name.
 * Lines tagged (c++) or (regex), or with a tag we do not know, are skipped:
 * we match names literally. (symver) and the older `*@VERSION` form match
 * every symbol of a version.
 */
export function parseSymbolsFile(text: string): Map<string, SymbolsLibrary> {
  const libs = new Map<string, { soname: string; templates: string[]; symbols: Map<string, SymbolVersion>; versions: Map<string, SymbolVersion> }>();
  let cur: ReturnType<typeof libs.get>;
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (line.startsWith('|')) {
      cur?.templates.push(line.slice(1).trim());
      continue;
    }
    if (line.startsWith('*')) continue; // meta fields: Build-Depends-Package, Ignore-Blacklist-Groups
    if (!/^\s/.test(line)) {
      const m = /^(\S+)\s+(.*?)\s*$/.exec(line);
      // A header without a template: its symbol lines must not land in the previous library.
      cur = undefined;
      if (!m) continue;
      cur = { soname: m[1]!, templates: [m[2]!], symbols: new Map(), versions: new Map() };
      libs.set(cur.soname, cur);
      continue;
    }
    if (!cur) continue;
    const sym = parseSymbolLine(line.trim());
    if (!sym) continue;
    const entry = { minVersion: sym.minVersion, template: sym.template };
    if (sym.tags.includes('symver')) cur.versions.set(sym.name, entry);
    else if (sym.name.startsWith('*@')) cur.versions.set(sym.name.slice(2), entry);
    else cur.symbols.set(sym.name, entry);
  }
  return libs;
}

/** Tags that do not change how the name matches. The arch ones are settled when the package is built. */
const LITERAL_TAGS = new Set(['optional', 'arch', 'arch-bits', 'arch-endian', 'ignore-blacklist', 'allow-internal', 'symver']);

function parseSymbolLine(line: string): { name: string; tags: string[]; minVersion: string; template: number } | undefined {
  let rest = line;
  let tags: string[] = [];
  if (rest.startsWith('(')) {
    const close = rest.indexOf(')');
    if (close < 0) return undefined;
    tags = rest
      .slice(1, close)
      .split('|')
      .map((t) => t.replace(/=.*$/, '').trim());
    if (tags.some((t) => !LITERAL_TAGS.has(t))) return undefined;
    rest = rest.slice(close + 1);
  }
  let name: string;
  if (rest.startsWith('"')) {
    const q = rest.indexOf('"', 1);
    if (q < 0) return undefined;
    name = rest.slice(1, q);
    rest = rest.slice(q + 1);
  } else {
    const m = /^(\S+)(.*)$/.exec(rest);
    if (!m) return undefined;
    name = m[1]!;
    rest = m[2]!;
  }
  const fields = rest.trim().split(/\s+/);
  if (fields[0] === undefined || fields[0] === '') return undefined;
  const template = fields[1] !== undefined && /^\d+$/.test(fields[1]) ? Number(fields[1]) : 0;
  return { name, tags, minVersion: fields[0], template };
}

/** One line of a shlibs file (deb-shlibs(5)): `libz 1 zlib1g (>= 1:1.2.3.3.dfsg-1)`. */
export interface ShlibsEntry {
  /** `udeb` for `udeb: ...` lines; undefined for the default. */
  readonly type?: string;
  readonly library: string;
  readonly soversion: string;
  /** The dependency, possibly empty. */
  readonly dependency: string;
}

export function parseShlibsFile(text: string): ShlibsEntry[] {
  const out: ShlibsEntry[] = [];
  for (const line of text.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    // The same pattern dpkg-shlibdeps uses: [type:] library version [dependency]
    const m = /^\s*(?:(\S+):\s+)?(\S+)\s+(\S+)(?:\s+(\S.*?))?\s*$/.exec(line);
    if (!m) continue;
    const base = { library: m[2]!, soversion: m[3]!, dependency: m[4] ?? '' };
    out.push(m[1] === undefined ? base : { type: m[1], ...base });
  }
  return out;
}

/**
 * A soname as deb-shlibs(5) splits it: `libz.so.1` is library `libz`,
 * version `1`; `libfoo-1.2.so` is `libfoo`, `1.2`. Undefined for a name
 * of neither form (`libmemusage.so`).
 */
export function splitSoname(soname: string): { library: string; soversion: string } | undefined {
  const a = /^(.*)\.so\.(.*)$/.exec(soname);
  if (a) return { library: a[1]!, soversion: a[2]! };
  const b = /^(.*)-(\d.*)\.so$/.exec(soname);
  if (b) return { library: b[1]!, soversion: b[2]! };
  return undefined;
}

/**
 * dpkg's database, read from its files: which package owns a path (the
 * `info/<pkg>.list` files), and that package's symbols and shlibs files.
 * Package names are as dpkg names its files: `libc6:amd64` for a
 * Multi-Arch: same package, `libc6-i386` otherwise.
 */
export class DpkgDb {
  private owners: Map<string, string> | undefined;
  private readonly symbolsCache = new Map<string, Map<string, SymbolsLibrary> | undefined>();
  private readonly shlibsCache = new Map<string, ShlibsEntry[] | undefined>();

  /** @param adminDir dpkg's admin directory, `/var/lib/dpkg` unless dpkg was told otherwise (--admindir). */
  constructor(readonly adminDir = '/var/lib/dpkg') {}

  /**
   * The package that owns `path`, or undefined. A library is often found by
   * another name than the one dpkg recorded: with merged /usr, /lib is a
   * link to /usr/lib and the package may list either spelling; and sonames
   * are symlinks to the real file. So this tries the path, the path with
   * its directory resolved, and its realpath, each in both spellings.
   */
  /** Whether `pkg` (any architecture) is installed, from dpkg's status file. */
  isInstalled(pkg: string): boolean {
    let text: string;
    try {
      text = readFileSync(join(this.adminDir, 'status'), 'utf8');
    } catch {
      return false;
    }
    return text.split(/\n\s*\n/).some((stanza) => new RegExp(`^Package: ${pkg.replace(/[.+]/g, '\\$&')}$`, 'm').test(stanza) && /^Status: install ok installed$/m.test(stanza));
  }

  owner(path: string): string | undefined {
    const owners = this.index();
    const abs = resolve(path);
    const candidates: string[] = [];
    const add = (p: string): void => {
      candidates.push(p);
      const alt = usrmergeTwin(p);
      if (alt) candidates.push(alt);
    };
    add(abs);
    try {
      add(join(realpathSync(dirname(abs)), basename(abs)));
    } catch {
      // a missing directory: nothing more to try
    }
    try {
      add(realpathSync(abs));
    } catch {
      // a dangling link: the names above are all there is
    }
    for (const c of candidates) {
      const pkg = owners.get(c);
      if (pkg !== undefined) return pkg;
    }
    return undefined;
  }

  /** The parsed symbols file of `pkg`, by soname; undefined when the package has none. */
  symbols(pkg: string): ReadonlyMap<string, SymbolsLibrary> | undefined {
    if (!this.symbolsCache.has(pkg)) {
      const text = this.controlFile(pkg, 'symbols');
      this.symbolsCache.set(pkg, text === undefined ? undefined : parseSymbolsFile(text));
    }
    return this.symbolsCache.get(pkg);
  }

  /** The parsed shlibs file of `pkg`; undefined when the package has none. */
  shlibs(pkg: string): readonly ShlibsEntry[] | undefined {
    if (!this.shlibsCache.has(pkg)) {
      const text = this.controlFile(pkg, 'shlibs');
      this.shlibsCache.set(pkg, text === undefined ? undefined : parseShlibsFile(text));
    }
    return this.shlibsCache.get(pkg);
  }

  /** `info/<pkg>.<kind>`, also without the `:arch` qualifier, as `dpkg-query --control-path` finds it. */
  private controlFile(pkg: string, kind: 'symbols' | 'shlibs'): string | undefined {
    const names = [pkg, pkg.split(':')[0]!];
    for (const n of new Set(names)) {
      try {
        return readFileSync(join(this.adminDir, 'info', `${n}.${kind}`), 'utf8');
      } catch {
        // try the next name
      }
    }
    return undefined;
  }

  /** path -> package over all `info/*.list` files, built on first use. The first package in name order wins a shared path. */
  private index(): Map<string, string> {
    if (this.owners) return this.owners;
    const info = join(this.adminDir, 'info');
    let files: string[];
    try {
      files = readdirSync(info).filter((f) => f.endsWith('.list'));
    } catch (e) {
      throw new ShlibdepsError(
        `cannot read the dpkg database at ${info}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        'computing Depends needs a Debian or Ubuntu system (or a container of one) with the runtime libraries installed',
      );
    }
    const owners = new Map<string, string>();
    for (const f of files.sort()) {
      const pkg = f.slice(0, -'.list'.length);
      for (const line of readFileSync(join(info, f), 'utf8').split('\n')) {
        if (line !== '' && !owners.has(line)) owners.set(line, pkg);
      }
    }
    this.owners = owners;
    return owners;
  }
}

/** The other spelling of a path under merged /usr: /lib/x <-> /usr/lib/x (also lib32, lib64, libx32, bin, sbin). */
function usrmergeTwin(p: string): string | undefined {
  if (/^\/usr\/(bin|sbin|lib[^/]*)\//.test(p)) return p.slice('/usr'.length);
  if (/^\/(bin|sbin|lib[^/]*)\//.test(p)) return `/usr${p}`;
  return undefined;
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
  for (const clause of template.split(',').map((c) => c.trim()).filter((c) => c !== '')) {
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
