/**
 * `pyston-build package`: the release variant staged, packaged as a .deb
 * and a portable directory, verified, and only then published to
 * build/dist/<name>-<version>/ with SHA256SUMS and build-info.json.
 *
 * One chain per architecture (config `arch`, which may list several): the
 * build machine's chain is `package:*` in build/package, another
 * architecture's `package-<arch>:*` in build/package-<arch> (as its
 * interpreter is `release-<arch>`). One `package:publish` takes every
 * chain's verified files into one directory under one SHA256SUMS.
 * The diagram names the build machine's chain:
 *
 *   release:probe ─► package:stage ─┬─► package:deb ──────┬─► package:check:deb (dpkg-deb, lintian)
 *                                   │                     ├─► package:check:install (apt install in a minbase root, probes)
 *                                   └─► package:portable ─┼─► package:check:portable (moved, no libssl/sqlite/ffi, probes, pip, venv)
 *                                                         └─► package:check:elf (stack, NEEDED, GLIBC versions)
 *   package:rootfs (debootstrap, cached) ─► the two install checks
 *   all checks (of every architecture) ─► package:publish (temp dir, then rename: build/dist never holds a half-written release)
 *
 * Layout: deb/ and portable/ hold what only the .deb or only the portable
 * directory needs, as DESIGN.md lays out. What both use sits beside them:
 * tar.ts (the deterministic archive writer), stage.ts (the staged tree),
 * release.ts (names, prefix, SOURCE_DATE_EPOCH) and files.ts; this file
 * composes them. What setup shares with packaging about Debian (the
 * minimal root the checks install into, dpkg's database, apt sources) is
 * in src/debian/; finding the library the loader would load is ELF
 * knowledge, in src/elf/search.ts. What is packaged arrives as a typed
 * Release (src/steps/release.ts).
 */
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { sha256, TaskFailure, writeFileAtomic, type Task, type TaskContext, type ToolRef } from '../graph/index.js';
import { hasSection, maxGlibcVersion, readElf, stackPolicy, type ElfFile } from '../elf/reader.js';
import { buildDeb, debFileName } from './deb/deb.js';
import { computeDepends, formatDepends } from './deb/shlibdeps.js';
import { DpkgDb } from '../debian/dpkg.js';
import { GLIBC_ALLOW, makePortable, PATCHELF, type PortableReport } from './portable/portable.js';
import { CHROOT, copyRoot, DEBOOTSTRAP, ensureRootfs, removeRoot, withMounts } from '../debian/rootfs.js';
import { gzipDeterministic, tarArchive, walkTree } from './tar.js';
import { sourceDateEpoch, type ReleaseNames } from './release.js';
import { COMPILEALL_EXCLUDE, stageRelease } from './stage.js';
import { applyLinks, COMMON_LINKS, packageLinks } from './links.js';
import { installedNames } from './layout.js';
import { listElves } from './files.js';
import { librarySearchPath } from '../elf/search.js';
import { archInfo, elfMachineName } from '../debian/arch.js';
import { readBuildReport, wasBolted, type Release } from '../steps/release.js';

const DPKG_DEB: ToolRef = { name: 'dpkg-deb', package: 'dpkg' };
const LINTIAN: ToolRef = { name: 'lintian', package: 'lintian' };

export interface PackageOptions {
  /** What is packaged: a packaged variant's release (its install root, build report, source). */
  readonly release: Release;
  readonly names: ReleaseNames;
  readonly root: string;
  /** What build-info.json says about the source. */
  readonly source: Readonly<Record<string, string>>;
  readonly maintainer: string;
  readonly suite: string;
  readonly mirror: string;
  readonly cacheDir: string;
  /** Tools whose versions build-info.json records (compiler, llvm-bolt, ...). */
  readonly toolchain: readonly ToolRef[];
  /** This pyston-build's runtime/ directory (the probes, the sysconfig rewriter). */
  readonly runtimeDir: string;
  /** llvm-strip (see src/packaging/stage.ts for why not GNU strip). */
  readonly strip: ToolRef;
  /** The chain's name: its task ids' first segment and its directory under build/ (`package`, `package-arm64`). */
  readonly id: string;
}

