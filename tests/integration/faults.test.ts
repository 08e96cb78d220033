/**
 * Faults a build can hit, for real: a full disk (a tiny tmpfs; needs root
 * to mount, as on the project's machines and CI).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build, catTask, graphOf, tmpProject, write } from '../helpers.js';
import { loadState, statePath, type Task } from '../../src/graph/index.js';

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
