/**
 * What `-n` and `--explain` print: the tasks that would run, in the order a
 * one-job build would start them, each with its reason. Deterministic: two
 * dry runs over an unchanged tree print the same bytes.
 */
import { allChanges } from '../graph/key.js';
import { formatReason, type Plan } from '../graph/index.js';

export interface PlanView {
  readonly targets: readonly string[];
  readonly jobs: number;
  readonly explain: boolean;
}

/** The key components recorded with a task's last successful run, if known. */
function recorded(plan: Plan, id: string) {
  const rec = plan.state.tasks[id];
  return rec?.status === 'ok' ? plan.details.get(id, rec.key) : undefined;
}

export function planText(plan: Plan, view: PlanView): string {
  const run = plan.entries.filter((e) => e.reason !== undefined);
  const width = Math.min(48, Math.max(0, ...plan.entries.map((e) => e.task.id.length)));
  const lines = [`${run.length} of ${plan.entries.length} tasks would run for ${view.targets.join(' ')} (-j ${view.jobs})`];
  for (const e of view.explain ? plan.entries : run) {
    lines.push(`  ${e.task.id.padEnd(width)}  ${e.reason ? formatReason(e.reason) : 'up to date'}`);
    if (view.explain && e.reason) {
      const changes = allChanges(e.fp, recorded(plan, e.task.id));
      // Details only when they say more than the headline reason.
      if (changes.length > 1) for (const c of changes) lines.push(`  ${''.padEnd(width)}    ${c}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function planJson(plan: Plan, view: PlanView): string {
  const tasks = plan.entries.map((e) => ({
    id: e.task.id,
    run: e.reason !== undefined,
    reason: e.reason ? formatReason(e.reason) : 'up to date',
    reasonKind: e.reason?.kind ?? null,
    key: e.fp.key,
    deps: [...e.task.deps].sort(),
    ...(view.explain && e.reason ? { changes: allChanges(e.fp, recorded(plan, e.task.id)) } : {}),
  }));
  return JSON.stringify({ targets: view.targets, jobs: view.jobs, wouldRun: tasks.filter((t) => t.run).length, tasks }, null, 2) + '\n';
}