/** What one architecture's chain hands to the publish task: its verified files and reports. */
export interface PackagePart {
  readonly release: Release;
  readonly names: ReleaseNames;
  /** The chain's directory (build/package, build/package-arm64). */
  readonly dir: string;
  readonly deb: string;
  readonly tarball: string;
  /** The chain's check tasks: the publish task waits for all of them. */
  readonly checks: readonly string[];
  /** Tools whose versions build-info.json records for this architecture. */
  readonly toolchain: readonly ToolRef[];
}

export interface PublishOptions {
  /** One part per architecture, in any order (build-info.json lists them by architecture name). */
  readonly parts: readonly PackagePart[];
  /** What build-info.json says about the source. */
  readonly source: Readonly<Record<string, string>>;
  /** The verified wheels to publish beside the packages (src/packaging/wheel): their publish task and directory. */
  readonly wheels?: { readonly task: string; readonly dir: string };
}

const readJson = (p: string): Record<string, unknown> => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
const json = (v: unknown): string => JSON.stringify(v, null, 2) + '\n';

export function packageTasks(o: PackageOptions): { tasks: Task[]; part: PackagePart } {
  const n = o.names;
  const P = `build/${o.id}`;
  const id = (step: string): string => `${o.id}:${step}`;
  const minor = n.upstreamVersion.split('.').slice(0, 2).join('.');
  const deb = debFileName(n.name, n.debVersion, n.debArch);
  const portableName = `${n.name}-${n.upstreamVersion}-${n.triplet}`;
  const tarball = `${portableName}.tar.gz`;
  const probe = join(o.runtimeDir, 'probes/probe.py');
  // What the flavor's build must show (Pyston: sys.pyston_version_info and a working JIT).
  const probeArgs = o.release.flavor.probeArgs(false);
  const names = { ...n, minor, deb, portableName };
  const epochEnv = ['SOURCE_DATE_EPOCH'];
  const rootfs = { cacheDir: o.cacheDir, suite: o.suite, mirror: o.mirror, debArch: n.debArch };
  const r = o.release;
  // The upstream project, by what the source is (package.name may be anything).
  const upstream = { title: r.flavor.title, homepage: r.flavor.homepage, source: r.flavor.sourceUrl };

  const stage: Task = {
    id: id('stage'),
    title: `stage the release tree in ${P}/stage (strip, sanitise sysconfig, shebangs, .pyc)`,
    version: 4,
    deps: [r.last],
    inputs: {
      tools: [o.strip, PATCHELF],
      files: [join(o.runtimeDir, 'packaging/sanitize_sysconfig.py')],
      config: { prefix: n.prefix, minor, ...(r.buildPython ? { buildPython: r.buildPython } : {}) },
    },
    outputs: [`${P}/stage`, `${P}/stage.json`],
    async run(ctx) {
      const buildPaths = [r.srcDir, ...r.buildDirs.map((d) => ctx.path(d))].sort((a, b) => b.length - a.length);
      const report = await stageRelease(ctx, {
        installRoot: ctx.path(r.installRoot),
        stageDir: ctx.path(P, 'stage'),
        prefix: n.prefix,
        buildPaths,
        forbidden: [...new Set([ctx.path('build') + '/', r.srcDir + '/'])],
        strip: o.strip,
        patchelf: PATCHELF,
        sysconfigSanitizer: join(o.runtimeDir, 'packaging/sanitize_sysconfig.py'),
        ...(r.buildPython ? { buildPython: r.buildPython } : {}),
      });
      ctx.log(`staged ${report.files} files: ${report.stripped} stripped, ${report.pyc} .pyc, shebangs fixed in ${report.shebangs.join(', ') || 'none'}`);
      writeFileAtomic(ctx.path(P, 'stage.json'), json(report));
    },
  };

  const debTask: Task = {
    id: id('deb'),
    title: `write ${deb}`,
    version: 3,
    deps: [id('stage')],
    inputs: { env: epochEnv, config: { names, maintainer: o.maintainer, links: [...COMMON_LINKS, ...o.release.flavor.debLinks] } },
    outputs: [`${P}/deb`],
    async run(ctx) {
      const out = ctx.path(P, 'deb');
      const root = join(out, 'root');
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out, { recursive: true });
      // Debian packages ship no .pyc (lintian: package-installs-python-pycache-dir):
      // the postinst compiles them on the target, and the prerm removes them.
      cpSync(ctx.path(P, 'stage'), root, { recursive: true, verbatimSymlinks: true, filter: (src) => basename(src) !== '__pycache__' });
      const epoch = sourceDateEpoch(ctx.env, r.srcDir);
      // /usr/bin/<name>3, <name>3.X and the flavor's commands (its debLinks, filled in by src/packaging/links.ts), relative links into the prefix.
      // make's VERSION: 3.11, or 3.8-pyston2.3 (the interpreter python3.8-pyston2.3, its stdlib lib/python3.8-pyston2.3).
      const installed = installedNames(join(root, n.prefix));
      const { version } = installed;
      const links = applyLinks(root, packageLinks(o.release.flavor.debLinks, { prefix: n.prefix, name: n.name, minor: installed.minor, python: installed.python }));
      ctx.log(`links: ${links.map((l) => `${l.link} -> ${l.text}`).join(', ')}`);
      const doc = join(root, 'usr', 'share', 'doc', n.name);
      mkdirSync(doc, { recursive: true });
      writeFileSync(join(doc, 'copyright'), copyrightFile(upstream, r.srcDir));
      writeFileSync(join(doc, 'changelog.Debian.gz'), gzipDeterministic(Buffer.from(changelog(n, o.maintainer, epoch, o.source))));
      writeLintianOverrides(root, n.name, n.prefix, version);
      const depends = formatDepends(computeDepends(listElves(root), { searchPath: librarySearchPath('/', n.triplet) }));
      ctx.log(`Depends: ${depends.join(', ')}`);
      const built = buildDeb({
        stageDir: root,
        mtime: epoch,
        scripts: maintainerScripts(n.prefix, version),
        control: {
          package: n.name,
          version: n.debVersion,
          architecture: n.debArch,
          maintainer: o.maintainer,
          section: 'python',
          priority: 'optional',
          homepage: upstream.homepage,
          depends,
          description: `optimized build of ${upstream.title} ${n.upstreamVersion} in ${n.prefix}\nThe ${upstream.title} ${n.upstreamVersion} interpreter built by pyston-build with\nprofile-guided and link-time optimization, and BOLT where it applies.\nIt installs under ${n.prefix} and provides /usr/bin/${n.name}3.`,
        },
      });
      writeFileAtomic(join(out, deb), built.bytes);
      writeFileAtomic(join(out, 'deb.json'), json({ file: deb, control: built.control, depends, links, files: built.files, installedBytes: built.installedBytes, sourceDateEpoch: epoch }));
    },
  };

  const portable: Task = {
    id: id('portable'),
    title: `make the portable directory ${portableName} and its .tar.gz`,
    version: 2,
    deps: [id('stage')],
    inputs: { env: epochEnv, tools: [PATCHELF], config: { names } },
    outputs: [`${P}/portable`],
    async run(ctx) {
      const out = ctx.path(P, 'portable');
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out, { recursive: true });
      const dir = join(out, portableName);
      const installed = installedNames(join(ctx.path(P, 'stage'), n.prefix));
      const report = await makePortable(ctx, {
        stagePrefix: join(ctx.path(P, 'stage'), n.prefix),
        outDir: dir,
        interpreter: `bin/${installed.python}`,
        links: ['python3', `python${installed.minor}`, `${n.name}3`],
        triplet: n.triplet,
      });
      const epoch = sourceDateEpoch(ctx.env, r.srcDir);
      writeFileAtomic(join(out, tarball), gzipDeterministic(tarArchive(walkTree(dir, `${portableName}/`), epoch)));
      writeFileAtomic(join(out, 'portable.json'), json({ ...report, file: tarball, sourceDateEpoch: epoch }));
      ctx.log(`bundled ${report.bundled.length} libraries: ${report.bundled.map((b) => b.soname).join(' ')}`);
    },
  };

  const checkElf: Task = {
    id: id('check:elf'),
    title: 'check the ELF policy of both packages (machine, loader, stack, NEEDED, GLIBC versions)',
    // 4: the machine and the loader are checked.
    version: 4,
    deps: [id('deb'), id('portable')],
    inputs: {},
    outputs: [`${P}/elf-policy.json`],
    async run(ctx) {
      const problems: string[] = [];
      const checked: ElfFile[] = [];
      const target = archInfo(r.arch);
      const check = (dir: string, allowNeeded: (s: string) => boolean): number => {
        const all = listElves(dir);
        for (const e of all) {
          const rel = relative(ctx.root, e.path);
          // Objects (ET_REL, config-3.X/python.o) have no segments: the link that uses them decides.
          const stack = e.fileType === 1 ? 'ok' : stackPolicy(e);
          // Every file is for the release's architecture, and an executable names that architecture's loader.
          if (e.machine !== target.elfMachine) problems.push(`${rel}: an ${elfMachineName(e.machine)} file in an ${n.debArch} release`);
          if (e.interpreter !== undefined && e.interpreter !== target.loader) problems.push(`${rel}: its loader is ${e.interpreter}, not ${target.loader}`);
          if (stack !== 'ok') problems.push(`${rel}: ${stack === 'missing' ? 'no PT_GNU_STACK (the stack may be executable)' : 'executable stack'}`);
          for (const s of e.needed) if (!allowNeeded(s)) problems.push(`${rel}: needs ${s}, which is neither glibc nor bundled`);
        }
        checked.push(...all);
        return all.length;
      };
      const debCount = check(ctx.path(P, 'deb', 'root'), () => true);
      const rep = readJson(ctx.path(P, 'portable', 'portable.json')) as unknown as PortableReport;
      const bundled = new Set(rep.bundled.map((b) => b.soname));
      const portableDir = ctx.path(P, 'portable', portableName);
      const portableCount = check(portableDir, (s) => GLIBC_ALLOW.has(s) || bundled.has(s) || s.startsWith('libpython'));
      // A BOLTed release must still be BOLTed after stripping.
      const bolted = wasBolted(readBuildReport(ctx.path(r.report)));
      if (bolted) {
        const exeName = installedNames(join(ctx.path(P, 'deb', 'root'), n.prefix)).python;
        for (const exe of [ctx.path(P, 'deb', 'root', n.prefix.slice(1), 'bin', exeName), join(portableDir, 'bin', exeName)]) {
          if (!hasSection(readElf(exe), '.note.bolt_info')) problems.push(`${relative(ctx.root, exe)}: the .note.bolt_info note is gone (stripped?)`);
        }
      }
      if (problems.length) throw new TaskFailure(`${problems.length} ELF policy violation(s): ${problems.slice(0, 3).join('; ')}`, 'see the task log for all of them');
      const maxGlibc = maxGlibcVersion(...checked) ?? 'none';
      ctx.log(`checked ${debCount} + ${portableCount} ELF files; highest symbol version needed: ${maxGlibc}`);
      writeFileAtomic(
        ctx.path(P, 'elf-policy.json'),
        json({ elfFiles: { deb: debCount, portable: portableCount }, maxGlibc, executableStack: 0, boltNote: bolted, allowList: [...GLIBC_ALLOW].sort() }),
      );
    },
  };

  const checkDeb: Task = {
    id: id('check:deb'),
    title: `dpkg-deb --info/--contents and lintian on ${deb}`,
    version: 2,
    deps: [id('deb')],
    inputs: { tools: [DPKG_DEB, LINTIAN] },
    outputs: [`${P}/lintian.txt`],
    async run(ctx) {
      const file = ctx.path(P, 'deb', deb);
      await ctx.exec('dpkg-deb', ['--info', file], { jobserver: false });
      await ctx.exec('dpkg-deb', ['--contents', file], { jobserver: false });
      // lintian's own exit status is ignored (--fail-on none): the task reads its tags.
      const r = await ctx.exec('lintian', ['--tag-display-limit', '0', '--fail-on', 'none', file], { jobserver: false, capture: true });
      const out = r.output ?? '';
      const errors = out.split('\n').filter((l) => /^E: /.test(l));
      writeFileAtomic(ctx.path(P, 'lintian.txt'), out);
      if (errors.length) throw new TaskFailure(`lintian reports ${errors.length} error(s) on ${deb}: ${errors[0]}`, `see ${P}/lintian.txt`);
      const warnings = out.split('\n').filter((l) => /^W: /.test(l)).length;
      ctx.log(`lintian: 0 errors, ${warnings} warnings`);
    },
  };

  const rootfsTask: Task = {
    id: id('rootfs'),
    title: `a minimal ${o.suite} root (debootstrap --variant=minbase, cached)`,
    deps: [],
    inputs: { tools: [DEBOOTSTRAP], config: { suite: o.suite, mirror: o.mirror, arch: n.debArch } },
    outputs: [`${P}/rootfs.json`],
    async run(ctx) {
      const dir = await ensureRootfs(ctx, rootfs);
      writeFileAtomic(ctx.path(P, 'rootfs.json'), json({ path: dir, suite: o.suite, arch: n.debArch }));
    },
  };
  /** A fresh copy of the cached root in build/package/<name>, with the probe and `files` in its /tmp. */
  const freshRoot = async (ctx: TaskContext, name: string, files: readonly string[]): Promise<string> => {
    const root = ctx.path(P, name);
    await copyRoot(ctx, await ensureRootfs(ctx, rootfs), root);
    for (const f of [probe, ...files]) cpSync(f, join(root, 'tmp', basename(f)));
    return root;
  };

  const checkInstall: Task = {
    id: id('check:install'),
    title: `install ${deb} in a fresh ${o.suite} root and run the probes`,
    version: 1,
    deps: [id('deb'), id('rootfs')],
    inputs: { tools: [CHROOT], files: [probe], ...(probeArgs.length ? { config: { probeArgs } } : {}) },
    outputs: [`${P}/install-check.txt`],
    async run(ctx) {
      const root = await freshRoot(ctx, 'root-deb', [ctx.path(P, 'deb', deb)]);
      const out = await withMounts(ctx, root, async (run) => {
        await run(['apt-get', 'update', '-q']);
        await run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', `/tmp/${deb}`]);
        return run([`/usr/bin/${n.name}3`, '/tmp/probe.py', ...probeArgs]);
      });
      const last = probeVerdict(out);
      if (!last.startsWith('probe: OK')) throw new TaskFailure(`the installed ${deb} failed its probes: ${last}`, `see ${relative(ctx.root, ctx.logPath)}`);
      writeFileAtomic(ctx.path(P, 'install-check.txt'), `${last}\n`);
      await removeRoot(ctx, root);
    },
  };

  const checkPortable: Task = {
    id: id('check:portable'),
    title: `unpack ${tarball} at another path in a root without libssl/libsqlite3/libffi, run the probes, pip and venv`,
    version: 1,
    deps: [id('portable'), id('rootfs')],
    inputs: { tools: [CHROOT], files: [probe], ...(probeArgs.length ? { config: { probeArgs } } : {}) },
    outputs: [`${P}/portable-check.txt`],
    async run(ctx) {
      const root = await freshRoot(ctx, 'root-portable', []);
      const where = '/srv/moved/elsewhere';
      mkdirSync(join(root, where), { recursive: true });
      await ctx.exec('tar', ['-xzf', ctx.path(P, 'portable', tarball), '-C', join(root, where)], { jobserver: false });
      const home = `${where}/${portableName}`;
      const { minor: pyMinor } = installedNames(ctx.path(P, 'portable', portableName));
      const out = await withMounts(ctx, root, async (run) => {
        // minbase pulls libffi in for apt's TLS; take it out so that only the bundled copy can serve.
        await run(['dpkg', '--purge', '--force-depends', 'libffi8']);
        const db = new DpkgDb(join(root, 'var/lib/dpkg'));
        const present = ['libssl3', 'libsqlite3-0', 'libffi8'].filter((p) => db.isInstalled(p));
        if (present.length) throw new TaskFailure(`the check root still has ${present.join(', ')} installed`, 'the portable check would prove nothing: rerun with --force package:rootfs');
        const lines: string[] = [];
        lines.push(probeVerdict(await run([`${home}/python3`, '/tmp/probe.py', ...probeArgs])));
        lines.push(`pip: ${(await run([`${home}/bin/pip${pyMinor}`, '--version'])).trim().split('\n').pop()}`);
        await run([`${home}/bin/python3`, '-m', 'venv', '/tmp/moved-venv']);
        lines.push(
          `venv: ${(await run(['/tmp/moved-venv/bin/python', '-c', 'import ssl, sqlite3, ctypes, sys; print(sys.prefix, ssl.OPENSSL_VERSION, sqlite3.sqlite_version)'])).trim().split('\n').pop()}`,
        );
        return lines;
      });
      if (!out[0]!.startsWith('probe: OK')) throw new TaskFailure(`the moved portable directory failed its probes: ${out[0]}`, `see ${relative(ctx.root, ctx.logPath)}`);
      writeFileAtomic(ctx.path(P, 'portable-check.txt'), out.join('\n') + '\n');
      await removeRoot(ctx, root);
    },
  };

  const tasks = [stage, debTask, portable, checkElf, checkDeb, rootfsTask, checkInstall, checkPortable];
  const checks = [id('check:elf'), id('check:deb'), id('check:install'), id('check:portable')];
  return { tasks, part: { release: r, names: n, dir: P, deb, tarball, checks, toolchain: o.toolchain } };
}

