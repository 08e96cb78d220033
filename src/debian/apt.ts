/**
 * apt, as setup and packaging see it: the machine's sources (read from
 * /etc/apt, both formats, in the order apt reads them), the Debian
 * packages the builds need, and `pyston-build setup`'s plan, which
 * installs what is missing and adds the deb-src entries the pinned
 * sources' apt mirrors need, mirroring the machine's own sources.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PbError } from '../graph/index.js';
import { parseDeb822, words } from './deb822.js';
import { binfmtPackages, binfmtState } from './binfmt.js';
import { DPKG_ADMIN_DIR, installedVersions } from './dpkg.js';
import { missingArchitectures } from './multiarch.js';

/** What CPython's configure needs to build every extension module the probes expect. */
export const CPYTHON_BUILD_DEPS = [
  'libssl-dev',
  'zlib1g-dev',
  'libffi-dev',
  'libsqlite3-dev',
  'libbz2-dev',
  'liblzma-dev',
  'libreadline-dev',
  'libgdbm-dev',
  'libgdbm-compat-dev',
  'uuid-dev',
  'libncurses-dev',
  'libcrypt-dev',
  'pkg-config',
  // release links the system's expat (--with-system-expat): Debian policy forbids an embedded copy.
  'libexpat1-dev',
] as const;

/** One apt source: a line of a `.list` file or a stanza of a `.sources` file (sources.list(5)). */
export interface AptSource {
  /** The file it comes from. */
  readonly file: string;
  readonly format: 'one-line' | 'deb822';
  /** `deb`, `deb-src` (a deb822 stanza may have both). */
  readonly types: readonly string[];
  readonly uris: readonly string[];
  readonly suites: readonly string[];
  readonly components: readonly string[];
  /** The other settings, by lower-case name: a one-line entry's `[key=value ...]`, a stanza's other fields (Signed-By, Architectures...), values as written. */
  readonly options: ReadonlyMap<string, string>;
}

/**
 * The one-line format: `deb [key=value ...] URI suite [component ...]`.
 * `#` starts a comment anywhere on a line; lines of another type are skipped.
 */
export function parseSourcesList(text: string, file = ''): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    const options = new Map<string, string>();
    for (const o of (m[2] ?? '').trim().split(/\s+/)) {
      const eq = o.indexOf('=');
      if (eq > 0) options.set(o.slice(0, eq).toLowerCase(), o.slice(eq + 1));
    }
    out.push({ file, format: 'one-line', types: [m[1]!], uris: [m[3]!], suites: [m[4]!], components: (m[5] ?? '').split(/\s+/).filter((c) => c !== ''), options });
  }
  return out;
}

const LIST_FIELDS = new Set(['types', 'uris', 'suites', 'components', 'enabled']);

