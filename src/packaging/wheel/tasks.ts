/**
 * `pyston-build wheels`: a wheel project's extension module (pyston_lite for
 * a Pyston tree) built for each interpreter, with our PGO, LTO and BOLT
 * pipelines, written as PEP 427 wheels with its autoload package, checked,
 * and published to build/dist/<name>-<version>/wheelhouse/.
 *
 *   wheels:gen (DynASM, once)
 *   per interpreter T (cp38, cp39, ...), after its plain build:
 *     wheels:T:sysconfig ─► wheels:T:pgo:instrumented (build + a venv with the .pth)
 *       ─► wheels:T:pgo:{train,merge,validate} (src/pgo)
 *       ─► wheels:T:build (PGO use, LTO; aot_ceval_jit_helper.c without LTO)
 *       ─► wheels:T:bolt:env ─► wheels:T:bolt:{instrument,train,merge,optimize,verify} (src/bolt)
 *       ─► wheels:T:wheel (manylinux policy, then the wheel; RECORD written last, after BOLT)
 *       ─► wheels:T:check (wheel unpack checks RECORD; pip --no-index into a fresh venv;
 *                          autoload and DISABLE_PYSTON; the JIT; uninstall leaves nothing)
 *   wheels:autoload (py3-none-any, Requires-Dist: <name>==<version>)
 *   every check ─► wheels:publish (temp dir, then one rename)
 *
 * Directories: build/wheels/<T>/{pgo_build,pgo_env,pgo,build,bolt_env,bolt,out,check_env},
 * build/wheels/gen, build/wheels/autoload.
 *
 * Inside the build directories the module is `<name>.so` (Python imports
 * that name as well as `<name><EXT_SUFFIX>`), so every path is known when
 * the graph is built; it gets its EXT_SUFFIX name in the wheel.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { sha256, TaskFailure, writeFileAtomic, type Task, type TaskContext, type ToolRef } from '../../graph/index.js';
import { readElf } from '../../elf/reader.js';
import { boltTasks, type BoltBinary } from '../../bolt/pipeline.js';
import { instrumentFlags, pgoTasks, useFlags } from '../../pgo/pipeline.js';
import type { Arch } from '../../debian/arch.js';
import type { Release } from '../../steps/release.js';
import type { Command } from '../../steps/command.js';
import { sourceDateEpoch } from '../release.js';
import { openDistTemp } from '../tasks.js';
import { abiTag, compileExtension, GCC, moduleFile, querySysconfig, resolvedHeaders, UNIFDEF, type Sysconfig } from './compile.js';
import { rangeText, supports, type WheelProject } from './project.js';
import { buildWheel, readWheel, type WheelMetadata } from './wheelfile.js';
import { machineOf, manylinuxPolicy } from './policy.js';

/** Debian's python3 runs `-m wheel unpack` (python3-wheel), which verifies RECORD. */
export const WHEEL_TOOL: ToolRef = { name: 'python3-wheel', command: '/usr/bin/python3', package: 'python3-wheel', versionArgs: ['-m', 'wheel', 'version'] };

export interface WheelInterpreter {
  /** `cp38` */
  readonly tag: string;
  /** [3, 8] */
  readonly minor: readonly [number, number];
  /** Its plain build. */
  readonly release: Release;
  /** Macros its headers are conditional on that upstream CPython's are not, with its values (src/flavors: stockHeaderMacros). */
  readonly headerMacros: Readonly<Record<string, string>>;
}

export type WheelBolt =
  | { readonly enabled: false; readonly reason: string }
  | {
      readonly enabled: true;
      readonly bolt: ToolRef;
      readonly mergeFdata: ToolRef;
      readonly policy: 'required' | 'auto';
      readonly minCoverage: number;
      readonly applyFlags: readonly string[];
      readonly instrumentFlags: readonly string[];
      readonly skipFuncs: readonly string[];
      readonly cacheDir: string;
      readonly timeoutSeconds: number;
    };

