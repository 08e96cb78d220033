/**
 * BOLT post-link optimization, as separate tasks of the graph:
 *
 *   <build that linked with --emit-relocs> -> instrument -> train -> merge -> optimize -> verify
 *
 * Generic over "ELF files that can be instrumented, exercised and rewritten":
 * executables and shared objects alike. The caller says where each input
 * is, where its instrumented copy must sit for the training run to load it
 * (an executable next to its build tree, a `.so` in a directory put first on
 * LD_LIBRARY_PATH), where the result goes, and how to train and to check
 * it. This module owns the llvm-bolt and merge-fdata runs, the profile
 * cache, the checks and the failure policy.
 *
 * Evidence (DESIGN.md: an optimization that cannot prove it ran has not run):
 * every result must carry the `.note.bolt_info` note, keep a non-executable
 * PT_GNU_STACK, reach the profile-coverage floor, and pass the caller's check
 * (the runtime/ probes). The numbers go to `<dir>/report.json`.
 *
 * Failure policy: `required` fails the task with the log tail. A run that
 * exceeds `timeoutSeconds` is stopped and counts as a failure, so a hang is
 * handled like a crash. `auto` falls back to the un-BOLTed input: the later tasks of the chain pass it through,
 * every renderer shows a warning, and the report records why. Never silently.
 *
 * Profile cache: the merged `.fdata` of each input is stored under
 * `<cache>/bolt/`, named by a digest of the input's bytes, llvm-bolt's bytes,
 * the instrumentation flags and the training's identity. A rebuild that made
 * the same binary (for example after `pyston-build clean`) reuses it and
 * skips instrumenting and training. It is stored a second time under its
 * function layout: the digest of the input's function table (each
 * function's name and size, not its address) instead of its bytes. A BOLT
 * profile names functions and offsets inside them, so it fits any file
 * with the same table: `release`, the same code as `opt` with another
 * prefix in its strings, reuses opt's profile without a second training.
 * Such a reuse is checked when it is applied: llvm-bolt counts the
 * functions whose profile does not fit ("invalid (possibly stale)"), and
 * more than {@link MAX_STALE_PERCENT}% of the profiled ones fails the task,
 * drops the layout entry and says how to retrain. Every run's count is in
 * the report.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { copyFileAtomic, sha256, tailFile, TaskFailure, writeFileAtomic, type Task, type TaskContext, type TaskInputs, type ToolRef } from '../graph/index.js';
import { ElfError, functionTable, hasSection, readElf, stackPolicy, type ElfFile } from '../elf/reader.js';
import { runSharded, type Command } from '../steps/command.js';
import { runtimeLibArg } from './runtime.js';
import type { Arch } from '../debian/arch.js';

/**
 * Flags for `llvm-bolt -instrument`, besides the output and profile file.
 * Instrumentation gets no rewriting options: it only has to count.
 */
export const DEFAULT_INSTRUMENT_FLAGS: readonly string[] = [];

/**
 * Flags for the optimizing run, each checked against llvm-bolt 19's
 * `--help-hidden` (tests/integration/bolt.test.ts runs them all on a real
 * binary). Relative to CPython 3.12's BOLT_APPLY_FLAGS:
 * - no `-inline-all`: llvm-bolt 19 crashed (SIGSEGV) with it on a PGO+LTO
 *   CPython here (NOTES.md);
 * - no `-use-gnu-stack`: in llvm-bolt 19 it turns the PT_GNU_STACK program
 *   header into the new text segment's PT_LOAD, so the result has no
 *   PT_GNU_STACK at all (checked with readelf on a BOLTed python here).
 */
export const DEFAULT_APPLY_FLAGS: readonly string[] = [
  '-update-debug-sections',
  '-reorder-blocks=ext-tsp',
  '-reorder-functions=cdsort',
  '-split-functions',
  '-icf=1',
  '-split-eh',
  '-reorder-functions-use-hot-size',
  '-peepholes=none',
  '-jump-tables=aggressive',
  '-inline-ap',
  '-indirect-call-promotion=all',
  '-dyno-stats',
  '-frame-opt=hot',
];

