/**
 * dpkg's database, read from its files (no dpkg-query): which packages are
 * installed and at which version (the status file), which installed
 * package owns a path, and a package's symbols (deb-symbols(5)) and shlibs
 * (deb-shlibs(5)) control files. Used by setup and doctor (what is
 * missing), by the keys of the tasks that link system libraries (their
 * versions), by the .deb's Depends, by the portable directory (whose
 * copyright file goes with a bundled library), and by the install checks
 * (what a root has).
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PbError } from '../graph/errors.js';
import { parseDeb822 } from './deb822.js';

/** dpkg's admin directory, unless dpkg was told otherwise (--admindir). */
export const DPKG_ADMIN_DIR = '/var/lib/dpkg';

/** The dpkg database cannot be read: an unusable environment (exit 2), with its fix. */
export class DpkgError extends PbError {
  constructor(
    message: string,
    override readonly hint: string,
  ) {
    super(message, hint);
  }
}

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

/** One paragraph of dpkg's status file. */
export interface DpkgStatusEntry {
  readonly package: string;
  /** `amd64`, `all`, ...; undefined in a status file that does not say. */
  readonly architecture: string | undefined;
  readonly version: string | undefined;
  /** The Status field: want, error flag, state (`install ok installed`, `deinstall ok config-files`). */
  readonly status: string;
  /** The state is `installed` (whatever is wanted: a held package is installed too). */
  readonly installed: boolean;
}

/**
 * The status file (dpkg(1), FILES): one paragraph per package and
 * architecture. A package of several architectures (Multi-Arch: same) has
 * one paragraph for each.
 */
const STATUS_FIELDS = new Set(['package', 'architecture', 'version', 'status']);

export function parseDpkgStatus(text: string): DpkgStatusEntry[] {
  const out: DpkgStatusEntry[] = [];
  for (const p of parseDeb822(text, STATUS_FIELDS)) {
    const pkg = p.get('package');
    if (!pkg) continue;
    const status = p.get('status') ?? '';
    out.push({ package: pkg, architecture: p.get('architecture'), version: p.get('version'), status, installed: status.split(/\s+/)[2] === 'installed' });
  }
  return out;
}

/** name -> version, for the installed ones among `names` (`name` or `name:arch`, see DpkgDb.installedVersions), from the database in `adminDir`. */
export function installedVersions(names: readonly string[], adminDir = DPKG_ADMIN_DIR): Map<string, string> {
  return new DpkgDb(adminDir).installedVersions(names);
}

/** Upstream keys for a task: `pkg:<name>` -> installed version (or `missing`); `name:arch` gives `pkg:<name>:<arch>`, that architecture's copy. */
export function packageKeys(names: readonly string[], adminDir = DPKG_ADMIN_DIR): Record<string, string> {
  const v = installedVersions(names, adminDir);
  return Object.fromEntries(names.map((n) => [`pkg:${n}`, v.get(n) ?? 'missing']));
}

/**
 * dpkg's database, read from its files: which packages are installed (the
 * status file), which package owns a path (the
 * `info/<pkg>.list` files), and that package's symbols and shlibs files.
 * Package names are as dpkg names its files: `libc6:amd64` for a
 * Multi-Arch: same package, `libc6-i386` otherwise. Each file is read once
 * per instance: after installing packages, make a new one.
 */
export class DpkgDb {
  private owners: Map<string, string> | undefined;
  private statusEntries: DpkgStatusEntry[] | undefined;
  private readonly symbolsCache = new Map<string, Map<string, SymbolsLibrary> | undefined>();
  private readonly shlibsCache = new Map<string, ShlibsEntry[] | undefined>();

  /** @param adminDir dpkg's admin directory, `/var/lib/dpkg` unless dpkg was told otherwise (--admindir). */
  constructor(readonly adminDir = DPKG_ADMIN_DIR) {}

  /** The status file's paragraphs, read once; none when there is no status file (not a dpkg system). */
  status(): readonly DpkgStatusEntry[] {
    if (this.statusEntries === undefined) {
      let text = '';
      try {
        text = readFileSync(join(this.adminDir, 'status'), 'utf8');
      } catch {
        // no dpkg here: nothing is installed
      }
      this.statusEntries = parseDpkgStatus(text);
    }
    return this.statusEntries;
  }

  /** Whether `pkg` is installed: `name` for any architecture, `name:arch` for that one. */
  isInstalled(pkg: string): boolean {
    const [name, arch] = pkg.split(':');
    return this.status().some((e) => e.installed && e.package === name && (arch === undefined || e.architecture === arch));
  }

  /**
   * name -> version, for the installed ones among `names`. A bare `name`
   * matches the package of any architecture (for one installed for several,
   * the last paragraph's version); `name:arch` matches that architecture's
   * copy only, and is keyed as given (`libssl-dev:arm64`).
   */
  installedVersions(names: readonly string[]): Map<string, string> {
    const bare = new Set(names.filter((n) => !n.includes(':')));
    const qualified = new Set(names.filter((n) => n.includes(':')));
    const out = new Map<string, string>();
    for (const e of this.status()) {
      if (!e.installed || e.version === undefined) continue;
      if (bare.has(e.package)) out.set(e.package, e.version);
      const q = `${e.package}:${e.architecture}`;
      if (e.architecture !== undefined && qualified.has(q)) out.set(q, e.version);
    }
    return out;
  }

  /**
   * The package that owns `path`, or undefined. A library is often found by
   * another name than the one dpkg recorded: with merged /usr, /lib is a
   * link to /usr/lib and the package may list either spelling; and sonames
   * are symlinks to the real file. So this tries the path, the path with
   * its directory resolved, and its realpath, each in both spellings.
   */
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
      throw new DpkgError(
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
