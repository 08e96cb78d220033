/**
 * Depends from ELF files: Debian version order checked against dpkg itself,
 * library lookup, dpkg's database, and whole runs on binaries built here
 * with cc and on system binaries whose packages declare what dpkg-shlibdeps
 * computed for them.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { readElf, type ElfFile } from '../../src/elf/reader.js';
import { compareDebianVersions, computeDepends, formatDepends, ShlibdepsError } from '../../src/packaging/deb/shlibdeps.js';
import { DpkgDb, DpkgError, parseShlibsFile, parseSymbolsFile, splitSoname } from '../../src/debian/dpkg.js';
import { librarySearchPath, resolveLibrary } from '../../src/elf/search.js';
import { tmpProject, write } from '../helpers.js';

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  expect(r.status, `${cmd} ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

function cc(cwd: string, args: string[]): void {
  run('cc', args, cwd);
}

/** dpkg's own verdict: -1, 0 or 1. */
function dpkgCompare(a: string, b: string): number {
  const is = (op: string): boolean => spawnSync('dpkg', ['--compare-versions', a, op, b]).status === 0;
  return is('lt') ? -1 : is('eq') ? 0 : 1;
}

function caught(f: () => unknown): ShlibdepsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ShlibdepsError);
    return e as ShlibdepsError;
  }
  throw new Error('expected a ShlibdepsError');
}

describe('compareDebianVersions', () => {
  // [a, b, sign of compare(a, b)], each also put to dpkg --compare-versions.
  const table: [string, string, number][] = [
    ['1.0~rc1', '1.0', -1],
    ['1:0.9', '2.0', 1],
    ['2.36-9+deb12u4', '2.36-9', 1],
    ['1.2.3', '1.2.10', -1],
    ['a', 'a~', 1],
    ['1.0-1', '1.0+1', -1],
    ['1.0', '1.0-0', 0],
    ['0:1.0', '1.0', 0],
    ['1.01', '1.1', 0],
    ['1.0~~', '1.0~', -1],
    ['1.0~', '1.0', -1],
    ['1.0a', '1.0', 1],
    ['1.0a', '1.0.', -1],
    ['1.0+dfsg', '1.0.1', -1],
    ['10:0', '2:99', 1],
    ['1:1.2.11.dfsg', '1:1.2.9', 1],
    ['1:1.2.13.dfsg-1', '1:1.2.13.dfsg', 1],
    ['2.1~beta3', '2.1', -1],
    ['5.1.1alpha+20110809', '5.1.1', 1],
    ['1.0-1~bpo12+1', '1.0-1', -1],
    ['99999999999999999999', '99999999999999999998', 1],
  ];
  it.each(table)('%s vs %s, as dpkg --compare-versions says', (a, b, want) => {
    expect(dpkgCompare(a, b)).toBe(want);
    expect(Math.sign(compareDebianVersions(a, b))).toBe(want);
    expect(Math.sign(compareDebianVersions(b, a))).toBe(-want || 0);
  });
});