/**
 * Flags of {@link DEFAULT_APPLY_FLAGS} that llvm-bolt 19 crashes with on
 * AArch64 code: on the PGO+LTO arm64 CPython 3.11.2 release built here,
 * with its merged profile, llvm-bolt 19.1.7 died of SIGSEGV with
 * -indirect-call-promotion=all added to the rest of the set, with
 * -frame-opt=hot added, and with -frame-opt=hot as its only flag. The rest
 * of the set optimized it and the result passed verification.
 */
export const AARCH64_CRASHING_APPLY_FLAGS: readonly string[] = ['-indirect-call-promotion=all', '-frame-opt=hot'];

/** The optimizing run's default flags for a target architecture. */
export function defaultApplyFlags(arch: Arch): readonly string[] {
  return arch === 'arm64' ? DEFAULT_APPLY_FLAGS.filter((f) => !AARCH64_CRASHING_APPLY_FLAGS.includes(f)) : DEFAULT_APPLY_FLAGS;
}

export interface BoltBinary {
  /** Short name, unique in the spec: `python`, `libpython3.11.so.1.0`. */
  readonly name: string;
  /** Absolute path of the input ELF, linked with --emit-relocs. */
  readonly input: string;
  /** Absolute path the instrumented copy is written to, where the training run loads it. */
  readonly instrumented: string;
  /** Absolute path of the result (the BOLTed file, or under `auto` after a failure, a copy of the input). */
  readonly output: string;
  /** Flags added for this file only (e.g. `-jump-tables=none` for a shared object). */
  readonly extraApplyFlags?: readonly string[];
}

export type BoltPolicy = 'required' | 'auto';

export interface BoltSpec {
  /** Task id prefix, e.g. `opt:bolt`. */
  readonly prefix: string;
  /** Absolute project root (outputs are declared relative to it). */
  readonly root: string;
  /** Directory relative to the root for raw and merged profiles and the report. */
  readonly dir: string;
  readonly bolt: ToolRef;
  readonly mergeFdata: ToolRef;
  readonly binaries: readonly BoltBinary[];
  /** The task that links the inputs. */
  readonly after: string;
  /** The training run: it must load every instrumented file. */
  readonly train: Command;
  /** What the training reads (its scripts and settings), for the keys and the cache. */
  readonly trainInputs: TaskInputs;
  /** A check run once the outputs are in place (e.g. the runtime/ probes); a non-zero exit fails verify. */
  readonly check?: Command;
  readonly instrumentFlags: readonly string[];
  readonly applyFlags: readonly string[];
  /** Functions BOLT must leave alone (`-skip-funcs`). */
  readonly skipFuncs: readonly string[];
  /** Minimum percentage of functions with a non-empty profile, per file. */
  readonly minCoverage: number;
  readonly policy: BoltPolicy;
  /** Absolute cache directory for merged profiles; undefined = no cache. */
  readonly cacheDir: string | undefined;
  /** Look profiles up by function layout too (default true); false: only a file with the same bytes reuses one. */
  readonly layoutReuse?: boolean;
  /** Longest any one llvm-bolt, merge-fdata, training or check run may take: a hang becomes a failure under the policy. */
  readonly timeoutSeconds: number;
  /**
   * The instrumentation runtime to link, when the installed one is for
   * another architecture (src/bolt/runtime.ts): its absolute path and the
   * task that puts it there. Unset: llvm-bolt's own.
   */
  readonly runtime?: { readonly lib: string; readonly task: string };
}

export interface BoltTasks {
  readonly tasks: Task[];
  /** The verify task: the outputs are ready (BOLTed, or passed through under `auto`) after it. */
  readonly ready: string;
  /** The report file, relative to the root. */
  readonly report: string;
}

