/**
 * A minimal Debian root to install and run what we package, as a user's
 * fresh machine would: `debootstrap --variant=minbase <suite>`, made once
 * and cached, then copied for each check so no check sees another's
 * changes. A foreign architecture's root (arm64 on x86_64) is made in
 * debootstrap's two stages, the second run in the root under qemu-user
 * through binfmt_misc, which is checked first (src/debian/binfmt.ts).
 * Commands run in it through chroot, with /proc and /dev/shm mounted for
 * the duration and always unmounted after, by the engine's one unmount
 * (`unmountUnder`), as `clean` does.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errorMessage, TaskFailure, unmountUnder, withEntryLock, type ExecOptions, type TaskContext, type ToolRef } from '../graph/index.js';
import { aptMirror } from './apt.js';
import { hostArch } from './arch.js';
import { binfmtEntry, binfmtHint, checkBinfmt, BINFMT_DIR } from './binfmt.js';

export const DEBOOTSTRAP: ToolRef = { name: 'debootstrap', package: 'debootstrap', versionArgs: ['--version'] };
export const CHROOT: ToolRef = { name: 'chroot', package: 'coreutils' };

/** What a cached root is made of. */
export interface RootfsSpec {
  readonly cacheDir: string;
  readonly suite: string;
  readonly mirror: string;
  readonly debArch: string;
  /** Packages debootstrap adds to the minbase set (`--include`); none for the package checks' root. */
  readonly include?: readonly string[];
  readonly binfmtDir?: string;
}

/**
 * Where the root for a spec is cached: `<cache>/rootfs/<suite>-minbase-<arch>`,
 * and with extra packages a digest of their sorted names after it, so each
 * set of packages has its own root and the checks' plain root is unchanged.
 */
export function rootfsDir(o: Pick<RootfsSpec, 'cacheDir' | 'suite' | 'debArch' | 'include'>): string {
  const include = [...new Set(o.include ?? [])].sort();
  const extra = include.length ? `-${createHash('sha256').update(include.join('\n')).digest('hex').slice(0, 12)}` : '';
  return join(o.cacheDir, 'rootfs', `${o.suite}-minbase-${o.debArch}${extra}`);
}

/**
 * The cached minbase root for suite and arch (plus `include`), made when
 * missing. Returns its path. For a foreign debArch the kernel must be able
 * to run its programs (the binfmt_misc entry under `binfmtDir`); otherwise
 * this fails before anything is made.
 */
export async function ensureRootfs(ctx: TaskContext, o: RootfsSpec): Promise<string> {
  const foreign = o.debArch !== hostArch();
  if (foreign) {
    const problem = checkBinfmt(o.debArch, o.binfmtDir ?? BINFMT_DIR);
    if (problem) throw new TaskFailure(problem, binfmtHint(o.debArch));
  }
  const dir = rootfsDir(o);
  const include = [...new Set(o.include ?? [])].sort();
  const includeArgs = include.length ? [`--include=${include.join(',')}`] : [];
  const complete = join(dir, '.pyston-build-complete');
  if (existsSync(complete)) return dir;
  const mirror = o.mirror || aptMirror(o.suite);
  if (!mirror) throw new TaskFailure(`no Debian mirror for ${o.suite} in /etc/apt/sources.list*`, `set package.mirror (e.g. --set package.mirror=http://deb.debian.org/debian)`);
  // One maker at a time: the cache is shared by every project on the
  // machine and by the tasks of one build, and a second maker would remove
  // the first one's finished root while it is being copied.
  return withEntryLock(
    dir,
    (m) => ctx.log(m),
    async () => {
      if (existsSync(complete)) {
        ctx.log(`${dir} was made by another build meanwhile`);
        return dir;
      }
      const tmp = `${dir}.tmp-${process.pid}`;
      // What a killed earlier run left half-made (hundreds of MB each), and our own.
      for (const stale of [...staleTemps(dir), tmp]) {
        if (stale !== tmp) ctx.log(`removing ${stale}, left half-made by a run that no longer exists`);
        await removeRoot(ctx, stale);
      }
      try {
        if (foreign) await debootstrapForeign(ctx, { suite: o.suite, debArch: o.debArch, mirror, tmp, dir, includeArgs });
        else {
          ctx.log(`debootstrap --variant=minbase ${includeArgs.join(' ')}${includeArgs.length ? ' ' : ''}${o.suite} from ${mirror} (cached in ${dir})`);
          await ctx.exec('debootstrap', ['--variant=minbase', ...includeArgs, `--arch=${o.debArch}`, o.suite, tmp, mirror], { jobserver: false });
        }
      } catch (e) {
        // A failed debootstrap leaves a partial root (hundreds of MB): not kept. A killed one is removed by the next run (staleTemps).
        await removeRoot(ctx, tmp);
        throw e;
      }
      writeFileSync(join(tmp, '.pyston-build-complete'), `${o.suite} ${o.debArch} ${mirror}${include.length ? ` +${include.join(',')}` : ''}\n`);
      await removeRoot(ctx, dir);
      renameSync(tmp, dir);
      return dir;
    },
  );
}