describe('librarySearchPath', () => {
  it('follows ld.so.conf and its include globs, then adds the multiarch defaults', () => {
    const root = tmpProject('pb-ldconf-');
    write(root, 'etc/ld.so.conf', '# the first line is a comment\ninclude /etc/ld.so.conf.d/*.conf\n/opt/first/\nhwcap 0 nosegneg\ninclude extra/*.conf more/[ab].conf\n');
    write(root, 'etc/ld.so.conf.d/b.conf', '/opt/b\n');
    write(root, 'etc/ld.so.conf.d/a.conf', '/opt/a   # trailing comment\n\n/opt/a\ninclude /etc/ld.so.conf\n');
    write(root, 'etc/ld.so.conf.d/.hidden.conf', '/opt/hidden\n');
    write(root, 'etc/ld.so.conf.d/notes.txt', '/opt/txt\n');
    write(root, 'etc/extra/e.conf', '/opt/e\n');
    write(root, 'etc/more/b.conf', '/opt/more-b\n');
    write(root, 'etc/more/c.conf', '/opt/more-c\n');
    const t = 'x86_64-linux-gnu';
    expect(librarySearchPath(root, t)).toEqual(['/opt/a', '/opt/b', '/opt/first', '/opt/e', '/opt/more-b', `/lib/${t}`, `/usr/lib/${t}`, '/lib', '/usr/lib'].map((d) => join(root, d)));
    // No ld.so.conf at all: only the defaults.
    expect(librarySearchPath(tmpProject('pb-ldconf-empty-'), 'aarch64-linux-gnu').map((d) => d.replace(/^.*pb-ldconf-empty-[^/]+/, ''))).toEqual([
      '/lib/aarch64-linux-gnu',
      '/usr/lib/aarch64-linux-gnu',
      '/lib',
      '/usr/lib',
    ]);
  });

  it('lists the directories ldconfig scans on this machine, in its order', () => {
    const ours = librarySearchPath();
    // ldconfig -v prints each directory it scans as `dir: (from file:line)`; it skips missing ones and repeats.
    const scanned = run('/sbin/ldconfig', ['-N', '-X', '-v'])
      .split('\n')
      .filter((l) => /^\//.test(l))
      .map((l) => l.replace(/:.*$/, ''));
    expect(scanned.length).toBeGreaterThan(0);
    const positions = scanned.map((d) => ours.indexOf(d));
    expect(
      positions.every((p) => p >= 0),
      `${scanned.join(' ')} in ${ours.join(' ')}`,
    ).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });
});

describe('symbols and shlibs files', () => {
  it('reads deb-symbols(5): alternatives, meta lines, tags, symver patterns', () => {
    const libs = parseSymbolsFile(
      [
        'libfoo.so.1 libfoo1 (>= 0.5) #MINVER#',
        '| libfoo1-private (>> 9)',
        '* Build-Depends-Package: libfoo-dev',
        ' (c++)"foo::bar()@FOO_2" 7.0',
        ' (regex)"^foo_internal_.*@FOO_1$" 8.0',
        ' (optional|arch=amd64)foo_opt@FOO_1 1.1',
        ' "foo_quoted@FOO_1" 1.2',
        ' foo_a@FOO_1 0.1',
        ' foo_secret@FOO_PRIVATE 0 1',
        ' (symver)FOO_2 2.0',
        'libbar.so.2 libbar2 #MINVER#',
        ' *@BAR_3 3.0',
        ' bar@Base 1:1.0',
        'libbroken.so.1',
        ' stray@Base 9.0',
        '',
      ].join('\n'),
    );
    const foo = libs.get('libfoo.so.1')!;
    expect(foo.templates).toEqual(['libfoo1 (>= 0.5) #MINVER#', 'libfoo1-private (>> 9)']);
    expect([...foo.symbols.keys()].sort()).toEqual(['foo_a@FOO_1', 'foo_opt@FOO_1', 'foo_quoted@FOO_1', 'foo_secret@FOO_PRIVATE']);
    expect(foo.symbols.get('foo_secret@FOO_PRIVATE')).toEqual({ minVersion: '0', template: 1 });
    expect(foo.versions.get('FOO_2')).toEqual({ minVersion: '2.0', template: 0 });
    const bar = libs.get('libbar.so.2')!;
    expect(bar.versions.get('BAR_3')).toEqual({ minVersion: '3.0', template: 0 });
    expect(bar.symbols.get('bar@Base')).toEqual({ minVersion: '1:1.0', template: 0 });
    // A header without a dependency template is no library, and its lines belong to none.
    expect(bar.symbols.has('stray@Base')).toBe(false);
    expect(libs.has('libbroken.so.1')).toBe(false);
  });

  it('reads the installed libc6 and zlib1g symbols files', () => {
    const db = new DpkgDb();
    const libc = db.owner(run('cc', ['-print-file-name=libc.so.6']).trim());
    expect(libc).toMatch(/^libc6(:|$)/);
    const syms = db.symbols(libc!)!.get('libc.so.6')!;
    expect(syms.templates[0]).toBe('libc6 #MINVER#');
    expect(syms.symbols.get('pthread_create@GLIBC_2.34')).toEqual({ minVersion: '2.34', template: 0 });
  });

  it('reads deb-shlibs(5) lines and splits sonames the same way', () => {
    expect(parseShlibsFile('# comment\nlibz 1 zlib1g (>= 1:1.2.3.3.dfsg-1)\nudeb: libz 1 zlib1g-udeb (>= 1:1.2.3.3.dfsg-1)\nlibbare 0\n')).toEqual([
      { library: 'libz', soversion: '1', dependency: 'zlib1g (>= 1:1.2.3.3.dfsg-1)' },
      { type: 'udeb', library: 'libz', soversion: '1', dependency: 'zlib1g-udeb (>= 1:1.2.3.3.dfsg-1)' },
      { library: 'libbare', soversion: '0', dependency: '' },
    ]);
    expect(splitSoname('libz.so.1')).toEqual({ library: 'libz', soversion: '1' });
    expect(splitSoname('libfoo-1.2.so')).toEqual({ library: 'libfoo', soversion: '1.2' });
    expect(splitSoname('libpython3.11.so.1.0')).toEqual({ library: 'libpython3.11', soversion: '1.0' });
    expect(splitSoname('libmemusage.so')).toBeUndefined();
  });
});

describe('DpkgDb', () => {
  it('finds the owner of a library by either merged-/usr spelling and through its symlinks', () => {
    const db = new DpkgDb();
    const libc = realpathSync(run('cc', ['-print-file-name=libc.so.6']).trim());
    // `libc6:amd64: /lib/...`: the qualified name, since libc6 may be installed for a foreign architecture too (dpkg -L libc6 is then ambiguous).
    const instance = run('dpkg', ['-S', libc.replace(/^\/usr\/lib\//, '/lib/')]).split(': ')[0]!;
    const owner = instance.split(':')[0];
    const listed = run('dpkg', ['-L', instance]).split('\n');
    const dir = libc.slice(0, libc.lastIndexOf('/'));
    for (const p of [libc, libc.replace(/^\/usr\/lib\//, '/lib/'), libc.replace(/^\/lib\//, '/usr/lib/')]) expect(db.owner(p)?.split(':')[0], p).toBe(owner);
    // The dev package's libz.so is a symlink dpkg lists under /usr; the runtime file it points at belongs to zlib1g.
    const libz = join(dir, 'libz.so.1');
    expect(listed.length).toBeGreaterThan(0);
    expect(db.owner(libz)?.split(':')[0]).toBe('zlib1g');
    expect(db.owner(realpathSync(libz))?.split(':')[0]).toBe('zlib1g');
    expect(db.owner('/no/such/file')).toBeUndefined();
  });

  it('builds its index once, on first use, from the .list files of its admin dir', () => {
    const admin = tmpProject('pb-dpkgdb-');
    write(admin, 'info/libbar1:amd64.list', '/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libbar.so.1\n');
    write(admin, 'info/libbar1:amd64.shlibs', 'libbar 1 libbar1 (>= 1.1)\n');
    write(admin, 'info/libbaz2.symbols', 'libbaz.so.2 libbaz2 #MINVER#\n baz@Base 2.0\n');
    const db = new DpkgDb(admin);
    expect(db.owner('/usr/lib/x86_64-linux-gnu/libbar.so.1')).toBe('libbar1:amd64');
    expect(db.owner('/lib/x86_64-linux-gnu/libbar.so.1')).toBe('libbar1:amd64');
    write(admin, 'info/late.list', '/opt/late\n');
    expect(db.owner('/opt/late')).toBeUndefined();
    expect(new DpkgDb(admin).owner('/opt/late')).toBe('late');
    expect(db.shlibs('libbar1:amd64')).toEqual([{ library: 'libbar', soversion: '1', dependency: 'libbar1 (>= 1.1)' }]);
    expect(db.symbols('libbaz2:amd64')?.get('libbaz.so.2')?.symbols.get('baz@Base')).toEqual({ minVersion: '2.0', template: 0 });
    expect(db.symbols('libbar1:amd64')).toBeUndefined();
    let missing: DpkgError | undefined;
    try {
      new DpkgDb(join(admin, 'nope')).owner('/x');
    } catch (e) {
      missing = e as DpkgError;
    }
    expect(missing).toBeInstanceOf(DpkgError);
    expect(missing!.message).toMatch(/cannot read the dpkg database/);
    expect(missing!.hint).toMatch(/Debian/);
  });
});

describe('resolveLibrary and computeDepends on binaries built here', () => {
  const dir = tmpProject('pb-shlibdeps-');
  const searchPath = librarySearchPath();
  write(dir, 'priv.c', '#include <unistd.h>\nint priv(int x) { return x + (int)getpid(); }\n');
  write(dir, 'main.c', '#include <string.h>\nint priv(int);\nint main(int argc, char **argv) { char b[8]; memcpy(b, argv[0], 1); return priv(argc) + b[0] == 0; }\n');
  mkdirSync(join(dir, 'lib'));
  mkdirSync(join(dir, 'bin'));
  cc(dir, ['-shared', '-fPIC', '-Wl,-soname,libpriv.so.1', '-o', 'lib/libpriv.so.1', 'priv.c']);
  cc(dir, ['-fno-builtin', '-o', 'bin/origin', 'main.c', '-Llib', '-l:libpriv.so.1', '-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib']);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the loader's ${ORIGIN} token, written into the binary as is
  cc(dir, ['-fno-builtin', '-o', 'bin/oldrpath', 'main.c', '-Llib', '-l:libpriv.so.1', '-Wl,--disable-new-dtags,-rpath,/no/such/dir:${ORIGIN}/../lib']);
  cc(dir, ['-fno-builtin', '-o', 'bin/lost', 'main.c', '-Llib', '-l:libpriv.so.1', '-Wl,-rpath,/no/such/dir']);

  it('expands $ORIGIN in RUNPATH and RPATH', () => {
    const want = join(dir, 'lib', 'libpriv.so.1');
    expect(resolveLibrary('libpriv.so.1', readElf(join(dir, 'bin/origin')), searchPath)).toBe(want);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the loader's ${ORIGIN} token, read back as is
    expect(readElf(join(dir, 'bin/oldrpath')).rpath).toBe('/no/such/dir:${ORIGIN}/../lib');
    expect(resolveLibrary('libpriv.so.1', readElf(join(dir, 'bin/oldrpath')), searchPath)).toBe(want);
    expect(resolveLibrary('libpriv.so.1', readElf(join(dir, 'bin/lost')), searchPath)).toBeUndefined();
    // The system path is searched last, and is where libc is found.
    expect(resolveLibrary('libc.so.6', readElf(join(dir, 'bin/origin')), searchPath)).toBe(resolveLibrary('libc.so.6', readElf(join(dir, 'bin/lost')), searchPath));
  });

  it('ignores DT_RPATH when there is a DT_RUNPATH, and skips files of another class or no ELF at all', () => {
    const exe = readElf(join(dir, 'bin/origin'));
    mkdirSync(join(dir, 'other'));
    mkdirSync(join(dir, 'text'));
    write(dir, 'text/libpriv.so.1', 'INPUT(-lpriv)\n');
    write(dir, 'priv32.c', 'int priv(int x) { return x + 1; }\n');
    cc(dir, ['-m32', '-shared', '-nostdlib', '-fPIC', '-Wl,-soname,libpriv.so.1', '-o', 'other/libpriv.so.1', 'priv32.c']);
    expect(readElf(join(dir, 'other/libpriv.so.1')).class).toBe(32);
    const withBoth: ElfFile = { ...exe, rpath: join(dir, 'lib'), runpath: join(dir, 'other') };
    expect(resolveLibrary('libpriv.so.1', withBoth, [])).toBeUndefined();
    const skipping: ElfFile = { ...exe, rpath: undefined, runpath: `${join(dir, 'text')}:${join(dir, 'other')}:$ORIGIN/../lib` };
    expect(resolveLibrary('libpriv.so.1', skipping, [])).toBe(join(dir, 'lib', 'libpriv.so.1'));
  });

  it('throws for a library no package owns, naming the ELF and the soname, unless the package provides it', () => {
    const exe = readElf(join(dir, 'bin/origin'));
    const e = caught(() => computeDepends([exe], { searchPath }));
    expect(e.message).toContain(join(dir, 'bin/origin'));
    expect(e.message).toContain('libpriv.so.1');
    expect(e.message).toMatch(/no installed package owns/);
    expect(e.hint).toMatch(/provided/);
    const lost = caught(() => computeDepends([readElf(join(dir, 'bin/lost'))], { searchPath }));
    expect(lost.message).toMatch(/needs libpriv\.so\.1, which is in none of its RPATH\/RUNPATH directories/);
    expect(lost.hint).toMatch(/install the package that ships libpriv\.so\.1/);

    const lib = readElf(join(dir, 'lib/libpriv.so.1'));
    const deps = computeDepends([exe, lib], { searchPath, provided: ['libpriv.so.1'] });
    expect(deps.map((d) => d.package)).toEqual(['libc6']);
    // The library's own soname among its DT_NEEDED is not a dependency either.
    expect(computeDepends([{ ...lib, needed: ['libpriv.so.1', ...lib.needed] }], { searchPath }).map((d) => d.package)).toEqual(['libc6']);
  });

  it('gives libc6 and zlib1g the versions their symbols files list for the symbols used', () => {
    write(
      dir,
      'z.c',
      '#include <stdlib.h>\n#include <zlib.h>\nint main(void) { unsigned char o[64]; uLongf n = sizeof o; unsigned r = arc4random(); compress2(o, &n, (const Bytef *)"hello", 5, 9); return (int)((crc32_z(0, o, n) + r) & 1); }\n',
    );
    cc(dir, ['-o', 'bin/z', 'z.c', '-lz']);
    const exe = readElf(join(dir, 'bin/z'));
    const deps = computeDepends([exe], { searchPath });

    // The expectation, found without our code: readelf for the imports, dpkg for the owner and the
    // control file, the symbols file's own lines for the versions, dpkg for the order.
    const imports = run('readelf', ['-W', '--dyn-syms', join(dir, 'bin/z')])
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((c) => /^\d+:$/.test(c[0] ?? '') && c[6] === 'UND' && c[7] !== undefined)
      .map((c) => (c[7]!.includes('@') ? c[7]! : `${c[7]}@Base`));
    expect(imports).toEqual(expect.arrayContaining(['arc4random@GLIBC_2.36', 'crc32_z@ZLIB_1.2.9', 'compress2@Base']));
    const expected = (soname: string): { pkg: string; min: string } => {
      const path = run('cc', [`-print-file-name=${soname}`]).trim();
      const owner = run('dpkg', ['-S', realpathSync(path).replace(/^\/usr\/lib\//, '/lib/')]).split(': ')[0]!;
      const symbolsFile = run('dpkg-query', ['--control-path', owner, 'symbols']).trim();
      const lines = run('cat', [symbolsFile]).split('\n');
      const start = lines.findIndex((l) => l.startsWith(`${soname} `));
      const header = lines[start]!.split(' ');
      let min = '0';
      for (const l of lines.slice(start + 1)) {
        if (/^[^ |*]/.test(l)) break;
        const [name, version] = l.trim().split(' ');
        if (name && version && imports.includes(name) && dpkgCompare(version, min) > 0) min = version;
      }
      return { pkg: header[1]!, min };
    };
    const libc = expected('libc.so.6');
    const zlib = expected('libz.so.1');
    expect(formatDepends(deps)).toEqual([`${libc.pkg} (>= ${libc.min})`, `${zlib.pkg} (>= ${zlib.min})`]);
    // arc4random is new in glibc 2.36, crc32_z in zlib 1.2.9.
    expect(dpkgCompare(libc.min, '2.36')).toBeGreaterThanOrEqual(0);
    expect(dpkgCompare(zlib.min, '1:1.2.9')).toBeGreaterThanOrEqual(0);
  });

  it.skipIf(process.arch !== 'x64' || !existsSync('/lib32/libc.so.6'))('finds the i386 libc for a 32-bit ELF, and its package', () => {
    write(dir, 's32.c', 'typedef unsigned int size_t;\nvoid *memcpy(void *, const void *, size_t);\nint copy(char *d, const char *s) { memcpy(d, s, 4); return 0; }\n');
    cc(dir, ['-m32', '-fno-builtin', '-shared', '-nostdlib', '-fPIC', '-Wl,-soname,libs32.so', '-o', 'lib/libs32.so', 's32.c', '/lib32/libc.so.6']);
    const elf = readElf(join(dir, 'lib/libs32.so'));
    const libc = resolveLibrary('libc.so.6', elf, searchPath);
    expect(libc).toMatch(/\/lib32\/libc\.so\.6$/);
    const owner = run('dpkg', ['-S', '/lib32/libc.so.6']).split(': ')[0]!;
    const deps = computeDepends([elf], { searchPath });
    expect(deps.map((d) => d.package)).toEqual([owner]);
    expect(deps[0]!.minVersion).toBe('2.0'); // memcpy@GLIBC_2.0
  });
});

describe('computeDepends with a made-up dpkg database', () => {
  // A private library with versioned symbols, owned by a package whose symbols
  // file is written here, and two more libraries with only a shlibs file or nothing.
  const dir = tmpProject('pb-shlibdeps-db-');
  mkdirSync(join(dir, 'lib'));
  write(dir, 'foo.map', 'FOO_1 { global: foo_a; foo_secret; local: *; };\nFOO_2 { global: foo_b; foo_c; } FOO_1;\n');
  write(dir, 'foo.c', 'int foo_a(void) { return 1; }\nint foo_b(void) { return 2; }\nint foo_c(void) { return 3; }\nint foo_secret(void) { return 4; }\n');
  write(dir, 'bar.c', 'int bar(void) { return 5; }\n');
  write(dir, 'baz.c', 'int baz(void) { return 6; }\n');
  cc(dir, ['-shared', '-fPIC', '-Wl,-soname,libfoo.so.1', '-Wl,--version-script=foo.map', '-o', 'lib/libfoo.so.1', 'foo.c']);
  cc(dir, ['-shared', '-fPIC', '-Wl,-soname,libbar.so.2', '-o', 'lib/libbar.so.2', 'bar.c']);
  cc(dir, ['-shared', '-fPIC', '-Wl,-soname,libbaz-3.1.so', '-o', 'lib/libbaz-3.1.so', 'baz.c']);
  const program = (name: string, calls: string[], libs: string[]): ElfFile => {
    write(dir, `${name}.c`, `${calls.map((c) => `int ${c}(void);`).join('\n')}\nint main(void) { return ${calls.map((c) => `${c}()`).join(' + ')} == 0; }\n`);
    // --no-as-needed: keep a DT_NEEDED entry even for a library no symbol is taken from.
    cc(dir, ['-o', name, `${name}.c`, '-Llib', '-Wl,--no-as-needed', ...libs.map((l) => `-l:${l}`)]);
    return readElf(join(dir, name));
  };
  const onlyA = program('only-a', ['foo_a'], ['libfoo.so.1']);
  const aAndB = program('a-and-b', ['foo_a', 'foo_b'], ['libfoo.so.1']);
  const onlyC = program('only-c', ['foo_c'], ['libfoo.so.1']);
  const secret = program('secret', ['foo_secret'], ['libfoo.so.1']);
  const others = program('others', ['bar', 'baz'], ['libbar.so.2', 'libbaz-3.1.so']);
  const noFoo = program('no-foo-symbol', ['bar'], ['libbar.so.2', 'libfoo.so.1']);

  const admin = join(dir, 'dpkg');
  write(admin, 'info/libfoo1:amd64.list', `${join(dir, 'lib')}\n${join(dir, 'lib/libfoo.so.1')}\n`);
  write(
    admin,
    'info/libfoo1:amd64.symbols',
    [
      'libfoo.so.1 libfoo1 (>= 0.5) #MINVER#',
      '| libfoo1-private (>> 9)',
      '* Build-Depends-Package: libfoo-dev',
      ' (c++)"foo::thing()@FOO_2" 7.0',
      ' foo_a@FOO_1 0.1',
      ' foo_b@FOO_2 2.0~rc1',
      ' (symver)FOO_2 1.5',
      ' foo_secret@FOO_1 0 1',
      '',
    ].join('\n'),
  );
  write(admin, 'info/libfoo1:amd64.shlibs', 'libfoo 1 libfoo1 (>= 0.9)\n');
  write(admin, 'info/libbar2.list', `${join(dir, 'lib/libbar.so.2')}\n`);
  write(admin, 'info/libbar2.shlibs', 'udeb: libbar 2 libbar2-udeb (>= 2.2-1)\nlibbar 2 libbar2 (>= 2.2-1)\n');
  write(admin, 'info/libbaz3:amd64.list', `${join(dir, 'lib/libbaz-3.1.so')}\n`);
  const db = new DpkgDb(admin);
  const searchPath = [...librarySearchPath(), join(dir, 'lib')];
  // This database knows nothing of libc: count it as shipped.
  const depends = (elfs: ElfFile[]): string[] => formatDepends(computeDepends(elfs, { db, searchPath, provided: ['libc.so.6'] }));

  it('takes the highest minimum version over the symbols used, raised to the template version', () => {
    expect(onlyA.imports).toContainEqual({ name: 'foo_a', version: 'FOO_1', weak: false });
    expect(depends([onlyA])).toEqual(['libfoo1 (>= 0.5)']);
    expect(depends([aAndB])).toEqual(['libfoo1 (>= 2.0~rc1)']);
    // foo_c has no line of its own: the (symver)FOO_2 line covers it.
    expect(depends([onlyC])).toEqual(['libfoo1 (>= 1.5)']);
    // Over several ELFs, one entry per package with the highest minimum.
    expect(depends([onlyA, onlyC, aAndB])).toEqual(['libfoo1 (>= 2.0~rc1)']);
  });

  it('falls back to the shlibs line, then to the bare package, and sorts by package', () => {
    // libfoo.so.1 is needed, but no symbol it lists is used: the shlibs line decides.
    expect(noFoo.needed).toContain('libfoo.so.1');
    expect(depends([noFoo])).toEqual(['libbar2 (>= 2.2-1)', 'libfoo1 (>= 0.9)']);
    // libbaz-3.1.so: a package with neither file; its :arch qualifier is not part of the dependency.
    expect(depends([others])).toEqual(['libbar2 (>= 2.2-1)', 'libbaz3']);
    expect(depends([others, onlyA, noFoo])).toEqual(['libbar2 (>= 2.2-1)', 'libbaz3', 'libfoo1 (>= 0.9)']);
  });

  it('refuses a dependency template it cannot write as package (>= version)', () => {
    const e = caught(() => depends([secret]));
    expect(e.message).toMatch(/libfoo1-private \(>> 9\)/);
    expect(e.message).toMatch(/libfoo\.so\.1/);
    expect(e.hint).toMatch(/by hand/);
  });
});

describe('computeDepends on system binaries', () => {
  // Their packages were built with dpkg-shlibdeps: what it found is in their Depends and Pre-Depends.
  const binaries = ['/usr/bin/python3.11', '/usr/bin/gdb', '/usr/bin/readelf'].filter((b) => existsSync(b));
  it.each(binaries)('%s: every dependency we find is declared by its package, at most at the declared version', (bin) => {
    // /usr/bin/readelf is a link: the ELF belongs to the package of its target.
    const owner = run('dpkg', ['-S', realpathSync(bin)]).split(': ')[0]!;
    const declared = new Map<string, string | undefined>();
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    const fields = run('dpkg-query', ['-W', '-f', '${Depends}, ${Pre-Depends}', owner]);
    for (const part of fields.split(',')) {
      // `(>= v)` from dpkg-shlibdeps, or `(= v)` where the source package pins its own libraries.
      const m = /^\s*([a-z0-9][a-z0-9+.-]*)(?::\S+)?\s*(?:\((?:>=|=) ([^)]+)\))?/.exec(part);
      if (m) declared.set(m[1]!, m[2]);
    }
    const ours = computeDepends([readElf(bin)]);
    expect(ours.map((d) => d.package)).toContain('libc6');
    for (const d of ours) {
      expect(declared.has(d.package), `${d.package} in ${fields}`).toBe(true);
      const theirs = declared.get(d.package);
      if (d.minVersion !== undefined) {
        expect(theirs, `${owner} declares ${d.package} without a version`).toBeDefined();
        expect(dpkgCompare(d.minVersion, theirs!), `${d.package}: ours ${d.minVersion}, theirs ${theirs}`).toBeLessThanOrEqual(0);
      }
    }
  });
});