export interface WheelOptions {
  readonly project: WheelProject;
  /** Tasks that make the project's files (a patched source copy), if any. */
  readonly projectDeps: readonly string[];
  readonly interpreters: readonly WheelInterpreter[];
  readonly root: string;
  readonly arch: Arch;
  readonly pgo: boolean;
  readonly lto: boolean;
  readonly bolt: WheelBolt;
  /** The training workload: the args after the python (runtime/train/run.py), and what it reads. */
  readonly training: { readonly args: readonly string[]; readonly inputs: import('../../graph/index.js').TaskInputs; readonly shards?: import('../../steps/command.js').Command['shards'] };
  readonly tolerateTrainingFailure: boolean;
  /** Where the verified wheels go, relative to the root: build/dist/<name>-<version>/wheelhouse. */
  readonly publishDir: string;
  /** Directories mapped out of the module's debug info and macros (the project, the source tree, the root). */
  readonly mapPaths: readonly string[];
  /** The source tree whose date is the wheels' timestamp when SOURCE_DATE_EPOCH is not set. */
  readonly dateSource: string;
  /** This pyston-build's runtime/ directory. */
  readonly runtimeDir: string;
}

const W = 'build/wheels';
const json = (v: unknown): string => JSON.stringify(v, null, 2) + '\n';
const readJson = (p: string): Record<string, unknown> => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;

function metadata(p: WheelProject, extra: Partial<WheelMetadata>): WheelMetadata {
  return {
    name: p.name,
    version: p.version,
    summary: p.summary,
    ...(p.homepage ? { homepage: p.homepage } : {}),
    requiresPython: `>=${p.python.min.join('.')},<${p.python.max[0]}.${p.python.max[1] + 1}`,
    ...(p.description ? { description: p.description, descriptionContentType: 'text/plain' } : {}),
    ...extra,
  };
}

