/**
 * The system toolchain (`toolchain = system`, Pyston's PYSTON_USE_SYS_BINS=1).
 *
 * One LLVM major version (config `llvm.version`) supplies clang, clang++,
 * llvm-profdata, llvm-ar, llvm-nm, ld.lld, llvm-bolt and merge-fdata. For each
 * tool the first of these wins:
 *   1. the directory in config `llvm.bin`, when set;
 *   2. `<tool>-<N>` on PATH (Debian's versioned names);
 *   3. `/usr/lib/llvm-<N>/bin/<tool>` (where Debian's llvm-<N> packages put them).
 * A bare `<tool>` on PATH is never taken: it may be another version (Debian
 * has an unversioned llvm-profdata from older LLVMs). Each tool is a
 * `ToolRef`, so its resolved path, version and digest go into the keys of the
 * tasks that use it; a tool that is missing fails those tasks' planning with
 * the package that provides it.
 *
 * The C compiler is a separate choice (config `cc`): clang from this
 * toolchain, or the system gcc.
 */
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { which, type ToolRef } from '../graph/index.js';

export const LLVM_TOOLS = ['clang', 'clang++', 'llvm-profdata', 'llvm-ar', 'llvm-nm', 'ld.lld', 'llvm-bolt', 'merge-fdata', 'llvm-strip', 'llvm-link'] as const;
export type LlvmTool = (typeof LLVM_TOOLS)[number];

/** The Debian package that ships each tool, for LLVM major N. */
export function llvmPackage(tool: LlvmTool, major: number): string {
  switch (tool) {
    case 'clang':
    case 'clang++':
      return `clang-${major}`;
    case 'ld.lld':
      return `lld-${major}`;
    case 'llvm-bolt':
    case 'merge-fdata':
      return `bolt-${major}`;
    default:
      return `llvm-${major}`;
  }
}

export type CompilerFamily = 'clang' | 'gcc';

export interface Toolchain {
  readonly llvmMajor: number;
  readonly llvm: Readonly<Record<LlvmTool, ToolRef>>;
  /** The C compiler, C++ compiler and archiver a build uses (config `cc`). */
  readonly family: CompilerFamily;
  readonly cc: ToolRef;
  readonly cxx: ToolRef;
  readonly ar: ToolRef;
  /** PATH for builds: the LLVM bin directory first, so configure finds llvm-ar, llvm-profdata, ld.lld. */
  readonly path: string;
}

export interface ToolchainConfig {
  readonly llvmMajor: number;
  /** Directory overriding where LLVM tools are looked up ('' = none). */
  readonly llvmBin: string;
  readonly family: CompilerFamily;
}

function llvmTool(tool: LlvmTool, cfg: ToolchainConfig, pathEnv: string | undefined): ToolRef {
  const n = cfg.llvmMajor;
  const candidates = [...(cfg.llvmBin ? [join(cfg.llvmBin, tool)] : []), which(`${tool}-${n}`, pathEnv), `/usr/lib/llvm-${n}/bin/${tool}`].filter((c): c is string => c !== undefined);
  let found = candidates.find((c) => existsSync(c));
  // llvm-bolt looks for its instrumentation runtime (libbolt_rt_instr.a) in
  // ../lib of the path it was started by: through Debian's /usr/bin/llvm-bolt-19
  // symlink that is /usr/lib, where it is not. Start it by its real path.
  if (found && tool === 'llvm-bolt') found = realpathSync(found);
  return {
    name: tool,
    // When nothing is there, name the expected place: planning then fails with the package.
    command: found ?? candidates[candidates.length - 1]!,
    package: llvmPackage(tool, n),
    // merge-fdata has no --version; its digest identifies it. LLVM 13's
    // llvm-profdata answers --version only after a command (19's prints the same line either way).
    versionArgs: tool === 'merge-fdata' ? [] : tool === 'llvm-profdata' ? ['merge', '--version'] : ['--version'],
  };
}

export function discoverToolchain(cfg: ToolchainConfig, pathEnv: string | undefined): Toolchain {
  const llvm = Object.fromEntries(LLVM_TOOLS.map((t) => [t, llvmTool(t, cfg, pathEnv)])) as Record<LlvmTool, ToolRef>;
  const llvmDir = llvm.clang.command!.slice(0, llvm.clang.command!.lastIndexOf('/'));
  const path = [llvmDir, ...(pathEnv ?? '').split(':').filter((d) => d && d !== llvmDir)].join(':');
  if (cfg.family === 'clang') {
    return { llvmMajor: cfg.llvmMajor, llvm, family: 'clang', cc: llvm.clang, cxx: llvm['clang++'], ar: llvm['llvm-ar'], path };
  }
  return {
    llvmMajor: cfg.llvmMajor,
    llvm,
    family: 'gcc',
    cc: { name: 'gcc', package: 'gcc' },
    cxx: { name: 'g++', package: 'g++' },
    ar: { name: 'gcc-ar', package: 'gcc' },
    path,
  };
}
