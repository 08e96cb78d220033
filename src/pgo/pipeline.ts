/**
 * Profile-guided optimization, as separate tasks of the graph:
 *
 *   <instrumented build tasks> -> train -> merge -> validate -> (optimized build uses the profile)
 *
 * Generic over "a build that can be instrumented, exercised and rebuilt":
 * the caller makes the instrumented build from the flags given here and
 * says how to exercise it; this module owns the flags, the training run,
 * the merge, and the checks that the profile is real. It serves the
 * interpreter now, and later extension modules and LLVM stage 2.
 *
 * clang: -fprofile-instr-generate, LLVM_PROFILE_FILE with a %m merge pool,
 * llvm-profdata merge, -fprofile-instr-use. gcc: -fprofile-generate=DIR with
 * -fprofile-prefix-path, so the optimized build in another directory finds
 * the same .gcda names, then -fprofile-use -fprofile-correction.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TaskFailure, type Task, type TaskContext, type TaskInputs, type ToolRef } from '../graph/index.js';
import { runSharded, type Command } from '../steps/command.js';

export type PgoFamily = 'clang' | 'gcc';

export interface PgoFlags {
  readonly cflags: readonly string[];
  readonly ldflags: readonly string[];
}

export interface PgoSpec {
  /** Task id prefix, e.g. `opt:pgo`. */
  readonly prefix: string;
  readonly family: PgoFamily;
  /** llvm-profdata (clang) or gcov-dump (gcc). */
  readonly profileTool: ToolRef;
  /** Directory (relative to the root) for raw profiles, the merged profile and its summary. */
  readonly dir: string;
  /** Absolute directory of the instrumented build (gcc mangles .gcda names relative to it). */
  readonly instrumentedBuildDir: string;
  /** Absolute directory of the optimized build (gcc: same relative names there). */
  readonly optimizedBuildDir: string;
  /** Id of the last task of the instrumented build: training runs after it. */
  readonly instrumentedTask: string;
  /** The training workload, run with the instrumented build. */
  readonly train: Command;
  /** What the training reads (its scripts), for the key. */
  readonly trainInputs: TaskInputs;
  /** A function the profile must have counts for, e.g. `_PyEval_EvalFrameDefault`. */
  readonly hotFunction: string;
  /** The object file that defines it, without extension (gcc checks its .gcda), e.g. `ceval`. */
  readonly hotObject: string;
  /** Pyston's Makefile appends `|| true` to training; we only do so when told, and say so. */
  readonly tolerateFailure: boolean;
}

/** Flags for the instrumented build. */
export function instrumentFlags(spec: Pick<PgoSpec, 'family' | 'dir' | 'instrumentedBuildDir'>, root: string): PgoFlags {
  if (spec.family === 'clang') return { cflags: ['-fprofile-instr-generate'], ldflags: ['-fprofile-instr-generate'] };
  const dir = join(root, spec.dir, 'gcda');
  const f = [`-fprofile-generate=${dir}`, `-fprofile-prefix-path=${spec.instrumentedBuildDir}`, '-fprofile-update=atomic'];
  return { cflags: f, ldflags: [`-fprofile-generate=${dir}`] };
}

/** Flags for the optimized build that uses the profile. */
export function useFlags(spec: Pick<PgoSpec, 'family' | 'dir' | 'optimizedBuildDir'>, root: string): PgoFlags {
  if (spec.family === 'clang') return { cflags: [`-fprofile-instr-use=${join(root, spec.dir, 'code.profdata')}`], ldflags: [] };
  const dir = join(root, spec.dir, 'gcda');
  return { cflags: [`-fprofile-use=${dir}`, `-fprofile-prefix-path=${spec.optimizedBuildDir}`, '-fprofile-correction', '-Wno-missing-profile'], ldflags: [`-fprofile-use=${dir}`] };
}

/** The profile file (or directory, for gcc) the optimized build reads: an output of the merge task. */
export function profileOutput(spec: Pick<PgoSpec, 'family' | 'dir'>): string {
  return spec.family === 'clang' ? `${spec.dir}/code.profdata` : `${spec.dir}/gcda`;
}

export interface PgoTasks {
  readonly tasks: Task[];
  /** The optimized build's configure must depend on this task. */
  readonly ready: string;
}

function count(dir: string, ext: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const visit = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.name.endsWith(ext)) {
        files++;
        bytes += statSync(p).size;
      }
    }
  };
  if (existsSync(dir)) visit(dir);
  return { files, bytes };
}

