/**
 * Compiling a wheel project's extension module against one interpreter,
 * with gcc and argument arrays (no setup.py, no shell).
 *
 * The interpreter's own sysconfig decides what an extension of it must be
 * compiled with (`CFLAGS`, `CCSHARED`, `LDSHARED`'s flags, `INCLUDEPY`,
 * `EXT_SUFFIX`), as distutils does; {@link querySysconfig} reads them from
 * the interpreter. Our pipelines' words (PGO, BOLT code shape, path maps)
 * are dropped from those values and added back by the caller for the stage
 * being built, so the instrumented and the final build compile the same code.
 *
 * Files compile one after another inside the task (the engine runs other
 * tasks beside it under the same -j); the LTO link takes its parallel jobs
 * from the jobserver (`-flto=jobserver`).
 */
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { listFiles } from '../files.js';
import { basename, join } from 'node:path';
import { TaskFailure, type TaskContext, type ToolRef } from '../../graph/index.js';
import { dropPipelineFlags } from '../stage.js';
import type { WheelProject } from './project.js';

export const GCC: ToolRef = { name: 'gcc', package: 'gcc' };
export const UNIFDEF: ToolRef = { name: 'unifdef', package: 'unifdef', versionArgs: ['-V'] };

/**
 * A copy of an interpreter's headers (`from`, its INCLUDEPY) in `to`, with
 * the conditionals on `macros` resolved at their values by unifdef and
 * their definitions dropped from pyconfig.h: the headers the interpreter
 * was compiled with, in the form upstream CPython's have (see
 * src/flavors: stockHeaderMacros). Returns `to`.
 */
export async function resolvedHeaders(ctx: TaskContext, from: string, to: string, macros: Readonly<Record<string, string>>): Promise<string> {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true, dereference: true });
  const headers = [...listFiles(to)].filter((f) => f.endsWith('.h')).sort();
  // -x 2: exit 0 whether or not a file changed (2 is still an error); -m: rewrite in place.
  await ctx.exec('unifdef', ['-x', '2', '-m', ...Object.entries(macros).map(([k, v]) => `-D${k}=${v}`), ...headers], { jobserver: false });
  const pyconfig = join(to, 'pyconfig.h');
  const names = new Set(Object.keys(macros));
  const text = readFileSync(pyconfig, 'utf8');
  const kept = text.split('\n').filter((l) => !names.has(/^\s*#\s*define\s+(\w+)/.exec(l)?.[1] ?? ''));
  writeFileSync(pyconfig, kept.join('\n'));
  for (const f of headers) {
    const left = [...names].find((n) => readFileSync(f, 'utf8').includes(n));
    if (left) throw new TaskFailure(`${f} still mentions ${left} after unifdef`, 'the header uses the macro in a form unifdef cannot resolve: report it');
  }
  ctx.log(`resolved ${[...names].join(', ')} in ${headers.length} headers of ${from}`);
  return to;
}

/** What distutils reads from an interpreter to build an extension for it. */
export interface Sysconfig {
  /** `3.8.12` */
  readonly version: string;
  readonly cflags: string;
  readonly ccshared: string;
  /** LDSHARED without its first word (the compiler). */
  readonly ldshared: string;
  readonly includepy: string;
  readonly extSuffix: string;
  /** MULTIARCH: x86_64-linux-gnu */
  readonly multiarch: string;
  /** Py_DEBUG, WITH_PYMALLOC (the ABI flags upstream CPython puts in tags and suffixes). */
  readonly pyDebug: boolean;
  readonly pymalloc: boolean;
}

const QUERY = [
  'import json, sys, sysconfig',
  'g = sysconfig.get_config_var',
  'print(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3], "cflags": g("CFLAGS") or "", "ccshared": g("CCSHARED") or "",',
  ' "ldshared": g("LDSHARED") or "", "includepy": g("INCLUDEPY") or "", "extSuffix": g("EXT_SUFFIX") or "",',
  ' "multiarch": g("MULTIARCH") or "", "pyDebug": bool(g("Py_DEBUG")), "pymalloc": bool(g("WITH_PYMALLOC"))}))',
].join('\n');

/** Ask the interpreter (a path) for its sysconfig. */
export async function querySysconfig(ctx: TaskContext, python: string): Promise<Sysconfig> {
  const out = (await ctx.exec(python, ['-I', '-c', QUERY], { jobserver: false, capture: true })).output ?? '';
  const line = out.trim().split('\n').pop() ?? '';
  let v: Record<string, string> & { pyDebug?: boolean; pymalloc?: boolean };
  try {
    v = JSON.parse(line) as Record<string, string>;
  } catch {
    throw new TaskFailure(`${python} did not report its sysconfig (got: ${line.slice(0, 200)})`, 'check that the interpreter runs: its build may be broken');
  }
  if (!v.includepy || !v.extSuffix) throw new TaskFailure(`${python} reports no INCLUDEPY or EXT_SUFFIX`, 'build the interpreter with make install (its sysconfig is incomplete)');
  return {
    version: v.version!,
    cflags: dropPipelineFlags(v.cflags ?? ''),
    ccshared: v.ccshared ?? '',
    ldshared: dropPipelineFlags((v.ldshared ?? '').trim().split(/\s+/).slice(1).join(' ')),
    includepy: v.includepy,
    extSuffix: v.extSuffix,
    multiarch: v.multiarch ?? '',
    pyDebug: v.pyDebug === true,
    pymalloc: v.pymalloc === true,
  };
}

/** The ABI flags upstream CPython has for this build: `d` (Py_DEBUG), and `m` (pymalloc) before 3.8. */
function abiFlags(sc: Sysconfig): string {
  const [maj, min] = sc.version.split('.').map(Number) as [number, number];
  return `${sc.pyDebug ? 'd' : ''}${sc.pymalloc && maj * 100 + min < 308 ? 'm' : ''}`;
}

const nodot = (sc: Sysconfig): string => sc.version.split('.').slice(0, 2).join('');

/** The wheel's ABI tag, as pip computes it for the interpreter: cp38, cp37m, cp39d. */
export function abiTag(sc: Sysconfig): string {
  return `cp${nodot(sc)}${abiFlags(sc)}`;
}

/** Upstream CPython's EXT_SUFFIX for this version, ABI and architecture. */
export function upstreamExtSuffix(sc: Sysconfig): string {
  return `.cpython-${nodot(sc)}${abiFlags(sc)}-${sc.multiarch}.so`;
}

export interface CompileOptions {
  readonly project: WheelProject;
  readonly sysconfig: Sysconfig;
  /** Absolute directory of generated sources (when the project has a generator). */
  readonly genDir: string | undefined;
  /** Absolute directory for the objects and the module; emptied first. */
  readonly buildDir: string;
  /** Flags of this stage (PGO instrument or use, BOLT code shape, path maps). */
  readonly cflags: readonly string[];
  readonly ldflags: readonly string[];
  readonly lto: boolean;
}

const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);

