/**
 * `pyston-build doctor`: is this machine ready to build? Lists every tool
 * the graph's tasks need with its version, what is missing, and the exact
 * command that installs it. A tool the graph builds is listed as built by
 * its task, never as missing.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { relative } from 'node:path';
import { FileHasher } from './graph/hash.js';
import { spawnSync } from 'node:child_process';
import { loadState, statePath, ToolResolver, which, errorMessage, PbError, resolveTargets, topoClosure, validateGraph, type Task, type TaskGraph, type ToolRef } from './graph/index.js';
import { hasDebSrc, planSetup, writeDebSrc } from './debian/apt.js';
import { assertBinfmtEnabled, BINFMT_DIR, binfmtPackages, binfmtProblem, binfmtState, enableBinfmtCommand } from './debian/binfmt.js';
import { DPKG_ADMIN_DIR, installedVersions } from './debian/dpkg.js';
import { foreignArchitectures, foreignPackageArchs } from './debian/multiarch.js';

/** The system packages the tasks declare (besides their tools' own), sorted. */
function declaredPackages(tasks: readonly Task[]): string[] {
  return [...new Set(tasks.flatMap((t) => t.packages ?? []))].sort();
}

/** The values `pick` gives for the tasks, sorted, each with the ids of the tasks that name it. */
function byTask(tasks: Iterable<Task>, pick: (t: Task) => readonly string[] | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of tasks) for (const s of pick(t) ?? []) (out.get(s) ?? out.set(s, []).get(s)!).push(t.id);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The Debian suites whose deb-src entries the tasks need (their `debSrcSuites`: a pinned source's apt mirrors), sorted, each with the tasks that need it. */
export function neededDebSrcSuites(tasks: Iterable<Task>): Map<string, string[]> {
  return byTask(tasks, (t) => t.debSrcSuites);
}

/** The binfmt entries the tasks run programs through (their `binfmt`, e.g. `qemu-aarch64`), sorted, each with the tasks that need it. */
export function neededBinfmt(tasks: Iterable<Task>): Map<string, string[]> {
  return byTask(tasks, (t) => t.binfmt);
}

/** `a, b, c and N more`: the first three of `ids`. */
function firstIds(ids: readonly string[]): string {
  return `${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ` and ${ids.length - 3} more` : ''}`;
}

/** The machine doctor and setup look at; tests pass their own directories. */
export interface MachineDirs {
  /** dpkg's admin directory (installed packages, foreign architectures). Default /var/lib/dpkg. */
  readonly adminDir?: string;
  /** Where the kernel lists binfmt entries. Default /proc/sys/fs/binfmt_misc. */
  readonly binfmtDir?: string;
}

export interface DoctorReport {
  readonly lines: string[];
  readonly missingPackages: string[];
  readonly ok: boolean;
}

/** `apt`: the apt config dir whose deb-src entries are checked; `machine`: the dpkg and binfmt directories (tests pass their own). */
export function doctor(graph: TaskGraph, root: string, buildDir: string, env: NodeJS.ProcessEnv, apt = '/etc/apt', machine: MachineDirs = {}): DoctorReport {
  const adminDir = machine.adminDir ?? DPKG_ADMIN_DIR;
  const binfmtDir = machine.binfmtDir ?? BINFMT_DIR;
  const lines: string[] = [];
  const missing = new Set<string>();
  let ok = true;
  const row = (status: 'ok' | 'missing' | 'warn' | 'error', what: string) => lines.push(`  ${status.padEnd(8)} ${what}`);

  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 20) row('ok', `node v${process.versions.node}`);
  else {
    row('error', `node v${process.versions.node} is too old (pyston-build needs >= 20)`);
    ok = false;
  }

  const basics: ToolRef[] = [{ name: 'mkfifo', package: 'coreutils' }];
  const users = new Map<string, { tool: ToolRef; tasks: string[] }>();
  for (const t of basics) users.set(t.name, { tool: t, tasks: ['the jobserver'] });
  for (const task of graph.tasks.values()) {
    for (const tool of task.inputs.tools ?? []) {
      const k = `${tool.name}\0${tool.command ?? tool.path ?? tool.name}`;
      (users.get(k) ?? users.set(k, { tool, tasks: [] }).get(k)!).tasks.push(task.id);
    }
  }
  const resolver = new ToolResolver(env.PATH, new FileHasher(), {});
  for (const { tool, tasks } of [...users.values()].sort((a, b) => (a.tool.name < b.tool.name ? -1 : 1))) {
    if (tool.producer !== undefined) {
      row('ok', `${tool.name} built by ${tool.producer} (${tool.path})`);
      continue;
    }
    const cmd = tool.command ?? tool.name;
    if (!which(cmd, env.PATH)) {
      ok = false;
      if (tool.package) missing.add(tool.package);
      tasks.sort();
      row('missing', `${tool.name}${cmd !== tool.name ? ` (${cmd})` : ''}, needed by ${tasks.slice(0, 3).join(', ')}${tasks.length > 3 ? ` and ${tasks.length - 3} more` : ''}`);
      continue;
    }
    const r = resolver.resolve(tool);
    row('ok', `${tool.name} ${r.version ? `${r.version} ` : ''}(${r.path})`);
  }

  const libs = declaredPackages([...graph.tasks.values()]);
  const have = installedVersions(libs, adminDir);
  for (const p of libs) {
    if (have.has(p)) continue;
    ok = false;
    missing.add(p);
    row('missing', `${p} (build library for the interpreter variants)`);
  }
  if (libs.length > 0 && libs.every((p) => have.has(p))) row('ok', `${libs.length} build libraries (${libs.slice(0, 3).join(', ')}, ...)`);

  // `name:arch` packages of a foreign architecture: apt installs them only once dpkg knows it.
  const addArchitectures: string[] = [];
  const archs = foreignPackageArchs(libs);
  const foreign = archs.size > 0 ? foreignArchitectures(adminDir) : [];
  for (const [arch, pkgs] of archs) {
    if (foreign.includes(arch)) row('ok', `dpkg architecture ${arch} (foreign, for ${firstIds(pkgs)})`);
    else {
      ok = false;
      addArchitectures.push(arch);
      row('missing', `dpkg architecture ${arch}, needed by ${firstIds(pkgs)}: dpkg --add-architecture ${arch}`);
    }
  }

  // Programs of another architecture run through binfmt_misc and qemu-user.
  const enable: string[] = [];
  for (const [entry, ids] of neededBinfmt(graph.tasks.values())) {
    const state = binfmtState(entry, binfmtDir);
    if (state === 'enabled') {
      row('ok', `binfmt ${entry} enabled (for ${firstIds(ids)})`);
      continue;
    }
    ok = false;
    enable.push(entry);
    const pkgs = binfmtPackages(entry);
    const installed = installedVersions(pkgs, adminDir);
    for (const p of pkgs) if (!installed.has(p)) missing.add(p);
    row('missing', `binfmt ${entry}: ${binfmtProblem(entry, state, binfmtDir)}, needed by ${firstIds(ids)}: ${enableBinfmtCommand(entry).join(' ')}`);
  }

  // A missing deb-src entry is a warning: a pin's other mirrors or the download cache may still serve its archive.
  let debSrcMissing = false;
  for (const [suite, ids] of neededDebSrcSuites(graph.tasks.values())) {
    const by = firstIds(ids);
    if (hasDebSrc(apt, suite)) row('ok', `deb-src for ${suite} (apt-get source, for ${by})`);
    else {
      debSrcMissing = true;
      row('warn', `no deb-src entry for ${suite}: apt-get source cannot fetch for ${by}`);
    }
  }

  const shownBuild = relative(root, buildDir) || buildDir;
  try {
    mkdirSync(buildDir, { recursive: true });
    accessSync(buildDir, constants.W_OK);
    row('ok', `build directory ${shownBuild}/ is writable`);
  } catch (e) {
    ok = false;
    row('error', `build directory ${shownBuild}/ is not writable: ${errorMessage(e)}`);
  }
  const { state, problem } = loadState(statePath(buildDir));
  if (problem) row('warn', problem);
  else row('ok', `build state: ${Object.keys(state.tasks).length} task records`);

  if (missing.size > 0 || addArchitectures.length > 0 || enable.length > 0) {
    const fix = [
      ...addArchitectures.map((a) => `dpkg --add-architecture ${a}`),
      ...(missing.size > 0 || addArchitectures.length > 0 ? ['apt-get update'] : []),
      ...(missing.size > 0 ? [`apt-get install -y ${[...missing].sort().join(' ')}`] : []),
      ...enable.map((e) => enableBinfmtCommand(e).join(' ')),
    ];
    lines.push('', 'to install what is missing:', `  ${fix.join(' && ')}`, 'or, for exactly what some targets need:', '  npx pyston-build setup [TARGET...]');
  }
  if (debSrcMissing) lines.push('', 'to add the deb-src entries (as root):', '  npx pyston-build setup [TARGET...]');
  return { lines, missingPackages: [...missing].sort(), ok };
}

