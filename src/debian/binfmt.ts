/**
 * binfmt_misc entries, as setup and doctor see them: a task that runs
 * programs of another architecture through qemu-user names the entry it
 * needs (Task.binfmt, e.g. `qemu-aarch64`). The kernel lists each
 * registered entry as a file under /proc/sys/fs/binfmt_misc whose first
 * line is `enabled` or `disabled`. Debian's binfmt-support registers and
 * enables them (`update-binfmts --enable NAME`, which mounts binfmt_misc
 * itself when needed); qemu-user-static provides the `qemu-<cpu>` ones.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PbError } from '../graph/errors.js';

/** Where the kernel lists binfmt_misc entries. */
export const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

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
