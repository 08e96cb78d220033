/**
 * What setup and doctor do for a cross build: `name:arch` packages (and the
 * dpkg architecture they need), and the binfmt entries through which tasks
 * run programs of another architecture. The machine is faked with
 * directories (a dpkg admin dir read by the real dpkg, a binfmt_misc
 * listing), so both "already there" and "needs it" are tested on any machine.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planSetup } from '../../src/debian/apt.js';
import { hostArch } from '../../src/debian/arch.js';
import { assertBinfmtEnabled, BinfmtError, binfmtPackages, binfmtState } from '../../src/debian/binfmt.js';
import { foreignArchitectures, foreignPackageArchs, missingArchitectures, nativeArchitecture, packageArch } from '../../src/debian/multiarch.js';
import { doctor, neededBinfmt, neededPackages } from '../../src/doctor.js';
import type { Task } from '../../src/graph/index.js';
import { graphOf, tmpProject, write } from '../helpers.js';

const NATIVE = nativeArchitecture()!;
/** A foreign architecture on whatever machine runs this. */
const A = NATIVE === 'arm64' ? 'riscv64' : 'arm64';

const installed = (pkg: string, arch: string, version = '1.0-1'): string => `Package: ${pkg}\nStatus: install ok installed\nArchitecture: ${arch}\nVersion: ${version}\n`;

/** A dpkg admin dir: `arch` lists the architectures dpkg knows (none: no arch file), `status` the installed packages. */
function adminDir(opts: { arches?: string[]; packages?: [string, string][] }): string {
  const dir = tmpProject('pb-dpkg-');
  write(dir, 'status', (opts.packages ?? []).map(([p, a]) => installed(p, a)).join('\n'));
  if (opts.arches) write(dir, 'arch', opts.arches.map((a) => `${a}\n`).join(''));
  return dir;
}

/** A binfmt_misc listing: each entry's first line (`enabled` or `disabled`), plus binfmt_misc's own `status`. */
function binfmtDir(entries: Record<string, 'enabled' | 'disabled'>, status: 'enabled' | 'disabled' = 'enabled'): string {
  const dir = tmpProject('pb-binfmt-');
  write(dir, 'status', `${status}\n`);
  for (const [name, state] of Object.entries(entries)) write(dir, name, `${state}\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\n`);
  return dir;
}

/** apt lists updated just now: only adding an architecture or a deb-src entry makes setup update them. */
function freshLists(): string {
  const dir = tmpProject('pb-lists-');
  write(dir, 'deb.example_debian_dists_bookworm_main_binary-amd64_Packages', '');
  return dir;
}

describe("dpkg's architectures", () => {
  it('reads the native one from dpkg, and the foreign ones from the admin dir dpkg is given', () => {
    expect(NATIVE).toBe(hostArch());
    expect(foreignArchitectures(adminDir({ arches: [NATIVE, A, 'i386'] }))).toEqual([A, 'i386']);
    expect(foreignArchitectures(adminDir({ arches: [NATIVE] }))).toEqual([]);
    expect(foreignArchitectures(adminDir({}))).toEqual([]);
  });

  it('agrees with /var/lib/dpkg/arch on this machine', () => {
    const file = '/var/lib/dpkg/arch';
    const listed = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l !== '' && l !== NATIVE)
      : [];
    expect(foreignArchitectures()).toEqual(listed);
  });

  it('names the architectures of name:arch packages that dpkg does not know yet', () => {
    expect(['libssl-dev:arm64', 'libssl-dev', 'python3:any', 'x:all'].map(packageArch)).toEqual(['arm64', undefined, 'any', 'all']);
    const pkgs = [`libssl-dev:${A}`, 'zlib1g-dev', `zlib1g-dev:${A}`, `libc6:${NATIVE}`, 'python3:any', 'tzdata:all'];
    expect([...foreignPackageArchs(pkgs)]).toEqual([[A, [`libssl-dev:${A}`, `zlib1g-dev:${A}`]]]);
    expect(missingArchitectures(pkgs, adminDir({ arches: [NATIVE] }))).toEqual([A]);
    expect(missingArchitectures(pkgs, adminDir({}))).toEqual([A]);
    expect(missingArchitectures(pkgs, adminDir({ arches: [NATIVE, A] }))).toEqual([]);
    expect(missingArchitectures(['zlib1g-dev', `libc6:${NATIVE}`], adminDir({}))).toEqual([]);
  });
});