export interface Coverage {
  readonly profiled: number;
  readonly total: number;
  readonly percent: number;
}

/** A profile reused by function layout may leave at most this share of the profiled functions stale. */
export const MAX_STALE_PERCENT = 1;

/** llvm-bolt 19's "N (X% of all profiled) functions have invalid (possibly stale) profile": N, or 0 without the line. */
export function parseStale(log: string): number {
  const m = /(\d+) \([\d.]+% of all profiled\) functions? ha(?:ve|s) invalid \(possibly stale\) profile/.exec(log);
  return m ? Number(m[1]) : 0;
}

/** "N out of M functions in the binary (X%) have non-empty execution profile". */
export function parseCoverage(log: string): Coverage | undefined {
  const m = /(\d+) out of (\d+) functions in the binary \(([\d.]+)%\) have non-empty execution profile/.exec(log);
  return m ? { profiled: Number(m[1]), total: Number(m[2]), percent: Number(m[3]) } : undefined;
}

interface Fallback {
  readonly task: string;
  readonly reason: string;
  readonly logTail: readonly string[];
}

const fallbackFile = (spec: BoltSpec): string => join(spec.dir, 'fallback.json');

function readFallback(ctx: TaskContext, spec: BoltSpec): Fallback | undefined {
  const p = ctx.path(fallbackFile(spec));
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Fallback) : undefined;
}

/** The log's last n lines, without llvm-bolt's repeated DWARF warnings. */
function tail(path: string, n: number): string[] {
  return tailFile(path, 400)
    .filter((l) => l.trim() && !l.includes('internal-dwarf-error'))
    .slice(-n);
}

const writeJson = (path: string, value: unknown): void => writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');

const fileDigest = (path: string): string => sha256(readFileSync(path));

/**
 * Run a stage under the policy. `required`: a failure fails the task.
 * `auto`: the failure is recorded in fallback.json and warned about; the
 * chain passes the inputs through from here on.
 */
async function guarded(ctx: TaskContext, spec: BoltSpec, stage: string, body: () => Promise<void>): Promise<boolean> {
  if (readFallback(ctx, spec)) return false;
  try {
    await body();
    return true;
  } catch (e) {
    if (spec.policy === 'required' || (e as Error).name === 'AbortError' || ctx.signal.aborted) throw e;
    const reason = e instanceof TaskFailure ? e.message : (e as Error).message;
    const fb: Fallback = { task: ctx.id, reason, logTail: tail(ctx.logPath, 20) };
    writeJson(ctx.path(fallbackFile(spec)), fb);
    ctx.warn(`BOLT ${stage} failed (${reason}); bolt = auto, so the un-BOLTed binaries are used. Log: ${ctx.logPath}`);
    return false;
  }
}

function skipFlag(spec: BoltSpec): string[] {
  return spec.skipFuncs.length ? [`-skip-funcs=${spec.skipFuncs.join(',')}`] : [];
}

/**
 * The cache file for one input's merged profile, named by the input's bytes
 * and by what the engine already hashed for the instrument task's key:
 * llvm-bolt's identity and the training's files; plus the flags and the
 * training command. Unlike the key, it leaves out the upstream tasks, so an
 * identical binary from a rebuild finds it. (The input is hashed here, not
 * declared as an input file: it is made by an upstream task in the same run.)
 */
function cacheFiles(spec: BoltSpec, bin: BoltBinary, ctx: TaskContext): { exact: string; layout: string } | null {
  if (!spec.cacheDir) return null;
  const rest = {
    name: bin.name,
    bolt: ctx.inputDigests.tools[spec.bolt.name],
    flags: spec.instrumentFlags,
    skip: spec.skipFuncs,
    ...(spec.runtime ? { runtime: fileDigest(spec.runtime.lib) } : {}),
    train: { args: spec.train.args, config: spec.trainInputs.config ?? {}, files: ctx.inputDigests.files },
  };
  const key = sha256(JSON.stringify({ v: 2, input: fileDigest(bin.input), ...rest })).slice(0, 32);
  const layout = sha256(JSON.stringify({ v: 1, functions: sha256(JSON.stringify(functionTable(bin.input))), ...rest })).slice(0, 32);
  return { exact: join(spec.cacheDir, 'bolt', `${bin.name}-${key}.fdata`), layout: join(spec.cacheDir, 'bolt', `${bin.name}-layout-${layout}.fdata`) };
}

