/** Shared test helpers: temp projects, event capture, small real tasks. */
import { cpSync, existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ownCgroupDir } from '../src/graph/contain.js';
import { EventBus, runBuild, type EngineEvent, type EngineOptions, type Task, type TaskGraph, type BuildSummary } from '../src/graph/index.js';
import type { Toolchain } from '../src/llvm/toolchain.js';
import type { PgoFlags } from '../src/pgo/pipeline.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Temp directories made by tmpProject in this test file; tests/setup.ts removes them when the file passed. */
export const tmpProjects: string[] = [];

export function tmpProject(prefix = 'pb-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tmpProjects.push(dir);
  return dir;
}

export function write(root: string, rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}

export function read(root: string, rel: string): string {
  return readFileSync(join(root, rel), 'utf8');
}

export function graphOf(tasks: Task[], targets: Record<string, string[]> = {}, envAllowList: string[] = []): TaskGraph {
  const all = { all: tasks.map((t) => t.id), ...targets };
  return {
    tasks: new Map(tasks.map((t) => [t.id, t])),
    targets: new Map(Object.entries(all).map(([name, roots]) => [name, { name, description: name, roots }])),
    envAllowList,
  };
}

export interface BuildResult {
  readonly summary: BuildSummary;
  readonly events: EngineEvent[];
  /** Ids of the tasks that started, in start order. */
  readonly ran: string[];
}

export async function build(graph: TaskGraph, root: string, opts: Partial<EngineOptions> = {}): Promise<BuildResult> {
  const bus = new EventBus();
  const events: EngineEvent[] = [];
  bus.on((e) => events.push(e));
  const summary = await runBuild(graph, { root, buildDir: join(root, 'build'), jobs: 2, targets: ['all'], handleSignals: false, env: { PATH: process.env.PATH }, bus, ...opts });
  return { summary, events, ran: events.flatMap((e) => (e.type === 'start' ? [e.id] : [])) };
}

/**
 * A task that concatenates its input files (plus a config value and an env
 * value) into one output file, with real `sh` and `cat`.
 */
export function catTask(id: string, opts: { deps?: string[]; files?: string[]; config?: Record<string, unknown>; env?: string[]; out?: string; fail?: boolean; sleep?: number } = {}): Task {
  const out = opts.out ?? `build/out/${id}.txt`;
  const files = opts.files ?? [];
  return {
    id,
    deps: opts.deps ?? [],
    inputs: { files, tools: [{ name: 'sh' }], ...(opts.config ? { config: opts.config } : {}), ...(opts.env ? { env: opts.env } : {}) },
    outputs: [out],
    async run(ctx) {
      mkdirSync(dirname(ctx.path(out)), { recursive: true });
      const envText = (opts.env ?? []).map((n) => `${n}=${ctx.env[n] ?? ''}`).join(' ');
      const depFiles = (opts.deps ?? []).map((d) => ctx.path(`build/out/${d}.txt`));
      const body = opts.fail ? 'echo "about to fail"; echo "boom" >&2; exit 3' : 'out="$1"; shift; { echo "$CFG $ENVS"; cat "$@" /dev/null; } > "$out"';
      const script = opts.sleep ? `sleep ${opts.sleep}; ${body}` : body;
      await ctx.exec('sh', ['-c', script, 'sh', ctx.path(out), ...files.map((f) => ctx.path(f)), ...depFiles], {
        env: { CFG: JSON.stringify(opts.config ?? {}), ENVS: envText },
        jobserver: false,
      });
    },
  };
}

/** Run the real CLI (bin/pyston-build.js) as a new process. */
export function cli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): SpawnSyncReturns<string> {
  return runCommand(join(REPO, 'bin', 'pyston-build.js'), args, opts);
}

/** The demo example's command (examples/demo/pyston-build-demo.js: the same CLI on the example graph), as a new process. */
export const DEMO_CLI = join(REPO, 'examples', 'demo', 'pyston-build-demo.js');
export function demoCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): SpawnSyncReturns<string> {
  return runCommand(DEMO_CLI, args, opts);
}

function runCommand(script: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number }): SpawnSyncReturns<string> {
  const base = { ...process.env };
  delete base.GITHUB_ACTIONS;
  delete base.GITHUB_STEP_SUMMARY;
  delete base.FORCE_COLOR;
  const env = { ...base, ...opts.env };
  return spawnSync(process.execPath, [script, ...args], {
    cwd: opts.cwd ?? REPO,
    env,
    encoding: 'utf8',
    timeout: opts.timeout ?? 120_000,
  });
}

/** A project directory holding a copy of the demo's C fixture, for CLI tests. */
export function demoProject(): string {
  const root = tmpProject('pb-demo-');
  cpSync(join(REPO, 'tests/fixtures/cdemo'), join(root, 'tests/fixtures/cdemo'), { recursive: true });
  return root;
}

/** Processes whose command line contains `marker`: pid -> cmdline. */
export function processesWith(marker: string): Map<number, string> {
  const found = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(marker) && Number(name) !== process.pid) found.set(Number(name), cmd);
    } catch {
      // gone
    }
  }
  return found;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until `cond` holds, polling every 20 ms; fails naming `what` after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * What a run with process id `pid` may leave behind: the lock, lock temp
 * files and jobserver FIFOs in build/.pyston-build/, and its cgroup cells.
 * Nothing, once it ended.
 */
export function leftovers(root: string, pid: number | undefined): string[] {
  const sdir = join(root, 'build/.pyston-build');
  const files = existsSync(sdir) ? readdirSync(sdir).filter((n) => n === 'lock' || n.startsWith('lock.') || n.startsWith('jobserver-')) : [];
  const cg = ownCgroupDir();
  const cells = cg && pid !== undefined ? readdirSync(cg).filter((n) => n.startsWith(`pyston-build-${pid}-`)) : [];
  return [...files, ...cells];
}

/** A usage error as the CLI prints it: exit 2, one `error:` line, one `hint:` line, no stack trace. */
export function expectUsageError(r: { status: number | null; stderr: string }, message: string, hint: RegExp): void {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toBe(`error: ${message}`);
  expect(lines[1]).toMatch(hint);
  expect(lines).toHaveLength(2);
  expect(r.status).toBe(2);
}

/**
 * The tiny C fixture (tests/fixtures/cdemo) configured and built in `dir`
 * with `tc`'s compiler and the given extra flags (-O2 first), as one task.
 */
export function cdemoBuild(id: string, dir: string, tc: Toolchain, flags: PgoFlags, deps: string[] = []): Task {
  const fix = join(REPO, 'tests/fixtures/cdemo');
  return {
    id,
    deps,
    inputs: { files: [fix], tools: [tc.cc, { name: 'make' }], config: { flags } },
    outputs: [`${dir}/demo`],
    async run(ctx) {
      mkdirSync(ctx.path(dir), { recursive: true });
      const env = { CC: tc.cc.command ?? tc.cc.name, CFLAGS: ['-O2', ...flags.cflags].join(' '), LDFLAGS: flags.ldflags.join(' '), PATH: tc.path };
      await ctx.exec('sh', [join(fix, 'configure')], { cwd: ctx.path(dir), env, jobserver: false });
      await ctx.exec('make', [], { cwd: ctx.path(dir), env });
    },
  };
}
