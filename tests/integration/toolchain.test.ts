/** Toolchain discovery against the real LLVM 19 install, and a missing LLVM's message. */
import { describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { discoverToolchain, LLVM_TOOLS } from '../../src/llvm/toolchain.js';
import { ToolResolver, MissingToolError } from '../../src/graph/index.js';
import { FileHasher } from '../../src/graph/hash.js';
import { tmpProject } from '../helpers.js';

describe('system toolchain', () => {
  it('finds every LLVM 19 tool by its versioned name, never a bare unversioned one', () => {
    const tc = discoverToolchain({ llvmMajor: 19, llvmBin: '', family: 'clang' }, process.env.PATH);
    const resolver = new ToolResolver(process.env.PATH, new FileHasher(), {});
    for (const t of LLVM_TOOLS) {
      const r = resolver.resolve(tc.llvm[t]);
      expect(r.path, t).toMatch(/llvm-19/);
      // merge-fdata has no version, llvm-nm prints it on a later line: their digests identify them.
      if (t !== 'merge-fdata' && t !== 'llvm-nm' && t !== 'llvm-strip') expect(r.version, t).toMatch(/19\.\d+\.\d+/);
    }
    expect(tc.path.split(':')[0]).toMatch(/llvm-19\/bin$|\/usr\/bin$/);
    expect(tc.cc.command).toMatch(/clang/);
  });

  it('config llvm.bin wins over the system locations', () => {
    const dir = join(tmpProject(), 'bin');
    mkdirSync(dir);
    writeFileSync(join(dir, 'clang'), '#!/bin/sh\necho "custom clang version 19.9.9"\n');
    chmodSync(join(dir, 'clang'), 0o755);
    const tc = discoverToolchain({ llvmMajor: 19, llvmBin: dir, family: 'clang' }, process.env.PATH);
    expect(tc.llvm.clang.command).toBe(join(dir, 'clang'));
    expect(tc.llvm['llvm-profdata'].command).toMatch(/llvm-profdata-19$|llvm-19\/bin\/llvm-profdata$/);
  });

  it('a missing LLVM version fails in one line naming the tool and the package', () => {
    const tc = discoverToolchain({ llvmMajor: 77, llvmBin: '', family: 'clang' }, process.env.PATH);
    const resolver = new ToolResolver(process.env.PATH, new FileHasher(), {});
    let err: unknown;
    try {
      resolver.resolve(tc.llvm['llvm-profdata']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingToolError);
    expect((err as MissingToolError).message).toBe("required tool 'llvm-profdata' was not found on PATH");
    expect((err as MissingToolError).hint).toBe('install it: apt-get install -y llvm-77');
  });
});
