/** The task graph as DOT, JSON or Mermaid, for `pyston-build graph`. Deterministic. */
import type { Task } from './task.js';

export const GRAPH_FORMATS = ['dot', 'json', 'mermaid'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

export function exportGraph(tasks: readonly Task[], format: GraphFormat): string {
  const sorted = [...tasks].sort((a, b) => (a.id < b.id ? -1 : 1));
  switch (format) {
    case 'json':
      return JSON.stringify({ tasks: sorted.map((t) => ({ id: t.id, title: t.title ?? null, deps: [...t.deps].sort(), outputs: t.outputs })) }, null, 2) + '\n';
    case 'dot': {
      const q = (s: string) => JSON.stringify(s);
      const lines = ['digraph "pyston-build" {', '  rankdir=LR;', '  node [shape=box];'];
      for (const t of sorted) lines.push(`  ${q(t.id)}${t.title ? ` [tooltip=${q(t.title)}]` : ''};`);
      for (const t of sorted) for (const d of [...t.deps].sort()) lines.push(`  ${q(d)} -> ${q(t.id)};`);
      lines.push('}');
      return lines.join('\n') + '\n';
    }
    case 'mermaid': {
      const ids = new Map(sorted.map((t, i) => [t.id, `t${i}`]));
      const lines = ['graph LR'];
      for (const t of sorted) lines.push(`  ${ids.get(t.id)}["${t.id.replace(/"/g, '#quot;')}"]`);
      for (const t of sorted) for (const d of [...t.deps].sort()) if (ids.has(d)) lines.push(`  ${ids.get(d)} --> ${ids.get(t.id)}`);
      return lines.join('\n') + '\n';
    }
  }
}
