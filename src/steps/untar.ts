/**
 * Archives that node-tar cannot read: it decompresses gzip only, and
 * Debian's orig tarballs are often xz (`python3.9_3.9.2.orig.tar.xz`).
 * Those are unpacked by GNU tar with the decompressor as a declared tool,
 * run through the task's `exec` like every other process.
 */
import type { TaskContext, TaskInputs } from '../graph/index.js';

const XZ = /\.(tar\.xz|txz)$/;

/** Does `archive` need {@link extractWithTar}? */
export function needsSystemTar(archive: string): boolean {
  return XZ.test(archive);
}

/** The tools a task unpacking `archive` adds to its inputs: none for what node-tar reads (its key stays as it was), GNU tar and xz for an xz archive. */
export function untarInputs(archive: string): Pick<TaskInputs, 'tools'> {
  if (!needsSystemTar(archive)) return {};
  return {
    tools: [
      { name: 'tar', package: 'tar', versionArgs: ['--version'] },
      { name: 'xz', package: 'xz-utils', versionArgs: ['--version'] },
    ],
  };
}

/**
 * Unpack `archive` into the existing directory `dir` with GNU tar, as
 * node-tar would: owners not kept, modes under the umask.
 */
export async function extractWithTar(archive: string, dir: string, ctx: TaskContext): Promise<void> {
  await ctx.exec('tar', ['-xJf', archive, '-C', dir, '--no-same-owner', '--no-same-permissions'], { jobserver: false });
}