/**
 * `package:publish`: every architecture's verified .deb and tarball (and the
 * wheels) into build/dist/<name>-<version>/, with one SHA256SUMS and one
 * build-info.json (schema 2: what the architectures share at the top, one
 * entry of `builds` per architecture). Put together in a temporary
 * directory and published by one rename.
 */
export function publishTask(o: PublishOptions): Task {
  const parts = [...o.parts].sort((a, b) => (a.names.debArch < b.names.debArch ? -1 : 1));
  const n = parts[0]!.names;
  for (const p of parts) {
    if (p.names.name !== n.name || p.names.upstreamVersion !== n.upstreamVersion || p.names.debVersion !== n.debVersion)
      throw new Error(`package parts disagree on the release: ${p.names.name} ${p.names.debVersion} vs ${n.name} ${n.debVersion}`);
  }
  const dist = `build/dist/${n.name}-${n.upstreamVersion}`;
  const tools = [...new Map(parts.flatMap((p) => p.toolchain).map((t) => [t.name, t])).values()];
  return {
    id: 'package:publish',
    title: `publish the verified release${parts.length > 1 ? ` for ${parts.map((p) => p.names.debArch).join(' and ')}` : ''} to ${dist}`,
    // 3: several architectures in one release; build-info.json schema 2.
    version: 3,
    deps: [...parts.flatMap((p) => p.checks), ...(o.wheels ? [o.wheels.task] : [])],
    inputs: { tools, config: { names: parts.map((p) => p.names), source: o.source, ...(o.wheels ? { wheels: o.wheels.dir } : {}) } },
    outputs: [dist],
    async run(ctx) {
      const tmp = openDistTemp(ctx.path('build/dist'), `.${n.name}-${n.upstreamVersion}.tmp-${process.pid}`);
      try {
        const builds = parts.map((p) => {
          cpSync(ctx.path(p.dir, 'deb', p.deb), join(tmp, p.deb));
          cpSync(ctx.path(p.dir, 'portable', p.tarball), join(tmp, p.tarball));
          return buildEntry(ctx, p);
        });
        const epochs = [...new Set(builds.map((b) => b.sourceDateEpoch))];
        if (epochs.length !== 1)
          throw new TaskFailure(`the architectures' packages were made with different SOURCE_DATE_EPOCH values (${epochs.join(', ')})`, 'rerun with --force package:deb package:portable');
        // The wheels, as their own publish task left them (verified, with their SHA256SUMS and wheels.json).
        const wheelFiles = o.wheels
          ? readdirSync(ctx.path(o.wheels.dir))
              .filter((f) => f.endsWith('.whl'))
              .sort()
          : [];
        if (o.wheels) cpSync(ctx.path(o.wheels.dir), join(tmp, 'wheelhouse'), { recursive: true });
        const artifacts = [...parts.flatMap((p) => [p.deb, p.tarball]), ...wheelFiles.map((f) => `wheelhouse/${f}`)].map((f) => {
          const data = readFileSync(join(tmp, f));
          return { file: f, size: data.length, sha256: sha256(data) };
        });
        const info = {
          schema: 2,
          name: n.name,
          version: n.upstreamVersion,
          debVersion: n.debVersion,
          source: o.source,
          sourceDateEpoch: epochs[0],
          architectures: parts.map((p) => p.names.debArch),
          builds: builds.map(({ sourceDateEpoch: _, ...b }) => b),
          ...(o.wheels ? { wheels: readJson(join(tmp, 'wheelhouse', 'wheels.json')) } : {}),
          artifacts,
        };
        writeFileSync(join(tmp, 'build-info.json'), json(info));
        const sums = [...artifacts.map((a) => ({ file: a.file, sha256: a.sha256 })), { file: 'build-info.json', sha256: sha256(readFileSync(join(tmp, 'build-info.json'))) }]
          .sort((a, b) => (a.file < b.file ? -1 : 1))
          .map((a) => `${a.sha256}  ${a.file}\n`)
          .join('');
        writeFileSync(join(tmp, 'SHA256SUMS'), sums);
        for (const f of readdirSync(tmp)) if (f !== 'wheelhouse') chmodSync(join(tmp, f), 0o644);
        rmSync(ctx.path(dist), { recursive: true, force: true });
        renameSync(tmp, ctx.path(dist));
      } catch (e) {
        // Nothing half-written stays in build/dist.
        rmSync(tmp, { recursive: true, force: true });
        throw e;
      }
      ctx.log(`published ${dist}: ${readdirSync(ctx.path(dist)).join(', ')}`);
    },
  };
}

