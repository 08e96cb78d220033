/**
 * Planning: the closure of the requested targets, a deterministic
 * topological order, and critical-path priorities.
 */
import { isAbsolute } from 'node:path';
import { PlanError, UsageError } from './errors.js';
import { GLOB_TASK_ID, globMatcher } from './glob.js';
import type { BuiltTool, Task, TaskGraph } from './task.js';

/** Check the graph itself: dangling deps, built tools without their producer, env names off the allow-list. (Cycles: {@link topoClosure}.) */
export function validateGraph(graph: TaskGraph): void {
  const allow = new Set(graph.envAllowList);
  for (const t of graph.tasks.values()) {
    for (const d of t.deps) if (!graph.tasks.has(d)) throw new PlanError(`task ${t.id} depends on unknown task ${d}`, 'fix the task factory that builds it');
    for (const tool of t.inputs.tools ?? []) if (tool.producer !== undefined) checkBuiltTool(graph, t.id, tool);
    for (const e of t.inputs.env ?? []) {
      if (!allow.has(e)) throw new PlanError(`task ${t.id} reads env var ${e}, which is not on the allow-list`, `add ${e} to the graph's envAllowList or stop reading it`);
    }
  }
  for (const target of graph.targets.values()) {
    for (const r of target.roots) if (!graph.tasks.has(r)) throw new PlanError(`target ${target.name} names unknown task ${r}`, 'fix src/targets.ts');
  }
}

/** A built tool must name a task of the graph, and a path that task declares as (or inside) an output. */
function checkBuiltTool(graph: TaskGraph, user: string, tool: BuiltTool): void {
  const where = `task ${user} uses tool ${tool.name}, built by ${tool.producer}`;
  const producer = graph.tasks.get(tool.producer);
  if (!producer) throw new PlanError(`${where}, which is not a task of the graph`, 'name the id of the task that builds the tool in its producer field');
  const p = tool.path;
  if (p === '' || isAbsolute(p) || p.split('/').includes('..')) {
    throw new PlanError(`${where}, at '${p}', which is not a path inside the project`, 'give the tool path relative to the project root, e.g. build/tool/bin/NAME');
  }
  const inOutput = producer.outputs.some((o) => !o.startsWith('!') && (p === o || p.startsWith(o.endsWith('/') ? o : `${o}/`)));
  if (!inOutput) {
    throw new PlanError(`${where}, at ${p}, which is not one of ${tool.producer}'s declared outputs`, `declare ${p} (or a directory holding it) as an output of ${tool.producer}`);
  }
}

/**
 * A task as the engine plans and runs it: with the producer of every
 * built tool it uses among its deps (see `BuiltTool`), so factories need
 * not list it. The task itself when nothing is added; otherwise a copy
 * (same prototype, same `run`) with the longer `deps`.
 */
export function withToolProducers(task: Task): Task {
  let added: string[] | undefined;
  for (const tool of task.inputs.tools ?? []) {
    if (tool.producer === undefined || task.deps.includes(tool.producer) || added?.includes(tool.producer)) continue;
    added = [...(added ?? []), tool.producer];
  }
  if (added === undefined) return task;
  return Object.assign(Object.create(Object.getPrototypeOf(task) as object) as Task, task, { deps: [...task.deps, ...added] });
}

/**
 * Resolve target names (or task ids) to root task ids. Unknown names are a
 * usage error that lists the valid targets.
 */
export function resolveTargets(graph: TaskGraph, names: readonly string[]): string[] {
  const roots: string[] = [];
  for (const n of names) {
    const t = graph.targets.get(n);
    if (t) roots.push(...t.roots);
    else if (graph.tasks.has(n)) roots.push(n);
    else {
      throw new UsageError(`unknown target '${n}'`, `valid targets: ${[...graph.targets.keys()].sort().join(', ')} (or a task id; see 'pyston-build graph')`);
    }
  }
  return roots;
}

/**
 * The tasks needed for `roots`, in a deterministic topological order
 * (dependencies first; ties broken by id). Throws on a cycle, naming it.
 * The tasks come with the producers of their built tools among their deps
 * ({@link withToolProducers}): everything that plans, runs, cleans or
 * draws the graph goes through here and sees those edges.
 */
export function topoClosure(graph: TaskGraph, roots: readonly string[]): Task[] {
  const order: Task[] = [];
  const state = new Map<string, 1 | 2>(); // 1 = on stack, 2 = done
  const visit = (id: string, stack: string[]): void => {
    const s = state.get(id);
    if (s === 2) return;
    if (s === 1) {
      const cycle = [...stack.slice(stack.indexOf(id)), id];
      throw new PlanError(`dependency cycle: ${cycle.join(' -> ')}`, 'break the cycle in the task factories');
    }
    state.set(id, 1);
    const t = withToolProducers(graph.tasks.get(id)!);
    stack.push(id);
    for (const d of [...t.deps].sort()) visit(d, stack);
    stack.pop();
    state.set(id, 2);
    order.push(t);
  };
  for (const r of [...new Set(roots)].sort()) visit(r, []);
  return order;
}

/**
 * Critical-path priority of each task: its own estimated cost plus the
 * largest priority among its dependents. Tasks with a longer remaining
 * chain start first.
 */
export function criticalPriorities(order: readonly Task[], cost: (t: Task) => number): Map<string, number> {
  const dependents = new Map<string, string[]>();
  for (const t of order) for (const d of t.deps) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(t.id);
  const prio = new Map<string, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i]!;
    let best = 0;
    for (const c of dependents.get(t.id) ?? []) best = Math.max(best, prio.get(c) ?? 0);
    prio.set(t.id, cost(t) + best);
  }
  return prio;
}

/** `--force` patterns: `*` matches any run of characters, `:` and `/` included; nothing else is a wildcard. */
export function forceMatcher(patterns: readonly string[]): (id: string) => boolean {
  return globMatcher(patterns, GLOB_TASK_ID);
}