/**
 * The module's file name in the wheel: `<name><EXT_SUFFIX>` when the
 * interpreter's EXT_SUFFIX is upstream CPython's
 * (`pyston_lite.cpython-39-x86_64-linux-gnu.so`). An interpreter whose
 * suffix carries a flag upstream's has not (Pyston's stock build:
 * `.cpython-38a-...`, `a` for its debugging features) gets `<name>.so`,
 * which every CPython imports: the wheel then loads on upstream CPython as
 * well as on the interpreter it was built against.
 */
export function moduleFile(project: WheelProject, sc: Sysconfig): string {
  return sc.extSuffix === upstreamExtSuffix(sc) ? `${project.name}${sc.extSuffix}` : `${project.name}.so`;
}

/** What a compile reported: per source file (by name), its count of -Wmissing-profile warnings. */
export interface CompileResult {
  readonly module: string;
  readonly missingProfile: Readonly<Record<string, number>>;
}

/**
 * Compile and link. Objects are written by relative name from the build
 * directory, as make does: gcc's -fprofile-prefix-path strips the build
 * directory from the .gcda names only then, so the instrumented and the
 * final build (in another directory) name the same profile files.
 */
export async function compileExtension(ctx: TaskContext, o: CompileOptions): Promise<CompileResult> {
  const p = o.project;
  rmSync(o.buildDir, { recursive: true, force: true });
  mkdirSync(o.buildDir, { recursive: true });
  const files = [...p.sources.map((s) => join(p.dir, s)), ...(p.generator && o.genDir ? p.generator.outputs.map((g) => join(o.genDir!, g)) : [])];
  const stems = new Set<string>();
  for (const f of files) {
    const stem = basename(f, '.c');
    if (stems.has(stem)) throw new TaskFailure(`two sources of ${p.name} are both named ${stem}.c`, 'rename one: objects are named by the file name');
    stems.add(stem);
  }
  const includes = [p.dir, ...p.includes, o.sysconfig.includepy, ...(p.internalHeaders ? [join(o.sysconfig.includepy, 'internal')] : [])].map((d) => `-I${d}`);
  const lto = o.lto ? ['-flto=jobserver'] : [];
  const objects: string[] = [];
  const missingProfile: Record<string, number> = {};
  for (const f of files) {
    const obj = `${basename(f, '.c')}.o`;
    const own = p.noLto.includes(basename(f)) ? ['-fno-lto'] : lto;
    const r = await ctx.exec(
      'gcc',
      [...words(o.sysconfig.cflags), ...words(o.sysconfig.ccshared), ...p.defines.map((d) => `-D${d}`), ...includes, ...p.cflags, ...o.cflags, ...own, '-c', f, '-o', obj],
      { cwd: o.buildDir, jobserver: false, capture: true },
    );
    missingProfile[basename(f)] = (r.output ?? '').split('\n').filter((l) => l.includes('[-Wmissing-profile]')).length;
    objects.push(obj);
  }
  // `<name>.so` in the build directories (see tasks.ts); the wheel names it by moduleFile().
  const out = join(o.buildDir, `${p.name}.so`);
  const tmp = `${out}.tmp`;
  await ctx.exec('gcc', [...words(o.sysconfig.ldshared), ...objects, ...p.ldflags, ...o.ldflags, ...lto, ...p.libraries.map((l) => `-l${l}`), '-o', tmp], {
    cwd: o.buildDir,
    jobserver: 'pipe',
  });
  renameSync(tmp, out);
  return { module: out, missingProfile };
}
