/**
 * The mounts of a Debian root's checks (src/debian/rootfs.ts), with real
 * mount and umount (root, as on CI): /proc and /dev/shm are mounted while
 * the commands run and gone after, whether the commands succeed or throw,
 * through the engine's one unmount.
 *
 * A foreign root (arm64 here, on x86_64): the binfmt_misc check against a
 * fake binfmt_misc directory, before anything is made; and, in the full
 * tier only (`npm run test:full`, PB_TEST_FULL=1), a real arm64 bookworm
 * minbase root made by debootstrap's two stages (the second under
 * qemu-aarch64; about 2 minutes here, its packages fetched from the
 * machine's Debian mirror), in which dpkg says arm64 and uname says aarch64.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import { mountsUnder, unmountUnder, type Task } from '../../src/graph/index.js';
import { processStart } from '../../src/graph/lock.js';
import { ensureRootfs, removeRoot, rootfsDir, staleTemps, withMounts } from '../../src/debian/rootfs.js';
import { checkBinfmt } from '../../src/debian/binfmt.js';
import { hostArch } from '../../src/debian/arch.js';
import { build, graphOf, tmpProject } from '../helpers.js';

function fakeRoot(): { project: string; root: string } {
  const project = tmpProject();
  const root = join(project, 'build/root');
  mkdirSync(join(root, 'proc'), { recursive: true });
  mkdirSync(join(root, 'dev/shm'), { recursive: true });
  return { project, root };
}

/** A task that runs `commands` under withMounts in `root`, then writes its output. */
function checkTask(root: string, commands: () => Promise<void>): Task {
  return {
    id: 'check',
    deps: [],
    inputs: {},
    outputs: ['build/checked'],
    async run(ctx) {
      await withMounts(ctx, root, commands);
      writeFileSync(ctx.path('build/checked'), 'ok');
    },
  };
}

describe.skipIf(process.getuid?.() !== 0)('withMounts', () => {
  afterAll(() => {
    // Whatever a failed assertion left mounted under these tests' projects.
    for (const m of mountsUnder(tmpdir())) if (m.includes('/pb-test-')) unmountUnder(m);
  });

  it('mounts /proc and /dev/shm for the commands, and unmounts them after', async () => {
    const { project, root } = fakeRoot();
    let during: string[] = [];
    const task = checkTask(root, async () => {
      during = mountsUnder(root);
    });
    const r = await build(graphOf([task]), project);
    expect(r.summary.failed).toEqual([]);
    expect(during).toEqual([join(root, 'dev/shm'), join(root, 'proc')]);
    expect(mountsUnder(root)).toEqual([]);
  });

  it('unmounts them when the commands fail, and the failure is what the task reports', async () => {
    const { project, root } = fakeRoot();
    const task = checkTask(root, async () => {
      throw new Error('the probe failed');
    });
    const r = await build(graphOf([task]), project);
    expect(r.summary.failed).toEqual(['check']);
    const fail = r.events.find((e) => e.type === 'fail');
    expect(JSON.stringify(fail)).toContain('the probe failed');
    expect(mountsUnder(root)).toEqual([]);
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(root);
    // Nothing is left to unmount: removing the root is a plain delete.
    const rm: Task = { id: 'rm', deps: [], inputs: {}, outputs: [], run: (ctx) => removeRoot(ctx, root) };
    expect((await build(graphOf([rm]), project)).summary.failed).toEqual([]);
    expect(existsSync(root)).toBe(false);
  });
});

/** A directory that looks like a mounted binfmt_misc, with the qemu-aarch64 entry's text when given. */
function fakeBinfmt(entry?: string): string {
  const dir = join(tmpProject(), 'binfmt_misc');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'status'), 'enabled\n');
  writeFileSync(join(dir, 'register'), '');
  if (entry !== undefined) writeFileSync(join(dir, 'qemu-aarch64'), entry);
  return dir;
}

const ENABLED = 'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\n';
const HINT = 'run: npx pyston-build --set arch=arm64 setup package (or: apt-get install qemu-user-static binfmt-support && update-binfmts --enable qemu-aarch64)';

