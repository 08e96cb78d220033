/**
 * The PGO pipeline (src/pgo) on the tiny C fixture with real clang,
 * llvm-profdata and gcc: instrument -> train -> merge -> validate -> use.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, cdemoBuild, graphOf, tmpProject } from '../helpers.js';
import { discoverToolchain } from '../../src/llvm/toolchain.js';
import { instrumentFlags, pgoTasks, useFlags } from '../../src/pgo/pipeline.js';

function pipeline(root: string, family: 'clang' | 'gcc', opts: { train?: string[]; hot?: string } = {}) {
  const tc = discoverToolchain({ llvmMajor: 19, llvmBin: '', family }, process.env.PATH);
  const spec = { family, dir: 'build/pgo', instrumentedBuildDir: join(root, 'build/gen'), optimizedBuildDir: join(root, 'build/use') };
  const gen = cdemoBuild('gen', 'build/gen', tc, instrumentFlags(spec, root));
  const pgo = pgoTasks({
    ...spec,
    prefix: 'pgo',
    profileTool: family === 'clang' ? tc.llvm['llvm-profdata'] : { name: 'gcov-dump', package: 'gcc' },
    instrumentedTask: 'gen',
    train: { file: opts.train?.[0] ?? join(root, 'build/gen/demo'), args: opts.train?.slice(1) ?? ['300000'], cwd: join(root, 'build/gen') },
    trainInputs: {},
    hotFunction: opts.hot ?? 'hot_loop',
    hotObject: 'hot',
    tolerateFailure: false,
  });
  const use = cdemoBuild('use', 'build/use', tc, useFlags(spec, root), [pgo.ready]);
  return graphOf([gen, ...pgo.tasks, use]);
}

describe('PGO with clang', () => {
  it('instruments, trains, merges, validates and builds with the profile; then reuses it', async () => {
    const root = tmpProject();
    const r = await build(pipeline(root, 'clang'), root);
    expect(r.summary.ok, JSON.stringify(r.events.filter((e) => e.type === 'fail'))).toBe(true);
    expect(r.ran).toEqual(['gen', 'pgo:train', 'pgo:merge', 'pgo:validate', 'use']);
    const summary = JSON.parse(readFileSync(join(root, 'build/pgo/summary.json'), 'utf8')) as { functions: number; hotFunctionCount: number; hotFunctionBlockCountSum: number };
    expect(summary.functions).toBeGreaterThan(0);
    expect(summary.hotFunctionBlockCountSum).toBeGreaterThan(300000);
    expect(readFileSync(join(root, 'build/logs/use.log'), 'utf8')).toContain('-fprofile-instr-use=');
    // Unchanged: the profile is reused, nothing is retrained.
    expect((await build(pipeline(root, 'clang'), root)).ran).toEqual([]);
  });

  it('an empty profile fails the build', async () => {
    const root = tmpProject();
    const r = await build(pipeline(root, 'clang', { train: ['true'] }), root);
    const fail = r.events.find((e) => e.type === 'fail');
    expect(fail?.type === 'fail' && `${fail.id}: ${fail.message}`).toMatch(/^pgo:train: the training run wrote no profile data/);
    expect(r.ran).not.toContain('use');
  });

  it('a profile without counts for the hot function fails validation', async () => {
    const root = tmpProject();
    const r = await build(pipeline(root, 'clang', { hot: 'describe_never_hot_xyz' }), root);
    const fail = r.events.find((e) => e.type === 'fail');
    expect(fail?.type === 'fail' && `${fail.id}: ${fail.message}`).toMatch(/^pgo:validate: the profile has no counts for describe_never_hot_xyz/);
  });

  it('a training workload that exits non-zero fails the build', async () => {
    const root = tmpProject();
    const r = await build(pipeline(root, 'clang', { train: ['sh', '-c', 'exit 4'] }), root);
    const fail = r.events.find((e) => e.type === 'fail');
    expect(fail?.type === 'fail' && fail.message).toMatch(/the training workload failed: sh exited with status 4/);
  });
});

describe('PGO with gcc', () => {
  it('finds the .gcda profile from another build directory', async () => {
    const root = tmpProject();
    const r = await build(pipeline(root, 'gcc'), root);
    expect(r.summary.ok, JSON.stringify(r.events.filter((e) => e.type === 'fail'))).toBe(true);
    expect(existsSync(join(root, 'build/pgo/summary.json'))).toBe(true);
    const log = readFileSync(join(root, 'build/logs/use.log'), 'utf8');
    expect(log).toContain('-fprofile-use=');
    expect(log).not.toMatch(/profile count data file not found/);
  });
});
