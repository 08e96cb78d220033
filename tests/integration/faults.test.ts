/**
 * Faults a build can hit, for real: a full disk (a tiny tmpfs), and a mount
 * left in the build directory by a killed package check. Both need root to
 * mount, as on the project's machines and CI.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, catTask, cli, demoCli, demoProject, graphOf, tmpProject, write } from '../helpers.js';
import { loadState, mountsUnder, statePath, type Task } from '../../src/graph/index.js';

const mnt = join(tmpProject('pb-fullfs-'), 'fs');
mkdirSync(mnt);
const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt]).status === 0;

afterAll(() => {
  if (mounted) spawnSync('umount', [mnt]);
  rmSync(mnt, { recursive: true, force: true });
});

describe.skipIf(!mounted)('a full disk', () => {
  it('fails with a clear error, keeps what finished, and a rerun after freeing space resumes', async () => {
    const root = mnt;
    write(root, 'src/a.txt', 'A\n');
    const filler = (blocks: number): Task => ({
      id: 'filler',
      deps: [],
      weight: 0.5,
      inputs: { config: { blocks } },
      outputs: ['build/out/filler.bin'],
      run: async (ctx) => {
        mkdirSync(ctx.path('build/out'), { recursive: true });
        await ctx.exec('dd', ['if=/dev/zero', `of=${ctx.path('build/out/filler.bin')}`, 'bs=64k', `count=${blocks}`], { jobserver: false });
      },
    });
    const graph = (blocks: number) => graphOf([catTask('a', { files: ['src/a.txt'] }), filler(blocks)]);
    // 'a' runs first (higher weight), then the filler fills the disk.
    const err = await build(graph(100), root, { jobs: 1 }).then(
      (r) => r,
      (e: unknown) => e,
    );
    // Either the task fails (dd: no space) and the state save also fails,
    // or only the task fails: both are clear, one-line, and lose nothing.
    if (err instanceof Error) {
      expect(err.message).toMatch(/^cannot write .*state\.json: no space left on device$/);
      expect((err as Error & { hint?: string }).hint).toMatch(/free some disk space/);
    } else {
      const r = err as Awaited<ReturnType<typeof build>>;
      expect(r.summary.failed).toEqual(['filler']);
      const fail = r.events.find((e) => e.type === 'fail');
      expect(fail?.type === 'fail' && fail.logTail.join('\n')).toMatch(/No space left on device/);
    }
    rmSync(join(root, 'build/out/filler.bin'), { force: true });
    const { state, problem } = loadState(statePath(join(root, 'build')));
    expect(problem).toBeUndefined();
    expect(state.tasks.a?.status).toBe('ok');
    const again = await build(graph(1), root, { jobs: 1 });
    expect(again.summary.ok).toBe(true);
    expect(again.ran).toEqual(['filler']);
  });
});

describe.skipIf(process.getuid?.() !== 0)('a mount a killed package check left in the build directory', () => {
  /** A demo project with /proc mounted inside `dir` (relative to the project), as a killed chroot check leaves it. */
  function leftMounted(dir: string): { root: string; at: string } {
    const root = demoProject();
    const at = join(root, dir, 'root/proc');
    mkdirSync(at, { recursive: true });
    writeFileSync(join(root, dir, 'root/keep.txt'), 'x\n');
    expect(spawnSync('mount', ['-t', 'proc', 'proc', at]).status).toBe(0);
    expect(mountsUnder(root)).toEqual([at]);
    return { root, at };
  }
  afterAll(() => {
    // Whatever a failed assertion left mounted under the test projects.
    for (const m of mountsUnder(tmpdir())) if (m.includes('pb-demo-')) spawnSync('umount', ['-l', m]);
  });

  it('clean unmounts it first, then removes the whole build directory', () => {
    const { root } = leftMounted('build/package/check');
    const r = cli(['-C', root, 'clean']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(mountsUnder(root)).toEqual([]);
    expect(existsSync(join(root, 'build'))).toBe(false);
    expect(existsSync('/proc/self/mounts')).toBe(true);
  });

  it('when it cannot be unmounted, clean deletes nothing and says how to unmount it', () => {
    const { root, at } = leftMounted('build/package/check');
    const r = cli(['-C', root, 'clean'], { env: { PATH: join(root, 'no-such-bin') } });
    expect(r.status).toBe(1);
    const [error, hint, ...rest] = r.stderr.trimEnd().split('\n');
    expect(error).toMatch(/^error: .* is still mounted \(a build was killed while it was in use\) and umount failed: .*ENOENT/);
    expect(error).toContain(`error: ${at} is still mounted`);
    expect(hint).toBe(`hint: unmount it as root (umount -l '${at}'), then run the command again`);
    expect(rest).toEqual([]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(root, 'build/package/check/root/keep.txt'))).toBe(true);
    expect(spawnSync('umount', ['-l', at]).status).toBe(0);
  });

  it("clean TARGET unmounts what is under that target's outputs", () => {
    // build/demo_install is an output directory of demo:install.
    const { root } = leftMounted('build/demo_install');
    const r = demoCli(['-C', root, 'clean', 'demo']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(mountsUnder(root)).toEqual([]);
    expect(existsSync(join(root, 'build/demo_install'))).toBe(false);
  });
});

describe('mountsUnder reads the mount table', () => {
  const table = [
    'proc /proc proc rw 0 0',
    'proc /srv/p/build/pkg/root/proc proc rw 0 0',
    'shm /srv/p/build/pkg/root/dev/shm tmpfs rw 0 0',
    'tmpfs /srv/p/build-other tmpfs rw 0 0',
    'tmpfs /srv/p/build/with\\040space\\011tab tmpfs rw 0 0',
    '',
  ].join('\n');
  it('at or under the directory, deepest first, with escapes decoded; a sibling with the same prefix is not under it', () => {
    expect(mountsUnder('/srv/p/build', table)).toEqual(['/srv/p/build/pkg/root/dev/shm', '/srv/p/build/with space\ttab', '/srv/p/build/pkg/root/proc']);
    expect(mountsUnder('/srv/p/build/pkg/root/proc', table)).toEqual(['/srv/p/build/pkg/root/proc']);
    expect(mountsUnder('/srv/q', table)).toEqual([]);
  });
});
