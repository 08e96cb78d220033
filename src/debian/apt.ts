/**
 * apt, as setup and packaging see it: the machine's sources (read from
 * /etc/apt, both formats, in the order apt reads them), the Debian
 * packages the builds need, and `pyston-build setup`'s plan, which
 * installs what is missing and adds a deb-src entry mirroring the
 * machine's own sources.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PbError } from '../graph/index.js';
import { parseDeb822, words } from './deb822.js';
import { installedVersions } from './dpkg.js';

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

/** Is there a deb-src entry among the machine's sources? `apt` is the apt config dir (tests pass their own). */
export function hasDebSrc(apt = '/etc/apt'): boolean {
  return readAptSources(apt).some((s) => s.types.includes('deb-src'));
}

/**
 * A deb-src entry mirroring the machine's first `deb` source for `suite`
 * (same URIs, suites, components and keyring, in the same format), so no
 * host is hard-coded.
 */
export function debSrcEntry(suite: string, apt = '/etc/apt'): string | undefined {
  const s = readAptSources(apt).find((x) => basename(x.file) !== basename(DEB_SRC_FILE) && x.types.includes('deb') && x.suites.includes(suite));
  if (s === undefined) return undefined;
  if (s.format === 'one-line') {
    const opts = [...s.options].map(([k, v]) => `${k}=${v}`).join(' ');
    return `${['deb-src', ...(opts ? [`[${opts}]`] : []), ...s.uris, ...s.suites, ...s.components].join(' ')}\n`;
  }
  const lines = ['Types: deb-src', `URIs: ${s.uris.join(' ')}`, `Suites: ${s.suites.join(' ')}`, `Components: ${s.components.length > 0 ? s.components.join(' ') : 'main'}`];
  const key = s.options.get('signed-by');
  // An inline keyring starts on the next line: no space after the colon then.
  if (key) lines.push(`Signed-By:${key.startsWith('\n') ? '' : ' '}${key}`);
  return `${lines.join('\n')}\n`;
}

export interface SetupPlan {
  readonly missing: string[];
  readonly addDebSrc: string | undefined;
  readonly updateLists: boolean;
}

export function planSetup(packages: readonly string[], needSource: boolean, suite: string): SetupPlan {
  const installed = installedVersions(packages);
  const missing = [...new Set(packages)].filter((p) => !installed.has(p)).sort();
  let addDebSrc: string | undefined;
  if (needSource && !hasDebSrc()) {
    addDebSrc = debSrcEntry(suite);
    if (!addDebSrc) throw new PbError(`cannot add a deb-src entry: no apt source for '${suite}' found to mirror`, `add a deb-src line for ${suite} to /etc/apt/sources.list yourself`);
  }
  return { missing, addDebSrc, updateLists: (missing.length > 0 && aptListsStale()) || addDebSrc !== undefined };
}

export function writeDebSrc(entry: string): void {
  if (existsSync(DEB_SRC_FILE)) return;
  writeFileSync(DEB_SRC_FILE, `# Added by pyston-build setup: source packages for the embedded CPython default.\n${entry}`);
}
