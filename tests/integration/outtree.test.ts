/**
 * Output directories checked by their directories (src/graph/outtree.ts):
 * the engine with real files. A stamp is trusted only once its directories
 * are older than the racy window, so the tests age the tree's directories
 * (utimes) and let one run take a trusted stamp first.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, graphOf, tmpProject, write } from '../helpers.js';
import { formatReason, loadState, statePath, type Task } from '../../src/graph/index.js';
import { saveState, treesDir } from '../../src/graph/state.js';

const FILES = ['bin/tool', 'lib/a/x.py', 'lib/a/y.py', 'lib/b/c/z.py', 'include/h.h'];

function treeTask(runs: { n: number }): Task {
  return {
    id: 'tree',
    deps: [],
    inputs: {},
    outputs: ['build/tree', '!**/__pycache__'],
    run: async (ctx) => {
      runs.n++;
      for (const f of FILES) write(ctx.root, `build/tree/${f}`, `${f}\n`);
    },
  };
}

/** Every directory of the tree back by 10 s: later stamps are trusted. */
function age(root: string): void {
  const past = new Date(Date.now() - 10_000);
  const visit = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) visit(join(d, e.name));
    utimesSync(d, past, past);
  };
  visit(join(root, 'build/tree'));
}

function reasonOf(r: Awaited<ReturnType<typeof build>>, id: string): string | undefined {
  const e = r.events.find((x) => x.type === 'start' && x.id === id);
  return e && e.type === 'start' ? formatReason(e.reason) : undefined;
}

/** Build, age the tree, and take a trusted stamp (a no-op that walks once). */
async function settled(): Promise<{ root: string; g: ReturnType<typeof graphOf>; runs: { n: number } }> {
  const root = tmpProject();
  const runs = { n: 0 };
  const g = graphOf([treeTask(runs)]);
  await build(g, root);
  age(root);
  expect((await build(g, root)).ran).toEqual([]);
  return { root, g, runs };
}

describe('output directories checked by their directories', () => {
  it('records a stamp of every directory, keeps the tree files out of state.json, and its own cache beside it', async () => {
    const { root } = await settled();
    const s = loadState(statePath(join(root, 'build'))).state;
    const stamp = s.tasks.tree!.trees!['build/tree']!;
    expect(Object.keys(stamp.dirs).sort()).toEqual(['', 'bin', 'include', 'lib', 'lib/a', 'lib/b', 'lib/b/c']);
    expect(Object.keys(s.stat).filter((k) => k.includes('/build/tree/'))).toEqual([]);
    const side = readdirSync(treesDir(join(root, 'build')));
    expect(side).toHaveLength(1);
    const entries = JSON.parse(readFileSync(join(treesDir(join(root, 'build')), side[0]!), 'utf8')) as Record<string, string>;
    expect(
      Object.keys(entries)
        .map((k) => k.slice(k.indexOf('/build/tree/') + 12))
        .sort(),
    ).toEqual([...FILES].sort());
  });

  it('a file added, removed or renamed anywhere in the tree reruns the task', async () => {
    const { root, g, runs } = await settled();
    write(root, 'build/tree/lib/b/c/new.py', 'new\n');
    let r = await build(g, root);
    expect(reasonOf(r, 'tree')).toBe('output changed: build/tree');
    expect(existsSync(join(root, 'build/tree/lib/b/c/new.py'))).toBe(false); // the rerun started from a clean output

    age(root);
    await build(g, root);
    rmSync(join(root, 'build/tree/lib/a/y.py'));
    r = await build(g, root);
    expect(reasonOf(r, 'tree')).toBe('output changed: build/tree');

    age(root);
    await build(g, root);
    renameSync(join(root, 'build/tree/lib/b'), join(root, 'build/tree/lib/bb'));
    r = await build(g, root);
    expect(reasonOf(r, 'tree')).toBe('output changed: build/tree');
    expect(runs.n).toBe(4);
    expect((await build(g, root)).ran).toEqual([]);
  });

  it('an ignored file written into the tree restamps it without a rerun', async () => {
    const { root, g, runs } = await settled();
    write(root, 'build/tree/lib/a/__pycache__/x.cpython-311.pyc', 'cache');
    expect((await build(g, root)).ran).toEqual([]);
    expect(Object.keys(loadState(statePath(join(root, 'build'))).state.tasks.tree!.trees!['build/tree']!.dirs)).toContain('lib/a');
    expect(runs.n).toBe(1);
  });

  it('a file rewritten in place is not seen by the stamp; --verify-outputs sees it', async () => {
    const { root, g } = await settled();
    const f = join(root, 'build/tree/lib/a/x.py');
    const before = statSync(join(root, 'build/tree/lib/a')).mtimeMs;
    writeFileSync(f, 'edited in place\n');
    expect(statSync(join(root, 'build/tree/lib/a')).mtimeMs).toBe(before);
    // The documented limit: the directories did not change, so the tree is not walked.
    expect((await build(g, root)).ran).toEqual([]);
    const r = await build(g, root, { verifyOutputs: true });
    expect(reasonOf(r, 'tree')).toBe('output changed: build/tree');
    expect(readFileSync(f, 'utf8')).toBe('lib/a/x.py\n');
  });

  it('a damaged or missing side cache only costs a rehash', async () => {
    const { root, g, runs } = await settled();
    const dir = treesDir(join(root, 'build'));
    const [side] = readdirSync(dir);
    writeFileSync(join(dir, side!), '{"truncated');
    write(root, 'build/tree/lib/__pycache__/m.pyc', 'x');
    expect((await build(g, root)).ran).toEqual([]);
    expect(() => JSON.parse(readFileSync(join(dir, side!), 'utf8'))).not.toThrow();
    rmSync(dir, { recursive: true });
    rmSync(join(root, 'build/tree/lib/__pycache__'), { recursive: true });
    expect((await build(g, root)).ran).toEqual([]);
    rmSync(join(root, 'build/tree/include/h.h'));
    expect(reasonOf(await build(g, root), 'tree')).toBe('output changed: build/tree');
    expect(runs.n).toBe(2);
  });

  it('a state from before stamps: the no-op walks once, moves the tree files out of the main stat cache, then stamps', async () => {
    const { root, g } = await settled();
    const path = statePath(join(root, 'build'));
    const s = loadState(path).state;
    // As an older pyston-build left it: no stamp, the tree's files in the main cache, no side cache.
    const side = treesDir(join(root, 'build'));
    for (const f of readdirSync(side)) Object.assign(s.stat, JSON.parse(readFileSync(join(side, f), 'utf8')));
    rmSync(side, { recursive: true });
    const { trees: _, ...old } = s.tasks.tree!;
    s.tasks.tree = old;
    saveState(path, s);
    expect(Object.keys(loadState(path).state.stat).some((k) => k.includes('/build/tree/'))).toBe(true);

    expect((await build(g, root)).ran).toEqual([]);
    const after = loadState(path).state;
    expect(after.tasks.tree!.trees!['build/tree']).toBeDefined();
    expect(Object.keys(after.stat).some((k) => k.includes('/build/tree/'))).toBe(false);
    expect(readdirSync(side)).toHaveLength(1);
  });
});
