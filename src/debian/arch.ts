/**
 * The architecture a release is built for, as a value: the one table that
 * maps it to dpkg's name, the GNU triplet, the ELF machine number and
 * whether BOLT can run on it. Config `arch` names it (dpkg's spelling);
 * the default is the build machine's. Domain code takes an {@link Arch}
 * and never reads `process.arch`: only {@link hostArch} does.
 */

export interface ArchInfo {
  /** dpkg's name: the .deb's Architecture field, `dpkg --add-architecture`. */
  readonly deb: string;
  /** GNU triplet: library directories (/usr/lib/<triplet>), cross tools, file names. */
  readonly triplet: string;
  /** The ELF header's e_machine. */
  readonly elfMachine: number;
  /** The ELF machine's name as readelf prints it. */
  readonly elfName: string;
  /** Node's `process.arch` on such a machine. */
  readonly node: string;
  /** glibc's program loader, the PT_INTERP of this architecture's executables. */
  readonly loader: string;
  /** llvm-bolt 19 rewrites this architecture's binaries in pyston-build's pipeline. */
  readonly bolt: boolean;
  /** The OCI image config's `architecture` (Go's GOARCH) and, where the OCI image index names one, its `variant`. */
  readonly oci: string;
  readonly ociVariant?: string;
}

/** The architectures pyston-build knows, by dpkg name. */
export const ARCHES = {
  amd64: { deb: 'amd64', triplet: 'x86_64-linux-gnu', elfMachine: 62, elfName: 'x86_64', node: 'x64', loader: '/lib64/ld-linux-x86-64.so.2', bolt: true, oci: 'amd64' },
  arm64: { deb: 'arm64', triplet: 'aarch64-linux-gnu', elfMachine: 183, elfName: 'aarch64', node: 'arm64', loader: '/lib/ld-linux-aarch64.so.1', bolt: true, oci: 'arm64', ociVariant: 'v8' },
  ppc64el: { deb: 'ppc64el', triplet: 'powerpc64le-linux-gnu', elfMachine: 21, elfName: 'ppc64', node: 'ppc64', loader: '/lib64/ld64.so.2', bolt: false, oci: 'ppc64le' },
  s390x: { deb: 's390x', triplet: 's390x-linux-gnu', elfMachine: 22, elfName: 's390', node: 's390x', loader: '/lib/ld64.so.1', bolt: false, oci: 's390x' },
  riscv64: { deb: 'riscv64', triplet: 'riscv64-linux-gnu', elfMachine: 243, elfName: 'riscv64', node: 'riscv64', loader: '/lib/ld-linux-riscv64-lp64d.so.1', bolt: false, oci: 'riscv64' },
} as const satisfies Record<string, ArchInfo>;

export type Arch = keyof typeof ARCHES;

export const ARCH_NAMES = Object.keys(ARCHES) as Arch[];

export function isArch(name: string): name is Arch {
  return Object.hasOwn(ARCHES, name);
}

export function archInfo(a: Arch): ArchInfo {
  return ARCHES[a];
}

/** The build machine's architecture, or undefined when pyston-build does not know it. */
export function hostArch(nodeArch: string = process.arch): Arch | undefined {
  return ARCH_NAMES.find((a) => ARCHES[a].node === nodeArch);
}

/** The ELF machine number's name (readelf's spelling), for messages. */
export function elfMachineName(machine: number): string {
  return ARCH_NAMES.map((a) => ARCHES[a]).find((i) => i.elfMachine === machine)?.elfName ?? (machine === 3 ? 'i386' : machine === 40 ? 'arm' : `machine ${machine}`);
}
