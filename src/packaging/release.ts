/**
 * What a release is called and where it installs: the package name, the
 * install prefix, the Debian version and architecture, and the
 * SOURCE_DATE_EPOCH every archive's timestamps come from. Checked once, at
 * plan time, so that a bad value is a one-line error before anything builds.
 */
import { statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { PbError } from '../graph/errors.js';
import { debianVersionProblem, maintainerProblem } from './deb/control.js';
import { archInfo, type Arch } from '../debian/arch.js';

/** A bad packaging setting. Exit code 2. */
export class ReleaseConfigError extends PbError {}

export interface ReleaseNames {
  /** Package and command name: `pyston` or `cpython` by default. */
  readonly name: string;
  /** What the source is, whatever the package is called. */
  readonly flavor: 'cpython' | 'pyston';
  /** Absolute install prefix, e.g. /usr/lib/cpython. */
  readonly prefix: string;
  /** Upstream version of the source, e.g. 3.11.2. */
  readonly upstreamVersion: string;
  /** The .deb's Version, e.g. 3.11.2-1. */
  readonly debVersion: string;
  /** dpkg's name for the architecture: amd64, arm64. */
  readonly debArch: string;
  /** GNU triplet for file names: x86_64-linux-gnu. */
  readonly triplet: string;
}

/**
 * Prefixes where a Python already lives on Debian, or that would spill our
 * files among the system's: /usr or /usr/local would put a `python3.11`
 * next to the system one, and a prefix under the system's stdlib would mix
 * the two.
 */
export function prefixProblem(prefix: string): string | undefined {
  if (!prefix.startsWith('/')) return 'it is not an absolute path';
  if (posix.normalize(prefix) !== prefix || prefix.endsWith('/')) return `it is not in normal form (${posix.normalize(prefix).replace(/(.)\/$/, '$1')})`;
  if (/[\s'"\\$`]/.test(prefix)) return 'it contains white space, quotes, $, ` or \\';
  if (['/', '/usr', '/usr/local', '/opt', '/usr/lib', '/usr/local/lib', '/bin', '/usr/bin'].includes(prefix)) return 'the system Python or its commands live there';
  if (/^\/usr(\/local)?\/lib\/python[0-9]/.test(prefix) || /^\/usr(\/local)?\/(bin|include|share)(\/|$)/.test(prefix)) return "it is inside the system Python's directories";
  return undefined;
}

/**
 * The release's names. With `validate`, a bad name, prefix or version is
 * a one-line error; without, the values are computed as given (for
 * planning targets that do not use them).
 */
export function releaseNames(o: { name: string; prefix: string; version: string; flavor: 'cpython' | 'pyston'; sourceVersion: string; arch: Arch; validate: boolean }): ReleaseNames {
  const name = o.name || (o.flavor === 'pyston' ? 'pyston' : 'cpython');
  const prefix = o.prefix || `/usr/lib/${name}`;
  const debVersion = o.version || `${o.sourceVersion}-1`;
  if (o.validate) {
    if (!/^[a-z][a-z0-9.+-]+$/.test(name)) throw new ReleaseConfigError(`invalid package.name '${name}'`, 'use lowercase letters, digits and + - . (at least two characters, starting with a letter)');
    const problem = prefixProblem(prefix);
    if (problem) throw new ReleaseConfigError(`invalid package.prefix '${prefix}': ${problem}`, `use a directory of its own, such as /usr/lib/${name}`);
    const vp = debianVersionProblem(debVersion);
    if (vp) throw new ReleaseConfigError(`invalid package.version '${debVersion}': ${vp}`, 'use [epoch:]upstream[-revision], e.g. 3.11.2-1');
  }
  const a = archInfo(o.arch);
  return { name, flavor: o.flavor, prefix, upstreamVersion: o.sourceVersion, debVersion, debArch: a.deb, triplet: a.triplet };
}

/** package.maintainer, checked before the .deb's control file gets it. */
export function checkMaintainer(maintainer: string): void {
  const p = maintainerProblem(maintainer);
  if (p)
    throw new ReleaseConfigError(`invalid package.maintainer ${JSON.stringify(maintainer)}: ${p}`, "use 'Full Name <email@example.org>', e.g. --set 'package.maintainer=Jane Doe <jane@example.org>'");
}

/** package.suite and package.mirror, checked before debootstrap gets them. */
export function checkRootfsSettings(suite: string, mirror: string): void {
  if (!/^[a-z][a-z0-9-]*$/.test(suite)) throw new ReleaseConfigError(`invalid package.suite '${suite}'`, 'use a Debian suite name such as bookworm');
  if (mirror !== '' && !/^(https?|file):\/\/[^\s'"]+$/.test(mirror))
    throw new ReleaseConfigError(`invalid package.mirror '${mirror}'`, 'use an http://, https:// or file:// URL of a Debian mirror, e.g. http://deb.debian.org/debian');
}

/** 1980-01-01: zip and some tools cannot store earlier dates, and lintian calls older files ancient. */
export const MIN_EPOCH = 315532800;

/** SOURCE_DATE_EPOCH when set, checked: a whole number of seconds, else a one-line error (at plan time too). */
export function checkSourceDateEpoch(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text.trim())) throw new ReleaseConfigError(`SOURCE_DATE_EPOCH must be a whole number of seconds, got '${text}'`, 'for example: SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)');
  return Number(text.trim());
}

/**
 * The timestamp of every archive entry: SOURCE_DATE_EPOCH when set (a
 * whole number, else a one-line error), else the source tree's date (the
 * mtime of Include/patchlevel.h, which a release archive carries from
 * upstream), never before 1980.
 */
export function sourceDateEpoch(env: NodeJS.ProcessEnv, srcDir: string): number {
  const given = checkSourceDateEpoch(env);
  if (given !== undefined) return Math.max(MIN_EPOCH, given);
  try {
    return Math.max(MIN_EPOCH, Math.floor(statSync(join(srcDir, 'Include', 'patchlevel.h')).mtimeMs / 1000));
  } catch {
    return MIN_EPOCH;
  }
}
