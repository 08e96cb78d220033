/**
 * The command links a release's .deb puts on PATH, as data per flavor, and
 * the code that makes them in a staged package root.
 *
 * Every package gets `/usr/bin/<name>3` and `/usr/bin/<name><minor>` (the
 * install check runs the first). A flavor adds the commands its upstream
 * package ships: Pyston's .deb installs its interpreter and pip in /usr/bin
 * under versioned names and links the short names to them (its
 * debian/pyston.install and debian/pyston.links). Ours installs under a
 * prefix of its own, so the versioned names are links into the prefix and
 * the short names link to those, as Pyston's do.
 *
 * Links are made as dh_link makes them: relative within one top-level
 * directory (`/usr/bin/pyston -> python3.8-pyston2.3`), absolute across
 * top-level directories. Each must lead to a file in the package: a link
 * that would dangle fails the package in one line.
 */
import type { DebLink } from '../flavors/index.js';
import { lstatSync, mkdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { TaskFailure } from '../graph/index.js';

/**
 * One link, as a template. Both paths are absolute paths in the installed
 * package and may use:
 * - `{prefix}`: the install prefix (/usr/lib/pyston);
 * - `{name}`: the package name (pyston);
 * - `{minor}`: the Python version (3.8);
 * - `{python}`: the interpreter's file name in `{prefix}/bin` (python3.11,
 *   python3.8-pyston2.3);
 * - `{suffix}`: what `{python}` adds to `python{minor}` (`-pyston2.3`; empty
 *   for CPython).
 */
export type LinkSpec = DebLink;

/** The links every package gets. */
export const COMMON_LINKS: readonly LinkSpec[] = [
  { link: '/usr/bin/{name}3', to: '{prefix}/bin/{python}' },
  { link: '/usr/bin/{name}{minor}', to: '{prefix}/bin/{python}' },
];

export interface LinkNames {
  readonly prefix: string;
  readonly name: string;
  readonly minor: string;
  /** The interpreter's file name in `<prefix>/bin` (see interpreterName in ./layout.ts). */
  readonly python: string;
}

/** A link with its paths filled in: `link` and `to` are absolute paths in the package. */
export interface PackageLink {
  readonly link: string;
  readonly to: string;
}

/**
 * The links of a flavor's package, filled in and sorted by path. A flavor's
 * link replaces a common one at the same path.
 */
export function packageLinks(flavorLinks: readonly LinkSpec[], names: LinkNames): PackageLink[] {
  const suffix = names.python.startsWith(`python${names.minor}`) ? names.python.slice(`python${names.minor}`.length) : '';
  const values: Record<string, string> = { prefix: names.prefix, name: names.name, minor: names.minor, python: names.python, suffix };
  const fill = (t: string): string =>
    t.replace(/\{(\w+)\}/g, (m, k: string) => {
      const v = values[k];
      if (v === undefined) throw new Error(`unknown placeholder ${m} in the link ${t}`);
      return v;
    });
  const byPath = new Map<string, PackageLink>();
  for (const s of [...COMMON_LINKS, ...flavorLinks]) {
    const l = { link: posix.normalize(fill(s.link)), to: posix.normalize(fill(s.to)) };
    byPath.set(l.link, l);
  }
  return [...byPath.values()].sort((a, b) => (a.link < b.link ? -1 : a.link > b.link ? 1 : 0));
}

/** What a link at `link` stores to reach `to`, as dh_link writes it: relative within a top-level directory, absolute across. */
export function linkText(link: string, to: string): string {
  const top = (p: string): string => p.split('/')[1] ?? '';
  return top(link) === top(to) ? posix.relative(posix.dirname(link), to) : to;
}

/**
 * Follow `path` (absolute in the package) through links inside `root`:
 * the path of the file it leads to, or why it leads nowhere.
 */
function resolveInPackage(root: string, path: string): { file: string } | { missing: string } {
  let p = path;
  for (let hops = 0; hops < 40; hops++) {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(join(root, p));
    } catch {
      return { missing: p };
    }
    if (!st.isSymbolicLink()) return st.isFile() ? { file: p } : { missing: `${p} (not a file)` };
    const t = readlinkSync(join(root, p));
    p = t.startsWith('/') ? posix.normalize(t) : posix.join(posix.dirname(p), t);
  }
  return { missing: `${path} (too many levels of links)` };
}

/**
 * Make `links` in the package root `root` (which holds `usr/`, the prefix,
 * ...), then check that each leads to a file in the package. A path that
 * already exists, or a link that would dangle, is a one-line failure.
 * Returns what each link stores.
 */
export function applyLinks(root: string, links: readonly PackageLink[]): { link: string; text: string }[] {
  const made: { link: string; text: string }[] = [];
  for (const l of links) {
    const at = join(root, l.link);
    let exists = true;
    try {
      lstatSync(at);
    } catch {
      exists = false;
    }
    if (exists) throw new TaskFailure(`the package already has ${l.link}; the link to ${l.to} cannot be made`, 'two sources give the package this path: see src/packaging/links.ts');
    mkdirSync(dirname(at), { recursive: true });
    const text = linkText(l.link, l.to);
    symlinkSync(text, at);
    made.push({ link: l.link, text });
  }
  for (const l of links) {
    const r = resolveInPackage(root, l.link);
    if ('missing' in r)
      throw new TaskFailure(
        `the link ${l.link} -> ${l.to} would dangle: ${r.missing} is not in the package`,
        'the release install lacks that file; see src/packaging/links.ts for the links each flavor ships',
      );
  }
  return made;
}