/** A venv's site-packages directory, as its python says. */
async function sitePackages(ctx: TaskContext, python: string): Promise<string> {
  const out = (await ctx.exec(python, ['-I', '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], { jobserver: false, capture: true })).output ?? '';
  const dir = out.trim().split('\n').pop() ?? '';
  if (!dir.startsWith('/') || !existsSync(dir)) throw new TaskFailure(`${python} names no site-packages directory (got '${dir}')`, 'the interpreter made an unexpected venv layout');
  return dir;
}

/** pip learned PEP 600's manylinux_X_Y tags in 20.3; CPython 3.9.2 bundles 20.2.3. */
const PEP600_PIP: readonly [number, number] = [20, 3];
const DEBIAN_PIP_WHEELS = '/usr/share/python-wheels';

/**
 * When the venv's pip predates PEP 600 and the wheel has no tag it knows
 * (no legacy manylinux alias), upgrade it from Debian's pip wheel
 * (python3-pip-whl), offline, as a user must (`pip install -U pip`).
 * Returns what was done, for the report, or undefined.
 */
async function pipForTags(ctx: TaskContext, pip: readonly string[], env: Record<string, string>, tags: readonly string[]): Promise<string | undefined> {
  const out = (await ctx.exec(pip[0]!, [...pip.slice(1), '--version'], { jobserver: false, env, capture: true })).output ?? '';
  const m = /^pip (\d+)\.(\d+)/m.exec(out);
  const have = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  const old = have[0]! * 1000 + have[1]! < PEP600_PIP[0] * 1000 + PEP600_PIP[1];
  const legacy = tags.some((t) => /-(manylinux1|manylinux2010|manylinux2014|linux)_/.test(t) || t.endsWith('-any'));
  if (!old || legacy) return undefined;
  const wheel = existsSync(DEBIAN_PIP_WHEELS) ? readdirSync(DEBIAN_PIP_WHEELS).find((f) => /^pip-\d.*\.whl$/.test(f)) : undefined;
  if (!wheel)
    throw new TaskFailure(
      `pip ${have.join('.')} in the check venv predates PEP 600 and cannot install ${tags[0]}, and Debian's pip wheel is not in ${DEBIAN_PIP_WHEELS}`,
      'apt-get install python3-pip-whl',
    );
  await ctx.exec(pip[0]!, [...pip.slice(1), 'install', '--no-index', join(DEBIAN_PIP_WHEELS, wheel)], { jobserver: false, env });
  const why = `pip ${have.join('.')} predates PEP 600 (manylinux_X_Y tags): upgraded to ${wheel} before installing`;
  ctx.log(why);
  return why;
}

/** The one .whl in a directory. */
function onlyWheel(dir: string): string {
  const found = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.whl')) : [];
  if (found.length !== 1) throw new TaskFailure(`expected one wheel in ${dir}, found ${found.length}`, 'rebuild the wheels (pyston-build --force "wheels:*" wheels)');
  return join(dir, found[0]!);
}

/**
 * A build-machine path inside a shipped file: the first of `paths` whose
 * bytes occur in `data`, or undefined.
 */
function leakedPath(data: Buffer, paths: readonly string[]): string | undefined {
  return paths.find((p) => p.length > 1 && data.includes(Buffer.from(p)));
}

export function wheelTasks(o: WheelOptions): { tasks: Task[]; publish: string; dir: string } {
  const p = o.project;
  const tasks: Task[] = [];
  const machine = machineOf(o.arch);
  // A project made by an upstream task (a patched tree) enters the keys through that task.
  const projectInputs = o.projectDeps.length ? {} : { files: [...p.inputs] };
  const genDir = `${W}/gen`;
  const train = o.training;
  const wheelPy = join(o.runtimeDir, 'probes/wheel.py');
  const probeFiles = [wheelPy, join(o.runtimeDir, 'probes/probe.py')];
  // No build-machine path in a shipped module: the maps cover debug info
  // and __FILE__ (at the LTO link too, where the debug info is written), and
  // -gno-record-gcc-switches keeps the flags (-fprofile-use=DIR) out of
  // DW_AT_producer. The wheel task checks the result.
  const mapFlags = ['-gno-record-gcc-switches', ...[...new Set(o.mapPaths)].sort((a, b) => b.length - a.length).flatMap((d) => [`-fdebug-prefix-map=${d}=.`, `-fmacro-prefix-map=${d}=.`])];

  if (p.generator) {
    const g = p.generator;
    tasks.push({
      id: 'wheels:gen',
      title: `generate ${g.outputs.join(', ')} for ${p.name}`,
      deps: [...o.projectDeps],
      inputs: { tools: [...g.tools], ...(o.projectDeps.length ? {} : { files: [...g.inputs] }) },
      outputs: [genDir],
      async run(ctx) {
        rmSync(ctx.path(genDir), { recursive: true, force: true });
        mkdirSync(ctx.path(genDir), { recursive: true });
        await g.run(ctx, ctx.path(genDir));
        for (const f of g.outputs) if (!existsSync(ctx.path(genDir, f))) throw new TaskFailure(`the generator did not write ${f}`, `read ${ctx.logPath}`);
      },
    });
  }
  const genDeps = p.generator ? ['wheels:gen'] : [...o.projectDeps];
  const checks: string[] = [];

  // The autoload package: one py3-none-any wheel for every interpreter.
  const autoloadDir = `${W}/autoload`;
  if (p.autoload) {
    const a = p.autoload;
    tasks.push({
      id: 'wheels:autoload',
      title: `write the ${a.name} wheel (py3-none-any)`,
      deps: [],
      inputs: { env: ['SOURCE_DATE_EPOCH'], config: { name: a.name, version: p.version, pth: a.pth, requires: `${p.name}==${p.version}`, python: p.python } },
      outputs: [autoloadDir],
      async run(ctx) {
        rmSync(ctx.path(autoloadDir), { recursive: true, force: true });
        mkdirSync(ctx.path(autoloadDir), { recursive: true });
        const w = buildWheel({
          meta: metadata(p, {
            name: a.name,
            summary: `Enables ${p.name} whenever Python starts (unless DISABLE_PYSTON is set)`,
            description: `Installs ${a.name}.pth, which imports ${p.name} and calls its enable() at startup. Set DISABLE_PYSTON=1 to start without it.\n`,
            requiresDist: [`${p.name}==${p.version}`],
          }),
          tags: ['py3-none-any'],
          rootIsPurelib: true,
          generator: 'pyston-build',
          files: [{ path: `${a.name}.pth`, data: Buffer.from(a.pth), mode: 0o644 }],
          mtime: sourceDateEpoch(ctx.env, o.dateSource),
        });
        writeFileAtomic(ctx.path(autoloadDir, w.fileName), w.data);
        ctx.log(`wrote ${w.fileName} (${w.data.length} bytes, sha256 ${w.sha256})`);
      },
    });
  }

  for (const it of o.interpreters) {
    const T = it.tag;
    const d = `${W}/${T}`;
    const abs = (...s: string[]): string => join(o.root, ...s);
    const so = `${p.name}.so`;
    const python = join(it.release.installDir, 'bin', 'python3');
    const scFile = `${d}/sysconfig.json`;
    const sc = (ctx: TaskContext): Sysconfig => readJson(ctx.path(scFile)) as unknown as Sysconfig;
    const shape = o.bolt.enabled ? { cflags: ['-fno-reorder-blocks-and-partition'], ldflags: ['-Wl,--emit-relocs'] } : { cflags: [], ldflags: [] };
    const config = { tag: T, pgo: o.pgo, lto: o.lto, bolt: o.bolt.enabled, project: { ...p, generator: p.generator?.outputs ?? null, dir: undefined, inputs: undefined }, maps: mapFlags };

    const macros = Object.entries(it.headerMacros);
    tasks.push({
      id: `wheels:${T}:sysconfig`,
      title: `read ${T}'s sysconfig (${python})${macros.length ? ', and its headers with ' + macros.map(([k]) => k).join(', ') + ' resolved' : ''}`,
      deps: [it.release.last],
      inputs: { config: { tag: T, python: p.python, macros: it.headerMacros }, ...(macros.length ? { tools: [UNIFDEF] } : {}) },
      outputs: [scFile, ...(macros.length ? [`${d}/include`] : [])],
      async run(ctx) {
        let got = await querySysconfig(ctx, ctx.path(python));
        if (macros.length) got = { ...got, includepy: await resolvedHeaders(ctx, got.includepy, ctx.path(d, 'include'), it.headerMacros) };
        const minor = got.version.split('.').slice(0, 2).map(Number) as [number, number];
        if (`cp${minor.join('')}` !== T) throw new TaskFailure(`${python} is Python ${got.version}, not ${T}`, 'check wheels.pythons');
        if (!supports(p.python, minor)) throw new TaskFailure(`${p.name} supports CPython ${rangeText(p.python)}; ${T} is ${got.version}`, `drop ${T} from wheels.pythons`);
        mkdirSync(ctx.path(d), { recursive: true });
        writeFileAtomic(ctx.path(scFile), json(got));
      },
    });

    // Environments whose site-packages load the module through the autoload
    // .pth, from <env>/modules, which the runs put on PYTHONPATH: a path
    // known when the graph is built (the site-packages directory's name
    // depends on the interpreter, python3.8-pyston2.3 for a Pyston tree).
    const makeEnv = async (ctx: TaskContext, env: string, module?: string): Promise<void> => {
      rmSync(ctx.path(env), { recursive: true, force: true });
      await ctx.exec(ctx.path(python), ['-m', 'venv', '--without-pip', ctx.path(env)], { jobserver: false });
      const sp = await sitePackages(ctx, ctx.path(env, 'bin', 'python'));
      writeFileSync(join(sp, `${p.name}_autoload.pth`), p.autoload?.pth ?? `import ${p.name}\n`);
      mkdirSync(ctx.path(env, 'modules'));
      if (module) cpSync(module, ctx.path(env, 'modules', so));
    };
    const envRun = (env: string, args: readonly string[], extra: Record<string, string> = {}): Command => ({
      file: abs(env, 'bin', 'python'),
      args,
      cwd: abs(env),
      env: { PYTHONPATH: abs(env, 'modules'), ...extra },
    });

    const buildDir = `${d}/build`;
    const pgoBuild = `${d}/pgo_build`;
    const pgoDir = `${d}/pgo`;
    const pgoEnv = `${d}/pgo_env`;
    let finalDeps = [`wheels:${T}:sysconfig`, ...genDeps];
    let use = { cflags: [] as string[], ldflags: [] as string[] };
    if (o.pgo) {
      const spec = { family: 'gcc' as const, dir: pgoDir, instrumentedBuildDir: abs(pgoBuild), optimizedBuildDir: abs(buildDir) };
      const inst = instrumentFlags(spec, o.root);
      tasks.push({
        id: `wheels:${T}:pgo:instrumented`,
        title: `build ${p.name} for ${T} with PGO instrumentation, in a venv that loads it`,
        deps: [`wheels:${T}:sysconfig`, ...genDeps],
        weight: 3,
        inputs: { ...projectInputs, tools: [GCC], config: { ...config, stage: 'instrumented' } },
        outputs: [pgoBuild, pgoEnv],
        async run(ctx) {
          const { module: mod } = await compileExtension(ctx, {
            project: p,
            sysconfig: sc(ctx),
            genDir: p.generator ? ctx.path(genDir) : undefined,
            buildDir: ctx.path(pgoBuild),
            cflags: [...shape.cflags, ...mapFlags, ...inst.cflags],
            ldflags: [...shape.ldflags, ...mapFlags, ...inst.ldflags],
            lto: false,
          });
          await makeEnv(ctx, pgoEnv, mod);
        },
      });
      const pgo = pgoTasks({
        ...spec,
        prefix: `wheels:${T}:pgo`,
        profileTool: { name: 'gcov-dump', package: 'gcc' },
        instrumentedTask: `wheels:${T}:pgo:instrumented`,
        train: { ...envRun(pgoEnv, train.args), ...(train.shards ? { shards: train.shards } : {}) },
        trainInputs: train.inputs,
        hotFunction: p.hot.function,
        hotObject: p.hot.object,
        tolerateFailure: o.tolerateTrainingFailure,
      });
      tasks.push(...pgo.tasks);
      finalDeps = [...finalDeps, pgo.ready];
      // -Wmissing-profile instead of our pipeline's -Wno-missing-profile: the
      // build counts, per file, the functions the profile did not cover.
      use = { cflags: [...useFlags(spec, o.root).cflags.filter((f) => f !== '-Wno-missing-profile'), '-Wmissing-profile'], ldflags: [...useFlags(spec, o.root).ldflags] };
    }
    tasks.push({
      id: `wheels:${T}:build`,
      title: `build ${p.name} for ${T}${o.pgo ? ' with the profile' : ''}${o.lto ? ', LTO' : ''}`,
      deps: finalDeps,
      weight: 4,
      inputs: { ...projectInputs, tools: [GCC], config: { ...config, stage: 'final' } },
      outputs: [buildDir, `${d}/profile-use.json`],
      async run(ctx) {
        const r = await compileExtension(ctx, {
          project: p,
          sysconfig: sc(ctx),
          genDir: p.generator ? ctx.path(genDir) : undefined,
          buildDir: ctx.path(buildDir),
          cflags: [...shape.cflags, ...mapFlags, ...use.cflags],
          ldflags: [...shape.ldflags, ...mapFlags, ...use.ldflags],
          lto: o.lto,
        });
        // Evidence that the profile applied: the hot file's functions were all found in it.
        if (o.pgo) {
          const hot = Object.keys(r.missingProfile).find((f) => f.replace(/\.c$/, '') === p.hot.object);
          const missing = hot ? (r.missingProfile[hot] ?? 0) : undefined;
          if (missing === undefined) throw new TaskFailure(`${p.hot.object}.c is not among the sources of ${p.name}`, "fix the project's hot.object");
          if (missing > 0)
            throw new TaskFailure(
              `the profile did not apply to ${hot}: gcc found no profile for ${missing} of its functions`,
              `read ${ctx.logPath}; the instrumented and the final build must compile the same code`,
            );
        }
        writeFileAtomic(ctx.path(d, 'profile-use.json'), json({ pgo: o.pgo, missingProfile: r.missingProfile }));
      },
    });

    let finalModule = `${buildDir}/${so}`;
    let boltReport: string | undefined;
    let last = `wheels:${T}:build`;
    if (o.bolt.enabled) {
      const b = o.bolt;
      const env = `${d}/bolt_env`;
      const outDir = `${d}/bolt/out`;
      tasks.push({
        id: `wheels:${T}:bolt:env`,
        title: `a venv of ${T} whose .pth loads the BOLT-instrumented ${p.name}`,
        deps: [last],
        inputs: {},
        outputs: [env],
        run: (ctx) => makeEnv(ctx, env),
      });
      const bin: BoltBinary = { name: so, input: abs(buildDir, so), instrumented: abs(env, 'modules', so), output: abs(outDir, so), extraApplyFlags: ['-jump-tables=none'] };
      const check: Command = {
        file: abs(env, 'bin', 'python'),
        args: [wheelPy, p.name, '--from', abs(outDir), ...(p.jitStats ? ['--jit-stats'] : [])],
        cwd: abs(env),
        env: { PYTHONPATH: abs(outDir) },
      };
      const bt = boltTasks({
        prefix: `wheels:${T}:bolt`,
        root: o.root,
        dir: `${d}/bolt`,
        bolt: b.bolt,
        mergeFdata: b.mergeFdata,
        binaries: [bin],
        after: `wheels:${T}:bolt:env`,
        train: { ...envRun(env, train.args), ...(train.shards ? { shards: train.shards } : {}) },
        trainInputs: train.inputs,
        check,
        instrumentFlags: b.instrumentFlags,
        applyFlags: b.applyFlags,
        skipFuncs: b.skipFuncs,
        minCoverage: b.minCoverage,
        policy: b.policy,
        cacheDir: b.cacheDir,
        timeoutSeconds: b.timeoutSeconds,
      });
      tasks.push(...bt.tasks);
      finalModule = `${outDir}/${so}`;
      boltReport = bt.report;
      last = bt.ready;
    }

    const outWheel = `${d}/out`;
    tasks.push({
      id: `wheels:${T}:wheel`,
      title: `check ${p.name} for ${T} against the manylinux policy and write its wheel`,
      deps: [last],
      inputs: { env: ['SOURCE_DATE_EPOCH'], config: { ...config, machine, bolt: boltReport ?? null } },
      outputs: [outWheel, `${d}/wheel.json`],
      async run(ctx) {
        const s = sc(ctx);
        const mod = ctx.path(finalModule);
        const data = readFileSync(mod);
        const leak = leakedPath(
          data,
          [...o.mapPaths, ctx.root].filter((x) => x.startsWith('/')),
        );
        if (leak) throw new TaskFailure(`${basename(mod)} contains the build machine's path ${leak}`, 'a path escaped the -fdebug-prefix-map/-fmacro-prefix-map flags: find it with strings(1)');
        const name = moduleFile(p, s);
        const policy = manylinuxPolicy([{ path: name, elf: readElf(mod) }], machine);
        const abi = abiTag(s);
        const tags = policy.platformTags.map((plat) => `${T}-${abi}-${plat}`);
        rmSync(ctx.path(outWheel), { recursive: true, force: true });
        mkdirSync(ctx.path(outWheel), { recursive: true });
        const w = buildWheel({
          meta: metadata(p, {}),
          tags,
          rootIsPurelib: false,
          generator: 'pyston-build',
          files: [{ path: name, data, mode: 0o755 }],
          mtime: sourceDateEpoch(ctx.env, o.dateSource),
        });
        readWheel(w.data, w.fileName);
        writeFileAtomic(ctx.path(outWheel, w.fileName), w.data);
        const pgoSummary = o.pgo ? { ...readJson(ctx.path(pgoDir, 'summary.json')), use: readJson(ctx.path(d, 'profile-use.json')).missingProfile } : null;
        const bolt = boltReport ? readJson(ctx.path(boltReport)) : null;
        writeFileAtomic(
          ctx.path(d, 'wheel.json'),
          json({
            file: w.fileName,
            sha256: w.sha256,
            size: w.data.length,
            python: { tag: T, version: s.version },
            module: name,
            extSuffix: s.extSuffix,
            tags,
            optimizations: { pgo: o.pgo, lto: o.lto, bolt: bolt?.bolted === true },
            pgo: o.pgo ? pgoSummary : { enabled: false, reason: 'pgo = off (NOPGO=1)' },
            lto: o.lto ? { enabled: true, noLto: p.noLto } : { enabled: false, reason: 'lto = off (NOLTO=1)' },
            bolt: bolt ?? { enabled: false, reason: o.bolt.enabled ? 'unknown' : o.bolt.reason },
            policy,
          }),
        );
        ctx.log(`wrote ${w.fileName}: ${policy.platform} (highest glibc symbol ${policy.glibc ?? 'none'}), sha256 ${w.sha256}`);
      },
    });

    const checkEnv = `${d}/check_env`;
    const checkId = `wheels:${T}:check`;
    checks.push(checkId);
    tasks.push({
      id: checkId,
      title: `check the ${T} wheels: RECORD, pip install into a fresh venv, autoload, uninstall`,
      deps: [`wheels:${T}:wheel`, ...(p.autoload ? ['wheels:autoload'] : [])],
      inputs: { tools: [WHEEL_TOOL], files: probeFiles, config: { jit: p.jitStats } },
      packages: ['python3-pip-whl'],
      outputs: [`${d}/check.json`],
      async run(ctx) {
        const wheels = [onlyWheel(ctx.path(outWheel)), ...(p.autoload ? [onlyWheel(ctx.path(autoloadDir))] : [])];
        const tmp = ctx.path(d, 'check_tmp');
        rmSync(tmp, { recursive: true, force: true });
        mkdirSync(join(tmp, 'wheelhouse'), { recursive: true });
        try {
          // RECORD: our reader checks every entry's hash and size, `wheel unpack` (Debian's) the hashes again.
          for (const w of wheels) {
            readWheel(readFileSync(w), basename(w));
            await ctx.exec('/usr/bin/python3', ['-m', 'wheel', 'unpack', '--dest', join(tmp, 'unpacked'), w], { jobserver: false });
            cpSync(w, join(tmp, 'wheelhouse', basename(w)));
          }
          rmSync(ctx.path(checkEnv), { recursive: true, force: true });
          await ctx.exec(ctx.path(python), ['-m', 'venv', ctx.path(checkEnv)], { jobserver: false });
          const sp = await sitePackages(ctx, ctx.path(checkEnv, 'bin', 'python'));
          const pip = [ctx.path(checkEnv, 'bin', 'python'), '-m', 'pip'] as const;
          // No pip configuration of this machine (find-links, indexes) reaches the check.
          const pipEnv = { PIP_CONFIG_FILE: '/dev/null', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PYTHONNOUSERSITE: '1' };
          const pipUpgrade = await pipForTags(ctx, pip, pipEnv, readJson(ctx.path(d, 'wheel.json')).tags as string[]);
          // What the venv holds before the wheels go in: the uninstall must leave exactly this.
          const before = readdirSync(sp).sort();
          const top = p.autoload ? p.autoload.name : p.name;
          // The autoload wheel pulls the extension in through its exact dependency.
          await ctx.exec(pip[0], [...pip.slice(1), 'install', '--no-index', '--find-links', join(tmp, 'wheelhouse'), top], { jobserver: false, env: pipEnv });
          const installed = readdirSync(sp).filter((f) => !before.includes(f));
          ctx.log(`installed: ${installed.join(', ')}`);
          for (const want of [p.name, ...(p.autoload ? [p.autoload.name] : [])]) {
            if (!installed.some((f) => f.startsWith(`${want}-${p.version}.dist-info`)))
              throw new TaskFailure(`pip did not install ${want} ${p.version} from the wheels (installed: ${installed.join(', ') || 'nothing'})`, `read ${ctx.logPath}`);
          }
          // Every file pip installed, from its RECORDs, to check the uninstall against.
          const files = installed
            .filter((f) => f.endsWith('.dist-info'))
            .flatMap((di) =>
              readFileSync(join(sp, di, 'RECORD'), 'utf8')
                .split('\n')
                .filter(Boolean)
                .map((l) => l.split(',')[0]!),
            );
          const verdict = await ctx.exec(ctx.path(checkEnv, 'bin', 'python'), [wheelPy, p.name, ...(p.autoload ? [] : ['--no-autoload']), ...(p.jitStats ? ['--jit-stats'] : [])], {
            jobserver: false,
            capture: true,
          });
          await ctx.exec(pip[0], [...pip.slice(1), 'uninstall', '-y', ...(p.autoload ? [p.autoload.name] : []), p.name], { jobserver: false, env: pipEnv });
          const left = files.filter((f) => existsSync(join(sp, f)));
          const after = readdirSync(sp).sort();
          const extra = after.filter((f) => !before.includes(f));
          const behind = [...left, ...extra];
          if (behind.length)
            throw new TaskFailure(
              `pip uninstall left ${behind.length} files behind: ${behind.slice(0, 8).join(', ')}${behind.length > 8 ? ', ...' : ''}`,
              'every installed file must be listed in RECORD',
            );
          writeFileAtomic(
            ctx.path(d, 'check.json'),
            json({
              record: 'ok (wheel unpack)',
              installed,
              files: files.length,
              uninstall: 'clean',
              probe: (verdict.output ?? '').trim().split('\n').pop(),
              ...(pipUpgrade ? { pip: pipUpgrade } : {}),
            }),
          );
        } finally {
          rmSync(tmp, { recursive: true, force: true });
        }
      },
    });
  }

  tasks.push({
    id: 'wheels:publish',
    title: `publish the verified wheels to ${o.publishDir}`,
    deps: checks,
    inputs: { config: { dir: o.publishDir, tags: o.interpreters.map((i) => i.tag) } },
    outputs: [o.publishDir],
    async run(ctx) {
      const parent = dirname(ctx.path(o.publishDir));
      const tmp = openDistTemp(parent, `.wheelhouse.tmp-${process.pid}`);
      try {
        const entries: Record<string, unknown>[] = [];
        for (const it of o.interpreters) {
          const info = readJson(ctx.path(W, it.tag, 'wheel.json'));
          const check = readJson(ctx.path(W, it.tag, 'check.json'));
          cpSync(ctx.path(W, it.tag, 'out', String(info.file)), join(tmp, String(info.file)));
          entries.push({ ...info, check });
        }
        if (p.autoload) {
          const a = onlyWheel(ctx.path(autoloadDir));
          const data = readFileSync(a);
          cpSync(a, join(tmp, basename(a)));
          entries.push({ file: basename(a), sha256: sha256(data), size: data.length, tags: ['py3-none-any'], requires: `${p.name}==${p.version}` });
        }
        writeFileSync(join(tmp, 'wheels.json'), json({ schema: 1, project: p.name, version: p.version, wheels: entries }));
        const sums = readdirSync(tmp)
          .sort()
          .map((f) => `${sha256(readFileSync(join(tmp, f)))}  ${f}\n`)
          .join('');
        writeFileSync(join(tmp, 'SHA256SUMS'), sums);
        for (const f of readdirSync(tmp)) chmodSync(join(tmp, f), 0o644);
        rmSync(ctx.path(o.publishDir), { recursive: true, force: true });
        renameSync(tmp, ctx.path(o.publishDir));
      } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        throw e;
      }
      ctx.log(`published ${o.publishDir}: ${readdirSync(ctx.path(o.publishDir)).join(', ')}`);
      if (existsSync(join(parent, 'SHA256SUMS'))) syncRelease(ctx, parent);
    },
  });
  return { tasks, publish: 'wheels:publish', dir: o.publishDir };
}

/**
 * A release that `package` published around the wheelhouse lists the wheels
 * in its SHA256SUMS and build-info.json. A later `wheels` run (other
 * interpreters, say) replaces the wheelhouse, so those two files are
 * rewritten here to list what the wheelhouse now holds (each by a temp file
 * and a rename): the release directory never lists a wheel that is gone.
 */
function syncRelease(ctx: TaskContext, release: string): void {
  const house = join(release, 'wheelhouse');
  const wheels = readdirSync(house)
    .filter((f) => f.endsWith('.whl'))
    .sort()
    .map((f) => {
      const data = readFileSync(join(house, f));
      return { file: `wheelhouse/${f}`, size: data.length, sha256: sha256(data) };
    });
  const infoPath = join(release, 'build-info.json');
  if (existsSync(infoPath)) {
    const info = readJson(infoPath);
    const artifacts = ((info.artifacts as { file: string }[] | undefined) ?? []).filter((a) => !a.file.startsWith('wheelhouse/'));
    writeFileAtomic(infoPath, json({ ...info, wheels: readJson(join(house, 'wheels.json')), artifacts: [...artifacts, ...wheels] }));
    chmodSync(infoPath, 0o644);
  }
  const sumsPath = join(release, 'SHA256SUMS');
  const kept = readFileSync(sumsPath, 'utf8')
    .split('\n')
    .filter((l) => l && !/^[0-9a-f]{64} {2}(wheelhouse\/|build-info\.json$)/.test(l));
  const lines = [...kept, ...wheels.map((w) => `${w.sha256}  ${w.file}`), ...(existsSync(infoPath) ? [`${sha256(readFileSync(infoPath))}  build-info.json`] : [])];
  const byFile = (l: string): string => l.slice(66);
  writeFileAtomic(sumsPath, `${lines.sort((a, b) => (byFile(a) < byFile(b) ? -1 : byFile(a) > byFile(b) ? 1 : 0)).join('\n')}\n`);
  chmodSync(sumsPath, 0o644);
  ctx.log(`updated ${relative(ctx.root, sumsPath)} and build-info.json for the wheels now in ${relative(ctx.root, house)}`);
}
