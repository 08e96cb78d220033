/**
 * Pyston's bitcode/AOT chain (src/aot/chain.ts): what it links, what it
 * reads from a make log, and the shape of its tasks. The chain itself runs
 * end to end in tests/e2e/pyston.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { aotChain, aotEvidence, clangProfileRuntime, jitBuild, selectBitcode, variantAotTask } from '../../src/aot/chain.js';
import { discoverToolchain } from '../../src/llvm/toolchain.js';

describe('selectBitcode', () => {
  it('links the core, four of Modules/, and neither the embedding test nor frozenmain, sorted', () => {
    const files = [
      'Python/ceval.o.bc',
      'Objects/abstract.o.bc',
      'Programs/python.o.bc',
      'Programs/_testembed.o.bc',
      'Python/frozenmain.o.bc',
      'Modules/gcmodule.o.bc',
      'Modules/posixmodule.o.bc',
      'Modules/getpath.o.bc',
      'Modules/main.o.bc',
      'Modules/config.o.bc',
      'Modules/_io/fileio.o.bc',
      'Parser/parser.o.bc',
    ];
    expect(selectBitcode(files)).toEqual([
      'Modules/config.o.bc',
      'Modules/gcmodule.o.bc',
      'Modules/getpath.o.bc',
      'Modules/main.o.bc',
      'Objects/abstract.o.bc',
      'Parser/parser.o.bc',
      'Programs/python.o.bc',
      'Python/ceval.o.bc',
    ]);
  });
});

describe('aotEvidence', () => {
  it('reads which of the three ways the traces were compiled, and the trace summary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-aot-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const summary = join(dir, 'summary.json');
    writeFileSync(summary, JSON.stringify({ modules: 659 }));
    expect(aotEvidence('...\ntraces are compiled with instrumentation\n', summary)).toEqual({ tracesPgo: 'instrumented', traces: { modules: 659 } });
    expect(aotEvidence('traces are using PGO\n', summary).tracesPgo).toBe('profile used');
    expect(aotEvidence('traces are not using PGO\n', join(dir, 'none.json'))).toEqual({ tracesPgo: 'no profile', traces: null });
    expect(aotEvidence('make: Nothing to be done\n', summary).tracesPgo).toBe('not built');
  });
});

describe('clangProfileRuntime', () => {
  it("finds clang's profile runtime under the LLVM version's resource directory, or names where it should be", () => {
    const base = mkdtempSync(join(tmpdir(), 'pb-rt-'));
    onTestFinished(() => rmSync(base, { recursive: true, force: true }));
    expect(clangProfileRuntime(13, 'x86_64', base)).toBe(join(base, '13', 'lib/linux/libclang_rt.profile-x86_64.a'));
    mkdirSync(join(base, '13.0.1'));
    mkdirSync(join(base, '19'));
    expect(clangProfileRuntime(13, 'x86_64', base)).toBe(join(base, '13.0.1', 'lib/linux/libclang_rt.profile-x86_64.a'));
    expect(clangProfileRuntime(13, 'aarch64', join(base, 'none'))).toBe(join(base, 'none', '13', 'lib/linux/libclang_rt.profile-aarch64.a'));
  });
});

describe('the chain as tasks', () => {
  const llvm = discoverToolchain({ llvmMajor: 13, llvmBin: '', family: 'clang' }, process.env.PATH);
  const chain = aotChain({ root: '/p', srcDir: '/p/build/src/patched-pyston-2.3.5', sourceDeps: ['source:patch'], sourceFiles: [], llvm, version: '3.8-pyston2.3' });
  const byId = new Map(chain.tasks.map((t) => [t.id, t]));

  it('orders bitcode build, install, nitrous, pystol, pre-trace, link and trace, for both trace directories', () => {
    expect([...byId.keys()]).toEqual([
      'bc:configure',
      'bc:make',
      'bc:install',
      'aot-tools:cmake',
      'aot-tools:nitrous',
      'aot-tools:pystol',
      'aot:pretrace',
      'aot:prebuild',
      'aot:link',
      'aot:trace',
      'aot_pic:pretrace',
      'aot_pic:prebuild',
      'aot_pic:link',
      'aot_pic:trace',
    ]);
    expect(byId.get('bc:configure')!.deps).toEqual(['source:patch']);
    // pystol compiles against the bitcode build's installed headers.
    expect(byId.get('aot-tools:pystol')!.deps).toEqual(['aot-tools:nitrous', 'bc:install']);
    expect(byId.get('aot:trace')!.deps).toEqual(['aot:link', 'aot:prebuild', 'aot-tools:pystol']);
    expect(byId.get('aot_pic:pretrace')!.inputs.config).toEqual({ pic: ['--pic'] });
    expect([chain.dirs.static.ready, chain.dirs.pic.ready]).toEqual(['aot:trace', 'aot_pic:trace']);
  });

  it("names every LLVM tool by its version, and runs the scripts with Debian's python3 by path", () => {
    const tools = chain.tasks.flatMap((t) => t.inputs.tools ?? []).map((t) => t.command ?? t.name);
    expect(tools).toContain('/usr/bin/python3');
    for (const t of tools.filter((c) => /clang|llvm/.test(c))) expect(t).toMatch(/-13$|llvm-13\//);
    const env = byId.get('bc:configure')!.inputs.config!.env as Record<string, string>;
    expect(env.CC).toBe('/usr/bin/python3 /p/build/src/patched-pyston-2.3.5/pyston/clang_wrapper.py');
    expect(env.WRAPPER_OUTPUT_PREFIX).toBe('/p/build/cpython_bc');
  });

  it("gives each variant its own copy of a trace directory, after that directory's trace", () => {
    const a = variantAotTask('opt', chain.dirs.static, 'build/opt_aot');
    expect([a.dir, a.task.id, a.task.deps]).toEqual(['build/opt_aot', 'opt:aot', ['aot:trace']]);
    // The files it copies, not the directory that the variant's make writes into.
    expect(a.task.outputs).toEqual(['build/opt_aot/aot_all.bc', 'build/opt_aot/aot.h', 'build/opt_aot/aot_profile.c', 'build/opt_aot/summary.json']);
    expect(variantAotTask('optshared', chain.dirs.pic, 'build/optshared_aot').task.deps).toEqual(['aot_pic:trace']);
  });

  it("a JIT variant's builds: AOT_DIR and the DynASM tools for make, LLVM 13 for the traces, and clang's profile runtime for the instrumented link", () => {
    const j = jitBuild({ variant: 'opt', root: '/p', from: chain.dirs.static, dir: 'build/opt_aot', llvm, cpu: 'x86_64' });
    expect(j.makeArgs).toEqual(['AOT_DIR=/p/build/opt_aot', 'DYNASM_PYTHON=/usr/bin/python3', 'LUAJIT=luajit']);
    expect(j.env.CLANG).toMatch(/clang-13$|llvm-13\/bin\/clang$/);
    expect(j.instrumented.ldflags[0]).toBe('-u__llvm_profile_runtime');
    expect(j.instrumented.ldflags[1]).toMatch(/libclang_rt\.profile-x86_64\.a$/);
    expect(j.instrumented.requires.package).toBe('libclang-common-13-dev');
    // A shared libpython: the traces' object is linked into the executable too.
    // A shared build: the PIC traces, the same runtime in every link.
    const s = jitBuild({ variant: 'optshared', root: '/p', from: chain.dirs.pic, dir: 'build/optshared_aot', llvm, cpu: 'x86_64' });
    expect([s.task.deps, s.instrumented.ldflags]).toEqual([['aot_pic:trace'], j.instrumented.ldflags]);
  });
});
