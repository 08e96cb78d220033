/** The ELF reader on real files built here with the installed gcc. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElfError, hasSection, maxGlibcVersion, parseElf, readElf, stackPolicy, type ElfFile, type ImportedSymbol, type VersionNeed } from '../../src/elf/reader.js';
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

function cc(cwd: string, args: string[]): void {
  const r = spawnSync('cc', args, { cwd, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

function readelf(args: string[]): string {
  const r = spawnSync('readelf', ['-W', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** `readelf -V`'s "Version needs" part: `File: libc.so.6  Cnt: 3` followed by its `Name: GLIBC_2.14` lines. */
function readelfVersionNeeds(path: string): VersionNeed[] {
  const out: { file: string; versions: string[] }[] = [];
  let inNeeds = false;
  for (const line of readelf(['-V', path]).split('\n')) {
    if (/^Version \w+ section/.test(line)) inNeeds = line.includes("'.gnu.version_r'");
    if (!inNeeds) continue;
    const file = /File: (\S+)/.exec(line);
    if (file) out.push({ file: file[1]!, versions: [] });
    const name = /^\s+0x[0-9a-f]+:\s+Name: (\S+)/.exec(line);
    if (name) out.at(-1)!.versions.push(name[1]!);
  }
  return out;
}

/** `readelf --dyn-syms`: the rows whose Ndx is UND, name split at `@`, ` (2)` version index dropped. */
function readelfImports(path: string): ImportedSymbol[] {
  const out: ImportedSymbol[] = [];
  for (const line of readelf(['--dyn-syms', path]).split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (!/^\d+:$/.test(cols[0] ?? '') || cols[6] !== 'UND' || cols[7] === undefined) continue;
    const [name, version] = cols[7].split('@') as [string, string | undefined];
    out.push(version === undefined ? { name, weak: cols[4] === 'WEAK' } : { name, version, weak: cols[4] === 'WEAK' });
  }
  return out;
}

function importOf(elf: ElfFile, name: string): ImportedSymbol | undefined {
  return elf.imports.find((s) => s.name === name);
}