/** One architecture's entry in build-info.json's `builds`, from its chain's reports. */
function buildEntry(ctx: TaskContext, p: PackagePart) {
  const n = p.names;
  const report = readBuildReport(ctx.path(p.release.report));
  const debInfo = readJson(ctx.path(p.dir, 'deb', 'deb.json'));
  const portableInfo = readJson(ctx.path(p.dir, 'portable', 'portable.json'));
  const elf = readJson(ctx.path(p.dir, 'elf-policy.json'));
  const { bolt, pgo } = report;
  const versions = Object.fromEntries(p.toolchain.map((t) => [t.name, ctx.toolVersions[t.name]]).filter(([, v]) => v !== undefined));
  return {
    architecture: n.debArch,
    triplet: n.triplet,
    prefix: n.prefix,
    optimizations: { pgo: pgo.enabled, lto: report.lto, bolt: wasBolted(report) },
    toolchain: { compiler: report.compiler, versions },
    configure: { args: report.configureArgs, settings: report.configure },
    pgo,
    bolt,
    elf: { maxGlibc: elf.maxGlibc, files: elf.elfFiles },
    deb: { file: p.deb, depends: debInfo.depends, installedBytes: debInfo.installedBytes },
    portable: { file: p.tarball, bundled: portableInfo.bundled },
    sourceDateEpoch: debInfo.sourceDateEpoch as number,
  };
}

