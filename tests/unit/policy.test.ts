/**
 * The manylinux policy check on real shared objects built here with gcc and
 * g++ (glibc 2.36, x86_64), cross-checked with readelf where the expected
 * tag follows from what the file needs.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readElf, PT_GNU_STACK, type ElfFile } from '../../src/elf/reader.js';
import { ARCH_NAMES, hostArch } from '../../src/debian/arch.js';
import { machineOf, manylinuxPolicy, PolicyViolation, type PolicyInput } from '../../src/packaging/wheel/policy.js';
import { TaskFailure } from '../../src/graph/errors.js';
import { tmpProject, write } from '../helpers.js';

function compile(cwd: string, tool: 'gcc' | 'g++', out: string, args: string[]): string {
  const r = spawnSync(tool, ['-shared', '-fPIC', '-O2', '-o', out, ...args], { cwd, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return join(cwd, out);
}

function readelf(args: string[]): string {
  const r = spawnSync('readelf', ['-W', ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** The version names a file needs, as `readelf -V` lists them under .gnu.version_r. */
function neededVersions(file: string): string[] {
  const out = readelf(['-V', file]);
  const section = out.slice(out.indexOf('.gnu.version_r'));
  return [...section.matchAll(/Name: (\S+)/g)].map((m) => m[1]!);
}

/** The highest version of a family by number, from readelf's list. */
function highest(names: string[], family: string): string | undefined {
  const nums = names
    .filter((n) => new RegExp(`^${family}_\\d`).test(n))
    .map((n) => ({
      n,
      p: n
        .slice(family.length + 1)
        .split('.')
        .map(Number),
    }));
  nums.sort((a, b) => {
    for (let i = 0; i < Math.max(a.p.length, b.p.length); i++) if ((a.p[i] ?? 0) !== (b.p[i] ?? 0)) return (a.p[i] ?? 0) - (b.p[i] ?? 0);
    return 0;
  });
  return nums.at(-1)?.n;
}

function violation(files: PolicyInput[], machine = machineOf(hostArch()!)): PolicyViolation {
  try {
    manylinuxPolicy(files, machine);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyViolation);
    return e as PolicyViolation;
  }
  throw new Error('expected a PolicyViolation');
}

/** A file that needs exactly these versions from libc, otherwise the real `base`. */
function needing(base: ElfFile, versions: string[], extra: Partial<ElfFile> = {}): ElfFile {
  return { ...base, versionNeeds: [{ file: 'libc.so.6', versions }], ...extra };
}

