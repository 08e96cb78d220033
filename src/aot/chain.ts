/**
 * Pyston's bitcode/AOT chain, as tasks of the graph. A Pyston JIT variant
 * links two things its own tree generates with LLVM 13 (Debian's clang-13,
 * llvm-13, llvm-13-dev; Pyston pins LLVM 13.0.1):
 *
 *   bc:configure, bc:make    the interpreter built once more with clang, through
 *                            the tree's pyston/clang_wrapper.py, which also writes
 *                            each object's LLVM bitcode under build/cpython_bc
 *   bc:install               that build installed into build/bc_install: the
 *                            python that runs aot_gen.py, and the headers pystol
 *                            compiles against
 *   aot-tools:cmake          cmake of the tree's pyston/ (nitrous and pystol,
 *                            C++ against LLVM 13's libraries) in build/aot_tools
 *   aot-tools:nitrous        libinterp.so (nitrous: an LLVM IR interpreter/tracer)
 *   aot-tools:pystol         libpystol.so (pystol: Python-specific passes)
 *   <dir>:pretrace           aot_gen.py --action=pretrace -> aot_pre_trace.c
 *   <dir>:prebuild           that file with clang: aot_pre_trace.bc and .so
 *   <dir>:link               llvm-link of the interpreter's bitcode -> all.bc
 *   <dir>:trace              aot_gen.py --action=trace -> aot_module*.bc, aot.h,
 *                            aot_profile.c; llvm-link -> aot_all.bc
 *
 * `<dir>` is `aot` for a static interpreter and `aot_pic` (`--pic`) for a
 * shared libpython, as Pyston's own build names them. Each JIT variant copies
 * its dir's outputs into its own `build/<variant>_aot` (see
 * {@link variantAotTask}), because the variant's make writes there: the AOT
 * module's object, and under clang PGO its raw profiles (`aot_prof`).
 *
 * Pyston's Makefile drives the same steps; pyston-build runs what the tree
 * ships (its configure and Makefile.pre.in, cmake, clang_wrapper.py,
 * aot_gen.py) and never that Makefile. What differs: every tool is named by
 * its LLVM version (clang-13, llvm-link-13), never an unversioned `which`;
 * the scripts run with Debian's /usr/bin/python3; the bitcode prefix and the
 * include directories are absolute paths in build/, so the tree can be a
 * patched copy anywhere.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TaskFailure, type Task, type TaskInputs, type ToolRef } from '../graph/index.js';
import type { Toolchain } from '../llvm/toolchain.js';

/** The Python that runs the tree's scripts (clang_wrapper.py, dynasm_preprocess.py): Debian's, by path. */
export const SYSTEM_PYTHON: ToolRef = { name: 'python3', command: '/usr/bin/python3', package: 'python3' };
export const LUAJIT: ToolRef = { name: 'luajit', package: 'luajit', versionArgs: ['-v'] };
const CMAKE: ToolRef = { name: 'cmake', package: 'cmake' };
const MAKE: ToolRef = { name: 'make', package: 'make' };

/** What the chain needs installed, for setup and doctor (LLVM 13's development files bring its cmake package). */
export function aotPackages(major: number): string[] {
  return [`clang-${major}`, `llvm-${major}`, `llvm-${major}-dev`, `libclang-common-${major}-dev`, 'cmake', 'luajit', 'libffi-dev', 'zlib1g-dev', 'libxml2-dev'];
}

export interface AotOptions {
  readonly root: string;
  /** The (patched) source tree. */
  readonly srcDir: string;
  /** Task ids the source is ready after, and the files that make up its key. */
  readonly sourceDeps: readonly string[];
  readonly sourceFiles: readonly string[];
  /** LLVM 13 (clang, clang++, llvm-link, llvm-profdata). */
  readonly llvm: Toolchain;
  /** `3.8-pyston2.3`: the installed include directory's suffix. */
  readonly version: string;
}

export interface AotDir {
  /** `aot` or `aot_pic`. */
  readonly name: string;
  /** Relative to the root. */
  readonly dir: string;
  /** The task that leaves aot_all.bc, aot.h and aot_profile.c there. */
  readonly ready: string;
}

