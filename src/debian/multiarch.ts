/**
 * dpkg's architectures, as setup and doctor see them: the machine's own
 * (`dpkg --print-architecture`), the foreign ones added with
 * `dpkg --add-architecture` (`dpkg --print-foreign-architectures`, which
 * reads `<admindir>/arch`), and the ones a list of `name:arch` packages
 * needs that dpkg does not know yet.
 */
import { spawnSync } from 'node:child_process';
import { DPKG_ADMIN_DIR } from './dpkg.js';

/** Architecture qualifiers that name no architecture to add (`name:any` in a dependency, `name:all`). */
const NOT_AN_ARCH = new Set(['any', 'all', 'native']);

/** The architecture a package name is qualified with (`libssl-dev:arm64` -> `arm64`), or undefined for a bare name. */
export function packageArch(pkg: string): string | undefined {
  const i = pkg.indexOf(':');
  return i < 0 ? undefined : pkg.slice(i + 1);
}

/** dpkg's output lines for `args`, or undefined when dpkg cannot run or fails (not a dpkg system). */
function dpkgLines(args: readonly string[]): string[] | undefined {
  const r = spawnSync('dpkg', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error !== undefined || r.status !== 0) return undefined;
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** The machine's own dpkg architecture (`dpkg --print-architecture`), or undefined without dpkg. */
export function nativeArchitecture(): string | undefined {
  return dpkgLines(['--print-architecture'])?.[0];
}

/** The foreign architectures dpkg installs packages for (`dpkg --print-foreign-architectures`, reading `<adminDir>/arch`); none without dpkg. */
export function foreignArchitectures(adminDir = DPKG_ADMIN_DIR): string[] {
  const args = adminDir === DPKG_ADMIN_DIR ? [] : [`--admindir=${adminDir}`];
  return dpkgLines([...args, '--print-foreign-architectures']) ?? [];
}

/**
 * The architectures `packages` are qualified with (`name:arch`) that are
 * neither the machine's own nor among dpkg's foreign ones, sorted: each
 * needs `dpkg --add-architecture` before apt can install its packages.
 */
export function missingArchitectures(packages: readonly string[], adminDir = DPKG_ADMIN_DIR, native?: string): string[] {
  const wanted = [...foreignPackageArchs(packages, native).keys()];
  if (wanted.length === 0) return [];
  const known = new Set(foreignArchitectures(adminDir));
  return wanted.filter((a) => !known.has(a));
}

/** The foreign architectures `packages` are qualified with (the machine's own, `native` or dpkg's, left out), sorted, each with the packages that name it. */
export function foreignPackageArchs(packages: readonly string[], native?: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of packages) {
    const a = packageArch(p);
    if (a === undefined || NOT_AN_ARCH.has(a)) continue;
    // dpkg runs only when some package is qualified.
    native ??= nativeArchitecture();
    if (a === native) continue;
    (out.get(a) ?? out.set(a, []).get(a)!).push(p);
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}
