/**
 * The pure parts of src/bolt/runtime.ts: the --runtime-instrumentation-lib
 * value llvm-bolt 19 resolves against `<its real dir>/../lib`, and the
 * apt-cache record the download is checked against.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';

import { join, resolve } from 'node:path';
import { parseAptRecord, runtimePackage, runtimeLibArg } from '../../src/bolt/runtime.js';
import { tmpProject } from '../helpers.js';

/** A fake LLVM tree: `<t>/llvm-19/bin/llvm-bolt`, and `<t>/usr/bin/llvm-bolt-19` linking to it. */
function tree(): { t: string; real: string; link: string } {
  const t = tmpProject('pb-rt-');
  const real = join(t, 'llvm-19/bin/llvm-bolt');
  mkdirSync(join(t, 'llvm-19/bin'), { recursive: true });
  writeFileSync(real, '');
  mkdirSync(join(t, 'usr/bin'), { recursive: true });
  const link = join(t, 'usr/bin/llvm-bolt-19');
  symlinkSync('../../llvm-19/bin/llvm-bolt', link);
  return { t, real, link };
}

describe('runtimeLibArg', () => {
  it('climbs from <llvm-bolt dir>/../lib to an absolute path elsewhere', () => {
    const { t, real } = tree();
    const lib = join(t, 'cache/bolt-runtime/x/libbolt_rt_instr.a');
    const arg = runtimeLibArg(real, lib);
    expect(arg).toBe('../../cache/bolt-runtime/x/libbolt_rt_instr.a');
    expect(resolve(join(t, 'llvm-19/lib'), arg)).toBe(lib);
  });

  it('resolves a symlinked llvm-bolt to its real directory, as llvm-bolt does', () => {
    const { t, real, link } = tree();
    const lib = join(t, 'p/build/bolt-runtime-arm64/libbolt_rt_instr.a');
    expect(runtimeLibArg(link, lib)).toBe(runtimeLibArg(real, lib));
    expect(runtimeLibArg(link, lib)).toBe('../../p/build/bolt-runtime-arm64/libbolt_rt_instr.a');
  });

  it('a path inside that lib directory stays a plain relative name', () => {
    const { t, real } = tree();
    expect(runtimeLibArg(real, join(t, 'llvm-19/lib/libbolt_rt_instr.a'))).toBe('libbolt_rt_instr.a');
  });
});

describe('parseAptRecord', () => {
  it('reads Version and SHA256 of the first record', () => {
    const text = [
      'Package: libbolt-19-dev',
      'Architecture: arm64',
      'Version: 1:19.1.7-3~deb12u1',
      'Filename: pool/main/l/llvm-toolchain-19/libbolt-19-dev_19.1.7-3~deb12u1_arm64.deb',
      'SHA256: f7501fd2f6d7bedc606e2f41eb92af982562d613e899157455f47cb2443babf2',
      '',
      'Package: libbolt-19-dev',
      'Version: 1:19.1.0-1',
      'SHA256: 00',
      '',
    ].join('\n');
    expect(parseAptRecord(text)).toEqual({ version: '1:19.1.7-3~deb12u1', sha256: 'f7501fd2f6d7bedc606e2f41eb92af982562d613e899157455f47cb2443babf2' });
  });

  it('is undefined without a SHA256 field', () => {
    expect(parseAptRecord('Package: x\nVersion: 1\n')).toBeUndefined();
    expect(parseAptRecord('')).toBeUndefined();
  });

  it('names the package by the LLVM major and the dpkg architecture', () => {
    expect(runtimePackage('arm64', 19)).toBe('libbolt-19-dev:arm64');
  });
});