/** A task that asks for the cached `debArch` root under `cacheDir`, checking binfmt_misc in `binfmtDir`, and writes its path. */
function rootfsTask(cacheDir: string, debArch: string, binfmtDir: string): Task {
  return {
    id: 'rootfs',
    deps: [],
    inputs: {},
    outputs: ['build/rootfs.txt'],
    async run(ctx) {
      const root = await ensureRootfs(ctx, { cacheDir, suite: 'bookworm', mirror: 'http://mirror.invalid/debian', debArch, binfmtDir });
      writeFileSync(ctx.path('build/rootfs.txt'), root);
    },
  };
}

/** A cache dir holding a finished (marked) root for debArch, so ensureRootfs has nothing to make. */
function cachedRoot(debArch: string): { cacheDir: string; root: string } {
  const cacheDir = join(tmpProject(), 'cache');
  const root = join(cacheDir, 'rootfs', `bookworm-minbase-${debArch}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, '.pyston-build-complete'), `bookworm ${debArch} http://mirror.invalid/debian\n`);
  return { cacheDir, root };
}

describe('where a root is cached', () => {
  it('the plain root keeps its name; each set of extra packages, in any order, gets its own', () => {
    const o = { cacheDir: '/c', suite: 'bookworm', debArch: 'arm64' };
    expect(rootfsDir(o)).toBe('/c/rootfs/bookworm-minbase-arm64');
    expect(rootfsDir({ ...o, include: [] })).toBe('/c/rootfs/bookworm-minbase-arm64');
    const a = rootfsDir({ ...o, include: ['libssl3', 'libffi8'] });
    expect(a).toMatch(/^\/c\/rootfs\/bookworm-minbase-arm64-[0-9a-f]{12}$/);
    expect(rootfsDir({ ...o, include: ['libffi8', 'libssl3', 'libffi8'] })).toBe(a);
    expect(rootfsDir({ ...o, include: ['libffi8'] })).not.toBe(a);
    expect(rootfsDir({ ...o, debArch: 'amd64', include: ['libssl3', 'libffi8'] })).not.toBe(a);
  });
});

describe('a root left half-made by a killed run', () => {
  it("is found by its dead pid; a live run's is left alone", () => {
    const cacheDir = tmpProject();
    const dir = join(cacheDir, 'rootfs', 'bookworm-minbase-amd64');
    mkdirSync(dirname(dir), { recursive: true });
    // A pid that cannot be running: above the kernel's pid_max.
    const dead = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
    for (const d of [`${dir}.tmp-${dead}`, `${dir}.tmp-${process.pid}`, `${dir}.tmp-notapid`, `${dir}-other.tmp-${dead}`]) mkdirSync(d);
    expect(staleTemps(dir)).toEqual([`${dir}.tmp-${dead}`]);
    expect(staleTemps(join(cacheDir, 'nowhere', 'x'))).toEqual([]);
  });
});

describe('binfmt_misc check for a foreign root', () => {
  it('names a missing qemu-aarch64 entry', () => {
    const dir = fakeBinfmt();
    expect(checkBinfmt('arm64', dir)).toBe(`cannot run arm64 programs: the binfmt_misc entry ${dir}/qemu-aarch64 is missing`);
  });

  it('names an enabled entry whose interpreter is gone (its package purged) unless the kernel holds it open (flag F)', () => {
    const gone = ENABLED.replace('/usr/libexec/qemu-binfmt/aarch64-binfmt-P', '/nonexistent/qemu-aarch64-static');
    const dir = fakeBinfmt(gone.replace('flags: PF', 'flags: P'));
    expect(checkBinfmt('arm64', dir)).toBe(`cannot run arm64 programs: the binfmt_misc entry ${dir}/qemu-aarch64 names the interpreter /nonexistent/qemu-aarch64-static, which does not exist`);
    expect(checkBinfmt('arm64', fakeBinfmt(gone))).toBeUndefined();
  });

  it('names a disabled entry', () => {
    const dir = fakeBinfmt(ENABLED.replace('enabled', 'disabled'));
    expect(checkBinfmt('arm64', dir)).toBe(`cannot run arm64 programs: the binfmt_misc entry ${dir}/qemu-aarch64 is disabled`);
  });

  it('says binfmt_misc is not mounted when the directory has no control files', () => {
    const dir = join(tmpProject(), 'binfmt_misc');
    mkdirSync(dir);
    expect(checkBinfmt('arm64', dir)).toBe(`cannot run arm64 programs: the binfmt_misc entry ${dir}/qemu-aarch64 is missing: binfmt_misc is not mounted at ${dir}`);
  });

  it('finds nothing wrong with an enabled entry', () => {
    expect(checkBinfmt('arm64', fakeBinfmt(ENABLED))).toBeUndefined();
  });

  describe.skipIf(hostArch() === 'arm64')('ensureRootfs for arm64 on this machine', () => {
    it('fails with the entry and the setup hint before anything is made, even when the root is cached', async () => {
      for (const entry of [undefined, ENABLED.replace('enabled', 'disabled')]) {
        const dir = fakeBinfmt(entry);
        const { cacheDir, root } = cachedRoot('arm64');
        const project = tmpProject();
        const r = await build(graphOf([rootfsTask(cacheDir, 'arm64', dir)]), project);
        expect(r.summary.failed).toEqual(['rootfs']);
        const fail = r.events.find((e) => e.type === 'fail');
        expect(fail?.type === 'fail' && fail.message).toBe(`cannot run arm64 programs: the binfmt_misc entry ${dir}/qemu-aarch64 is ${entry ? 'disabled' : 'missing'}`);
        expect(fail?.type === 'fail' && fail.hint).toBe(HINT);
        expect(readdirSync(join(cacheDir, 'rootfs'))).toEqual([`bookworm-minbase-arm64`]);
        expect(readdirSync(root)).toEqual(['.pyston-build-complete']);
        expect(existsSync(join(project, 'build/rootfs.txt'))).toBe(false);
      }
    });

    it('with the entry enabled, gives the cached root', async () => {
      const { cacheDir, root } = cachedRoot('arm64');
      const project = tmpProject();
      const r = await build(graphOf([rootfsTask(cacheDir, 'arm64', fakeBinfmt(ENABLED))]), project);
      expect(r.summary.failed).toEqual([]);
      expect(readFileSync(join(project, 'build/rootfs.txt'), 'utf8')).toBe(root);
    });

    it("the build machine's own architecture needs no binfmt_misc entry", async () => {
      const host = hostArch() ?? 'amd64';
      const { cacheDir, root } = cachedRoot(host);
      const project = tmpProject();
      const r = await build(graphOf([rootfsTask(cacheDir, host, fakeBinfmt())]), project);
      expect(r.summary.failed).toEqual([]);
      expect(readFileSync(join(project, 'build/rootfs.txt'), 'utf8')).toBe(root);
    });
  });
});

describe('two builds that need the same root', () => {
  it("the second waits for the first's lock, then takes the root the first made, and makes nothing", async () => {
    const host = hostArch() ?? 'amd64';
    const cacheDir = join(tmpProject(), 'cache');
    const root = join(cacheDir, 'rootfs', `bookworm-minbase-${host}`);
    mkdirSync(dirname(root), { recursive: true });
    // The other build: a live process that holds the root's lock (as acquireLock writes it).
    const other = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pid = other.pid!;
    try {
      writeFileSync(`${root}.lock`, JSON.stringify({ pid, start: processStart(pid) }));
      // It finishes a second later: its root in place, its lock gone.
      const finish = setTimeout(() => {
        mkdirSync(root);
        writeFileSync(join(root, '.pyston-build-complete'), `bookworm ${host} http://mirror.invalid/debian\n`);
        rmSync(`${root}.lock`);
      }, 1500);
      const project = tmpProject();
      // The mirror does not resolve: had this build run debootstrap, it would have failed.
      const r = await build(graphOf([rootfsTask(cacheDir, host, fakeBinfmt())]), project);
      clearTimeout(finish);
      expect(r.summary.failed, JSON.stringify(r.events.find((e) => e.type === 'fail'))).toEqual([]);
      expect(readFileSync(join(project, 'build/rootfs.txt'), 'utf8')).toBe(root);
      const log = readFileSync(join(project, 'build/logs/rootfs.log'), 'utf8');
      expect(log).toContain(`waiting for another pyston-build (pid ${pid}) to finish with ${root}...`);
      expect(log).toContain(`${root} was made by another build meanwhile`);
      expect(log).not.toContain('debootstrap');
      expect(readdirSync(dirname(root))).toEqual([basename(root)]);
    } finally {
      other.kill();
    }
  });

  it('a lock left by a dead build is taken over; a maker that fails releases its lock and leaves no half-made root', async () => {
    const host = hostArch() ?? 'amd64';
    const cacheDir = join(tmpProject(), 'cache');
    const root = join(cacheDir, 'rootfs', `bookworm-minbase-${host}`);
    mkdirSync(dirname(root), { recursive: true });
    const dead = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
    writeFileSync(`${root}.lock`, JSON.stringify({ pid: dead, start: '1' }));
    const project = tmpProject();
    const r = await build(graphOf([rootfsTask(cacheDir, host, fakeBinfmt())]), project);
    // debootstrap ran and failed on the mirror that does not resolve.
    expect(r.summary.failed).toEqual(['rootfs']);
    const log = readFileSync(join(project, 'build/logs/rootfs.log'), 'utf8');
    expect(log).toContain(`removed a stale lock ${root}.lock left by pid ${dead}, which is gone`);
    expect(log).toContain('debootstrap --variant=minbase');
    expect(readdirSync(dirname(root))).toEqual([]);
  });
});

/**
 * Full tier only (PB_TEST_FULL=1): a real arm64 bookworm minbase root, made
 * by ensureRootfs in a temp cache dir through debootstrap's two stages (the
 * second under qemu-aarch64 through the machine's binfmt_misc entry, which
 * setup enables), then commands run in it through withMounts. About 2
 * minutes here; needs the machine's Debian mirror.
 */
describe.skipIf(process.env.PB_TEST_FULL !== '1' || process.getuid?.() !== 0 || hostArch() === 'arm64')('a real arm64 root (full tier)', () => {
  it(
    'ensureRootfs makes an arm64 bookworm minbase root; in it dpkg prints arm64 and uname -m aarch64',
    async () => {
      const project = tmpProject();
      const cacheDir = join(project, 'cache');
      let seen = { dir: '', arch: '', uname: '' };
      const task: Task = {
        id: 'rootfs',
        deps: [],
        inputs: {},
        outputs: [],
        async run(ctx) {
          const dir = await ensureRootfs(ctx, { cacheDir, suite: 'bookworm', mirror: '', debArch: 'arm64' });
          await withMounts(ctx, dir, async (run) => {
            seen = { dir, arch: (await run(['dpkg', '--print-architecture'])).trim(), uname: (await run(['/bin/sh', '-c', 'uname -m'])).trim() };
          });
        },
      };
      const r = await build(graphOf([task]), project);
      const fail = r.events.find((e) => e.type === 'fail');
      expect(r.summary.failed, JSON.stringify(fail)).toEqual([]);
      expect(seen).toEqual({ dir: join(cacheDir, 'rootfs/bookworm-minbase-arm64'), arch: 'arm64', uname: 'aarch64' });
      // Finished and renamed into place: no temp root, nothing left mounted, debootstrap's second stage gone.
      expect(readdirSync(join(cacheDir, 'rootfs'))).toEqual(['bookworm-minbase-arm64']);
      expect(mountsUnder(cacheDir)).toEqual([]);
      expect(existsSync(join(seen.dir, 'debootstrap'))).toBe(false);
      expect(readFileSync(join(seen.dir, '.pyston-build-complete'), 'utf8')).toMatch(/^bookworm arm64 /);
      const rm: Task = { id: 'rm', deps: [], inputs: {}, outputs: [], run: (ctx) => removeRoot(ctx, project) };
      expect((await build(graphOf([rm]), tmpProject())).summary.failed).toEqual([]);
    },
    30 * 60_000,
  );
});
