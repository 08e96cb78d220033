/**
 * llvm-bolt's instrumentation runtime for a foreign architecture.
 *
 * `llvm-bolt -instrument` links a small runtime (libbolt_rt_instr.a) into
 * the instrumented binary. Debian's libbolt-19-dev ships it built for its
 * own architecture only, so the build machine's copy (x86-64) cannot go
 * into an aarch64 binary ("linking object with arch x86_64 into context
 * with arch aarch64"). The target architecture's package has the right
 * one, but it is Multi-Arch: none, so it cannot be installed beside the
 * build machine's: this task downloads it with apt (which checks the
 * archive against the signed index; the task checks the .deb's sha256
 * against the index again), unpacks it with dpkg-deb -x, and keeps the
 * `.a` in the user cache, one copy per package version.
 *
 * llvm-bolt 19 resolves --runtime-instrumentation-lib relative to the
 * `lib` directory beside its own `bin` (an absolute path is appended to
 * it), so the pipeline passes a path relative to that directory
 * ({@link runtimeLibArg}).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { sha256, TaskFailure, withEntryLock, type Task, type TaskContext, type ToolRef } from '../graph/index.js';
import { archInfo, type Arch } from '../debian/arch.js';

export const RUNTIME_LIB = 'libbolt_rt_instr.a';
const APT_GET: ToolRef = { name: 'apt-get', package: 'apt', versionArgs: ['--version'] };
const APT_CACHE: ToolRef = { name: 'apt-cache', package: 'apt', versionArgs: ['--version'] };
const DPKG_DEB: ToolRef = { name: 'dpkg-deb', package: 'dpkg', versionArgs: ['--version'] };

/** The Debian package holding the instrumentation runtime of LLVM `major` for `arch`: `libbolt-19-dev:arm64`. */
export function runtimePackage(arch: Arch, major: number): string {
  return `libbolt-${major}-dev:${archInfo(arch).deb}`;
}

/**
 * The value of `--runtime-instrumentation-lib=` that makes llvm-bolt (at
 * `boltCommand`, symlinks resolved as llvm-bolt resolves them) load `lib`:
 * a path relative to `<dir of llvm-bolt>/../lib`.
 */
export function runtimeLibArg(boltCommand: string, lib: string): string {
  return relative(join(dirname(realpathSync(boltCommand)), '..', 'lib'), lib);
}

/** The fields of `apt-cache show --no-all-versions` this module reads. */
export interface AptRecord {
  readonly version: string;
  readonly sha256: string;
}

/** The first record of `apt-cache show` output: its Version and SHA256, or undefined when either is missing. */
export function parseAptRecord(text: string): AptRecord | undefined {
  const first = text.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string): string | undefined => new RegExp(`^${name}: *(\\S+)`, 'm').exec(first)?.[1];
  const version = field('Version');
  const sum = field('SHA256');
  return version && sum ? { version, sha256: sum } : undefined;
}

export interface RuntimeSpec {
  /** The target architecture. */
  readonly arch: Arch;
  /** LLVM major version of the llvm-bolt that will load it. */
  readonly llvmMajor: number;
  /** That llvm-bolt: a new one re-fetches the runtime. */
  readonly bolt: ToolRef;
  /** The user cache directory. */
  readonly cacheDir: string;
}

export interface RuntimeTask {
  readonly task: Task;
  /** Where the task puts libbolt_rt_instr.a, relative to the project root. */
  readonly lib: string;
}

/** The task that provides the target architecture's libbolt_rt_instr.a at a stable path in the project. */
export function runtimeTask(spec: RuntimeSpec): RuntimeTask {
  const pkg = runtimePackage(spec.arch, spec.llvmMajor);
  const lib = `build/bolt-runtime-${spec.arch}/${RUNTIME_LIB}`;
  const task: Task = {
    id: `bolt-runtime:${spec.arch}`,
    title: `the ${archInfo(spec.arch).elfName} BOLT instrumentation runtime (${RUNTIME_LIB} from ${pkg})`,
    deps: [],
    inputs: { tools: [spec.bolt, APT_GET, APT_CACHE, DPKG_DEB], config: { package: pkg } },
    outputs: [lib],
    async run(ctx) {
      const cached = await ensureRuntime(ctx, pkg, spec);
      mkdirSync(dirname(ctx.path(lib)), { recursive: true });
      copyFileSync(cached, ctx.path(lib));
    },
  };
  return { task, lib };
}