/** The probe's last `probe:` line (its verdict), or 'probe: no result'. */
function probeVerdict(output: string): string {
  return (
    output
      .split('\n')
      .filter((l) => l.startsWith('probe:'))
      .pop() ?? 'probe: no result'
  );
}

/**
 * A fresh temporary directory inside build/dist, where a release is put
 * together before one rename publishes it. An unusable build/dist (a file,
 * read-only, full) is a one-line failure.
 */
export function openDistTemp(distDir: string, name: string): string {
  const tmp = join(distDir, name);
  try {
    mkdirSync(distDir, { recursive: true });
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    writeFileSync(join(tmp, '.probe'), '');
    rmSync(join(tmp, '.probe'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new TaskFailure(`cannot write the release into ${distDir}: ${code}`, `make ${distDir} a writable directory with free space (it must not be a file or on a read-only file system)`);
  }
  return tmp;
}

/**
 * The package's lintian overrides (usr/share/lintian/overrides/<pkg>), each
 * only when our own check shows lintian's heuristic is wrong:
 * - embedded-library expat: lintian spots expat by an error message, and
 *   CPython's pyexpat carries that message in its own error table even when
 *   it links the system libexpat. Overridden only if pyexpat's DT_NEEDED
 *   really names libexpat.so.1.
 */
function writeLintianOverrides(root: string, pkg: string, prefix: string, version: string): void {
  const dynload = join(root, prefix.slice(1), 'lib', `python${version}`, 'lib-dynload');
  const lines: string[] = [];
  const pyexpat = existsSync(dynload) ? readdirSync(dynload).find((f) => f.startsWith('pyexpat.') && f.endsWith('.so')) : undefined;
  if (pyexpat && readElf(join(dynload, pyexpat)).needed.includes('libexpat.so.1')) {
    lines.push('# pyexpat links the system libexpat.so.1; the matched string is from its own error table.');
    lines.push(`${pkg}: embedded-library expat [${relative(root, join(dynload, pyexpat))}]`);
  }
  if (lines.length === 0) return;
  const dir = join(root, 'usr', 'share', 'lintian', 'overrides');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, pkg), lines.join('\n') + '\n');
}

