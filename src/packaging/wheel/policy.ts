/**
 * The manylinux platform tag of a wheel, derived from the ELF files it ships,
 * and the checks that decide whether the wheel may carry one at all.
 *
 * PEP 600: `manylinux_X_Y_<machine>` promises the wheel works on any Linux
 * with glibc >= X.Y, given the libraries and symbol versions the policy for
 * X.Y allows. Those policies are the manylinux maintainers' (pypa/auditwheel,
 * `src/auditwheel/policy/manylinux-policy.json`, read 2026-11-30 at commit
 * 86154d1): the table below restates them as facts, for the machines
 * pyston-build builds for. auditwheel itself is neither packaged in Debian
 * nor reachable here, and pyston-build does not repair wheels: a file that
 * breaks the policy fails the build with what to change.
 *
 * The tag is the lowest known policy that allows everything every file
 * needs: the GLIBC_ versions (so the tag comes from what the files need, not
 * from the build machine's glibc), the GLIBCXX_, CXXABI_, GCC_ and
 * LIBATOMIC_ versions, and the libraries. Policies only grow, so that is the
 * highest of the lowest policies each single need admits.
 *
 * Where pyston-build is stricter than the published policy:
 *   - libz.so.1: auditwheel allows it since 2021 (with caps on its ZLIB_
 *     versions); pyston-build does not, so a wheel never depends on a
 *     system zlib's ABI. Link zlib statically or vendor it.
 *   - versions are compared with the policy's newest version of each family
 *     (the policy lists every version; a library never defines one in a
 *     gap, so for real files the two agree), and the tag-like versions
 *     (CXXABI_TM_1, CXXABI_FLOAT128, GLIBC_ABI_DT_RELR) by the policy that
 *     first lists them on x86_64.
 * libcrypt.so.1 is not allowed: auditwheel removed it in 2019, once
 * distributions moved to libxcrypt's libcrypt.so.2.
 */
import { posix } from 'node:path';
import { compareParts, maxGlibcVersion, stackPolicy, type ElfFile } from '../../elf/reader.js';
import { ARCH_NAMES, ARCHES, type Arch } from '../../debian/arch.js';
import { TaskFailure } from '../../graph/errors.js';

/** A machine as a wheel's platform tag spells it (`uname -m`). */
export type WheelMachine = 'x86_64' | 'aarch64' | 'ppc64le' | 's390x' | 'riscv64';