const notAvailable = (pkg: string, arch: Arch, why: string): TaskFailure =>
  new TaskFailure(
    `${pkg} ${why}: BOLT needs its ${RUNTIME_LIB} to instrument ${archInfo(arch).elfName} code`,
    `run \`pyston-build --set arch=${arch} setup\` (or \`dpkg --add-architecture ${archInfo(arch).deb} && apt-get update\`), or set bolt = off`,
  );

/** The cached runtime of the package version the apt index offers, downloaded when missing. Returns its path. */
async function ensureRuntime(ctx: TaskContext, pkg: string, spec: RuntimeSpec): Promise<string> {
  let shown: string;
  try {
    shown = (await ctx.exec('apt-cache', ['show', '--no-all-versions', pkg], { jobserver: false, capture: true })).output ?? '';
  } catch {
    throw notAvailable(pkg, spec.arch, 'is not in the apt index');
  }
  const rec = parseAptRecord(shown);
  if (!rec) throw notAvailable(pkg, spec.arch, 'has no Version or SHA256 in `apt-cache show`');
  const name = pkg.replace(':', '_');
  const dir = join(spec.cacheDir, 'bolt-runtime', `${name}_${rec.version.replace(/:/g, '%3a')}`);
  const cached = join(dir, RUNTIME_LIB);
  if (existsSync(cached)) {
    ctx.log(`${pkg} ${rec.version}: ${cached} (cached)`);
    return cached;
  }
  // One download at a time per entry: the cache is shared by every project on the machine.
  return withEntryLock(
    dir,
    (m) => ctx.log(m),
    async () => {
      if (existsSync(cached)) {
        ctx.log(`${pkg} ${rec.version}: ${cached} (made by another build meanwhile)`);
        return cached;
      }
      mkdirSync(dirname(dir), { recursive: true });
      const tmp = mkdtempSync(`${dir}.tmp-`);
      try {
        ctx.log(`${pkg} ${rec.version}: apt-get download into ${tmp}`);
        try {
          await ctx.exec('apt-get', ['download', `${pkg}=${rec.version}`], { cwd: tmp, jobserver: false });
        } catch {
          throw notAvailable(pkg, spec.arch, `${rec.version} could not be downloaded (see the log)`);
        }
        const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
        if (!deb) throw notAvailable(pkg, spec.arch, `${rec.version}: apt-get download wrote no .deb`);
        const got = sha256(readFileSync(join(tmp, deb)));
        if (got !== rec.sha256) throw new TaskFailure(`${join(tmp, deb)} has sha256 ${got}, the apt index says ${rec.sha256}`, 'run `apt-get update` and build again');
        const x = join(tmp, 'x');
        await ctx.exec('dpkg-deb', ['-x', join(tmp, deb), x], { jobserver: false });
        const inside = join(x, `usr/lib/llvm-${spec.llvmMajor}/lib`, RUNTIME_LIB);
        if (!existsSync(inside)) throw new TaskFailure(`${deb} has no usr/lib/llvm-${spec.llvmMajor}/lib/${RUNTIME_LIB}`, `set bolt = off for arch = ${spec.arch}`);
        const stage = join(tmp, 'out');
        mkdirSync(stage);
        renameSync(inside, join(stage, RUNTIME_LIB));
        rmSync(dir, { recursive: true, force: true });
        renameSync(stage, dir);
        ctx.log(`${pkg} ${rec.version}: ${cached} (sha256 of the .deb ${got})`);
        return cached;
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    },
  );
}