const BC_BUILD = 'build/bc_build';
const BC_INSTALL = 'build/bc_install';
const BITCODE = 'build/cpython_bc';
const TOOLS = 'build/aot_tools';

/**
 * clang's profile runtime for LLVM `major` on a CPU (x86_64), where Debian's
 * libclang-common-<N>-dev puts it: the gcc link of an instrumented JIT
 * variant needs it for the clang-instrumented traces. Found by listing
 * /usr/lib/llvm-<N>/lib/clang/<version>/; when absent, the expected path
 * (the instrumented configure then says which package is missing).
 */
export function clangProfileRuntime(major: number, cpu: string, base = `/usr/lib/llvm-${major}/lib/clang`): string {
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => v.startsWith(`${major}`))
        .sort()
    : [];
  return join(base, versions.pop() ?? `${major}`, 'lib', 'linux', `libclang_rt.profile-${cpu}.a`);
}

/** The files a variant's make reads from its AOT directory. */
export const AOT_FILES = ['aot_all.bc', 'aot.h', 'aot_profile.c', 'summary.json'] as const;

/**
 * The bitcode that all.bc links: every object of the core (Parser, Objects,
 * Python, Programs), without the embedding test program and frozenmain, and
 * of Modules/ only the four that are part of the interpreter's core.
 * (The same selection as Pyston's Makefile; the names are facts of the tree.)
 */
export function selectBitcode(files: readonly string[]): string[] {
  const coreModules = new Set(['Modules/gcmodule.o.bc', 'Modules/getpath.o.bc', 'Modules/main.o.bc', 'Modules/config.o.bc']);
  return files
    .filter((f) => /^[^/]+\/[^/]+\.bc$/.test(f))
    .filter((f) => (f.startsWith('Modules/') ? coreModules.has(f) : !f.endsWith('_testembed.o.bc') && !f.endsWith('frozenmain.o.bc')))
    .sort();
}

