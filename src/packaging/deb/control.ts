/**
 * The control file of a binary package, and the checks on its fields.
 *
 * Version syntax is Debian Policy 5.6.12: `[epoch:]upstream_version[-debian_revision]`.
 * The epoch is a number; the upstream version starts with a digit and uses
 * alphanumerics and `.+~` (plus `-` when there is a revision, and `:` when
 * there is an epoch); the revision uses alphanumerics and `+.~`.
 * Installed-Size is in KiB, rounded up (Policy 5.6.20).
 */
import { createHash } from 'node:crypto';
import { PbError } from '../../graph/errors.js';

/** A control field with a value Debian does not accept: bad config (exit 2), with its fix. */
export class ControlError extends PbError {
  constructor(
    message: string,
    override readonly hint: string,
  ) {
    super(message, hint);
  }
}

/** Why a version string is not a Debian version, or undefined when it is one. */
export function debianVersionProblem(version: string): string | undefined {
  if (version === '') return 'it is empty';
  if (/\s/.test(version)) return 'it contains white space';
  let rest = version;
  const colon = rest.indexOf(':');
  const hasEpoch = colon >= 0;
  if (hasEpoch) {
    const epoch = rest.slice(0, colon);
    if (!/^\d+$/.test(epoch)) return `the epoch '${epoch}' is not a number`;
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const hasRevision = dash >= 0;
  const upstream = hasRevision ? rest.slice(0, dash) : rest;
  const revision = hasRevision ? rest.slice(dash + 1) : undefined;
  if (upstream === '') return 'the upstream version is empty';
  if (!/^\d/.test(upstream)) return `the upstream version '${upstream}' does not start with a digit`;
  const allowed = `A-Za-z0-9.+~${hasRevision ? '\\-' : ''}${hasEpoch ? ':' : ''}`;
  const bad = new RegExp(`[^${allowed}]`).exec(upstream);
  if (bad) return `the upstream version '${upstream}' contains '${bad[0]}'`;
  if (revision !== undefined) {
    if (revision === '') return 'the Debian revision after the last - is empty';
    const badRev = /[^A-Za-z0-9+.~]/.exec(revision);
    if (badRev) return `the Debian revision '${revision}' contains '${badRev[0]}'`;
  }
  return undefined;
}

export interface ControlFields {
  readonly package: string;
  readonly version: string;
  /** dpkg's architecture name: amd64, arm64, ... */
  readonly architecture: string;
  readonly maintainer: string;
  /** Total bytes of the installed files; written as KiB rounded up. */
  readonly installedBytes: number;
  readonly section: string;
  readonly priority: string;
  readonly homepage: string;
  readonly depends: readonly string[];
  /** First line: the synopsis; the rest: the extended description. */
  readonly description: string;
}

/** The control file text; throws ControlError naming the bad field. */
export function controlFile(f: ControlFields): string {
  if (!/^[a-z0-9][a-z0-9.+-]+$/.test(f.package))
    throw new ControlError(`invalid package name '${f.package}'`, 'use lowercase letters, digits and + - . (at least two characters, starting with a letter or digit)');
  const problem = debianVersionProblem(f.version);
  if (problem) throw new ControlError(`invalid Debian version '${f.version}': ${problem}`, 'use [epoch:]upstream[-revision], e.g. 3.11.2-1');
  if (!/^[a-z0-9-]+$/.test(f.architecture)) throw new ControlError(`invalid architecture '${f.architecture}'`, 'use a dpkg architecture name such as amd64 or arm64');
  if (maintainerProblem(f.maintainer)) throw new ControlError(`invalid maintainer '${f.maintainer}'`, "use 'Full Name <email@example.org>'");
  const [synopsis, ...rest] = f.description.trim().split('\n');
  if (!synopsis) throw new ControlError('empty package description', 'give a one-line synopsis');
  const body = rest.map((l) => (l.trim() === '' ? ' .' : ` ${l.trim()}`));
  const lines = [
    `Package: ${f.package}`,
    `Version: ${f.version}`,
    `Architecture: ${f.architecture}`,
    `Maintainer: ${f.maintainer}`,
    `Installed-Size: ${installedSizeKiB(f.installedBytes)}`,
    ...(f.depends.length ? [`Depends: ${f.depends.join(', ')}`] : []),
    `Section: ${f.section}`,
    `Priority: ${f.priority}`,
    `Homepage: ${f.homepage}`,
    `Description: ${synopsis}`,
    ...body,
  ];
  return lines.join('\n') + '\n';
}

/** Why a Maintainer value is not `Full Name <user@host>` on one line, or undefined when it is. */
export function maintainerProblem(m: string): string | undefined {
  if (/[\r\n]/.test(m)) return 'it spans more than one line';
  if (!/^[^<>]*\S[^<>]* <[^<>@\s]+@[^<>\s]+>$/.test(m)) return "it is not 'Full Name <email@example.org>'";
  return undefined;
}

export function installedSizeKiB(bytes: number): number {
  return Math.ceil(bytes / 1024);
}

/** md5sums: `<md5>  <path>` per regular file, paths without a leading `./`, sorted. */
export function md5sums(files: ReadonlyArray<{ readonly path: string; readonly data: Buffer }>): string {
  return [...files]
    .map((f) => ({ path: f.path.replace(/^\.?\//, ''), md5: createHash('md5').update(f.data).digest('hex') }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${f.md5}  ${f.path}\n`)
    .join('');
}
