/**
 * Filesystem errors as one line each.
 *
 * Node reports a failed system call as an `Error` with `code` (ENOSPC,
 * EROFS, ...), `syscall` and, for path calls, `path`. Wherever such an error
 * can reach the user (a task's log write, the lock, the state, a config
 * file, a task's own writes), it is turned into a {@link PbError} that names
 * the path and says what to do, instead of an "internal error".
 */
import { lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { PbError } from './errors.js';

/** What a filesystem error code means, in words, and how a user fixes it (`%` is the path). */
const CODES: Readonly<Record<string, { readonly what: string; readonly hint: string }>> = {
  ENOSPC: { what: 'no space left on device', hint: 'free some disk space where % lives, then run again; finished tasks are kept' },
  EDQUOT: { what: 'disk quota exceeded', hint: 'free some space within your quota and run again; finished tasks are kept' },
  EROFS: { what: 'read-only filesystem', hint: 'remount it read-write, or build in a writable copy of the project (-C DIR)' },
  EACCES: { what: 'permission denied', hint: 'make % writable (and its directory searchable) for this user' },
  EPERM: { what: 'operation not permitted', hint: 'check the owner and attributes of % (ls -l, lsattr)' },
  ENOTDIR: { what: 'a part of the path is not a directory', hint: '% is a file where a directory is needed: move it away and run again' },
  EISDIR: { what: 'is a directory', hint: '% is a directory where a file is needed: move it away and run again' },
  ENAMETOOLONG: { what: 'file name too long', hint: 'the path exceeds what the system allows (4096 bytes, 255 per name): use a shorter project directory' },
  ELOOP: { what: 'too many levels of symbolic links', hint: 'a symlink in % points back into itself: remove the loop' },
  ENOENT: { what: 'no such file or directory', hint: 'something removed % while pyston-build was using it: run again' },
  EEXIST: { what: 'file exists', hint: 'move % away and run again' },
  ENOTEMPTY: { what: 'directory not empty', hint: 'something is writing into %: stop it and run again' },
  EBUSY: { what: 'device or resource busy', hint: '% is in use (a mount point or an open file): unmount or close it and run again' },
  ETXTBSY: { what: 'text file busy', hint: '% is a running program: stop it and run again' },
  EMFILE: { what: 'too many open files', hint: 'raise the open-file limit (ulimit -n) or use fewer jobs (-j)' },
  ENFILE: { what: 'too many open files in the system', hint: 'close other programs or use fewer jobs (-j)' },
  EIO: { what: 'input/output error', hint: 'the disk holding % reports errors: check it (dmesg) before building on it' },
  EXDEV: { what: 'cross-device link', hint: 'keep build/ and its contents on one filesystem' },
  EFBIG: { what: 'file too large', hint: 'the filesystem of % cannot hold a file this large' },
};

const VERBS: Readonly<Record<string, string>> = {
  open: 'open',
  write: 'write',
  read: 'read',
  mkdir: 'create the directory',
  rmdir: 'remove',
  rm: 'remove',
  unlink: 'remove',
  rename: 'rename',
  link: 'create',
  symlink: 'create',
  copyfile: 'copy to',
  scandir: 'list',
  opendir: 'list',
  stat: 'inspect',
  lstat: 'inspect',
  chmod: 'change the mode of',
  fsync: 'write',
  close: 'write',
  ftruncate: 'write',
};

interface Errno {
  readonly code: string;
  readonly syscall?: string;
  readonly path?: string;
  readonly dest?: string;
}

function errnoOf(e: unknown): Errno | undefined {
  if (!(e instanceof Error) || e instanceof PbError) return undefined;
  const x = e as NodeJS.ErrnoException & { dest?: string };
  return typeof x.code === 'string' && Object.hasOwn(CODES, x.code)
    ? { code: x.code, ...(x.syscall ? { syscall: x.syscall } : {}), ...(x.path ? { path: x.path } : {}), ...(x.dest ? { dest: x.dest } : {}) }
    : undefined;
}

/** A path fit for one line: very long ones keep their start and end. */
export function shortPath(p: string): string {
  return p.length <= 240 ? p : `${p.slice(0, 80)}...${p.slice(-120)} (${p.length} characters)`;
}

/** The first existing ancestor of `p` (or `p`) that is not a directory: what ENOTDIR is about. */
function notADirectory(p: string): string | undefined {
  const chain: string[] = [];
  for (let cur = p; ; cur = dirname(cur)) {
    chain.unshift(cur);
    if (dirname(cur) === cur) break;
  }
  for (const c of chain) {
    try {
      if (!lstatSync(c).isDirectory()) return c;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** True for the errors {@link fsError} turns into one line. */
export function isFsError(e: unknown): boolean {
  return errnoOf(e) !== undefined;
}

/**
 * A filesystem error as a one-line {@link PbError}, or `undefined` when `e`
 * is something else. `path` names the file when the error does not (a write
 * to an open descriptor); failing both, `dir` says where the file was (a
 * task's own write: its build directory). `exitCode` is 2 when nothing has
 * run yet.
 */
export function fsError(e: unknown, path?: string, exitCode: 1 | 2 = 1, dir?: string): PbError | undefined {
  const x = errnoOf(e);
  if (!x) return undefined;
  if (x.syscall === 'uv_cwd') return new PbError('the current directory no longer exists (it was removed or renamed)', 'cd to an existing directory and run again', exitCode);
  let target = x.path ?? path;
  if (x.code === 'ENOTDIR' && target) target = notADirectory(target) ?? target;
  const info = CODES[x.code]!;
  const verb = (x.syscall && VERBS[x.syscall]) ?? 'use';
  const shown = target ? shortPath(target) : dir ? `a file under ${shortPath(dir)}` : 'a file';
  const message = `cannot ${verb} ${shown}${x.dest ? ` (to ${shortPath(x.dest)})` : ''}: ${info.what}`;
  return new PbError(message, info.hint.replace('%', target ? shortPath(target) : (dir ?? 'the file')), exitCode);
}

/** `fsError(e, ...)` when it is one, else `e` itself: for rethrowing. */
export function asFsError(e: unknown, path?: string, exitCode: 1 | 2 = 1): unknown {
  return fsError(e, path, exitCode) ?? e;
}

/** An error raised before any task ran, for the exit code: usage and environment errors are 2. */
export function beforeAnyTask(e: unknown, path?: string): unknown {
  const x = asFsError(e, path, 2);
  return x instanceof PbError && x.exitCode === 1 ? Object.assign(new PbError(x.message, x.hint, 2), { stack: x.stack }) : x;
}