export function pgoTasks(spec: PgoSpec): PgoTasks {
  const raw = `${spec.dir}/raw`;
  const clang = spec.family === 'clang';
  const train: Task = {
    id: `${spec.prefix}:train`,
    title: 'run the training workload on the instrumented build',
    deps: [spec.instrumentedTask],
    weight: 3,
    inputs: { ...spec.trainInputs, config: { ...(spec.trainInputs.config ?? {}), 'pgo.tolerate_failure': spec.tolerateFailure, ...(spec.train.env ? { trainEnv: spec.train.env } : {}) } },
    outputs: [clang ? raw : `${spec.dir}/gcda`],
    async run(ctx: TaskContext) {
      const out = ctx.path(clang ? raw : `${spec.dir}/gcda`);
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out, { recursive: true });
      const env = { ...(spec.train.env ?? {}), ...(clang ? { LLVM_PROFILE_FILE: join(out, 'code-%128m.profraw') } : {}) };
      try {
        await runSharded(ctx, spec.train, { env, jobserver: false });
      } catch (e) {
        if (!spec.tolerateFailure) {
          throw new TaskFailure(`the training workload failed: ${(e as Error).message}`, 'fix the workload, or set pgo.tolerate_failure = true to use the partial profile anyway');
        }
        ctx.log(`warning: the training workload failed (${(e as Error).message}); pgo.tolerate_failure is set, so the profile gathered so far is used`);
      }
      const got = count(out, clang ? '.profraw' : '.gcda');
      ctx.log(`training wrote ${got.files} profile files, ${got.bytes} bytes`);
      if (got.files === 0) throw new TaskFailure('the training run wrote no profile data', 'check that the instrumented build really is instrumented (see its configure log)');
    },
  };
  const merge: Task = {
    id: `${spec.prefix}:merge`,
    title: clang ? 'merge raw profiles (llvm-profdata merge)' : 'collect the .gcda profile',
    deps: [train.id],
    inputs: { tools: [spec.profileTool] },
    outputs: [profileOutput(spec)],
    async run(ctx) {
      if (!clang) return; // gcc merges into the .gcda files itself, at each exit.
      const files = readdirSync(ctx.path(raw))
        .filter((f) => f.endsWith('.profraw'))
        .sort()
        .map((f) => ctx.path(raw, f));
      await ctx.exec(spec.profileTool.command ?? spec.profileTool.name, ['merge', `--output=${ctx.path(profileOutput(spec))}`, ...files], { jobserver: false });
    },
  };
  const validate: Task = {
    id: `${spec.prefix}:validate`,
    title: `check the profile is not empty and covers ${spec.hotFunction}`,
    deps: [merge.id],
    inputs: { tools: [spec.profileTool], config: { 'pgo.hot_function': spec.hotFunction, 'pgo.hot_object': spec.hotObject } },
    outputs: [`${spec.dir}/summary.json`],
    async run(ctx) {
      const summary = clang ? await validateClang(spec, ctx) : validateGcc(spec, ctx);
      writeFileSync(ctx.path(spec.dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    },
  };
  return { tasks: [train, merge, validate], ready: validate.id };
}

/** Run a tool and return its output (it also goes to the log). */
async function capture(ctx: TaskContext, file: string, args: string[]): Promise<string> {
  return (await ctx.exec(file, args, { jobserver: false, capture: true })).output ?? '';
}

async function validateClang(spec: PgoSpec, ctx: TaskContext): Promise<Record<string, unknown>> {
  const tool = spec.profileTool.command ?? spec.profileTool.name;
  const profile = ctx.path(profileOutput(spec));
  const detailed = await capture(ctx, tool, ['show', '--detailed-summary', profile]);
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(detailed);
    return m ? Number(m[1]) : undefined;
  };
  const functions = num(/Total functions:\s*(\d+)/);
  const maxCount = num(/Maximum function count:\s*(\d+)/);
  const totalCount = num(/Total count:\s*(\d+)/) ?? num(/Total number of blocks:\s*(\d+)/);
  if (!functions || !maxCount)
    throw new TaskFailure(`the merged profile ${profile} is empty (functions: ${functions ?? 0}, maximum count: ${maxCount ?? 0})`, 'the training run did not exercise the instrumented build');
  const hot = await capture(ctx, tool, ['show', '--counts', `--function=${spec.hotFunction}`, profile]);
  const hotCount = Number(/Function count:\s*(\d+)/.exec(hot)?.[1] ?? 0);
  const blocks = [...hot.matchAll(/Block counts:\s*\[([^\]]*)\]/g)].flatMap((m) => m[1]!.split(',').map((x) => Number(x.trim()) || 0));
  const blockSum = blocks.reduce((a, b) => a + b, 0);
  if (hotCount === 0 && blockSum === 0) {
    throw new TaskFailure(`the profile has no counts for ${spec.hotFunction}, the build's hot core`, 'the training run must execute the hot code in the instrumented build');
  }
  return {
    family: 'clang',
    profile: profileOutput(spec),
    functions,
    maxFunctionCount: maxCount,
    totalCount: totalCount ?? null,
    hotFunction: spec.hotFunction,
    hotFunctionCount: hotCount,
    hotFunctionBlockCountSum: blockSum,
  };
}

function validateGcc(spec: PgoSpec, ctx: TaskContext): Record<string, unknown> {
  const got = count(ctx.path(spec.dir, 'gcda'), '.gcda');
  if (got.files === 0) throw new TaskFailure('the gcc profile is empty (no .gcda files)', 'the training run did not exercise the instrumented build');
  const hot = findGcda(ctx.path(spec.dir, 'gcda'), spec.hotObject);
  if (!hot || statSync(hot).size === 0)
    throw new TaskFailure(`no profile data for ${spec.hotFunction} (no ${spec.hotObject}.gcda)`, 'the training run must execute the hot code in the instrumented build');
  return { family: 'gcc', gcdaFiles: got.files, gcdaBytes: got.bytes, hotFunction: spec.hotFunction, hotFile: hot.slice(ctx.root.length + 1) };
}

function findGcda(dir: string, stem: string): string | undefined {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const f = findGcda(p, stem);
      if (f) return f;
    } else if (e.name.endsWith(`${stem}.gcda`)) return p;
  }
  return undefined;
}