/**
 * What instrument decided, for train and merge: per input, its cache files
 * and whether one was there (`from`: the file to use, `by`: which key hit).
 */
interface Plan {
  readonly files: Record<string, { readonly cache: string | null; readonly layout?: string; readonly hit: boolean; readonly from?: string; readonly by?: 'bytes' | 'layout' }>;
}

export function boltTasks(spec: BoltSpec): BoltTasks {
  const tools = [spec.bolt];
  const rawDir = `${spec.dir}/raw`;
  const fdataDir = `${spec.dir}/fdata`;
  const plan = `${spec.dir}/instrument.json`;
  const report = `${spec.dir}/report.json`;
  const config = { policy: spec.policy, skip: spec.skipFuncs, instrument: spec.instrumentFlags, ...(spec.runtime ? { runtime: spec.runtime.lib } : {}) };
  const fdataPath = (ctx: TaskContext, b: BoltBinary): string => ctx.path(fdataDir, `${b.name}.fdata`);

  const instrument: Task = {
    id: `${spec.prefix}:instrument`,
    title: `instrument ${spec.binaries.map((b) => b.name).join(', ')} (llvm-bolt -instrument)`,
    deps: [spec.after, ...(spec.runtime ? [spec.runtime.task] : [])],
    weight: 2,
    // The training's digests go into the key, and from there into the cache name.
    inputs: { tools, config, files: [...(spec.trainInputs.files ?? [])] },
    outputs: [plan],
    async run(ctx) {
      rmSync(ctx.path(spec.dir), { recursive: true, force: true });
      mkdirSync(ctx.path(spec.dir), { recursive: true });
      const files: Plan['files'] = {};
      await guarded(ctx, spec, 'instrumentation', async () => {
        for (const b of spec.binaries) {
          if (!existsSync(b.input)) throw new TaskFailure(`BOLT input ${b.input} does not exist`, `the task ${spec.after} should have made it`);
          const c = cacheFiles(spec, b, ctx);
          if (!c) {
            files[b.name] = { cache: null, hit: false };
            ctx.log(`${b.name}: profile cache off`);
          } else if (existsSync(c.exact)) {
            files[b.name] = { cache: c.exact, layout: c.layout, hit: true, from: c.exact, by: 'bytes' };
            ctx.log(`${b.name}: profile cache hit (${c.exact})`);
          } else if (spec.layoutReuse !== false && existsSync(c.layout)) {
            files[b.name] = { cache: c.exact, layout: c.layout, hit: true, from: c.layout, by: 'layout' };
            ctx.log(`${b.name}: profile cache hit by function layout (${c.layout}): a build of the same functions was trained; its profile is reused`);
          } else {
            files[b.name] = { cache: c.exact, layout: c.layout, hit: false };
            ctx.log(`${b.name}: profile cache miss`);
          }
        }
        if (spec.binaries.every((b) => files[b.name]!.hit)) {
          ctx.log('every input has a cached profile: no instrumentation, no training');
          return;
        }
        const bolt = spec.bolt.command ?? spec.bolt.name;
        const runtime = spec.runtime ? [`--runtime-instrumentation-lib=${runtimeLibArg(bolt, spec.runtime.lib)}`] : [];
        for (const b of spec.binaries) {
          rmSync(b.instrumented, { force: true });
          mkdirSync(dirname(b.instrumented), { recursive: true });
          const tmp = `${b.instrumented}.tmp`;
          await ctx.exec(
            bolt,
            [
              b.input,
              '-instrument',
              '-instrumentation-file-append-pid',
              `-instrumentation-file=${ctx.path(rawDir, b.name + '.fdata')}`,
              ...runtime,
              ...skipFlag(spec),
              ...spec.instrumentFlags,
              '-o',
              tmp,
            ],
            { jobserver: false, timeoutMs: spec.timeoutSeconds * 1000 },
          );
          renameSync(tmp, b.instrumented);
        }
      });
      const planned: Plan = { files };
      writeJson(ctx.path(plan), planned);
    },
  };

  const train: Task = {
    id: `${spec.prefix}:train`,
    title: 'run the training workload on the BOLT-instrumented files',
    deps: [instrument.id],
    weight: 3,
    inputs: { ...spec.trainInputs },
    outputs: [rawDir],
    async run(ctx) {
      rmSync(ctx.path(rawDir), { recursive: true, force: true });
      mkdirSync(ctx.path(rawDir), { recursive: true });
      const p = JSON.parse(readFileSync(ctx.path(plan), 'utf8')) as Plan;
      await guarded(ctx, spec, 'training', async () => {
        if (spec.binaries.every((b) => p.files[b.name]?.hit)) {
          ctx.log('profiles come from the cache: training skipped');
          return;
        }
        await runSharded(ctx, spec.train, { jobserver: false, timeoutMs: spec.timeoutSeconds * 1000 });
        const files = readdirSync(ctx.path(rawDir));
        for (const b of spec.binaries) {
          const got = files.filter((f) => f.startsWith(`${b.name}.fdata.`));
          ctx.log(`${b.name}: ${got.length} profile file(s)`);
          if (got.length === 0) throw new TaskFailure(`the training run wrote no BOLT profile for ${b.name}`, `the training must load the instrumented ${b.instrumented}`);
        }
      });
      for (const b of spec.binaries) rmSync(b.instrumented, { force: true });
    },
  };

  const merge: Task = {
    id: `${spec.prefix}:merge`,
    title: 'merge the BOLT profiles (merge-fdata)',
    deps: [train.id],
    inputs: { tools: [spec.mergeFdata] },
    outputs: [fdataDir],
    async run(ctx) {
      rmSync(ctx.path(fdataDir), { recursive: true, force: true });
      mkdirSync(ctx.path(fdataDir), { recursive: true });
      const p = JSON.parse(readFileSync(ctx.path(plan), 'utf8')) as Plan;
      await guarded(ctx, spec, 'profile merge', async () => {
        for (const b of spec.binaries) {
          const out = fdataPath(ctx, b);
          const entry = p.files[b.name];
          if (entry?.hit && entry.from) {
            copyFileAtomic(entry.from, out);
            ctx.log(`${b.name}: profile reused from the cache (${entry.from})`);
            continue;
          }
          const raw = readdirSync(ctx.path(rawDir))
            .filter((f) => f.startsWith(`${b.name}.fdata.`))
            .sort()
            .map((f) => ctx.path(rawDir, f));
          await ctx.exec(spec.mergeFdata.command ?? spec.mergeFdata.name, [...raw, '-o', `${out}.tmp`], { jobserver: false, timeoutMs: spec.timeoutSeconds * 1000 });
          renameSync(`${out}.tmp`, out);
          if (statSync(out).size === 0) throw new TaskFailure(`the merged BOLT profile for ${b.name} is empty`, 'the training run did not exercise the instrumented file');
          if (entry?.cache) copyFileAtomic(out, entry.cache);
          if (entry?.layout) copyFileAtomic(out, entry.layout);
        }
      });
    },
  };

  const optimizeLog = (ctx: TaskContext, b: BoltBinary): string => ctx.path(spec.dir, `${b.name}.bolt.log`);
  const optimize: Task = {
    id: `${spec.prefix}:optimize`,
    title: `optimize ${spec.binaries.map((b) => b.name).join(', ')} with the profile (llvm-bolt)`,
    version: 2,
    deps: [merge.id],
    weight: 2,
    inputs: { tools, config: { ...config, apply: spec.applyFlags, extra: Object.fromEntries(spec.binaries.map((b) => [b.name, b.extraApplyFlags ?? []])) } },
    outputs: [...spec.binaries.map((b) => rel(spec.root, b.output)), `${spec.dir}/optimize.json`],
    async run(ctx) {
      const result: Record<string, { coverage: Coverage | null; seconds: number; stale: number; profileFrom: 'training' | 'bytes' | 'layout' }> = {};
      const p = JSON.parse(readFileSync(ctx.path(plan), 'utf8')) as Plan;
      const ok = await guarded(ctx, spec, 'optimization', async () => {
        for (const b of spec.binaries) {
          const tmp = `${b.output}.tmp`;
          rmSync(tmp, { force: true });
          mkdirSync(dirname(tmp), { recursive: true });
          const t0 = Date.now();
          // llvm-bolt writes its command line into the .note.bolt_info it
          // adds. Paths relative to the output's directory keep the build
          // machine's directories out of a shipped binary.
          const cwd = dirname(tmp);
          const here = (p: string): string => relative(cwd, p) || '.';
          const run = await ctx.exec(
            spec.bolt.command ?? spec.bolt.name,
            [here(b.input), '-o', here(tmp), `-data=${here(fdataPath(ctx, b))}`, ...skipFlag(spec), ...spec.applyFlags, ...(b.extraApplyFlags ?? [])],
            {
              cwd,
              jobserver: false,
              timeoutMs: spec.timeoutSeconds * 1000,
              capture: true,
            },
          );
          // Kept apart too, so each file's log can be read on its own.
          writeFileSync(optimizeLog(ctx, b), run.output ?? '');
          const coverage = parseCoverage(run.output ?? '') ?? null;
          const stale = parseStale(run.output ?? '');
          const entry = p.files[b.name];
          if (entry?.by === 'layout' && coverage && stale > (coverage.profiled * MAX_STALE_PERCENT) / 100) {
            rmSync(tmp, { force: true });
            if (entry.layout) rmSync(entry.layout, { force: true });
            throw new TaskFailure(
              `the profile reused by function layout does not fit ${b.name}: llvm-bolt found ${stale} of ${coverage.profiled} profiled functions stale`,
              `the cache entry is removed; run: npx pyston-build clean ${spec.prefix.split(':')[0]}, then build again to train this file's own profile`,
            );
          }
          if (stale > 0) ctx.log(`${b.name}: llvm-bolt found ${stale} functions with a stale profile`);
          renameSync(tmp, b.output);
          result[b.name] = { coverage, seconds: (Date.now() - t0) / 1000, stale, profileFrom: entry?.hit ? (entry.by ?? 'bytes') : 'training' };
        }
      });
      if (!ok) for (const b of spec.binaries) copyFileAtomic(b.input, b.output);
      writeJson(ctx.path(spec.dir, 'optimize.json'), { bolted: ok, binaries: result });
    },
  };

  const verify: Task = {
    id: `${spec.prefix}:verify`,
    title: 'verify the BOLTed files: .note.bolt_info, PT_GNU_STACK, profile coverage, probes',
    deps: [optimize.id],
    inputs: { config: { minCoverage: spec.minCoverage, policy: spec.policy }, files: spec.check?.args.filter((a) => a.endsWith('.py')) ?? [] },
    outputs: [report],
    async run(ctx) {
      const opt = JSON.parse(readFileSync(ctx.path(spec.dir, 'optimize.json'), 'utf8')) as {
        bolted: boolean;
        binaries: Record<string, { coverage: Coverage | null; seconds: number; stale?: number; profileFrom?: string }>;
      };
      const files: Record<string, unknown> = {};
      const ok = await guarded(ctx, spec, 'verification', async () => {
        for (const b of spec.binaries) {
          const v = verifyFile(b.output, opt.binaries[b.name]?.coverage ?? null, spec.minCoverage, optimizeLog(ctx, b));
          files[b.name] = {
            ...v,
            seconds: opt.binaries[b.name]?.seconds ?? null,
            staleFunctions: opt.binaries[b.name]?.stale ?? null,
            profileFrom: opt.binaries[b.name]?.profileFrom ?? null,
            sha256: fileDigest(b.output),
          };
          ctx.log(`${b.name}: .note.bolt_info present, PT_GNU_STACK ok, ${v.coverage.profiled} of ${v.coverage.total} functions (${v.coverage.percent}%) have a profile`);
        }
        if (spec.check) await ctx.exec(spec.check.file, spec.check.args, { cwd: spec.check.cwd, env: spec.check.env ?? {}, jobserver: false, timeoutMs: spec.timeoutSeconds * 1000 });
      });
      const fb = readFallback(ctx, spec);
      if (!ok || fb) {
        // The outputs must be the inputs again, whatever stage gave up.
        for (const b of spec.binaries) copyFileAtomic(b.input, b.output);
        const why = readFallback(ctx, spec);
        ctx.warn(`BOLT fell back to the un-BOLTed ${spec.binaries.map((b) => b.name).join(', ')}: ${why?.reason ?? 'unknown reason'} (bolt = auto; see ${report})`);
        writeJson(ctx.path(report), { bolted: false, policy: spec.policy, fallback: why ?? null });
        return;
      }
      writeJson(ctx.path(report), {
        bolted: true,
        policy: spec.policy,
        minCoverage: spec.minCoverage,
        applyFlags: spec.applyFlags,
        skipFuncs: spec.skipFuncs,
        files,
      });
    },
  };
  return { tasks: [instrument, train, merge, optimize, verify], ready: verify.id, report };
}