/**
 * What the given targets need of the machine: the Debian packages (missing
 * tools' packages plus the tasks' `packages`, which may be `name:arch`),
 * the deb-src suites and the binfmt entries, each sorted.
 */
export function neededPackages(graph: TaskGraph, targets: readonly string[], env: NodeJS.ProcessEnv): { packages: string[]; debSrcSuites: string[]; binfmt: string[] } {
  validateGraph(graph);
  const tasks = topoClosure(graph, resolveTargets(graph, targets));
  const pkgs = new Set<string>(declaredPackages(tasks));
  for (const t of tasks) for (const tool of t.inputs.tools ?? []) if (tool.package && !which(tool.command ?? tool.name, env.PATH)) pkgs.add(tool.package);
  return { packages: [...pkgs].sort(), debSrcSuites: [...neededDebSrcSuites(tasks).keys()], binfmt: [...neededBinfmt(tasks).keys()] };
}

/** `pyston-build setup`: install what the targets need, with apt-get, as root. */
export async function setup(graph: TaskGraph, targets: readonly string[], io: { out: NodeJS.WritableStream; env: NodeJS.ProcessEnv }): Promise<number> {
  const { packages, debSrcSuites, binfmt } = neededPackages(graph, targets, io.env);
  const plan = planSetup(packages, debSrcSuites, undefined, undefined, { binfmt });
  if (plan.missing.length === 0 && !plan.addDebSrc && plan.addArchitectures.length === 0 && plan.enableBinfmt.length === 0) {
    io.out.write(`setup: nothing to install for ${targets.join(' ')}\n`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    const what = [
      ...plan.addArchitectures.map((a) => `the dpkg architecture ${a}`),
      ...plan.missing,
      ...(plan.addDebSrc ? [`the deb-src entries for ${plan.addDebSrc.suites.join(', ')}`] : []),
      ...plan.enableBinfmt.map((e) => `the binfmt entry ${e}`),
    ].join(' ');
    throw new PbError(`setup needs root to install ${what}`, `run: sudo npx pyston-build setup ${targets.join(' ')}`);
  }
  const run = (args: string[]): void => {
    io.out.write(`setup: ${args.join(' ')}\n`);
    const r = spawnSync(args[0]!, args.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], env: { ...io.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new PbError(`'${args.join(' ')}' failed (exit ${r.status ?? r.signal})`, `see ${args[0]}'s output above`, 1);
  };
  for (const arch of plan.addArchitectures) run(['dpkg', '--add-architecture', arch]);
  if (plan.addDebSrc) {
    writeDebSrc(plan.addDebSrc);
    io.out.write(`setup: added deb-src for ${plan.addDebSrc.suites.join(', ')} to ${plan.addDebSrc.file} (Debian source packages, for the pinned sources)\n`);
  }
  if (plan.updateLists) run(['apt-get', 'update']);
  if (plan.missing.length > 0) run(['apt-get', 'install', '-y', '--no-install-recommends', ...plan.missing]);
  for (const entry of plan.enableBinfmt) {
    try {
      run(enableBinfmtCommand(entry));
    } catch {
      // Its output is above; the re-check below names what is still wrong and how to fix it.
    }
  }
  // update-binfmts can also succeed and leave the entry off (binfmt_misc switched off, a container's host kernel).
  assertBinfmtEnabled(plan.enableBinfmt);
  io.out.write(`setup: done\n`);
  return 0;
}