/**
 * postinst compiles the standard library's .pyc (hash-based, so they stay
 * valid whatever the files' mtimes); prerm removes every __pycache__ under
 * the prefix, so dpkg leaves nothing behind. compileall exits 1 when some
 * file does not compile, which must not fail the install (packages the user
 * installed into site-packages may hold such files; the staged standard
 * library itself compiled cleanly). Any other status means the interpreter
 * itself did not run (127: missing, 126: not executable, 128+N: killed by a
 * signal), and that fails the configure step with a message saying so.
 */
export function maintainerScripts(prefix: string, version: string): { postinst: string; prerm: string } {
  const py = `${prefix}/bin/python${version}`;
  return {
    postinst: [
      '#!/bin/sh',
      'set -e',
      'if [ "$1" = configure ]; then',
      '\trc=0',
      `\t${py} -E -s -m compileall -q -j 0 --invalidation-mode checked-hash -x '${COMPILEALL_EXCLUDE}' ${prefix}/lib/python${version} >/dev/null 2>&1 || rc=$?`,
      '\tif [ "$rc" -gt 1 ]; then',
      `\t\techo "postinst: ${py} failed (exit status $rc) while compiling ${prefix}/lib/python${version}" >&2`,
      '\t\texit 1',
      '\tfi',
      'fi',
      '',
    ].join('\n'),
    prerm: ['#!/bin/sh', 'set -e', 'if [ "$1" = remove ] || [ "$1" = upgrade ] || [ "$1" = deconfigure ]; then', `\tfind ${prefix} -depth -type d -name __pycache__ -exec rm -rf {} +`, 'fi', ''].join(
      '\n',
    ),
  };
}