describe('binfmt entries', () => {
  it('reads an entry as enabled, disabled (itself or binfmt_misc as a whole) or missing', () => {
    const dir = binfmtDir({ 'qemu-aarch64': 'enabled', 'qemu-arm': 'disabled' });
    expect(['qemu-aarch64', 'qemu-arm', 'qemu-riscv64'].map((e) => binfmtState(e, dir))).toEqual(['enabled', 'disabled', 'missing']);
    expect(binfmtState('qemu-aarch64', binfmtDir({ 'qemu-aarch64': 'enabled' }, 'disabled'))).toBe('disabled');
    expect(binfmtState('qemu-aarch64', join(dir, 'not-mounted'))).toBe('missing');
    expect(binfmtPackages('qemu-aarch64')).toEqual(['binfmt-support', 'qemu-user-static']);
  });

  it("setup's re-check is one error naming the entry and why, with the fix", () => {
    const err = (dir: string): BinfmtError => {
      try {
        assertBinfmtEnabled(['qemu-aarch64'], dir);
      } catch (e) {
        expect(e).toBeInstanceOf(BinfmtError);
        return e as BinfmtError;
      }
      throw new Error('no error');
    };
    const disabled = binfmtDir({ 'qemu-aarch64': 'disabled' });
    expect(err(disabled).message).toBe(`binfmt entry qemu-aarch64 is still not enabled after 'update-binfmts --enable qemu-aarch64': disabled (${disabled}/qemu-aarch64)`);
    const missing = binfmtDir({});
    expect(err(missing).message).toBe(`binfmt entry qemu-aarch64 is still not enabled after 'update-binfmts --enable qemu-aarch64': not registered (no ${missing}/qemu-aarch64)`);
    const off = binfmtDir({ 'qemu-aarch64': 'enabled' }, 'disabled');
    expect(err(off).message).toMatch(new RegExp(`: binfmt_misc is disabled \\(${off}/status\\)$`));
    const e = err(missing);
    expect(e.hint).toBe(
      'install binfmt-support qemu-user-static (it provides /usr/share/binfmts/qemu-aarch64), then run: update-binfmts --enable qemu-aarch64; in a container, the host must enable it (binfmt_misc belongs to the host kernel)',
    );
    expect(e.hint).not.toContain('\n');
    expect(e.exitCode).toBe(2);
    expect(() => assertBinfmtEnabled(['qemu-aarch64'], binfmtDir({ 'qemu-aarch64': 'enabled' }))).not.toThrow();
    expect(() => assertBinfmtEnabled([], missing)).not.toThrow();
  });
});