describe('symbol versions and imports', () => {
  const dir = tmpProject('pb-elfver-');
  write(dir, 'y.c', '#include <string.h>\nint y(void *d, const void *s, size_t n) { memcpy(d, s, n); return 0; }\n');
  write(
    dir,
    'main.c',
    [
      '#include <pthread.h>',
      '#include <string.h>',
      'int y(void *d, const void *s, size_t n);',
      'extern int maybe_there(void) __attribute__((weak));',
      'static void *run(void *a) { return a; }',
      'int main(int argc, char **argv) {',
      '  pthread_t t; char b[64];',
      '  y(b, argv[0], 8); memcpy(b, argv[0], (size_t)argc);',
      '  pthread_create(&t, 0, run, 0); pthread_join(t, 0);',
      '  return maybe_there ? maybe_there() : b[0] == 0;',
      '}',
      '',
    ].join('\n'),
  );
  // -fno-builtin keeps memcpy a call (gcc would inline a small fixed-size copy).
  cc(dir, ['-O0', '-fno-builtin', '-shared', '-fPIC', '-Wl,-soname,liby.so.1', '-o', 'liby.so.1', 'y.c']);
  cc(dir, ['-O0', '-fno-builtin', '-o', 'main', 'main.c', `-L${dir}`, '-l:liby.so.1', '-Wl,--enable-new-dtags,-rpath,/some/where']);

  it('reads .gnu.version_r as readelf -V shows it', () => {
    for (const f of ['main', 'liby.so.1']) {
      const elf = readElf(join(dir, f));
      expect(elf.versionNeeds, f).toEqual(readelfVersionNeeds(join(dir, f)));
    }
    const exe = readElf(join(dir, 'main'));
    const libc = exe.versionNeeds.find((n) => n.file === 'libc.so.6');
    // memcpy@GLIBC_2.14 is the x86_64 symbol since glibc 2.14; pthread_create moved into libc.so.6 in 2.34.
    if (process.arch === 'x64') expect(libc?.versions).toEqual(expect.arrayContaining(['GLIBC_2.2.5', 'GLIBC_2.14', 'GLIBC_2.34']));
    else expect(libc?.versions).toContain('GLIBC_2.34');
    expect(exe.runpath).toBe('/some/where');
  });

  it('reads the undefined .dynsym symbols with their versions and binding, as readelf --dyn-syms shows them', () => {
    for (const f of ['main', 'liby.so.1']) {
      const elf = readElf(join(dir, f));
      expect(elf.imports, f).toEqual(readelfImports(join(dir, f)));
    }
    const exe = readElf(join(dir, 'main'));
    expect(importOf(exe, 'pthread_create')).toEqual({ name: 'pthread_create', version: 'GLIBC_2.34', weak: false });
    expect(importOf(exe, 'y')).toEqual({ name: 'y', weak: false });
    expect(importOf(exe, 'maybe_there')).toEqual({ name: 'maybe_there', weak: true });
    if (process.arch === 'x64') expect(importOf(exe, 'memcpy')).toEqual({ name: 'memcpy', version: 'GLIBC_2.14', weak: false });
    // The library defines y: it is not an import there, and main defines nothing it imports.
    expect(importOf(readElf(join(dir, 'liby.so.1')), 'y')).toBeUndefined();
    expect(exe.imports.some((s) => s.name === 'main')).toBe(false);
  });

  it('agrees with readelf on system binaries, which define versions as well as need them', () => {
    const libc = spawnSync('cc', ['-print-file-name=libc.so.6'], { encoding: 'utf8' }).stdout.trim();
    const files = [process.execPath, libc, '/usr/bin/python3.11'].filter((f) => f.startsWith('/') && existsSync(f));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const elf = readElf(f);
      expect(elf.imports.length, f).toBeGreaterThan(0);
      expect(elf.versionNeeds, f).toEqual(readelfVersionNeeds(f));
      expect(elf.imports, f).toEqual(readelfImports(f));
    }
  });

  it('finds the highest glibc version, comparing numbers rather than text', () => {
    expect(maxGlibcVersion(readElf(join(dir, 'main')))).toBe('GLIBC_2.34');
    if (process.arch === 'x64') expect(maxGlibcVersion(readElf(join(dir, 'liby.so.1')))).toBe('GLIBC_2.14');
    const fake = (versions: string[]): ElfFile => ({ ...readElf(join(dir, 'main')), versionNeeds: [{ file: 'libc.so.6', versions }] });
    expect(maxGlibcVersion(fake(['GLIBC_2.4', 'GLIBC_2.34', 'GLIBC_2.17', 'GLIBC_PRIVATE']))).toBe('GLIBC_2.34');
    expect(maxGlibcVersion(fake(['GLIBC_2.2.5', 'GLIBC_2.2', 'GLIBC_2.3']))).toBe('GLIBC_2.3');
    expect(maxGlibcVersion(fake(['GLIBC_2.3.4', 'GLIBC_2.3.10']))).toBe('GLIBC_2.3.10');
    expect(maxGlibcVersion(fake(['GLIBC_PRIVATE', 'GCC_3.0']))).toBeUndefined();
  });

  // Elf32_Sym puts value and size before info, other and shndx. Linking
  // against the i386 runtime libc directly needs no 32-bit -dev package.
  it.skipIf(!existsSync('/lib32/libc.so.6'))('reads ELF32 symbols and versions', () => {
    write(
      dir,
      's32.c',
      'typedef unsigned int size_t;\nvoid *memcpy(void *, const void *, size_t);\nextern int maybe_there(void) __attribute__((weak));\nint copy(char *d, const char *s) { memcpy(d, s, 4); return maybe_there ? maybe_there() : 0; }\n',
    );
    cc(dir, ['-m32', '-O0', '-fno-builtin', '-shared', '-nostdlib', '-fPIC', '-Wl,-soname,libs32.so', '-o', 'libs32.so', 's32.c', '/lib32/libc.so.6']);
    const elf = readElf(join(dir, 'libs32.so'));
    expect(elf.class).toBe(32);
    expect(elf.versionNeeds).toEqual(readelfVersionNeeds(join(dir, 'libs32.so')));
    expect(elf.imports).toEqual(readelfImports(join(dir, 'libs32.so')));
    expect(elf.imports).toEqual([
      { name: 'memcpy', version: 'GLIBC_2.0', weak: false },
      { name: 'maybe_there', weak: true },
    ]);
    expect(maxGlibcVersion(elf)).toBe('GLIBC_2.0');
  });

  it('has no imports or version needs in a static executable', () => {
    write(dir, 'st.c', 'int main(void) { return 0; }\n');
    cc(dir, ['-static', '-o', 'st', 'st.c']);
    const elf = readElf(join(dir, 'st'));
    expect(elf.imports).toEqual([]);
    expect(elf.versionNeeds).toEqual([]);
    expect(maxGlibcVersion(elf)).toBeUndefined();
  });
});
