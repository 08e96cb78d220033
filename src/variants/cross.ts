/**
 * Cross builds: an interpreter for another architecture than the build
 * machine's (config `arch`), compiled on the build machine with Debian's
 * cross gcc and linked against that architecture's multiarch libraries
 * (`libssl-dev:arm64` ... in /usr/lib/aarch64-linux-gnu). Only what must
 * run on the target runs under emulation (qemu-user through the kernel's
 * binfmt_misc entry): the PGO training, the venv and the probes.
 *
 * As data, pure: the pairs pyston-build can cross-build, the toolchain's
 * tool names, the packages, and the configure arguments. configure cannot
 * run test programs in a cross build, so every probe that would have run
 * one falls back to a guess; the cache variables below replace the guesses
 * that are wrong for Linux/glibc targets with what a native build on that
 * machine finds (checked against a native configure of the same source on
 * x86_64 and against Debian's arm64 python3.11 build flags).
 */
import type { ToolRef } from '../graph/index.js';
import { archInfo, type Arch } from '../debian/arch.js';
import type { Toolchain } from '../llvm/toolchain.js';
import { binfmtEntry as binfmtEntryOf } from '../debian/binfmt.js';

/** Build machine -> the targets pyston-build can cross-build for from it. */
const CROSS_PAIRS: Readonly<Record<string, readonly Arch[]>> = { amd64: ['arm64'] };

/** Can pyston-build cross-build for `target` on a `buildMachine`? */
export function canCross(buildMachine: Arch | undefined, target: Arch): boolean {
  return buildMachine !== undefined && (CROSS_PAIRS[buildMachine] ?? []).includes(target);
}

/** The cross targets of a build machine, for messages. */
export function crossTargets(buildMachine: Arch | undefined): readonly Arch[] {
  return buildMachine ? (CROSS_PAIRS[buildMachine] ?? []) : [];
}

/** The binfmt_misc entry that runs `target`'s programs on the build machine (qemu-user-static names it by the CPU). */
export function binfmtEntry(target: Arch): string {
  return binfmtEntryOf(target)!;
}

/**
 * The cross toolchain for `target`: Debian's `<triplet>-gcc` (package
 * `gcc-<triplet>`), its g++ and its gcc-ar (which passes the LTO plugin to
 * ar, as gcc-ar does natively). The LLVM tools stay the build machine's:
 * llvm-strip reads any architecture.
 */
export function crossToolchain(tc: Toolchain, target: Arch): Toolchain {
  const t = archInfo(target).triplet;
  const tool = (name: string, pkg: string): ToolRef => ({ name: `${t}-${name}`, package: `${pkg}-${t}` });
  return { ...tc, family: 'gcc', cc: tool('gcc', 'gcc'), cxx: tool('g++', 'g++'), ar: tool('gcc-ar', 'gcc') };
}

/**
 * The build libraries for `target`: each `-dev` package as `name:<arch>`
 * (they are all Multi-Arch: same, so they install beside the build
 * machine's). pkg-config becomes `pkgconf:<arch>`, which provides
 * `<triplet>-pkg-config`: configure looks for that first in a cross build,
 * and it searches the target's pkgconfig directories.
 */
export function crossBuildPackages(deps: readonly string[], target: Arch): string[] {
  // The cross gcc only recommends its libc headers (setup installs without recommends).
  const libc = `libc6-dev-${target}-cross`;
  return [...deps.map((p) => (p === 'pkg-config' ? `pkgconf:${target}` : `${p}:${target}`)), libc];
}

/**
 * configure's cache variables for a Linux/glibc cross target: what a native
 * configure on such a machine finds, where the cross guess differs.
 */
export const CROSS_CONFIGURE_CACHE: readonly string[] = [
  // configure stops without these in a cross build: it cannot look at the target's /dev.
  'ac_cv_file__dev_ptmx=yes',
  'ac_cv_file__dev_ptc=no',
  // The guess "aligned access required" switches the string hash from SipHash to FNV.
  'ac_cv_aligned_required=no',
  // The guess "broken" leaves time.tzset() out.
  'ac_cv_working_tzset=yes',
  // The guess "broken" makes multiprocessing's Queue.qsize() raise NotImplementedError.
  'ac_cv_broken_sem_getvalue=no',
  // aarch64's wchar_t is unsigned; the guess "signed" changes HAVE_USABLE_WCHAR_T.
  'ac_cv_wchar_t_signed=no',
  // The guess "buggy" fails configure when IPv6 is enabled.
  'ac_cv_buggy_getaddrinfo=no',
  // glibc >= 2.34 has pthreads in libc itself.
  'ac_cv_pthread_is_default=yes',
  'ac_cv_pthread_system_supported=yes',
];

export interface CrossSpec {
  /** The build machine's architecture (configure's --build). */
  readonly buildMachine: Arch;
  /** The architecture the interpreter runs on (configure's --host). */
  readonly target: Arch;
  /** An interpreter of the same CPython minor version that runs on the build machine (configure's --with-build-python). */
  readonly buildPython: string;
}

/**
 * The configure arguments of a cross build. Computed gotos are asked for by
 * name: configure's cross guess is "no", which would give the eval loop a
 * switch instead of its jump table (Debian's native builds pass the same
 * flag).
 */
export function crossConfigureArgs(c: CrossSpec): string[] {
  return [`--build=${archInfo(c.buildMachine).triplet}`, `--host=${archInfo(c.target).triplet}`, `--with-build-python=${c.buildPython}`, '--with-computed-gotos', ...CROSS_CONFIGURE_CACHE];
}

/**
 * The share of runtime/train's rounds an emulated training runs. Under
 * qemu-user the instrumented interpreter (with atomic profile counters) ran
 * the full workload about 40 times slower than natively here (about 18
 * minutes against 25 s). Every workload still runs each of its code paths
 * at a quarter of its rounds, so the profile has the same shape with
 * smaller counts, which is what -fprofile-use weighs. Only the `runtime`
 * task scales; a command given as pgo.task runs as given.
 */
export const EMULATED_TRAINING_SCALE = 0.25;

/** The training for an interpreter that runs under emulation: runtime/train at {@link EMULATED_TRAINING_SCALE}. */
export function emulatedTraining<T extends { args: string[]; inputs: { config?: Record<string, unknown> } }>(t: T, task: string): T {
  if (task !== 'runtime') return t;
  return { ...t, args: [...t.args, '--scale', String(EMULATED_TRAINING_SCALE)], inputs: { ...t.inputs, config: { ...(t.inputs.config ?? {}), 'train.scale': EMULATED_TRAINING_SCALE } } };
}