describe("setup's plan for a cross build", () => {
  const noApt = (): string => tmpProject('pb-apt-');
  const osRelease = (): string => {
    const dir = tmpProject('pb-os-');
    write(dir, 'os-release', 'ID=debian\nVERSION_CODENAME=bookworm\n');
    return join(dir, 'os-release');
  };
  const plan = (packages: string[], admin: string, binfmt: string[] = [], dir = binfmtDir({})) =>
    planSetup(packages, [], noApt(), osRelease(), { binfmt, adminDir: admin, binfmtDir: dir, listsDir: freshLists() });

  it('adds a missing architecture first, and then updates the lists even when they are fresh', () => {
    const admin = adminDir({ arches: [NATIVE], packages: [['zlib1g-dev', NATIVE]] });
    expect(plan([`libssl-dev:${A}`, 'zlib1g-dev', `zlib1g-dev:${A}`], admin)).toEqual({
      missing: [`libssl-dev:${A}`, `zlib1g-dev:${A}`],
      addDebSrc: undefined,
      addArchitectures: [A],
      updateLists: true,
      enableBinfmt: [],
    });
  });

  it('adds nothing when dpkg knows the architecture, and installs only what is missing', () => {
    const known = adminDir({
      arches: [NATIVE, A],
      packages: [
        ['zlib1g-dev', NATIVE],
        ['libssl-dev', A],
      ],
    });
    expect(plan([`libssl-dev:${A}`, 'zlib1g-dev', `zlib1g-dev:${A}`], known)).toMatchObject({ missing: [`zlib1g-dev:${A}`], addArchitectures: [], updateLists: false });
    // The native copy does not stand for the foreign one, nor the other way round.
    expect(plan(['zlib1g-dev', `zlib1g-dev:${A}`, 'libssl-dev', `libssl-dev:${NATIVE}`], known).missing).toEqual([`libssl-dev:${NATIVE}`, `zlib1g-dev:${A}`]);
    expect(plan([`libssl-dev:${A}`, 'zlib1g-dev'], known)).toEqual({ missing: [], addDebSrc: undefined, addArchitectures: [], updateLists: false, enableBinfmt: [] });
  });

  it('enables a disabled binfmt entry, after installing its packages only when they are missing', () => {
    const withQemu = adminDir({
      packages: [
        ['qemu-user-static', NATIVE],
        ['binfmt-support', NATIVE],
      ],
    });
    const disabled = binfmtDir({ 'qemu-aarch64': 'disabled' });
    expect(plan([], withQemu, ['qemu-aarch64'], disabled)).toEqual({ missing: [], addDebSrc: undefined, addArchitectures: [], updateLists: false, enableBinfmt: ['qemu-aarch64'] });
    expect(plan([], adminDir({}), ['qemu-aarch64', 'qemu-aarch64'], disabled)).toMatchObject({ missing: ['binfmt-support', 'qemu-user-static'], enableBinfmt: ['qemu-aarch64'] });
  });

  it('installs qemu-user-static and binfmt-support for a binfmt entry that is not registered', () => {
    const onlySupport = adminDir({ packages: [['binfmt-support', NATIVE]] });
    expect(plan(['make'], onlySupport, ['qemu-aarch64'], binfmtDir({}))).toMatchObject({ missing: ['make', 'qemu-user-static'], enableBinfmt: ['qemu-aarch64'] });
  });

  it('leaves an enabled entry alone, whatever provides it', () => {
    expect(plan([], adminDir({}), ['qemu-aarch64'], binfmtDir({ 'qemu-aarch64': 'enabled' }))).toEqual({
      missing: [],
      addDebSrc: undefined,
      addArchitectures: [],
      updateLists: false,
      enableBinfmt: [],
    });
  });
});

/** The tasks of a cross build, as far as setup and doctor read them (they never run here). */
function crossTasks(): Task[] {
  const run = async (): Promise<void> => {};
  return [
    {
      id: 'cross:configure',
      deps: [],
      packages: [`libssl-dev:${A}`, 'zlib1g-dev'],
      inputs: { tools: [{ name: 'cross-cc', command: 'pb-no-such-cross-cc', package: 'gcc-cross-example' }] },
      outputs: [],
      run,
    },
    { id: 'cross:train', deps: ['cross:configure'], binfmt: ['qemu-aarch64'], inputs: {}, outputs: [], run },
    { id: 'cross:check', deps: ['cross:train'], binfmt: ['qemu-aarch64'], inputs: {}, outputs: [], run },
  ];
}

