/** Patches applied to a copy of a source with real `patch`: the original stays untouched, the digests are in the key. */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { patchSetFor, patchTask, readPatch } from '../../src/steps/patches.js';
import { planBuild } from '../../src/graph/index.js';
import { build, graphOf, REPO, tmpProject, write } from '../helpers.js';

const PATCH = `Say hello, not goodbye.

Why: the test needs a reason in every patch.

--- a/src/greet.c
+++ b/src/greet.c
@@ -1,3 +1,3 @@
 #include <stdio.h>
-const char *greeting = "goodbye";
+const char *greeting = "hello";
 int n = 1;
`;

function fixture() {
  const root = tmpProject('pb-patch-');
  const src = join(root, 'tree');
  write(src, 'src/greet.c', '#include <stdio.h>\nconst char *greeting = "goodbye";\nint n = 1;\n');
  write(src, '.git/HEAD', 'ref: refs/heads/main\n');
  write(src, 'build/old.o', 'stale');
  const patches = join(root, 'patches');
  write(patches, 'mytree-1.0/0001-hello.patch', PATCH);
  return { root, src, patches };
}

describe('source patches', () => {
  it('applies the set to a copy, leaves the original untouched, and reruns when a patch changes', async () => {
    const { root, src, patches } = fixture();
    const set = patchSetFor('mytree', '1.0', patches)!;
    expect(set.patches.map((p) => p.name)).toEqual(['0001-hello.patch']);
    expect(set.patches[0]!.why).toBe('Say hello, not goodbye. Why: the test needs a reason in every patch.');
    const p = patchTask({ set, srcDir: src, root, deps: [], files: ['tree/**/*'] });
    expect(p.srcDir).toBe(join(root, 'build/src/patched-mytree-1.0'));
    const graph = graphOf([p.task]);
    const r = await build(graph, root);
    expect(r.summary.ok, JSON.stringify(r.events.filter((e) => e.type === 'fail'))).toBe(true);
    expect(readFileSync(join(p.srcDir, 'src/greet.c'), 'utf8')).toContain('"hello"');
    expect(readFileSync(join(src, 'src/greet.c'), 'utf8')).toContain('"goodbye"');
    // The tree's own VCS data and build outputs stay behind; no .orig or .rej files.
    expect(existsSync(join(p.srcDir, '.git'))).toBe(false);
    expect(existsSync(join(p.srcDir, 'build'))).toBe(false);
    expect(existsSync(join(p.srcDir, 'src/greet.c.orig'))).toBe(false);
    expect((await build(graph, root)).ran).toEqual([]);

    // An edited patch is a changed input of source:patch.
    writeFileSync(join(patches, 'mytree-1.0/0001-hello.patch'), PATCH.replace('Say hello', 'Say hello, really'));
    const again = patchTask({ set: patchSetFor('mytree', '1.0', patches)!, srcDir: src, root, deps: [], files: ['tree/**/*'] });
    const plan = planBuild(graphOf([again.task]), { root, buildDir: join(root, 'build'), jobs: 1, targets: ['all'], env: { PATH: process.env.PATH } });
    const reason = plan.entries[0]!.reason;
    expect(reason?.kind).toBe('input changed');
    expect(JSON.stringify(reason)).toContain('0001-hello.patch');
  });

  it('a patch that does not apply fails in one line naming it and the set, and leaves no copy', async () => {
    const { root, src, patches } = fixture();
    writeFileSync(join(src, 'src/greet.c'), '#include <stdio.h>\nconst char *greeting = "hi";\nint n = 2;\n');
    const p = patchTask({ set: patchSetFor('mytree', '1.0', patches)!, srcDir: src, root, deps: [], files: [] });
    const r = await build(graphOf([p.task]), root);
    const fail = r.events.find((e) => e.type === 'fail');
    expect(fail?.type === 'fail' && fail.message).toBe(`0001-hello.patch does not apply to ${src}`);
    expect(fail?.type === 'fail' && fail.hint).toMatch(/^it is made for mytree-1\.0; see the log/);
    expect(existsSync(p.srcDir)).toBe(false);
    expect(readFileSync(join(src, 'src/greet.c'), 'utf8')).toContain('"hi"');
  });

  it('a patch without a reason is refused', () => {
    const { patches } = fixture();
    write(patches, 'bad-1/0001.patch', '--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n');
    expect(() => readPatch(join(patches, 'bad-1/0001.patch'))).toThrow(/has no header saying why it exists/);
  });

  it('copies the submodules the build uses and leaves the others empty, as in a fresh clone', async () => {
    const { root, src, patches } = fixture();
    write(src, 'deps/used/lib.c', 'int used;\n');
    write(src, 'deps/used/.git', 'gitdir: ../../.git/modules/used\n');
    write(src, 'deps/huge/big.c', 'int huge;\n');
    const set = patchSetFor('mytree', '1.0', patches)!;
    const p = patchTask({ set, srcDir: src, root, deps: [], files: ['tree/**/*'], skip: ['deps/huge'] });
    const r = await build(graphOf([p.task]), root);
    expect(r.summary.ok).toBe(true);
    expect(readFileSync(join(p.srcDir, 'deps/used/lib.c'), 'utf8')).toBe('int used;\n');
    // The submodule's .git file (a gitlink to the checkout's .git) stays behind like .git itself.
    expect(existsSync(join(p.srcDir, 'deps/used/.git'))).toBe(false);
    expect(readdirSync(join(p.srcDir, 'deps/huge'))).toEqual([]);
  });

  it("the project's own set for Pyston 2.3.5 reads, with its reasons", () => {
    const set = patchSetFor('pyston', '2.3.5', join(REPO, 'submodules/patches'))!;
    expect(set.patches.map((p) => p.name)).toEqual([
      '0001-longobject-declare-v-outside-speedups.patch',
      '0002-pylifecycle-immortalize-only-with-speedups.patch',
      '0003-sysmodule-no-low-water-mark-check.patch',
      '0004-lib-stock-without-pyston-version-info.patch',
      '0005-makefile-pyston-dir-through-srcdir.patch',
      '0006-makefile-math-object-stays-pic.patch',
      '0007-dictobject-split-lookup-assert.patch',
      '0008-dictobject-inline-helpers-external.patch',
    ]);
    expect(set.patches[0]!.why).toMatch(/--disable-pyston/);
    expect(set.patches[4]!.why).toMatch(/\$\(srcdir\)/);
    expect(patchSetFor('cpython', '3.11.2', join(REPO, 'submodules/patches'))).toBeUndefined();
  });
});
