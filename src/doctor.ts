/**
 * `pyston-build doctor`: is this machine ready to build? Lists every tool
 * the graph's tasks need with its version, what is missing, and the exact
 * command that installs it.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { relative } from 'node:path';
import { FileHasher } from './graph/hash.js';
import { loadState, statePath, ToolResolver, which, errorMessage, type TaskGraph, type ToolRef } from './graph/index.js';

export interface DoctorReport {
  readonly lines: string[];
  readonly missingPackages: string[];
  readonly ok: boolean;
}

export function doctor(graph: TaskGraph, root: string, buildDir: string, env: NodeJS.ProcessEnv): DoctorReport {
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
      const k = `${tool.name}\0${tool.command ?? tool.name}`;
      (users.get(k) ?? users.set(k, { tool, tasks: [] }).get(k)!).tasks.push(task.id);
    }
  }
  const resolver = new ToolResolver(env.PATH, new FileHasher(), {});
  for (const { tool, tasks } of [...users.values()].sort((a, b) => (a.tool.name < b.tool.name ? -1 : 1))) {
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

  if (missing.size > 0) {
    lines.push('', 'to install what is missing:', `  apt-get update && apt-get install -y ${[...missing].sort().join(' ')}`);
  }
  return { lines, missingPackages: [...missing].sort(), ok };
}
