/**
 * A minimal Debian root to install and run what we package, as a user's
 * fresh machine would: `debootstrap --variant=minbase <suite>`, made once
 * and cached, then copied for each check so no check sees another's
 * changes. Commands run in it through chroot, with /proc and /dev/shm
 * mounted for the duration and always unmounted after, by the engine's one
 * unmount (`unmountUnder`), as `clean` does.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, TaskFailure, unmountUnder, type ExecOptions, type TaskContext, type ToolRef } from '../graph/index.js';
import { aptMirror } from './apt.js';

export const DEBOOTSTRAP: ToolRef = { name: 'debootstrap', package: 'debootstrap', versionArgs: ['--version'] };
export const CHROOT: ToolRef = { name: 'chroot', package: 'coreutils' };

/** The cached minbase root for suite and arch, made when missing. Returns its path. */
export async function ensureRootfs(ctx: TaskContext, o: { cacheDir: string; suite: string; mirror: string; debArch: string }): Promise<string> {
  const dir = join(o.cacheDir, 'rootfs', `${o.suite}-minbase-${o.debArch}`);
  if (existsSync(join(dir, '.pyston-build-complete'))) return dir;
  const mirror = o.mirror || aptMirror(o.suite);
  if (!mirror) throw new TaskFailure(`no Debian mirror for ${o.suite} in /etc/apt/sources.list*`, `set package.mirror (e.g. --set package.mirror=http://deb.debian.org/debian)`);
  const tmp = `${dir}.tmp-${process.pid}`;
  await removeRoot(ctx, tmp);
  ctx.log(`debootstrap --variant=minbase ${o.suite} from ${mirror} (cached in ${dir})`);
  await ctx.exec('debootstrap', ['--variant=minbase', `--arch=${o.debArch}`, o.suite, tmp, mirror], { jobserver: false });
  writeFileSync(join(tmp, '.pyston-build-complete'), `${o.suite} ${o.debArch} ${mirror}\n`);
  await removeRoot(ctx, dir);
  renameSync(tmp, dir);
  return dir;
}

/** Remove a root copy, unmounting anything a killed run left mounted in it first. */
export async function removeRoot(ctx: TaskContext, dir: string): Promise<void> {
  for (const m of unmountUnder(dir)) ctx.log(`unmounted ${m}, left mounted by an earlier run`);
  rmSync(dir, { recursive: true, force: true });
}

/** A fresh copy of the cached root at `to`. */
export async function copyRoot(ctx: TaskContext, from: string, to: string): Promise<void> {
  await removeRoot(ctx, to);
  await ctx.exec('cp', ['-a', '--reflink=auto', from, to], { jobserver: false });
  // Name resolution for apt inside the root.
  if (existsSync('/etc/resolv.conf')) writeFileSync(join(to, 'etc', 'resolv.conf'), readFileSync('/etc/resolv.conf'));
}

/** Run commands in the root with /proc and /dev/shm mounted, unmounting after, whatever happens. */
export async function withMounts<T>(ctx: TaskContext, root: string, fn: (run: (argv: readonly string[], opts?: ExecOptions) => Promise<string>) => Promise<T>): Promise<T> {
  const mounted: string[] = [];
  try {
    await ctx.exec('mount', ['-t', 'proc', 'proc', join(root, 'proc')], { jobserver: false });
    mounted.push(join(root, 'proc'));
    await ctx.exec('mount', ['-t', 'tmpfs', 'shm', join(root, 'dev', 'shm')], { jobserver: false });
    mounted.push(join(root, 'dev', 'shm'));
    const run = async (argv: readonly string[], opts: ExecOptions = {}): Promise<string> => {
      ctx.log(`chroot ${root}: ${argv.join(' ')}`);
      const r = await ctx.exec(
        'chroot',
        [root, '/usr/bin/env', '-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'LANG=C.UTF-8', 'DEBIAN_FRONTEND=noninteractive', ...argv],
        {
          jobserver: false,
          capture: true,
          ...opts,
        },
      );
      return r.output ?? '';
    };
    return await fn(run);
  } finally {
    for (const m of mounted.reverse()) {
      try {
        unmountUnder(m);
      } catch (e) {
        // Cleanup must not hide the outcome; a later removeRoot retries and fails there, naming the mount.
        ctx.log(errorMessage(e));
      }
    }
  }
}
