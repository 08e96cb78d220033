/**
 * Debian packages: what the builds need, what is installed (and at which
 * version: a library's version is part of the keys of the builds that link
 * it), and `pyston-build setup`, which installs what is missing.
 *
 * Installed versions are read from /var/lib/dpkg/status directly (no
 * dpkg-query process on the no-op path).
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PbError } from '../graph/index.js';

/** What CPython's configure needs to build every extension module the probes expect. */
export const CPYTHON_BUILD_DEPS = [
  'libssl-dev', 'zlib1g-dev', 'libffi-dev', 'libsqlite3-dev', 'libbz2-dev', 'liblzma-dev', 'libreadline-dev',
  'libgdbm-dev', 'libgdbm-compat-dev', 'uuid-dev', 'libncurses-dev', 'libcrypt-dev', 'pkg-config',
  // release links the system's expat (--with-system-expat): Debian policy forbids an embedded copy.
  'libexpat1-dev',
] as const;

const DPKG_STATUS = '/var/lib/dpkg/status';

/** package -> version, for the installed ones among `names`. */
export function installedVersions(names: readonly string[], statusFile = DPKG_STATUS): Map<string, string> {
  const want = new Set(names);
  const out = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(statusFile, 'utf8');
  } catch {
    return out;
  }
  for (const block of text.split('\n\n')) {
    const pkg = /^Package: (\S+)$/m.exec(block)?.[1];
    if (!pkg || !want.has(pkg)) continue;
    if (!/^Status: install ok installed$/m.test(block)) continue;
    const ver = /^Version: (\S+)$/m.exec(block)?.[1];
    if (ver) out.set(pkg, ver);
  }
  return out;
}

/** Upstream keys for a task: `pkg:<name>` -> installed version (or `missing`). */
export function packageKeys(names: readonly string[]): Record<string, string> {
  const v = installedVersions(names);
  return Object.fromEntries(names.map((n) => [`pkg:${n}`, v.get(n) ?? 'missing']));
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

/** Is there a deb-src entry for Debian's main archive? `apt` is the apt config dir (tests pass their own). */
export function hasDebSrc(apt = '/etc/apt'): boolean {
  const files = [join(apt, 'sources.list'), ...safeList(join(apt, 'sources.list.d')).map((f) => join(apt, 'sources.list.d', f))];
  return files.some((f) => {
    try {
      const t = readFileSync(f, 'utf8');
      return /^\s*deb-src\s/m.test(t) || /^Types:.*\bdeb-src\b/m.test(t);
    } catch {
      return false;
    }
  });
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * A deb-src entry mirroring the machine's own `deb` entries for `suite`
 * (same URIs, suites, components and keyring), so no host is hard-coded.
 */
export function debSrcEntry(suite: string, apt = '/etc/apt'): string | undefined {
  const dir = join(apt, 'sources.list.d');
  for (const f of safeList(dir).sort()) {
    if (!f.endsWith('.sources') || f === 'pyston-build-src.sources') continue;
    const text = readFileSync(join(dir, f), 'utf8');
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, 'm').exec(stanza)?.[1]?.trim();
      if (!(field('Types') ?? '').split(/\s+/).includes('deb') || !(field('Suites') ?? '').split(/\s+/).includes(suite)) continue;
      const lines = ['Types: deb-src', `URIs: ${field('URIs')}`, `Suites: ${field('Suites')}`, `Components: ${field('Components') ?? 'main'}`];
      const key = field('Signed-By');
      if (key) lines.push(`Signed-By: ${key}`);
      return lines.join('\n') + '\n';
    }
  }
  try {
    const line = readFileSync(join(apt, 'sources.list'), 'utf8').split('\n').find((l) => new RegExp(`^deb\\s+\\S+\\s+${suite}\\s`).test(l));
    if (line) return line.replace(/^deb\s/, 'deb-src ') + '\n';
  } catch {
    // no classic sources.list
  }
  return undefined;
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
