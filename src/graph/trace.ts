/**
 * `build/.pyston-build/trace.json`: Chrome trace-event format (Perfetto and
 * chrome://tracing open it). One complete ("X") span per executed task, on
 * the lane of the job slot it ran in, and a summary at the end.
 */
import { join } from 'node:path';
import type { BuildSummary, EngineEvent } from './events.js';
import { stateDir, writeFileAtomic } from './state.js';

interface Span {
  readonly name: string;
  readonly ph: 'X';
  readonly ts: number;
  readonly dur: number;
  readonly pid: number;
  readonly tid: number;
  readonly cat: string;
  readonly args: Record<string, string>;
}

export function tracePath(buildDir: string): string {
  return join(stateDir(buildDir), 'trace.json');
}

export class TraceWriter {
  private readonly open = new Map<string, { ts: number; slot: number; reason: string }>();
  private readonly spans: Span[] = [];
  private readonly t0 = Date.now();
  private maxSlot = 0;

  constructor(private readonly path: string) {}

  readonly listener = (e: EngineEvent): void => {
    switch (e.type) {
      case 'start':
        this.open.set(e.id, { ts: e.time, slot: e.slot, reason: e.reason.kind });
        this.maxSlot = Math.max(this.maxSlot, e.slot);
        break;
      case 'finish':
      case 'fail':
        this.close(e.id, e.time, e.type === 'finish' ? 'ok' : 'failed');
        break;
      case 'cancel': {
        if (this.open.has(e.id)) this.close(e.id, Date.now(), 'interrupted');
        break;
      }
      default:
        break;
    }
  };

  private close(id: string, end: number, status: string): void {
    const o = this.open.get(id);
    if (!o) return;
    this.open.delete(id);
    this.spans.push({ name: id, ph: 'X', cat: 'task', ts: (o.ts - this.t0) * 1000, dur: (end - o.ts) * 1000, pid: 1, tid: o.slot + 1, args: { status, reason: o.reason } });
  }

  /** Write the file. Called by the engine before it emits `done`. */
  write(summary: BuildSummary): void {
    const meta = [{ name: 'process_name', ph: 'M', pid: 1, tid: 0, args: { name: 'pyston-build' } }];
    for (let s = 0; s <= this.maxSlot; s++) meta.push({ name: 'thread_name', ph: 'M', pid: 1, tid: s + 1, args: { name: `job slot ${s}` } });
    const { tasks: _tasks, ...rest } = summary;
    const doc = {
      traceEvents: [...meta, ...this.spans.sort((a, b) => a.ts - b.ts || a.tid - b.tid)],
      displayTimeUnit: 'ms',
      summary: { ...rest, tasksRun: summary.ran, tasksUpToDate: summary.upToDate },
    };
    writeFileAtomic(this.path, JSON.stringify(doc));
  }
}
