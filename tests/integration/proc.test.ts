/**
 * The process module (src/graph/proc.ts) through the engine: what a child
 * inherits, and where it runs.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { build, graphOf, tmpProject } from '../helpers.js';
import { ownCgroupDir } from '../../src/graph/contain.js';
import type { Task } from '../../src/graph/index.js';

function probe(id: string, script: string, seen: Record<string, string>, form: 'pipe' | 'fifo' | false = 'pipe'): Task {
  return {
    id,
    deps: [],
    inputs: {},
    outputs: [],
    async run(ctx) {
      const r = await ctx.exec('sh', ['-c', script], { jobserver: form, capture: true });
      seen[id] = r.output ?? '';
    },
  };
}

describe('children', () => {
  it('a jobserver client gets the FIFO as fds 3 and 4, and MAKEFLAGS naming them', async () => {
    const root = tmpProject();
    const seen: Record<string, string> = {};
    const r = await build(graphOf([probe('fds', 'readlink /proc/self/fd/3; readlink /proc/self/fd/4; echo "$MAKEFLAGS"', seen)]), root, { jobs: 3 });
    expect(r.summary.ok).toBe(true);
    const [fd3, fd4, flags] = seen.fds!.trim().split('\n');
    expect(fd3).toMatch(new RegExp(`^${root}/build/\\.pyston-build/jobserver-${process.pid}\\.fifo$`));
    expect(fd4).toBe(fd3);
    expect(flags).toBe(' -j3 --jobserver-auth=3,4');
  });

  it('a child without the jobserver gets no fd 3', async () => {
    const root = tmpProject();
    const seen: Record<string, string> = {};
    await build(graphOf([probe('nofd', 'test -e /proc/self/fd/3 && echo has-fd3 || echo none', seen, false)]), root);
    expect(seen.nofd!.trim()).toBe('none');
  });

  it.runIf(ownCgroupDir() !== undefined)('each child runs in a cgroup cell of its own, removed when the run ends', async () => {
    const root = tmpProject();
    const seen: Record<string, string> = {};
    await build(graphOf([probe('a', 'cat /proc/self/cgroup', seen, false), probe('b', 'cat /proc/self/cgroup', seen, false)]), root);
    const cell = (text: string) => /^0::(.*)$/m.exec(text)?.[1];
    const mine = cell(readFileSync('/proc/self/cgroup', 'utf8'))!;
    const a = cell(seen.a!)!;
    const b = cell(seen.b!)!;
    expect(a).toMatch(new RegExp(`/pyston-build-${process.pid}-\\d+\\.\\d+/\\d+$`));
    expect(b).not.toBe(a);
    expect(a.startsWith(mine === '/' ? '/' : `${mine}/`)).toBe(true);
    // This process is back where it started, and the cells are gone.
    expect(cell(readFileSync('/proc/self/cgroup', 'utf8'))).toBe(mine);
    const dir = ownCgroupDir()!;
    expect(readdirSync(dir).filter((n) => n.startsWith(`pyston-build-${process.pid}-`))).toEqual([]);
  });
});