/** The chain's shared tasks (bitcode build and install, nitrous, pystol) and one AOT directory's tasks per kind. */
export function aotChain(o: AotOptions): { tasks: Task[]; dirs: { readonly static: AotDir; readonly pic: AotDir } } {
  const root = o.root;
  const tc = o.llvm;
  const clang = tc.llvm.clang;
  const cmd = (t: ToolRef): string => t.command ?? t.name;
  const llvmLink = tc.llvm['llvm-link'];
  const packages = aotPackages(tc.llvmMajor);
  const abs = (...p: string[]): string => join(root, ...p);
  // clang_wrapper.py compiles each object twice: to bitcode under the prefix, and to the object make asked for.
  const bcEnv: Record<string, string> = {
    PATH: tc.path,
    CC: `${cmd(SYSTEM_PYTHON)} ${join(o.srcDir, 'pyston', 'clang_wrapper.py')}`,
    WRAPPER_REALCC: cmd(clang),
    WRAPPER_OUTPUT_PREFIX: abs(BITCODE),
    // The traces carry this bitcode's debug info and __FILE__ strings into
    // every JIT variant, packaged ones too: the build machine's paths are mapped out.
    CFLAGS_NODIST: [
      '-fstack-protector',
      '-D_FORTIFY_SOURCE=2',
      '-Wno-unused-command-line-argument',
      ...[o.srcDir, abs(BC_BUILD)].flatMap((p) => [`-fdebug-prefix-map=${p}=.`, `-fmacro-prefix-map=${p}=.`]),
    ].join(' '),
  };
  const bcArgs = ['--prefix=/usr', '--disable-aot', '--disable-debugging-features', '--enable-configure'];
  const srcInputs: TaskInputs = { files: [...o.sourceFiles], tools: [SYSTEM_PYTHON, clang, MAKE], config: { env: bcEnv, args: bcArgs } };
  const includeDir = abs(BC_INSTALL, 'usr', 'include', `python${o.version}`);
  const bcPython = abs(BC_INSTALL, 'usr', 'bin', 'python3');
  const libDirs = [abs(TOOLS, 'nitrous'), abs(TOOLS, 'pystol')].join(':');
  const aotGen = join(o.srcDir, 'pyston', 'aot', 'aot_gen.py');

  const tasks: Task[] = [
    {
      id: 'bc:configure',
      title: `configure ${BC_BUILD} (clang ${tc.llvmMajor} through clang_wrapper.py, for the bitcode)`,
      deps: [...o.sourceDeps],
      packages,
      inputs: srcInputs,
      outputs: [`${BC_BUILD}/Makefile`, `${BC_BUILD}/pyconfig.h`],
      async run(ctx) {
        rmSync(ctx.path(BC_BUILD), { recursive: true, force: true });
        mkdirSync(ctx.path(BC_BUILD), { recursive: true });
        await ctx.exec(join(o.srcDir, 'configure'), bcArgs, { cwd: ctx.path(BC_BUILD), env: bcEnv, jobserver: false });
      },
    },
    {
      id: 'bc:make',
      title: `make in ${BC_BUILD}: the interpreter and its bitcode in ${BITCODE} (shares the jobserver)`,
      deps: ['bc:configure'],
      packages,
      weight: 20,
      inputs: srcInputs,
      outputs: [`${BC_BUILD}/pyston`, BITCODE],
      async run(ctx) {
        rmSync(ctx.path(BITCODE), { recursive: true, force: true });
        await ctx.exec('make', [], { cwd: ctx.path(BC_BUILD), env: bcEnv });
        const n = listBitcode(ctx.path(BITCODE)).length;
        if (n === 0) throw new TaskFailure(`clang_wrapper.py wrote no bitcode under ${BITCODE}`, `check that ${cmd(clang)} runs and read ${ctx.logPath}`);
        ctx.log(`bitcode: ${n} files under ${BITCODE}`);
      },
    },
    {
      id: 'bc:install',
      title: `make install of ${BC_BUILD} into ${BC_INSTALL}`,
      deps: ['bc:make'],
      packages,
      weight: 3,
      inputs: { tools: [MAKE], config: { env: bcEnv } },
      outputs: [BC_INSTALL],
      async run(ctx) {
        await ctx.exec('make', ['install', `DESTDIR=${ctx.path(BC_INSTALL)}`], { cwd: ctx.path(BC_BUILD), env: bcEnv });
        if (!existsSync(ctx.path(BC_INSTALL, 'usr', 'bin', 'python3'))) throw new TaskFailure(`make install left no ${BC_INSTALL}/usr/bin/python3`, `read ${ctx.logPath}`);
      },
    },
  ];

  // nitrous and pystol: cmake finds LLVM through llvm-<N>-dev's package file.
  const llvmCmakeDir = `/usr/lib/llvm-${tc.llvmMajor}/lib/cmake/llvm`;
  const cmakeArgs = [
    join(o.srcDir, 'pyston'),
    '-G',
    'Unix Makefiles',
    '-DCMAKE_BUILD_TYPE=Release',
    `-DCMAKE_C_COMPILER=${cmd(clang)}`,
    `-DCMAKE_CXX_COMPILER=${cmd(tc.llvm['clang++'])}`,
    `-DLLVM_DIR=${llvmCmakeDir}`,
    // pystol includes the bitcode build's installed headers; the tree names them relative to itself.
    `-DCMAKE_CXX_FLAGS=-I${includeDir}`,
  ];
  const cmakeEnv = { PATH: tc.path, PYSTON_USE_SYS_BINS: '1' };
  const toolsInputs: TaskInputs = { files: [...o.sourceFiles], tools: [CMAKE, MAKE, clang, tc.llvm['clang++']], config: { args: cmakeArgs, env: cmakeEnv } };
  tasks.push(
    {
      id: 'aot-tools:cmake',
      title: `cmake of pyston/ (nitrous, pystol) against LLVM ${tc.llvmMajor} in ${TOOLS}`,
      deps: [...o.sourceDeps],
      packages,
      inputs: toolsInputs,
      // Not the directory: nitrous and pystol are built into it afterwards.
      outputs: [`${TOOLS}/CMakeCache.txt`, `${TOOLS}/Makefile`],
      async run(ctx) {
        if (!existsSync(join(llvmCmakeDir, 'LLVMConfig.cmake')))
          throw new TaskFailure(
            `LLVM ${tc.llvmMajor}'s cmake package is not installed (${llvmCmakeDir}/LLVMConfig.cmake)`,
            `run: npx pyston-build setup (or apt-get install -y llvm-${tc.llvmMajor}-dev)`,
          );
        rmSync(ctx.path(TOOLS), { recursive: true, force: true });
        mkdirSync(ctx.path(TOOLS), { recursive: true });
        await ctx.exec('cmake', cmakeArgs, { cwd: ctx.path(TOOLS), env: cmakeEnv, jobserver: false });
      },
    },
    {
      id: 'aot-tools:nitrous',
      title: `make interp in ${TOOLS}: nitrous/libinterp.so`,
      deps: ['aot-tools:cmake'],
      packages,
      weight: 6,
      inputs: toolsInputs,
      outputs: [`${TOOLS}/nitrous/libinterp.so`],
      async run(ctx) {
        await ctx.exec('make', ['interp'], { cwd: ctx.path(TOOLS), env: cmakeEnv });
      },
    },
    {
      id: 'aot-tools:pystol',
      title: `make pystol in ${TOOLS}: pystol/libpystol.so`,
      deps: ['aot-tools:nitrous', 'bc:install'],
      packages,
      weight: 3,
      inputs: toolsInputs,
      outputs: [`${TOOLS}/pystol/libpystol.so`],
      async run(ctx) {
        await ctx.exec('make', ['pystol'], { cwd: ctx.path(TOOLS), env: cmakeEnv });
      },
    },
  );

  const aotDir = (name: 'aot' | 'aot_pic'): AotDir => {
    const dir = `build/${name}`;
    const pic = name === 'aot_pic' ? ['--pic'] : [];
    const runEnv = { PATH: tc.path, LD_LIBRARY_PATH: libDirs };
    const clangArgs = [
      '-O2',
      '-g',
      '-fPIC',
      '-Wno-incompatible-pointer-types',
      '-Wno-int-conversion',
      '-I' + includeDir,
      '-I' + join(includeDir, 'internal'),
      '-I' + join(o.srcDir, 'pyston', 'nitrous'),
    ];
    const genInputs: TaskInputs = { files: [...o.sourceFiles], config: { pic } };
    tasks.push(
      {
        id: `${name}:pretrace`,
        title: `aot_gen.py --action=pretrace${pic.length ? ' --pic' : ''} -> ${dir}/aot_pre_trace.c`,
        deps: ['bc:install'],
        packages,
        inputs: genInputs,
        outputs: [`${dir}/aot_pre_trace.c`],
        async run(ctx) {
          mkdirSync(ctx.path(dir), { recursive: true });
          await ctx.exec(bcPython, [aotGen, '--action=pretrace', '-o', ctx.path(dir, 'aot_pre_trace.c'), ...pic], { cwd: ctx.path(dir), env: runEnv, jobserver: false });
        },
      },
      {
        id: `${name}:prebuild`,
        title: `clang ${dir}/aot_pre_trace.c -> aot_pre_trace.bc and .so`,
        deps: [`${name}:pretrace`, 'aot-tools:nitrous'],
        packages,
        inputs: { tools: [clang], config: { clangArgs } },
        outputs: [`${dir}/aot_pre_trace.bc`, `${dir}/aot_pre_trace.so`],
        async run(ctx) {
          const c = ctx.path(dir, 'aot_pre_trace.c');
          await ctx.exec(cmd(clang), [...clangArgs, c, '-emit-llvm', '-c', '-o', ctx.path(dir, 'aot_pre_trace.bc')], { cwd: ctx.path(dir), env: { PATH: tc.path }, jobserver: false });
          await ctx.exec(cmd(clang), [...clangArgs, c, '-shared', `-L${abs(TOOLS, 'nitrous')}`, '-linterp', '-o', ctx.path(dir, 'aot_pre_trace.so')], {
            cwd: ctx.path(dir),
            env: { PATH: tc.path },
            jobserver: false,
          });
        },
      },
      {
        id: `${name}:link`,
        title: `llvm-link the interpreter's bitcode and the pre-trace -> ${dir}/all.bc`,
        deps: ['bc:make', `${name}:prebuild`],
        packages,
        inputs: { tools: [llvmLink] },
        outputs: [`${dir}/all.bc`],
        async run(ctx) {
          const files = selectBitcode(listBitcode(ctx.path(BITCODE)));
          if (files.length === 0) throw new TaskFailure(`no bitcode under ${BITCODE} to link`, 'run: npx pyston-build bc (the bitcode build)');
          ctx.log(`linking ${files.length} bitcode files and aot_pre_trace.bc`);
          await ctx.exec(cmd(llvmLink), [...files.map((f) => ctx.path(BITCODE, f)), ctx.path(dir, 'aot_pre_trace.bc'), `-o=${ctx.path(dir, 'all.bc')}`], { env: { PATH: tc.path }, jobserver: false });
        },
      },
      {
        id: `${name}:trace`,
        title: `aot_gen.py --action=trace${pic.length ? ' --pic' : ''} in ${dir}: the AOT traces, linked into aot_all.bc`,
        deps: [`${name}:link`, `${name}:prebuild`, 'aot-tools:pystol'],
        packages,
        weight: 4,
        inputs: { ...genInputs, tools: [llvmLink] },
        outputs: [`${dir}/aot_all.bc`, `${dir}/aot.h`, `${dir}/aot_profile.c`, `${dir}/summary.json`],
        async run(ctx) {
          const d = ctx.path(dir);
          for (const f of readdirSync(d)) if (/^aot_module.*\.bc$/.test(f)) rmSync(join(d, f));
          await ctx.exec(bcPython, [aotGen, '--action=trace', ...pic], { cwd: d, env: runEnv, jobserver: false });
          const modules = readdirSync(d)
            .filter((f) => /^aot_module.*\.bc$/.test(f))
            .sort();
          if (modules.length === 0) throw new TaskFailure(`aot_gen.py wrote no aot_module*.bc in ${dir}`, `read ${ctx.logPath}`);
          await ctx.exec(cmd(llvmLink), [...modules, '-o', 'aot_all.bc'], { cwd: d, env: { PATH: tc.path }, jobserver: false });
          const summary = { dir: name, pic: pic.length > 0, modules: modules.length, aotAllBytes: statSync(join(d, 'aot_all.bc')).size, allBcBytes: statSync(join(d, 'all.bc')).size };
          ctx.log(`AOT: ${modules.length} trace modules, aot_all.bc ${summary.aotAllBytes} bytes`);
          writeFileSync(join(d, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
        },
      },
    );
    return { name, dir, ready: `${name}:trace` };
  };
  return { tasks, dirs: { static: aotDir('aot'), pic: aotDir('aot_pic') } };
}

/** Every `*.bc` under a directory, relative to it. */
function listBitcode(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.bc')) out.push(p);
    }
  };
  walk('');
  return out.sort();
}