/**
 * A foreign root in debootstrap's two stages: the first downloads and
 * unpacks on the build machine; the second configures the packages by
 * running the root's own programs, under qemu-user. The second stage
 * mounts /proc and /sys in the root itself and unmounts them when it exits;
 * what a killed run leaves mounted, removeRoot unmounts.
 */
async function debootstrapForeign(ctx: TaskContext, o: { suite: string; debArch: string; mirror: string; tmp: string; dir: string; includeArgs: readonly string[] }): Promise<void> {
  const started = Date.now();
  ctx.log(
    `debootstrap stage 1 of 2: --foreign --arch=${o.debArch} --variant=minbase ${o.includeArgs.join(' ')}${o.includeArgs.length ? ' ' : ''}${o.suite} from ${o.mirror} (download and unpack; cached in ${o.dir})`,
  );
  await ctx.exec('debootstrap', ['--foreign', `--arch=${o.debArch}`, '--variant=minbase', ...o.includeArgs, o.suite, o.tmp, o.mirror], { jobserver: false });
  const second = Date.now();
  ctx.log(`debootstrap stage 1 of 2 done in ${seconds(second - started)}`);
  ctx.log(`debootstrap stage 2 of 2: --second-stage in the root, its ${o.debArch} programs run under ${binfmtEntry(o.debArch)} (configure the packages; takes minutes)`);
  await ctx.exec('chroot', [o.tmp, '/usr/bin/env', '-i', ...CHROOT_ENV, '/debootstrap/debootstrap', '--second-stage'], { jobserver: false });
  ctx.log(`debootstrap stage 2 of 2 done in ${seconds(Date.now() - second)}`);
}

/** `<dir>.tmp-<pid>` siblings whose process is gone. */
export function staleTemps(dir: string): string[] {
  const parent = dirname(dir);
  const prefix = `${basename(dir)}.tmp-`;
  if (!existsSync(parent)) return [];
  return readdirSync(parent)
    .filter((f) => f.startsWith(prefix) && /^\d+$/.test(f.slice(prefix.length)))
    .filter((f) => !processAlive(Number(f.slice(prefix.length))))
    .map((f) => join(parent, f));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, owned by another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(0)}s`;
}

/** The whole environment of a command in the root: nothing of the build machine's (its TMPDIR, HOME) leaks in. */
const CHROOT_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'LANG=C.UTF-8', 'DEBIAN_FRONTEND=noninteractive'];

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
      const r = await ctx.exec('chroot', [root, '/usr/bin/env', '-i', ...CHROOT_ENV, ...argv], {
        jobserver: false,
        capture: true,
        ...opts,
      });
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
