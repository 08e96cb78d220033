/**
 * Planning: the closure of the requested targets, a deterministic
 * topological order, and critical-path priorities.
 */
import { PlanError, UsageError } from './errors.js';
import { GLOB_TASK_ID, globMatcher } from './glob.js';
import type { Task, TaskGraph } from './task.js';

/** Check the graph itself: dangling deps, cycles, env names off the allow-list. */
export function validateGraph(graph: TaskGraph): void {
  const allow = new Set(graph.envAllowList);
  for (const t of graph.tasks.values()) {
    for (const d of t.deps) if (!graph.tasks.has(d)) throw new PlanError(`task ${t.id} depends on unknown task ${d}`, 'fix the task factory that builds it');
    for (const e of t.inputs.env ?? []) {
      if (!allow.has(e)) throw new PlanError(`task ${t.id} reads env var ${e}, which is not on the allow-list`, `add ${e} to the graph's envAllowList or stop reading it`);
    }
  }
  for (const target of graph.targets.values()) {
    for (const r of target.roots) if (!graph.tasks.has(r)) throw new PlanError(`target ${target.name} names unknown task ${r}`, 'fix src/targets.ts');
  }
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
    const t = graph.tasks.get(id)!;
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