/**
 * A JIT variant's own copy of an AOT directory, `build/<variant>_aot`: its
 * make writes the AOT module's object there, and an instrumented build the
 * clang profile of the traces (`aot_prof`), which the final build then uses.
 */
export function variantAotTask(variant: string, from: AotDir, dir: string): { task: Task; dir: string } {
  return {
    dir,
    task: {
      id: `${variant}:aot`,
      title: `copy ${from.dir}'s traces into ${dir}`,
      deps: [from.ready],
      inputs: { config: { from: from.dir } },
      // The copied files, not the directory: the variant's make writes into it afterwards.
      outputs: AOT_FILES.map((f) => `${dir}/${f}`),
      async run(ctx) {
        // A profile of earlier traces must not reach a build of these.
        rmSync(ctx.path(dir), { recursive: true, force: true });
        mkdirSync(ctx.path(dir), { recursive: true });
        for (const f of AOT_FILES) copyFileSync(ctx.path(from.dir, f), ctx.path(dir, f));
      },
    },
  };
}

/**
 * What a JIT variant's builds get from the chain: its own AOT directory
 * (the task that fills it), and what its make runs and links.
 */
export interface JitBuild {
  /** The `<variant>:aot` task, which configure waits for. */
  readonly task: Task;
  /** The variant's AOT directory, relative to the root. */
  readonly dir: string;
  /** Make variables for every build and make install: AOT_DIR and the DynASM tools. */
  readonly makeArgs: readonly string[];
  /** Environment for the builds: the LLVM that compiles the traces. */
  readonly env: Readonly<Record<string, string>>;
  readonly tools: readonly ToolRef[];
  readonly packages: readonly string[];
  /** What the instrumented (PGO) build adds: the link flags and the file they need. */
  readonly instrumented: { readonly ldflags: readonly string[]; readonly requires: { readonly path: string; readonly package: string } };
}

