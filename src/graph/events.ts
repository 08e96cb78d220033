/**
 * The engine's events. Renderers (`src/report/`) and the trace writer
 * subscribe to these; nothing else renders. A discriminated union on `type`.
 */
import type { Reason } from './explain.js';
import type { FailureReason } from './failure.js';

export type { FailureReason } from './failure.js';

export interface PlannedTask {
  readonly id: string;
  readonly title: string | undefined;
  readonly deps: readonly string[];
  /** `undefined` when up to date. */
  readonly reason: Reason | undefined;
}

export interface TaskSummary {
  readonly id: string;
  readonly status: 'ran' | 'cached' | 'failed' | 'cancelled' | 'interrupted' | 'not-run';
  readonly durationMs: number;
  readonly reason?: Reason;
  /** For a failed task: what its `fail` event said. */
  readonly failure?: { readonly message: string; readonly reason: FailureReason; readonly hint?: string };
}

export interface BuildSummary {
  readonly ok: boolean;
  readonly interrupted: boolean;
  readonly ran: number;
  readonly upToDate: number;
  readonly failed: readonly string[];
  readonly wallMs: number;
  /** The longest chain of executed tasks (by measured duration), first to last. */
  readonly criticalPath: readonly string[];
  readonly criticalPathMs: number;
  readonly tasks: readonly TaskSummary[];
  readonly tracePath: string;
}

export type EngineEvent =
  /** The plan: every task of the requested targets, in execution order. */
  | { readonly type: 'plan'; readonly tasks: readonly PlannedTask[]; readonly jobs: number; readonly targets: readonly string[] }
  /** A task is up to date and will not run. */
  | { readonly type: 'skip'; readonly id: string }
  /** A task started. `slot` is 0..jobs-1, stable while it runs (trace lanes). */
  | { readonly type: 'start'; readonly id: string; readonly reason: Reason; readonly slot: number; readonly logPath: string; readonly time: number }
  /** A line of the running task's output (for live tails; the log file has all of it). */
  | { readonly type: 'output'; readonly id: string; readonly line: string }
  /** A task finished successfully. */
  | { readonly type: 'finish'; readonly id: string; readonly durationMs: number; readonly time: number }
  /**
   * A task failed. `message` is one line for people; `reason` says which
   * way it failed, as a value (exit status, signal, timeout, spawn failure,
   * missing output, exception: see {@link FailureReason}); `hint`, when
   * known, says how to fix it. `logTail` holds the last lines of its log.
   * Its dependents will be reported as `cancel`.
   */
  | {
      readonly type: 'fail';
      readonly id: string;
      readonly message: string;
      readonly reason: FailureReason;
      readonly hint?: string;
      readonly logPath: string;
      readonly logTail: readonly string[];
      readonly durationMs: number;
      readonly time: number;
    }
  /** A task will not run because a dependency failed, or the build is stopping. */
  | { readonly type: 'cancel'; readonly id: string; readonly because: string }
  /** SIGINT/SIGTERM arrived; running tasks are being stopped. */
  | { readonly type: 'interrupt'; readonly signal: string }
  /** Something the user must see that is not a failure (e.g. a corrupt state file was discarded). */
  | { readonly type: 'warning'; readonly message: string }
  /** The build ended. Always the last event of a run. */
  | { readonly type: 'done'; readonly summary: BuildSummary };

export type EngineListener = (event: EngineEvent) => void;

/** A tiny synchronous event bus. Listener errors are not swallowed. */
export class EventBus {
  private readonly listeners: EngineListener[] = [];
  on(listener: EngineListener): void {
    this.listeners.push(listener);
  }
  emit(event: EngineEvent): void {
    for (const l of this.listeners) l(event);
  }
}