/** The deb822 format: stanzas of Types, URIs, Suites, Components and options; `Enabled: no` stanzas are skipped. */
export function parseDeb822Sources(text: string, file = ''): AptSource[] {
  const out: AptSource[] = [];
  for (const p of parseDeb822(text)) {
    if ((p.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const types = words(p, 'types');
    if (types.length === 0) continue;
    const options = new Map([...p].filter(([k]) => !LIST_FIELDS.has(k)));
    out.push({ file, format: 'deb822', types, uris: words(p, 'uris'), suites: words(p, 'suites'), components: words(p, 'components'), options });
  }
  return out;
}

/** The names apt reads in sources.list.d (others, such as `x.list.disabled` or `x~.list`, it ignores). */
const SOURCES_PART = /^[A-Za-z0-9_.-]+\.(list|sources)$/;

/** Every source of the machine, as apt reads them: `<apt>/sources.list`, then `<apt>/sources.list.d/*.{list,sources}` in name order. */
export function readAptSources(apt = '/etc/apt'): AptSource[] {
  const files = [
    join(apt, 'sources.list'),
    ...safeList(join(apt, 'sources.list.d'))
      .filter((f) => SOURCES_PART.test(f))
      .sort()
      .map((f) => join(apt, 'sources.list.d', f)),
  ];
  const out: AptSource[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    out.push(...(f.endsWith('.sources') ? parseDeb822Sources(text, f) : parseSourcesList(text, f)));
  }
  return out;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The first `deb` URI of the machine's apt sources that serves `suite`. */
export function aptMirror(suite: string, apt = '/etc/apt'): string | undefined {
  return readAptSources(apt).find((s) => s.types.includes('deb') && s.suites.includes(suite))?.uris[0];
}

/** True when apt's package lists are missing or older than a day. */
export function aptListsStale(listsDir = '/var/lib/apt/lists'): boolean {
  try {
    const lists = readdirSync(listsDir).filter((f) => f.endsWith('_Packages'));
    if (lists.length === 0) return true;
    const newest = Math.max(...lists.map((f) => statSync(join(listsDir, f)).mtimeMs));
    return Date.now() - newest > 24 * 3600 * 1000;
  } catch {
    return true;
  }
}

export const DEB_SRC_FILE = '/etc/apt/sources.list.d/pyston-build-src.sources';

/** Where setup's deb-src file is under the apt config dir `apt` (DEB_SRC_FILE for /etc/apt). */
export function debSrcFile(apt = '/etc/apt'): string {
  return join(apt, 'sources.list.d', basename(DEB_SRC_FILE));
}

/**
 * Is there a deb-src entry among the machine's sources (for `suite`, when
 * given)? `apt` is the apt config dir (tests pass their own).
 */
export function hasDebSrc(apt = '/etc/apt', suite?: string): boolean {
  return readAptSources(apt).some((s) => s.types.includes('deb-src') && (suite === undefined || s.suites.includes(suite)));
}

/** The machine's Debian release: os-release's VERSION_CODENAME when its ID is `debian`; undefined on any other system. */
export function hostDebianSuite(osRelease = '/etc/os-release'): string | undefined {
  let text: string;
  try {
    text = readFileSync(osRelease, 'utf8');
  } catch {
    return undefined;
  }
  const field = (k: string): string | undefined => new RegExp(`^${k}=(["']?)(.*)\\1\\s*$`, 'm').exec(text)?.[2];
  return field('ID') === 'debian' ? field('VERSION_CODENAME') || undefined : undefined;
}

/**
 * The `deb` source a deb-src entry for `suite` mirrors: the machine's own
 * `deb` source for `suite` (all its suites), else, given the host's Debian
 * release `host`, the machine's Debian source for it with `Suites:` being
 * `suite` alone (same URIs, components and keyring): bullseye's sources come
 * from the archive that serves bookworm. Setup's own file is never mirrored.
 */
function mirroredSource(suite: string, sources: readonly AptSource[], host: string | undefined): AptSource | undefined {
  const own = sources.filter((x) => basename(x.file) !== basename(DEB_SRC_FILE) && x.types.includes('deb'));
  const direct = own.find((x) => x.suites.includes(suite));
  if (direct !== undefined) return direct;
  const debian = host === undefined ? undefined : own.find((x) => x.suites.includes(host));
  return debian && { ...debian, suites: [suite] };
}

/** A deb822 deb-src stanza with `s`'s URIs, suites, components (main when it names none) and keyring. */
function deb822DebSrc(s: AptSource): string {
  const lines = ['Types: deb-src', `URIs: ${s.uris.join(' ')}`, `Suites: ${s.suites.join(' ')}`, `Components: ${s.components.length > 0 ? s.components.join(' ') : 'main'}`];
  const key = s.options.get('signed-by');
  // An inline keyring starts on the next line: no space after the colon then.
  if (key) lines.push(`Signed-By:${key.startsWith('\n') ? '' : ' '}${key}`);
  return `${lines.join('\n')}\n`;
}

/**
 * A deb-src entry mirroring the machine's `deb` source for `suite` (see
 * mirroredSource; `host` lets a suite without one borrow the host's Debian
 * source), so no host is hard-coded. Always a deb822 stanza, whatever the
 * format of the source: setup writes it to a `.sources` file, where apt
 * refuses a one-line entry ("Malformed stanza").
 */
export function debSrcEntry(suite: string, apt = '/etc/apt', host?: string): string | undefined {
  const s = mirroredSource(suite, readAptSources(apt), host);
  return s && deb822DebSrc(s);
}

/** What setup does to its deb-src file. */
export interface DebSrcChange {
  /** The needed suites without a deb-src entry anywhere on the machine, sorted: the ones it adds. */
  readonly suites: readonly string[];
  /** The file: debSrcFile(apt). No other file is touched. */
  readonly file: string;
  /** The file's whole new text: what it held (if it existed), then a stanza for the added suites. */
  readonly text: string;
}

const DEB_SRC_HEADER = '# Added by pyston-build setup: Debian source packages of the pinned sources (apt-get source).\n';

/**
 * The deb-src entries `suites` need that the machine lacks, as the new text
 * of setup's file; undefined when every suite has one. A suite with no
 * source to mirror is a PbError naming it. `apt` and `osRelease` (which
 * names the host's Debian release) are the machine's; tests pass their own.
 */
export function planDebSrc(suites: readonly string[], apt = '/etc/apt', osRelease = '/etc/os-release'): DebSrcChange | undefined {
  const sources = readAptSources(apt);
  const host = hostDebianSuite(osRelease);
  const lacking = [...new Set(suites)].sort().filter((suite) => !sources.some((s) => s.types.includes('deb-src') && s.suites.includes(suite)));
  if (lacking.length === 0) return undefined;
  const stanzas: string[] = [];
  const covered = new Set<string>();
  for (const suite of lacking) {
    if (covered.has(suite)) continue;
    const s = mirroredSource(suite, sources, host);
    if (s === undefined) {
      throw new PbError(
        `cannot add a deb-src entry for '${suite}': no apt source in ${apt} to mirror (no 'deb' entry for ${suite}, ${host ? `nor for this machine's Debian release ${host}` : 'and this machine is not Debian'})`,
        `add a deb-src entry for ${suite} to ${join(apt, 'sources.list')} yourself`,
      );
    }
    for (const x of s.suites) covered.add(x);
    stanzas.push(deb822DebSrc(s));
  }
  const file = debSrcFile(apt);
  // One-line entries are invalid in a .sources file (an earlier setup could write one): they are dropped.
  const before = existsSync(file)
    ? readFileSync(file, 'utf8')
        .replace(/^deb(-src)?[ \t].*\n?/gm, '')
        .trimEnd()
    : DEB_SRC_HEADER.trimEnd();
  return { suites: lacking, file, text: `${before}\n\n${stanzas.join('\n')}` };
}

export interface SetupPlan {
  /** The packages to install (sorted): the needed ones that are not installed, plus what enables a binfmt entry that is not enabled. */
  readonly missing: string[];
  /** The deb-src entries setup adds (`suites` names them), or undefined. */
  readonly addDebSrc: DebSrcChange | undefined;
  /** The architectures of `name:arch` packages that dpkg does not know yet: `dpkg --add-architecture` each, before the lists are updated. */
  readonly addArchitectures: string[];
  readonly updateLists: boolean;
  /** The needed binfmt entries that are not enabled: `update-binfmts --enable` each, after the packages are installed. */
  readonly enableBinfmt: string[];
}

/** The machine setup looks at (tests pass their own directories) and the binfmt entries the tasks need. */
export interface SetupPlanOptions {
  /** binfmt entries the tasks need (Task.binfmt). */
  readonly binfmt?: readonly string[];
  /** dpkg's admin directory: installed packages, foreign architectures. */
  readonly adminDir?: string;
  /** Where the kernel lists binfmt entries. */
  readonly binfmtDir?: string;
  /** apt's package lists (their age decides whether to update them). */
  readonly listsDir?: string;
}

/**
 * What setup does, computed without changing anything: the architectures
 * to add, the deb-src suites to add, whether to update the lists (always
 * after adding either), the missing packages, and the binfmt entries to
 * enable. `packages` may name `name:arch`.
 */
export function planSetup(packages: readonly string[], debSrcSuites: readonly string[], apt = '/etc/apt', osRelease = '/etc/os-release', opts: SetupPlanOptions = {}): SetupPlan {
  const adminDir = opts.adminDir ?? DPKG_ADMIN_DIR;
  const enableBinfmt = [...new Set(opts.binfmt ?? [])].filter((e) => binfmtState(e, opts.binfmtDir) !== 'enabled').sort();
  const wanted = [...new Set([...packages, ...enableBinfmt.flatMap(binfmtPackages)])];
  const installed = installedVersions(wanted, adminDir);
  const missing = wanted.filter((p) => !installed.has(p)).sort();
  const addArchitectures = missingArchitectures(missing, adminDir);
  const addDebSrc = planDebSrc(debSrcSuites, apt, osRelease);
  const updateLists = (missing.length > 0 && aptListsStale(opts.listsDir)) || addDebSrc !== undefined || addArchitectures.length > 0;
  return { missing, addDebSrc, addArchitectures, updateLists, enableBinfmt };
}

/** Write setup's deb-src file: to a temp file beside it, then renamed over it. */
export function writeDebSrc(change: DebSrcChange): void {
  mkdirSync(dirname(change.file), { recursive: true });
  // apt ignores the temp name (sources.list.d takes *.list and *.sources only).
  const tmp = `${change.file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, change.text, { mode: 0o644 });
    renameSync(tmp, change.file);
  } finally {
    rmSync(tmp, { force: true });
  }
}