/**
 * The JIT parts of variant `variant`'s builds, from the chain's static or
 * PIC trace directory. The traces are compiled by `llvm`'s clang inside the
 * variant's make (Makefile.pre.in's aot_optimized.o), DynASM runs through
 * luajit and Debian's python3.
 *
 * The instrumented traces need clang's profile runtime in every link of the
 * instrumented build (LDFLAGS_NODIST: the interpreter, _testembed, the
 * extension modules, and a shared libpython).
 *
 * A shared build (optshared, releaseshared) links, but its training writes
 * no profile of the traces: the runtime inside libpython does not write one
 * (measured: no aot_prof after the training). The final build then compiles
 * the traces without it, and the build report says so (`aot.tracesPgo: no
 * profile`); gcc's PGO, LTO and BOLT are not affected. Pyston's Makefile
 * also links the traces' object into the executable there; with that, the
 * executable's copy needs libm after it, and the runtimes of the executable
 * and libpython wrote one raw profile that llvm-profdata 13 could not read
 * ("failed to uncompress data"). Making that work is left open.
 */
export function jitBuild(o: { variant: string; root: string; from: AotDir; dir: string; llvm: Toolchain; cpu: string }): JitBuild {
  const a = variantAotTask(o.variant, o.from, o.dir);
  const clang = o.llvm.llvm.clang;
  const profdata = o.llvm.llvm['llvm-profdata'];
  const runtime = clangProfileRuntime(o.llvm.llvmMajor, o.cpu);
  return {
    task: a.task,
    dir: a.dir,
    makeArgs: [`AOT_DIR=${join(o.root, a.dir)}`, `DYNASM_PYTHON=${SYSTEM_PYTHON.command!}`, `LUAJIT=${LUAJIT.name}`],
    env: { CLANG: clang.command ?? clang.name, LLVM_PROFDATA: profdata.command ?? profdata.name },
    tools: [clang, profdata, LUAJIT, SYSTEM_PYTHON],
    packages: aotPackages(o.llvm.llvmMajor),
    instrumented: {
      ldflags: ['-u__llvm_profile_runtime', runtime],
      requires: { path: runtime, package: `libclang-common-${o.llvm.llvmMajor}-dev` },
    },
  };
}

/**
 * What a variant's make log says about the AOT module: compiled with clang
 * PGO instrumentation, with the profile, or without one (the Makefile's
 * three messages), plus the trace summary.
 */
export function aotEvidence(makeLog: string, summaryFile: string): Record<string, unknown> {
  const pgo = /traces are compiled with instrumentation/.test(makeLog)
    ? 'instrumented'
    : /traces are using PGO/.test(makeLog)
      ? 'profile used'
      : /traces are not using PGO/.test(makeLog)
        ? 'no profile'
        : 'not built';
  const summary = existsSync(summaryFile) ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as Record<string, unknown>) : null;
  return { tracesPgo: pgo, traces: summary };
}