/** debian/copyright in the machine-readable format (DEP-5), with the interpreter's own LICENSE. */
function copyrightFile(upstream: { title: string; source: string }, srcDir: string): string {
  const license = existsSync(join(srcDir, 'LICENSE')) ? readFileSync(join(srcDir, 'LICENSE'), 'utf8') : 'See https://docs.python.org/3/license.html';
  const body = license
    .replace(/\s+$/, '')
    .split('\n')
    .map((l) => (l.trim() === '' ? ' .' : ` ${l.replace(/\s+$/, '')}`))
    .join('\n');
  return [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    `Upstream-Name: ${upstream.title}`,
    `Source: ${upstream.source}`,
    '',
    'Files: *',
    'Copyright: 2001-2023 Python Software Foundation and contributors',
    'License: PSF-2.0',
    '',
    'License: PSF-2.0',
    body,
    '',
  ].join('\n');
}

function changelog(n: ReleaseNames, maintainer: string, epoch: number, source: Readonly<Record<string, string>>): string {
  const date = new Date(epoch * 1000).toUTCString().replace(/GMT$/, '+0000');
  const what = source.sha256 ? `the source pinned by sha256 ${source.sha256}` : `${source.kind ?? 'the'} source`;
  return `${n.name} (${n.debVersion}) unstable; urgency=medium\n\n  * Built by pyston-build from ${what.replace(/ (sha256 )/, '\n    $1')}.\n\n -- ${maintainer}  ${date}\n`;
}
