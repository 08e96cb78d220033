/**
 * Whether the kernel can run another architecture's programs: through the
 * binfmt_misc entry `qemu-<cpu>` (cpu = the GNU triplet's first part, e.g.
 * `qemu-aarch64`), which hands such programs to qemu-user. A foreign root
 * (src/debian/rootfs.ts), PGO training and every check under emulation
 * need it; setup enables it and doctor reports it through the same check.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARCHES, isArch } from './arch.js';

/** Where the kernel shows binfmt_misc's entries. */
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
  let first: string;
  try {
    first = (readFileSync(path, 'utf8').split('\n')[0] ?? '').trim();
  } catch (e) {
    return `${what} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
  if (first === 'enabled') return undefined;
  return first === 'disabled' ? `${what} is disabled` : `${what} says '${first}', not 'enabled'`;
}

/** How the user makes checkBinfmt pass for debArch. */
export function binfmtHint(debArch: string): string {
  const entry = binfmtEntry(debArch) ?? `qemu-${debArch}`;
  return `run: npx pyston-build --set arch=${debArch} setup package (or: apt-get install qemu-user-static binfmt-support && update-binfmts --enable ${entry})`;
}