const MACHINES: Record<Arch, WheelMachine> = { amd64: 'x86_64', arm64: 'aarch64', ppc64el: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** The wheel platform machine of a dpkg architecture: amd64 -> x86_64, arm64 -> aarch64, ppc64el -> ppc64le. */
export function machineOf(arch: Arch): WheelMachine {
  return MACHINES[arch];
}

export interface PolicyInput {
  /** The file's path inside the wheel, e.g. `pyston_lite.cpython-38-x86_64-linux-gnu.so`. */
  readonly path: string;
  readonly elf: ElfFile;
}

export interface PolicyResult {
  /** The PEP 600 tag: `manylinux_2_17_x86_64`. */
  readonly platform: string;
  /** The PEP 600 tag, then its legacy alias when it has one (`manylinux2014_x86_64`). */
  readonly platformTags: string[];
  /** The highest GLIBC_x.y any file needs (`GLIBC_2.17`), null when none needs one. */
  readonly glibc: string | null;
  /** Each file's DT_NEEDED, by its path in the wheel. */
  readonly needed: Record<string, string[]>;
  /** The highest version needed of each checked family over all files: `{ GLIBC: 'GLIBC_2.17', GCC: 'GCC_3.0' }`. */
  readonly versions: Record<string, string>;
}

/** One or more files break the manylinux policy; `violations` lists each, naming the file and what it needs. */
export class PolicyViolation extends TaskFailure {
  constructor(
    readonly violations: readonly string[],
    hint: string,
  ) {
    super(violations.length === 1 ? `manylinux policy: ${violations[0]}` : `manylinux policy: ${violations.length} violations: ${violations.join('; ')}`, hint);
  }
}

// ---------------------------------------------------------------------------
// The policies (facts from auditwheel's manylinux-policy.json, see above)

type Family = 'GLIBC' | 'CXXABI' | 'GLIBCXX' | 'GCC' | 'LIBATOMIC';
const FAMILIES: readonly Family[] = ['GLIBC', 'CXXABI', 'GLIBCXX', 'GCC', 'LIBATOMIC'];

/**
 * Per policy and machine, the newest version allowed of each family, in the
 * order of {@link FAMILIES}; `-` for a family the policy allows no version
 * of. A machine a policy does not list cannot have that tag (aarch64 starts
 * at manylinux_2_17, riscv64 at manylinux_2_31).
 */
const POLICIES: readonly { glibc: readonly [number, number]; alias?: string; max: Partial<Record<WheelMachine, string>> }[] = [
  { glibc: [2, 5], alias: 'manylinux1', max: { x86_64: '2.5 1.3.1 3.4.8 4.2.0 -' } },
  { glibc: [2, 12], alias: 'manylinux2010', max: { x86_64: '2.12 1.3.3 3.4.13 4.3.0 -' } },
  {
    glibc: [2, 17],
    alias: 'manylinux2014',
    // aarch64's glibc 2.17 already defines some GLIBC_2.18 symbols.
    max: { x86_64: '2.17 1.3.7 3.4.19 4.8.0 -', aarch64: '2.18 1.3.7 3.4.19 4.7.0 1.0', ppc64le: '2.17 1.3.7 3.4.19 4.7.0 1.0', s390x: '2.17 1.3.7 3.4.19 4.7.0 -' },
  },
  { glibc: [2, 24], max: { x86_64: '2.24 1.3.10 3.4.22 4.8.0 1.2', aarch64: '2.24 1.3.10 3.4.22 4.7.0 1.2', ppc64le: '2.24 1.3.10 3.4.22 4.7.0 1.2', s390x: '2.24 1.3.10 3.4.22 4.7.0 1.2' } },
  { glibc: [2, 26], max: { x86_64: '2.26 1.3.10 3.4.22 4.8.0 1.2', aarch64: '2.26 1.3.11 3.4.24 7.0.0 1.2', ppc64le: '2.26 1.3.11 3.4.24 7.0.0 1.2', s390x: '2.26 1.3.11 3.4.24 7.0.0 1.2' } },
  { glibc: [2, 27], max: { x86_64: '2.27 1.3.11 3.4.24 7.0.0 1.2', aarch64: '2.27 1.3.11 3.4.24 7.0.0 1.2', ppc64le: '2.27 1.3.11 3.4.24 7.0.0 1.2', s390x: '2.27 1.3.11 3.4.24 7.0.0 1.2' } },
  { glibc: [2, 28], max: { x86_64: '2.28 1.3.11 3.4.24 7.0.0 1.2', aarch64: '2.28 1.3.11 3.4.24 7.0.0 1.2', ppc64le: '2.28 1.3.11 3.4.24 7.0.0 1.2', s390x: '2.28 1.3.11 3.4.24 7.0.0 1.2' } },
  {
    glibc: [2, 31],
    max: {
      x86_64: '2.31 1.3.12 3.4.28 7.0.0 1.2',
      aarch64: '2.31 1.3.12 3.4.28 7.0.0 1.2',
      ppc64le: '2.31 1.3.12 3.4.28 7.0.0 1.2',
      s390x: '2.31 1.3.12 3.4.28 7.0.0 1.2',
      riscv64: '2.31 1.3.12 3.4.28 7.0.0 1.2',
    },
  },
  {
    glibc: [2, 34],
    max: {
      x86_64: '2.34 1.3.13 3.4.29 7.0.0 1.2',
      aarch64: '2.34 1.3.13 3.4.29 11.0 1.2',
      ppc64le: '2.34 1.3.13 3.4.29 7.0.0 1.2',
      s390x: '2.34 1.3.13 3.4.29 7.0.0 1.2',
      riscv64: '2.34 1.3.13 3.4.29 7.0.0 1.2',
    },
  },
  {
    glibc: [2, 35],
    max: {
      x86_64: '2.35 1.3.13 3.4.30 12.0.0 1.2',
      aarch64: '2.35 1.3.13 3.4.30 11.0 1.2',
      ppc64le: '2.35 1.3.13 3.4.30 7.0.0 1.2',
      s390x: '2.35 1.3.13 3.4.30 7.0.0 1.2',
      riscv64: '2.35 1.3.13 3.4.30 7.0.0 1.2',
    },
  },
  {
    glibc: [2, 36],
    max: {
      x86_64: '2.36 1.3.13 3.4.30 12.0.0 1.2',
      aarch64: '2.36 1.3.13 3.4.30 11.0 1.2',
      ppc64le: '2.36 1.3.13 3.4.30 7.0.0 1.2',
      s390x: '2.36 1.3.13 3.4.30 7.0.0 1.2',
      riscv64: '2.36 1.3.13 3.4.30 7.0.0 1.2',
    },
  },
  {
    glibc: [2, 37],
    // glibc 2.37 added no GLIBC_2.37 symbols on these machines but riscv64.
    max: {
      x86_64: '2.36 1.3.13 3.4.30 12.0.0 1.2',
      aarch64: '2.36 1.3.13 3.4.30 11.0 1.2',
      ppc64le: '2.36 1.3.13 3.4.30 7.0.0 1.2',
      s390x: '2.36 1.3.13 3.4.30 7.0.0 1.2',
      riscv64: '2.37 1.3.13 3.4.30 7.0.0 1.2',
    },
  },
  {
    glibc: [2, 38],
    max: {
      x86_64: '2.38 1.3.13 3.4.30 12.0.0 1.2',
      aarch64: '2.38 1.3.13 3.4.30 11.0 1.2',
      ppc64le: '2.38 1.3.13 3.4.30 7.0.0 1.2',
      s390x: '2.38 1.3.13 3.4.30 7.0.0 1.2',
      riscv64: '2.38 1.3.13 3.4.30 7.0.0 1.2',
    },
  },
  {
    glibc: [2, 39],
    max: {
      x86_64: '2.39 1.3.15 3.4.33 14.0.0 1.2',
      aarch64: '2.39 1.3.15 3.4.33 14.0.0 1.2',
      ppc64le: '2.39 1.3.15 3.4.33 14.0.0 1.2',
      s390x: '2.39 1.3.15 3.4.33 14.0.0 1.2',
      riscv64: '2.39 1.3.15 3.4.33 14.0.0 1.2',
    },
  },
  {
    glibc: [2, 40],
    max: {
      x86_64: '2.40 1.3.15 3.4.33 14.0.0 1.2',
      aarch64: '2.40 1.3.15 3.4.33 14.0.0 1.2',
      ppc64le: '2.40 1.3.15 3.4.33 14.0.0 1.2',
      s390x: '2.40 1.3.15 3.4.33 14.0.0 1.2',
      riscv64: '2.40 1.3.15 3.4.33 14.0.0 1.2',
    },
  },
  {
    glibc: [2, 41],
    max: {
      x86_64: '2.41 1.3.15 3.4.33 14.0.0 1.2',
      aarch64: '2.41 1.3.15 3.4.33 14.0.0 1.2',
      ppc64le: '2.41 1.3.15 3.4.33 14.0.0 1.2',
      s390x: '2.41 1.3.15 3.4.33 14.0.0 1.2',
      riscv64: '2.41 1.3.15 3.4.33 14.0.0 1.2',
    },
  },
];

/** Versions that are names rather than numbers, with the first policy (its glibc minor) that allows them. */
const NAMED_VERSIONS: Readonly<Record<string, number>> = { CXXABI_TM_1: 17, CXXABI_FLOAT128: 24, GLIBC_ABI_DT_RELR: 36 };

/** The libraries every policy allows, all of them parts of glibc, GCC's runtime or the desktop stack every distribution has. */
const LIBRARIES: readonly string[] = [
  'libc.so.6',
  'libm.so.6',
  'libdl.so.2',
  'librt.so.1',
  'libpthread.so.0',
  'libutil.so.1',
  'libnsl.so.1',
  'libresolv.so.2',
  'libanl.so.1',
  'libgcc_s.so.1',
  'libstdc++.so.6',
  'libatomic.so.1',
  'libX11.so.6',
  'libXext.so.6',
  'libXrender.so.1',
  'libICE.so.6',
  'libSM.so.6',
  'libGL.so.1',
  'libgobject-2.0.so.0',
  'libgthread-2.0.so.0',
  'libglib-2.0.so.0',
];
/** Libraries allowed from a policy on (its glibc minor). */
const LATER_LIBRARIES: Readonly<Record<string, number>> = { 'libexpat.so.1': 12, 'libmvec.so.1': 24 };

/** The dynamic loader: part of glibc, named in DT_NEEDED by files that use its symbols. */
const LOADERS: Record<WheelMachine, string> = {
  x86_64: 'ld-linux-x86-64.so.2',
  aarch64: 'ld-linux-aarch64.so.1',
  ppc64le: 'ld64.so.2',
  s390x: 'ld64.so.1',
  riscv64: 'ld-linux-riscv64-lp64d.so.1',
};

/**
 * glibc 2.18 symbols that aarch64's manylinux_2_17 admits by version (its
 * glibc 2.17 defines GLIBC_2.18) though no glibc 2.17 has them: they need
 * manylinux_2_24.
 */
const GLIBC_2_18_SYMBOLS = new Set(['__cxa_thread_atexit_impl', '__issignaling', '__issignalingf', '__issignalingl', 'pthread_getattr_default_np', 'pthread_setattr_default_np']);

const NEWEST = POLICIES.length - 1;

function tagOf(index: number, machine: WheelMachine): string {
  const [x, y] = POLICIES[index]!.glibc;
  return `manylinux_${x}_${y}_${machine}`;
}

function policyAt(minor: number): number {
  return POLICIES.findIndex((p) => p.glibc[1] >= minor);
}

function parts(v: string): number[] {
  return v.split('.').map(Number);
}

function maxima(index: number, machine: WheelMachine): Record<Family, string> | undefined {
  const row = POLICIES[index]!.max[machine];
  if (!row) return undefined;
  const cols = row.split(' ');
  return Object.fromEntries(FAMILIES.map((f, i) => [f, cols[i]!])) as Record<Family, string>;
}

/** The lowest policy index from `from` on whose maxima admit `ok`, or -1. */
function lowest(machine: WheelMachine, from: number, ok: (max: Record<Family, string>) => boolean): number {
  for (let i = Math.max(0, from); i < POLICIES.length; i++) {
    const m = maxima(i, machine);
    if (m && ok(m)) return i;
  }
  return -1;
}

const VERSION = /^(GLIBC|GLIBCXX|CXXABI|GCC|LIBATOMIC)_(.+)$/;
const NUMBER = /^\d+(?:\.\d+)*$/;
/** ppc64le's and s390x's long double and IEEE 128 variants: `GLIBCXX_LDBL_3.4.21`, ruled by the family's number. */
const VARIANT = /^(?:LDBL|IEEE128)_(\d+(?:\.\d+)*)$/;

// ---------------------------------------------------------------------------
// The check

interface Problem {
  readonly text: string;
  readonly kind: 'library' | 'version' | 'rpath' | 'stack' | 'machine';
}

const HINTS: Record<Problem['kind'], string> = {
  library: 'link the library statically or vendor it into the wheel next to the module (pyston-build does not repair wheels)',
  version: 'build against an older glibc and toolchain, or stop using the symbol',
  rpath: "link with no RPATH/RUNPATH, or only '$ORIGIN'-relative entries that stay inside the wheel",
  stack: 'link with -Wl,-z,noexecstack and check that every assembly file has a .note.GNU-stack section',
  machine: "build the files for the wheel's machine",
};

/**
 * The manylinux tag of a wheel holding `files` for `machine`, or a
 * {@link PolicyViolation} listing everything that keeps it from having one.
 */
export function manylinuxPolicy(files: readonly PolicyInput[], machine: WheelMachine): PolicyResult {
  const problems: Problem[] = [];
  const needed: Record<string, string[]> = {};
  const versions: Record<string, string> = {};
  const base = lowest(machine, 0, () => true);
  if (base < 0) throw new PolicyViolation([`no manylinux policy pyston-build knows covers machine '${machine}'`], `build wheels for one of: ${[...new Set(Object.values(MACHINES))].join(', ')}`);
  let chosen = base;
  const need = (index: number, text: string): void => {
    if (index < 0) problems.push({ text, kind: 'version' });
    else chosen = Math.max(chosen, index);
  };
  const elfMachine = ARCHES[ARCH_NAMES.find((a) => MACHINES[a] === machine)!].elfMachine;

  for (const { path, elf } of files) {
    needed[path] = [...elf.needed];
    if (elf.machine !== elfMachine) problems.push({ text: `${path} is built for ELF machine ${elf.machine}, not ${machine} (${elfMachine})`, kind: 'machine' });

    for (const lib of elf.needed) {
      if (LIBRARIES.includes(lib) || lib === LOADERS[machine]) continue;
      const from = LATER_LIBRARIES[lib];
      if (from !== undefined) need(policyAt(from), `${path} needs ${lib}`);
      else problems.push({ text: `${path} needs ${lib}, which is not in the manylinux policy's libraries`, kind: 'library' });
    }

    for (const v of new Set(elf.versionNeeds.flatMap((n) => n.versions))) {
      const m = VERSION.exec(v);
      if (!m) continue;
      const family = m[1] as Family;
      const rest = m[2]!;
      if (v === 'GLIBC_PRIVATE') {
        const users = elf.imports.filter((s) => s.version === v).map((s) => s.name);
        problems.push({ text: `${path} needs GLIBC_PRIVATE${users.length ? ` (${users.join(', ')})` : ''}, which no policy allows: glibc's private symbols change between releases`, kind: 'version' });
        continue;
      }
      const number = NUMBER.test(rest) ? rest : VARIANT.exec(rest)?.[1];
      if (number !== undefined) {
        if (number === rest) {
          const prev = versions[family];
          if (prev === undefined || compareParts(parts(number), parts(prev.slice(family.length + 1))) > 0) versions[family] = v;
        }
        need(
          lowest(machine, base, (max) => max[family] !== '-' && compareParts(parts(number), parts(max[family])) <= 0),
          `${path} needs ${v}, newer than the newest manylinux policy pyston-build knows (${tagOf(NEWEST, machine)}) allows`,
        );
      } else if (NAMED_VERSIONS[v] !== undefined) {
        need(policyAt(NAMED_VERSIONS[v]), `${path} needs ${v}`);
      } else {
        problems.push({ text: `${path} needs ${v}, a version no manylinux policy lists`, kind: 'version' });
      }
    }

    for (const s of elf.imports) {
      if (GLIBC_2_18_SYMBOLS.has(s.name) && s.version?.startsWith('GLIBC_')) need(policyAt(18), `${path} needs ${s.name}@${s.version}`);
    }

    problems.push(...rpathProblems(path, elf));

    const stack = stackPolicy(elf);
    if (stack === 'executable') problems.push({ text: `${path} asks for an executable stack (PT_GNU_STACK has PF_X)`, kind: 'stack' });
    else if (stack === 'missing') problems.push({ text: `${path} has no PT_GNU_STACK segment, so the loader may make the stack executable`, kind: 'stack' });
  }

  if (problems.length > 0) {
    const hints = [...new Set(problems.map((p) => HINTS[p.kind]))];
    throw new PolicyViolation(
      problems.map((p) => p.text),
      hints.join('; '),
    );
  }
  const platform = tagOf(chosen, machine);
  const alias = POLICIES[chosen]!.alias;
  return {
    platform,
    platformTags: alias ? [platform, `${alias}_${machine}`] : [platform],
    glibc: maxGlibcVersion(...files.map((f) => f.elf)) ?? null,
    needed,
    versions,
  };
}

/**
 * RPATH and RUNPATH entries must name directories inside the wheel: each is
 * `$ORIGIN` (or `${ORIGIN}`), optionally followed by a relative path that
 * does not climb above the wheel's root from the file's directory. Anything
 * else reads libraries from the machine the wheel is installed on (an
 * absolute path), from the working directory (a relative path, an empty
 * entry), or from a place the loader picks ($LIB, $PLATFORM).
 */
function rpathProblems(path: string, elf: ElfFile): Problem[] {
  const out: Problem[] = [];
  const dir = posix.dirname(posix.normalize(path));
  for (const [tag, value] of [
    ['RPATH', elf.rpath],
    ['RUNPATH', elf.runpath],
  ] as const) {
    if (value === undefined) continue;
    for (const entry of value.split(':')) {
      const m = /^\$(?:ORIGIN|\{ORIGIN\})(\/.*)?$/.exec(entry);
      let bad: string | undefined;
      if (!m) bad = entry === '' ? 'an empty entry means the working directory' : entry.startsWith('/') ? 'an absolute path outside the wheel' : 'not relative to $ORIGIN';
      else if (m[1]?.includes('$')) bad = 'a loader variable besides $ORIGIN';
      else if (posix.normalize(posix.join(dir, m[1] ?? '')).split('/')[0] === '..') bad = "it climbs out of the wheel's root";
      if (bad) out.push({ text: `${path} has ${tag} entry '${entry}': ${bad}`, kind: 'rpath' });
    }
  }
  return out;
}