describe('manylinuxPolicy', () => {
  // The tags below are x86_64's; this is the machine the project builds on.
  const machine = machineOf(hostArch()!);
  const dir = tmpProject('pb-policy-');
  write(dir, 'hypot.c', '#include <math.h>\ndouble f(double a, double b) { return hypot(a, b); }\n');
  write(dir, 'plain.c', '#include <string.h>\nint f(const char *s) { return (int)strlen(s); }\n');
  write(dir, 'pure.c', 'int f(int x) { return x + 1; }\n');
  write(dir, 'z.c', '#include <zlib.h>\nconst char *f(void) { return zlibVersion(); }\n');
  write(dir, 'priv.c', 'extern void *_dl_allocate_tls(void *);\nvoid *f(void) { return _dl_allocate_tls(0); }\n');
  write(dir, 'cxx.cc', '#include <string>\nstd::string f(const char *s) { return std::string(s) + "!"; }\n');
  const hypot = compile(dir, 'gcc', 'hypot.so', ['hypot.c', '-lm']);
  const plain = compile(dir, 'gcc', 'plain.so', ['plain.c']);
  const pure = compile(dir, 'gcc', 'pure.so', ['pure.c']);
  const zlib = compile(dir, 'gcc', 'z.so', ['z.c', '-lz']);
  const priv = compile(dir, 'gcc', 'priv.so', ['priv.c', '/lib64/ld-linux-x86-64.so.2']);
  const cxx = compile(dir, 'g++', 'cxx.so', ['cxx.cc']);
  const runpathAbs = compile(dir, 'gcc', 'runpath-abs.so', ['plain.c', '-Wl,--enable-new-dtags,-rpath,/usr/local/lib']);
  const rpathAbs = compile(dir, 'gcc', 'rpath-abs.so', ['plain.c', '-Wl,--disable-new-dtags,-rpath,/usr/local/lib']);
  const origin = compile(dir, 'gcc', 'origin.so', ['plain.c', '-Wl,-rpath,$ORIGIN/lib']);
  const originUp = compile(dir, 'gcc', 'origin-up.so', ['plain.c', '-Wl,-rpath,$ORIGIN/../pkg.libs']);
  const execstack = compile(dir, 'gcc', 'execstack.so', ['plain.c', '-Wl,-z,execstack']);
  const everything = compile(dir, 'gcc', 'everything.so', ['z.c', '-lz', '-Wl,-z,execstack,-rpath,/opt/z/lib']);

  it('tags a module whose newest symbol is hypot@GLIBC_2.35 manylinux_2_35, from what it needs, not the build machine glibc 2.36', () => {
    const names = neededVersions(hypot);
    expect(highest(names, 'GLIBC')).toBe('GLIBC_2.35');
    expect(readelf(['--dyn-syms', hypot])).toMatch(/UND hypot@GLIBC_2\.35/);
    const r = manylinuxPolicy([{ path: 'pyston_lite.cpython-38-x86_64-linux-gnu.so', elf: readElf(hypot) }], machine);
    expect(r).toEqual({
      platform: 'manylinux_2_35_x86_64',
      platformTags: ['manylinux_2_35_x86_64'],
      glibc: 'GLIBC_2.35',
      needed: { 'pyston_lite.cpython-38-x86_64-linux-gnu.so': ['libm.so.6'] },
      versions: { GLIBC: 'GLIBC_2.35' },
    });
  });

  it('tags a module without libm, needing only GLIBC_2.2.5, manylinux_2_5 alias manylinux1; one needing nothing too', () => {
    expect(neededVersions(plain)).toEqual(['GLIBC_2.2.5']);
    const r = manylinuxPolicy([{ path: 'm.so', elf: readElf(plain) }], machine);
    expect(r.platform).toBe('manylinux_2_5_x86_64');
    expect(r.platformTags).toEqual(['manylinux_2_5_x86_64', 'manylinux1_x86_64']);
    expect(r.glibc).toBe('GLIBC_2.2.5');
    expect(r.needed).toEqual({ 'm.so': ['libc.so.6'] });
    expect(neededVersions(pure)).toEqual([]);
    const none = manylinuxPolicy([{ path: 'p.so', elf: readElf(pure) }], machine);
    expect(none.platform).toBe('manylinux_2_5_x86_64');
    expect(none.glibc).toBeNull();
    expect(none.versions).toEqual({});
  });

  it('takes the highest need over all files', () => {
    const r = manylinuxPolicy(
      [
        { path: 'a.so', elf: readElf(plain) },
        { path: 'pkg/b.so', elf: readElf(hypot) },
      ],
      machine,
    );
    expect(r.platform).toBe('manylinux_2_35_x86_64');
    expect(r.needed).toEqual({ 'a.so': ['libc.so.6'], 'pkg/b.so': ['libm.so.6'] });
  });

  it("raises the tag for libstdc++'s versions: GLIBC_2.14 alone is manylinux_2_17, GLIBCXX_3.4.21 and CXXABI_1.3.9 need manylinux_2_24", () => {
    const names = neededVersions(cxx);
    expect(highest(names, 'GLIBC')).toBe('GLIBC_2.14');
    expect(highest(names, 'GLIBCXX')).toBe('GLIBCXX_3.4.21');
    expect(highest(names, 'CXXABI')).toBe('CXXABI_1.3.9');
    expect(highest(names, 'GCC')).toBe('GCC_3.0');
    const r = manylinuxPolicy([{ path: 'cxx.so', elf: readElf(cxx) }], machine);
    expect(r.platform).toBe('manylinux_2_24_x86_64');
    expect(r.platformTags).toEqual(['manylinux_2_24_x86_64']);
    expect(r.glibc).toBe('GLIBC_2.14');
    expect(r.versions).toEqual({ GLIBC: 'GLIBC_2.14', GLIBCXX: 'GLIBCXX_3.4.21', CXXABI: 'CXXABI_1.3.9', GCC: 'GCC_3.0' });
    expect(r.needed['cxx.so']).toEqual(['libstdc++.so.6', 'libgcc_s.so.1', 'libc.so.6']);
  });

  it('maps glibc floors to the lowest known policy, with the legacy aliases of 2_17, 2_12 and 2_5', () => {
    const base = readElf(plain);
    const tags = (versions: string[]) => manylinuxPolicy([{ path: 'm.so', elf: needing(base, versions) }], 'x86_64').platformTags;
    expect(tags(['GLIBC_2.2.5', 'GLIBC_2.17'])).toEqual(['manylinux_2_17_x86_64', 'manylinux2014_x86_64']);
    expect(tags(['GLIBC_2.14'])).toEqual(['manylinux_2_17_x86_64', 'manylinux2014_x86_64']);
    expect(tags(['GLIBC_2.12'])).toEqual(['manylinux_2_12_x86_64', 'manylinux2010_x86_64']);
    expect(tags(['GLIBC_2.3.4'])).toEqual(['manylinux_2_5_x86_64', 'manylinux1_x86_64']);
    expect(tags(['GLIBC_2.29'])).toEqual(['manylinux_2_31_x86_64']);
    expect(tags(['GLIBC_2.36'])).toEqual(['manylinux_2_36_x86_64']);
    // glibc's DT_RELR marker first appears in manylinux_2_36.
    expect(tags(['GLIBC_2.2.5', 'GLIBC_ABI_DT_RELR'])).toEqual(['manylinux_2_36_x86_64']);
    // GCC's libatomic has no versions allowed before manylinux_2_24 on x86_64.
    expect(manylinuxPolicy([{ path: 'm.so', elf: { ...base, needed: ['libatomic.so.1'], versionNeeds: [{ file: 'libatomic.so.1', versions: ['LIBATOMIC_1.0'] }] } }], 'x86_64').platform).toBe(
      'manylinux_2_24_x86_64',
    );
    // libexpat is in the policies from manylinux_2_12 on.
    expect(manylinuxPolicy([{ path: 'm.so', elf: { ...base, needed: ['libexpat.so.1', 'libc.so.6'] } }], 'x86_64').platform).toBe('manylinux_2_12_x86_64');
  });

  it('fails on a version newer than every known policy, naming it and the newest policy', () => {
    const e = violation([{ path: 'm.so', elf: needing(readElf(plain), ['GLIBC_2.42']) }]);
    expect(e.message).toBe('manylinux policy: m.so needs GLIBC_2.42, newer than the newest manylinux policy pyston-build knows (manylinux_2_41_x86_64) allows');
    const cxxNew = violation([{ path: 'c.so', elf: { ...readElf(cxx), versionNeeds: [{ file: 'libstdc++.so.6', versions: ['GLIBCXX_3.4.34'] }] } }]);
    expect(cxxNew.violations).toEqual(['c.so needs GLIBCXX_3.4.34, newer than the newest manylinux policy pyston-build knows (manylinux_2_41_x86_64) allows']);
  });

  it('fails on a library outside the policy, linked for real (libz.so.1), naming it and the file', () => {
    expect(readelf(['-d', zlib])).toMatch(/NEEDED\)\s+Shared library: \[libz\.so\.1\]/);
    const e = violation([{ path: 'pkg/z.so', elf: readElf(zlib) }]);
    expect(e).toBeInstanceOf(TaskFailure);
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe("manylinux policy: pkg/z.so needs libz.so.1, which is not in the manylinux policy's libraries");
    expect(e.hint).toMatch(/link the library statically or vendor it .*pyston-build does not repair wheels/);
    expect(e.message).not.toContain('\n');
    expect(e.hint).not.toContain('\n');
  });

  it('fails on GLIBC_PRIVATE, naming the file, the version and the symbol; the loader itself is an allowed library', () => {
    expect(readelf(['-d', priv])).toMatch(/\[ld-linux-x86-64\.so\.2\]/);
    expect(readelf(['--dyn-syms', priv])).toMatch(/UND _dl_allocate_tls@GLIBC_PRIVATE/);
    const e = violation([{ path: 'priv.so', elf: readElf(priv) }]);
    expect(e.violations).toEqual(["priv.so needs GLIBC_PRIVATE (_dl_allocate_tls), which no policy allows: glibc's private symbols change between releases"]);
  });

  it('fails on an absolute RUNPATH or RPATH entry, naming the entry', () => {
    expect(readelf(['-d', runpathAbs])).toMatch(/\(RUNPATH\)\s+Library runpath: \[\/usr\/local\/lib\]/);
    expect(readelf(['-d', rpathAbs])).toMatch(/\(RPATH\)\s+Library rpath: \[\/usr\/local\/lib\]/);
    expect(violation([{ path: 'a.so', elf: readElf(runpathAbs) }]).violations).toEqual(["a.so has RUNPATH entry '/usr/local/lib': an absolute path outside the wheel"]);
    const e = violation([{ path: 'a.so', elf: readElf(rpathAbs) }]);
    expect(e.violations).toEqual(["a.so has RPATH entry '/usr/local/lib': an absolute path outside the wheel"]);
    expect(e.hint).toContain("'$ORIGIN'-relative");
  });

  it('allows $ORIGIN entries that stay inside the wheel, given where the file is in it', () => {
    expect(readelf(['-d', origin])).toMatch(/Library runpath: \[\$ORIGIN\/lib\]/);
    expect(manylinuxPolicy([{ path: 'm.so', elf: readElf(origin) }], machine).platform).toBe('manylinux_2_5_x86_64');
    // $ORIGIN/../pkg.libs: inside the wheel from pkg/m.so, outside it from a top-level m.so.
    expect(manylinuxPolicy([{ path: 'pkg/m.so', elf: readElf(originUp) }], machine).platform).toBe('manylinux_2_5_x86_64');
    expect(violation([{ path: 'm.so', elf: readElf(originUp) }]).violations).toEqual(["m.so has RUNPATH entry '$ORIGIN/../pkg.libs': it climbs out of the wheel's root"]);
    const base = readElf(plain);
    const entries = (runpath: string) => violation([{ path: 'pkg/m.so', elf: { ...base, runpath } }]).violations;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the loader's ${ORIGIN} token, as a binary holds it
    expect(entries('$ORIGIN:lib::${ORIGIN}/../../x:$ORIGIN/$LIB')).toEqual([
      "pkg/m.so has RUNPATH entry 'lib': not relative to $ORIGIN",
      "pkg/m.so has RUNPATH entry '': an empty entry means the working directory",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the loader's ${ORIGIN} token, named back as is
      "pkg/m.so has RUNPATH entry '${ORIGIN}/../../x': it climbs out of the wheel's root",
      "pkg/m.so has RUNPATH entry '$ORIGIN/$LIB': a loader variable besides $ORIGIN",
    ]);
  });

  it('fails on an executable stack and on a missing PT_GNU_STACK', () => {
    expect(readelf(['-l', execstack])).toMatch(/GNU_STACK(\s+\S+){5}\s+RWE/);
    expect(violation([{ path: 'x.so', elf: readElf(execstack) }]).violations).toEqual(['x.so asks for an executable stack (PT_GNU_STACK has PF_X)']);
    const base = readElf(plain);
    const noStack = { ...base, segments: base.segments.filter((s) => s.type !== PT_GNU_STACK) };
    expect(violation([{ path: 'n.so', elf: noStack }]).violations).toEqual(['n.so has no PT_GNU_STACK segment, so the loader may make the stack executable']);
  });

  it('collects every violation of every file into one failure, one line of message and one of hint', () => {
    const e = violation([
      { path: 'everything.so', elf: readElf(everything) },
      { path: 'pkg/ok.so', elf: readElf(plain) },
      { path: 'priv.so', elf: readElf(priv) },
    ]);
    expect(e.violations).toEqual([
      "everything.so needs libz.so.1, which is not in the manylinux policy's libraries",
      "everything.so has RUNPATH entry '/opt/z/lib': an absolute path outside the wheel",
      'everything.so asks for an executable stack (PT_GNU_STACK has PF_X)',
      "priv.so needs GLIBC_PRIVATE (_dl_allocate_tls), which no policy allows: glibc's private symbols change between releases",
    ]);
    expect(e.message).toBe(`manylinux policy: 4 violations: ${e.violations.join('; ')}`);
    expect(e.message.split('\n')).toHaveLength(1);
    expect(e.hint!.split('; ').length).toBe(4);
  });

  it('knows where each machine starts: aarch64 at manylinux_2_17 (GLIBC_2.18 included), and rejects a file for another machine', () => {
    const base = readElf(plain);
    const arm = (versions: string[], imports: ElfFile['imports'] = []) => ({ ...base, machine: 183, versionNeeds: [{ file: 'libc.so.6', versions }], imports });
    expect(manylinuxPolicy([{ path: 'm.so', elf: arm(['GLIBC_2.17']) }], 'aarch64').platformTags).toEqual(['manylinux_2_17_aarch64', 'manylinux2014_aarch64']);
    expect(manylinuxPolicy([{ path: 'm.so', elf: arm(['GLIBC_2.18']) }], 'aarch64').platform).toBe('manylinux_2_17_aarch64');
    // A symbol glibc 2.17 does not have, though its version is allowed there.
    expect(manylinuxPolicy([{ path: 'm.so', elf: arm(['GLIBC_2.18'], [{ name: '__cxa_thread_atexit_impl', version: 'GLIBC_2.18', weak: true }]) }], 'aarch64').platform).toBe('manylinux_2_24_aarch64');
    expect(manylinuxPolicy([{ path: 'm.so', elf: { ...arm([]), machine: 243 } }], 'riscv64').platform).toBe('manylinux_2_31_riscv64');
    expect(violation([{ path: 'm.so', elf: base }], 'aarch64').violations).toEqual(['m.so is built for ELF machine 62, not aarch64 (183)']);
  });
});

describe('machineOf', () => {
  it("maps every dpkg architecture to the wheel platform's machine", () => {
    expect(Object.fromEntries(ARCH_NAMES.map((a) => [a, machineOf(a)]))).toEqual({ amd64: 'x86_64', arm64: 'aarch64', ppc64el: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' });
  });
});
