/**
 * The mounts of a Debian root's checks (src/debian/rootfs.ts), with real
 * mount and umount (root, as on CI): /proc and /dev/shm are mounted while
 * the commands run and gone after, whether the commands succeed or throw,
 * through the engine's one unmount.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountsUnder, unmountUnder, type Task } from '../../src/graph/index.js';
import { removeRoot, withMounts } from '../../src/debian/rootfs.js';
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
