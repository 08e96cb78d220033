/** The interpreter variants' graph: NOPGO/NOLTO, and a missing build library. */
import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { buildGraph } from '../../src/targets.js';
import { discoverToolchain } from '../../src/llvm/toolchain.js';
import { variantTasks } from '../../src/variants.js';
import { resolveSource, sourceTasks } from '../../src/steps/source.js';
import { build, graphOf, tmpProject, write } from '../helpers.js';

async function graphWith(env: NodeJS.ProcessEnv) {
  const root = tmpProject();
  const { config } = await loadConfig({ root, env, sets: [] });
  return buildGraph(config, root, { ...process.env, ...env });
}

describe('variants', () => {
  it('opt has its own PGO tasks and --with-lto; NOPGO=1 and NOLTO=1 turn them off', async () => {
    const full = await graphWith({});
    expect([...full.tasks.keys()].filter((id) => id.startsWith('opt:pgo:'))).toEqual([
      'opt:pgo:instrumented:configure', 'opt:pgo:instrumented:make', 'opt:pgo:train', 'opt:pgo:merge', 'opt:pgo:validate',
    ]);
    expect(JSON.stringify(full.tasks.get('opt:configure')!.inputs.config)).toContain('--with-lto');
    expect(full.tasks.get('opt:make')!.deps).toContain('opt:pgo:validate');
    expect(full.tasks.get('opt:configure')!.deps).not.toContain('opt:pgo:validate');
    const plain = await graphWith({ NOPGO: '1', NOLTO: '1' });
    expect([...plain.tasks.keys()].some((id) => id.startsWith('opt:pgo:'))).toBe(false);
    expect(JSON.stringify(plain.tasks.get('opt:configure')!.inputs.config)).not.toContain('--with-lto');
    expect(full.targets.get('all')!.roots).toEqual(['all:links']);
  });

  it('a missing build library fails configure in one line naming the package and the fix', async () => {
    const root = tmpProject();
    write(root, 'configure', '#!/bin/sh\necho should not run > configure-ran\n');
    chmodSync(join(root, 'configure'), 0o755);
    write(root, 'Include/patchlevel.h', '#define PY_VERSION "3.11.2"\n');
    const src = sourceTasks(resolveSource({ root, source: '', pin: '' }), root, tmpProject());
    const v = variantTasks({
      variant: 'unopt', source: src, root, pgo: false, lto: false, configureExtra: [], profileTask: 'runtime', tolerateTrainingFailure: false,
      toolchain: discoverToolchain({ llvmMajor: 19, llvmBin: '', family: 'gcc' }, process.env.PATH),
      systemKeys: { 'pkg:libssl-dev': '3.0', 'pkg:libfoo-dev': 'missing' },
    });
    const r = await build(graphOf(v.tasks.filter((t) => t.id === 'unopt:configure')), root);
    const fail = r.events.find((e) => e.type === 'fail');
    expect(fail?.type === 'fail' && fail.message).toBe('missing build libraries: libfoo-dev (run: npx pyston-build setup unopt (or apt-get install -y libfoo-dev))');
    expect(existsSync(join(root, 'build/unopt_build/configure-ran'))).toBe(false);
  });
});
