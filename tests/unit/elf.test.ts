/** The ELF reader on real files built here with the installed gcc. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElfError, hasSection, parseElf, readElf, stackPolicy } from '../../src/elf/reader.js';
import { tmpProject, write } from '../helpers.js';

function gcc(cwd: string, args: string[]): void {
  const r = spawnSync('gcc', args, { cwd, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

describe('readElf', () => {
  const dir = tmpProject('pb-elf-');
  write(dir, 'x.c', 'int x(void) { return 42; }\n');
  write(dir, 'prog.c', 'int x(void);\nint main(void) { return x() == 42 ? 0 : 1; }\n');
  gcc(dir, ['-shared', '-fPIC', '-Wl,-soname,libx.so.1', '-o', 'libx.so.1', 'x.c']);
  gcc(dir, ['-o', 'prog-runpath', 'prog.c', `-L${dir}`, '-l:libx.so.1', '-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib']);
  gcc(dir, ['-o', 'prog-rpath', 'prog.c', `-L${dir}`, '-l:libx.so.1', '-Wl,--disable-new-dtags,-rpath,/opt/x']);
  gcc(dir, ['-o', 'prog-execstack', 'prog.c', `-L${dir}`, '-l:libx.so.1', '-Wl,-z,execstack']);

  it('reads SONAME, NEEDED, RUNPATH and RPATH', () => {
    const lib = readElf(join(dir, 'libx.so.1'));
    expect(lib.soname).toBe('libx.so.1');
    expect(lib.fileType).toBe(3);
    expect(lib.class).toBe(64);
    const exe = readElf(join(dir, 'prog-runpath'));
    expect(exe.needed).toEqual(['libx.so.1', 'libc.so.6']);
    expect(exe.runpath).toBe('$ORIGIN/../lib');
    expect(exe.rpath).toBeUndefined();
    const old = readElf(join(dir, 'prog-rpath'));
    expect(old.rpath).toBe('/opt/x');
    expect(old.runpath).toBeUndefined();
    expect(process.arch !== 'x64' || exe.machine === 62).toBe(true);
  });

  it('reads notes and section names', () => {
    const exe = readElf(join(dir, 'prog-runpath'));
    expect(hasSection(exe, '.dynamic')).toBe(true);
    expect(hasSection(exe, '.note.bolt_info')).toBe(false);
    const buildId = exe.notes.find((n) => n.section === '.note.gnu.build-id');
    expect(buildId?.owner).toBe('GNU');
    expect(buildId?.type).toBe(3);
    expect(buildId?.desc.length).toBeGreaterThanOrEqual(8);
  });

  it('tells a non-executable stack from an executable one and from a missing PT_GNU_STACK', () => {
    expect(stackPolicy(readElf(join(dir, 'prog-runpath')))).toBe('ok');
    expect(stackPolicy(readElf(join(dir, 'prog-execstack')))).toBe('executable');
    // Turn the PT_GNU_STACK header into PT_NULL: the segment is then missing.
    const buf = readFileSync(join(dir, 'prog-runpath'));
    const phoff = Number(buf.readBigUInt64LE(32));
    const phentsize = buf.readUInt16LE(54);
    for (let i = 0; i < buf.readUInt16LE(56); i++) {
      const o = phoff + i * phentsize;
      if (buf.readUInt32LE(o) === 0x6474e551) buf.writeUInt32LE(0, o);
    }
    writeFileSync(join(dir, 'prog-nostack'), buf);
    expect(stackPolicy(readElf(join(dir, 'prog-nostack')))).toBe('missing');
  });

  it('rejects a file that is not ELF, or is cut short, with an ElfError naming it', () => {
    write(dir, 'text', '#!/bin/sh\necho hi\n');
    expect(() => readElf(join(dir, 'text'))).toThrow(new ElfError(`${join(dir, 'text')}: not an ELF file`));
    const cut = readFileSync(join(dir, 'prog-runpath')).subarray(0, 200);
    expect(() => parseElf(cut, 'cut')).toThrow(/^cut: truncated ELF file/);
    expect(() => readElf(join(dir, 'nope'))).toThrow(/nope: cannot read: ENOENT/);
  });
});
