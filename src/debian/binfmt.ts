/**
 * binfmt_misc, as pyston-build sees it: whether the kernel can run another
 * architecture's programs through the entry `qemu-<cpu>` (cpu = the GNU
 * triplet's first part, e.g. `qemu-aarch64`), which hands them to
 * qemu-user. A foreign root (src/debian/rootfs.ts), PGO training and every
 * check under emulation need it. A task that runs such programs names the
 * entry (Task.binfmt); setup enables it and doctor reports it. The kernel
 * lists each registered entry as a file under /proc/sys/fs/binfmt_misc
 * whose first line is `enabled` or `disabled`. Debian's binfmt-support
 * registers and enables them (`update-binfmts --enable NAME`, which mounts
 * binfmt_misc itself when needed); qemu-user-static provides the
 * `qemu-<cpu>` ones.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PbError } from '../graph/errors.js';
import { ARCHES, isArch } from './arch.js';

/** Where the kernel lists binfmt_misc entries. */
export const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

/** The binfmt_misc entry that runs debArch's programs, e.g. `qemu-aarch64`; undefined for an architecture pyston-build does not know. */
export function binfmtEntry(debArch: string): string | undefined {
  return isArch(debArch) ? `qemu-${ARCHES[debArch].triplet.split('-')[0]}` : undefined;
}

/**
 * What keeps the kernel from running debArch's programs, as one line naming
 * the entry and what is wrong with it (missing, disabled, binfmt_misc not
 * mounted); undefined when the entry exists and is enabled.
 */
export function checkBinfmt(debArch: string, dir: string = BINFMT_DIR): string | undefined {
  const entry = binfmtEntry(debArch);
  if (!entry) return `cannot run ${debArch} programs: pyston-build does not know the architecture ${debArch}`;
  const path = join(dir, entry);
  const what = `cannot run ${debArch} programs: the binfmt_misc entry ${path}`;
  // A mounted binfmt_misc always has these two control files.
  if (!existsSync(join(dir, 'status')) && !existsSync(join(dir, 'register'))) return `${what} is missing: binfmt_misc is not mounted at ${dir}`;
  if (!existsSync(path)) return `${what} is missing`;
  let lines: string[];
  try {
    lines = readFileSync(path, 'utf8')
      .split('\n')
      .map((l) => l.trim());
  } catch (e) {
    return `${what} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
  const first = lines[0] ?? '';
  if (first === 'enabled') {
    // An entry outlives the package that registered it (purging qemu-user-static leaves it enabled).
    // With the F flag the kernel opened the interpreter at registration and keeps it; without, it opens the path at each run.
    const interpreter = lines.find((l) => l.startsWith('interpreter '))?.slice('interpreter '.length);
    const flags = lines.find((l) => l.startsWith('flags:'))?.slice('flags:'.length) ?? '';
    if (interpreter && !flags.includes('F') && !existsSync(interpreter)) return `${what} names the interpreter ${interpreter}, which does not exist`;
    return undefined;
  }
  return first === 'disabled' ? `${what} is disabled` : `${what} says '${first}', not 'enabled'`;
}

/** How the user makes checkBinfmt pass for debArch. */
export function binfmtHint(debArch: string): string {
  const entry = binfmtEntry(debArch) ?? `qemu-${debArch}`;
  return `run: npx pyston-build --set arch=${debArch} setup package (or: apt-get install qemu-user-static binfmt-support && update-binfmts --enable ${entry})`;
}

/** An entry's state: enabled; registered but disabled (itself or binfmt_misc as a whole); not registered (or binfmt_misc not mounted). */
export type BinfmtState = 'enabled' | 'disabled' | 'missing';

function firstLine(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').split('\n')[0]!.trim();
  } catch {
    return undefined;
  }
}

/** The state of binfmt entry `entry`, from `<dir>/<entry>` (and `<dir>/status`, binfmt_misc's own switch). */
export function binfmtState(entry: string, dir = BINFMT_DIR): BinfmtState {
  const own = firstLine(join(dir, entry));
  if (own === undefined) return 'missing';
  return own === 'enabled' && firstLine(join(dir, 'status')) !== 'disabled' ? 'enabled' : 'disabled';
}

/** The Debian packages that register and enable `entry`: binfmt-support, and qemu-user-static for a `qemu-<cpu>` entry. */
export function binfmtPackages(entry: string): string[] {
  return entry.startsWith('qemu-') ? ['binfmt-support', 'qemu-user-static'] : ['binfmt-support'];
}

/** The command that enables `entry`. */
export function enableBinfmtCommand(entry: string): string[] {
  return ['update-binfmts', '--enable', entry];
}

/** Why `entry` does not run, for messages: `not registered (no <dir>/<entry>)`, `disabled (<dir>/<entry>)`, or binfmt_misc as a whole is. */
export function binfmtProblem(entry: string, state: Exclude<BinfmtState, 'enabled'>, dir = BINFMT_DIR): string {
  if (state === 'missing') return `not registered (no ${join(dir, entry)})`;
  return firstLine(join(dir, 'status')) === 'disabled' ? `binfmt_misc is disabled (${join(dir, 'status')})` : `disabled (${join(dir, entry)})`;
}

/** A binfmt entry is still not enabled after setup enabled it: an unusable environment (exit 2), with its fix. */
export class BinfmtError extends PbError {}

/** Throws a BinfmtError for the first of `entries` that is not enabled in `dir` (setup's re-check after `update-binfmts --enable`). */
export function assertBinfmtEnabled(entries: readonly string[], dir = BINFMT_DIR): void {
  for (const entry of entries) {
    const state = binfmtState(entry, dir);
    if (state === 'enabled') continue;
    throw new BinfmtError(
      `binfmt entry ${entry} is still not enabled after '${enableBinfmtCommand(entry).join(' ')}': ${binfmtProblem(entry, state, dir)}`,
      `install ${binfmtPackages(entry).join(' ')} (it provides /usr/share/binfmts/${entry}), then run: ${enableBinfmtCommand(entry).join(' ')}; in a container, the host must enable it (binfmt_misc belongs to the host kernel)`,
    );
  }
}
