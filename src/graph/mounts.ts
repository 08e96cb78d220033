/**
 * Mount points inside the build directory. The package checks mount /proc
 * and a tmpfs inside their Debian roots and unmount them when done, but a
 * build killed with SIGKILL (or a lost machine) cannot. A recursive delete
 * must never walk into a live mount, so every removal of such a tree
 * (`pyston-build clean`, and the package tasks' own fresh copies) unmounts
 * first, deepest first.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { PbError } from './errors.js';

/** Mount points at or under `dir`, deepest first. `table` is /proc/self/mounts' text (a parameter for tests). */
export function mountsUnder(dir: string, table?: string): string[] {
  const text = table ?? (existsSync('/proc/self/mounts') ? readFileSync('/proc/self/mounts', 'utf8') : '');
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch {
    // Not there: nothing can be mounted under it, but compare the name anyway.
  }
  const under = (m: string): boolean => m === real || m.startsWith(real.endsWith('/') ? real : real + '/');
  return text
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m): m is string => !!m)
    .map(unescapeMount)
    .filter(under)
    .sort((a, b) => b.length - a.length);
}

/** /proc/self/mounts writes space, tab, newline and backslash as octal escapes. */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Unmount (lazily) everything mounted at or under `dir`. Throws a one-line
 * error naming the mount and the command when one cannot be unmounted, so
 * the caller never deletes through it.
 */
export function unmountUnder(dir: string): string[] {
  const mounts = mountsUnder(dir);
  for (const m of mounts) {
    const r = spawnSync('umount', ['-l', m], { encoding: 'utf8' });
    if (r.status !== 0) {
      const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n')[0] || `exit ${r.status}`;
      throw new PbError(`${m} is still mounted (a build was killed while it was in use) and umount failed: ${why}`, `unmount it as root (umount -l '${m}'), then run the command again`, 1);
    }
  }
  return mounts;
}
