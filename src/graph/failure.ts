/**
 * Why a task failed, as a value: the `reason` of a `fail` event.
 *
 * The message of a failure is prose for people; the reason is for code (the
 * JSON summary, CI scripts, tests) and says which of a fixed set of things
 * went wrong. The hint, how to fix it, travels beside both as its own field.
 */
import { PbError, TaskFailure } from './errors.js';

/** The ways a task fails. A discriminated union on `kind`. */
export type FailureReason =
  /**
   * A command the task ran through `ctx.exec` exited with a status other
   * than 0. `command` is the file's base name, `code` the status (1..255).
   * The log holds what it printed.
   */
  | { readonly kind: 'exit'; readonly command: string; readonly code: number }
  /**
   * A command was killed by a signal that neither its timeout nor an
   * interrupt of the build sent: a crash (SIGSEGV, SIGABRT), the OOM killer
   * (SIGKILL), or someone else's `kill`. An interrupted build reports its
   * tasks as cancelled, never as failed.
   */
  | { readonly kind: 'signal'; readonly command: string; readonly signal: string }
  /**
   * A command ran longer than its `timeoutMs` and its process group was
   * stopped (SIGTERM, then SIGKILL). `ms` is the limit it exceeded.
   */
  | { readonly kind: 'timeout'; readonly command: string; readonly ms: number }
  /**
   * A command could not be started at all: no such file (`ENOENT`), not
   * executable (`EACCES`), a working directory that does not exist, ...
   * `code` is the errno name node reported.
   */
  | { readonly kind: 'spawn'; readonly command: string; readonly code: string }
  /**
   * The task's `run` returned, but one of its declared outputs does not
   * exist. `path` is the output as declared (relative to the root).
   */
  | { readonly kind: 'missing-output'; readonly path: string }
  /**
   * The task's own code threw. `name` is the error's class: `TaskFailure`
   * or a domain error (`TarError`, `ShlibdepsError`, ...) when a check the
   * task makes failed, and those carry a hint; anything else (`TypeError`,
   * `Error`, ...) is a bug in the task, or a filesystem error it did not
   * expect.
   */
  | { readonly kind: 'exception'; readonly name: string };

/** What the engine reports for a thrown value: the `fail` event's message, reason and hint. */
export interface FailureReport {
  readonly message: string;
  readonly reason: FailureReason;
  readonly hint?: string;
}

/**
 * The report of whatever a task threw. A {@link TaskFailure} carries its own
 * reason; any other {@link PbError} is an `exception` whose message and hint
 * are kept as they are; anything else is a bug, said as such.
 */
export function failureReport(taskId: string, error: unknown): FailureReport {
  const reason: FailureReason = error instanceof TaskFailure ? error.reason : { kind: 'exception', name: error instanceof Error ? error.name : typeof error };
  if (error instanceof PbError) return { message: error.message, reason, ...(error.hint ? { hint: error.hint } : {}) };
  return { message: `task ${taskId} threw: ${error instanceof Error ? error.message : String(error)}`, reason };
}