/** The checks on one BOLTed file; throws a TaskFailure naming what is wrong. */
export function verifyFile(path: string, coverage: Coverage | null, minCoverage: number, log?: string): { coverage: Coverage; stack: 'ok' } {
  let elf: ElfFile;
  try {
    elf = readElf(path);
  } catch (e) {
    if (e instanceof ElfError) throw new TaskFailure(e.message, 'the BOLT output is not a valid ELF file');
    throw e;
  }
  const where = log ? ` (log: ${log})` : '';
  if (!hasSection(elf, '.note.bolt_info')) throw new TaskFailure(`${basename(path)} has no .note.bolt_info note: BOLT did not rewrite it`, `check the llvm-bolt log${where}`);
  const stack = stackPolicy(elf);
  if (stack === 'missing')
    throw new TaskFailure(
      `${basename(path)} has no PT_GNU_STACK segment, so the loader would give it an executable stack`,
      'drop -use-gnu-stack from bolt.apply_flags: llvm-bolt 19 turns that header into a PT_LOAD',
    );
  if (stack === 'executable') throw new TaskFailure(`${basename(path)} has an executable stack (PT_GNU_STACK has PF_X)`, 'link with -Wl,-z,noexecstack');
  if (!coverage) throw new TaskFailure(`no profile coverage line in the llvm-bolt output for ${basename(path)}`, `check the llvm-bolt log${where}`);
  if (coverage.percent < minCoverage) {
    throw new TaskFailure(
      `BOLT profile coverage of ${basename(path)} is ${coverage.percent}% (${coverage.profiled} of ${coverage.total} functions), below the floor of ${minCoverage}%`,
      'train on more of the code, or lower bolt.min_coverage',
    );
  }
  return { coverage, stack };
}

/** Outputs are declared relative to the root; the spec's paths are absolute. */
function rel(root: string, p: string): string {
  if (!p.startsWith(root + '/')) throw new Error(`BOLT output ${p} is outside the project root ${root}`);
  return p.slice(root.length + 1);
}
