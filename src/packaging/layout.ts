/**
 * The names an installed tree uses, read from the tree itself: the
 * interpreter's file name and the version string in the names of bin/,
 * lib/ and include/ (make's VERSION). CPython 3.11 installs bin/python3.11
 * and lib/python3.11; a Pyston tree bin/python3.8-pyston2.3 and
 * lib/python3.8-pyston2.3. Both link bin/python3 to the interpreter.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { TaskFailure } from '../graph/index.js';

/**
 * The interpreter's file name in a prefix's bin/: what `bin/python3` links
 * to (make install links it to python3.11, or python3.8-pyston2.3 in a
 * Pyston tree), or python3 itself when it is a file.
 */
export function interpreterName(prefixDir: string): string {
  const python3 = join(prefixDir, 'bin', 'python3');
  let isLink: boolean;
  try {
    isLink = lstatSync(python3).isSymbolicLink();
  } catch {
    throw new TaskFailure(`the release tree has no ${python3}`, 'the release install is incomplete: rerun with --force release:install');
  }
  if (!isLink) return 'python3';
  const target = readlinkSync(python3);
  if (target.includes('/'))
    throw new TaskFailure(`${python3} links to ${target}, not to a file beside it`, 'make install links bin/python3 to the interpreter in bin/: rerun with --force release:install');
  return target;
}

/** The names an installed prefix uses. */
export interface InstalledNames {
  /** The interpreter's file name in bin/: python3.11, python3.8-pyston2.3. */
  readonly python: string;
  /** make's VERSION, in the names of bin/, lib/ and include/: 3.11, 3.8-pyston2.3. The standard library is lib/python<version>. */
  readonly version: string;
  /** The Python version: 3.11, 3.8. */
  readonly minor: string;
}

/** The names an installed prefix uses, from its interpreter's name (what bin/python3 links to). */
export function installedNames(prefixDir: string): InstalledNames {
  const python = interpreterName(prefixDir);
  const m = /^python((\d+\.\d+)\S*)$/.exec(python);
  if (!m)
    throw new TaskFailure(`${join(prefixDir, 'bin', 'python3')} links to ${python}, not to python<version>`, 'make install links bin/python3 to python<version>: rerun with --force release:install');
  return { python, version: m[1]!, minor: m[2]! };
}