describe('doctor and setup read a cross build from its tasks', () => {
  it("collects the tasks' packages (name:arch kept), their tools' packages and their binfmt entries", () => {
    const g = graphOf(crossTasks(), { train: ['cross:train'] });
    expect(neededPackages(g, ['train'], { PATH: tmpProject('pb-path-') })).toEqual({
      packages: ['gcc-cross-example', `libssl-dev:${A}`, 'zlib1g-dev'],
      debSrcSuites: [],
      binfmt: ['qemu-aarch64'],
    });
    expect([...neededBinfmt(crossTasks())]).toEqual([['qemu-aarch64', ['cross:train', 'cross:check']]]);
    expect(neededPackages(graphOf(crossTasks().slice(0, 1)), ['all'], { PATH: tmpProject('pb-path-') }).binfmt).toEqual([]);
  });

  const report = (admin: string, binfmt: string) => {
    const root = tmpProject();
    // The tool is left out: doctor looks tools up on the real PATH, and this test is about packages, architectures and binfmt.
    const tasks = crossTasks().map((t) => ({ ...t, inputs: {} }));
    return doctor(graphOf(tasks), root, join(root, 'build'), { PATH: process.env.PATH }, noAptDir(), { adminDir: admin, binfmtDir: binfmt });
  };
  const noAptDir = (): string => tmpProject('pb-apt-');
  const rows = (lines: string[]): string[] => lines.filter((l) => /libssl|architecture|binfmt|build libraries|apt-get|update-binfmts/.test(l));

  it('reports a missing architecture, name:arch package and binfmt entry, with the commands that fix them', () => {
    const binfmt = binfmtDir({});
    const r = report(
      adminDir({
        arches: [NATIVE],
        packages: [
          ['zlib1g-dev', NATIVE],
          ['zlib1g-dev', A],
        ],
      }),
      binfmt,
    );
    expect(r.ok).toBe(false);
    expect(rows(r.lines)).toEqual([
      `  missing  libssl-dev:${A} (build library for the interpreter variants)`,
      `  missing  dpkg architecture ${A}, needed by libssl-dev:${A}: dpkg --add-architecture ${A}`,
      `  missing  binfmt qemu-aarch64: not registered (no ${binfmt}/qemu-aarch64), needed by cross:train, cross:check: update-binfmts --enable qemu-aarch64`,
      `  dpkg --add-architecture ${A} && apt-get update && apt-get install -y binfmt-support libssl-dev:${A} qemu-user-static && update-binfmts --enable qemu-aarch64`,
    ]);
    expect(r.missingPackages).toEqual(['binfmt-support', `libssl-dev:${A}`, 'qemu-user-static']);
    expect(r.lines).toContain('  npx pyston-build setup [TARGET...]');
  });

  it('reports a disabled entry whose packages are there: only update-binfmts to run', () => {
    const binfmt = binfmtDir({ 'qemu-aarch64': 'disabled' });
    const admin = adminDir({
      arches: [NATIVE, A],
      packages: [
        ['zlib1g-dev', NATIVE],
        ['libssl-dev', A],
        ['qemu-user-static', NATIVE],
        ['binfmt-support', NATIVE],
      ],
    });
    const r = report(admin, binfmt);
    expect(r.ok).toBe(false);
    expect(rows(r.lines)).toEqual([
      `  ok       2 build libraries (libssl-dev:${A}, zlib1g-dev, ...)`,
      `  ok       dpkg architecture ${A} (foreign, for libssl-dev:${A})`,
      `  missing  binfmt qemu-aarch64: disabled (${binfmt}/qemu-aarch64), needed by cross:train, cross:check: update-binfmts --enable qemu-aarch64`,
      '  update-binfmts --enable qemu-aarch64',
    ]);
    expect(r.missingPackages).toEqual([]);
  });

  it('reports all of it as ok once it is there', () => {
    const admin = adminDir({
      arches: [NATIVE, A],
      packages: [
        ['zlib1g-dev', NATIVE],
        ['libssl-dev', A],
      ],
    });
    const r = report(admin, binfmtDir({ 'qemu-aarch64': 'enabled' }));
    expect(rows(r.lines)).toEqual([
      `  ok       2 build libraries (libssl-dev:${A}, zlib1g-dev, ...)`,
      `  ok       dpkg architecture ${A} (foreign, for libssl-dev:${A})`,
      '  ok       binfmt qemu-aarch64 enabled (for cross:train, cross:check)',
    ]);
    expect(r.ok).toBe(true);
  });
});
