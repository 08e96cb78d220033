/**
 * Typed errors. The CLI prints `error: <message>` and `hint: <hint>` and
 * exits with `exitCode`; a stack trace appears only with `--debug`.
 */
import type { FailureReason } from './failure.js';

export class PbError extends Error {
  /** How the user fixes it. One line. */
  readonly hint: string | undefined;
  /** 2 = bad usage, bad config or an unusable environment; 1 = a build failure. */
  readonly exitCode: 1 | 2;
  constructor(message: string, hint?: string, exitCode: 1 | 2 = 2) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

/** Bad command-line usage: unknown option, bad value, unknown target. */
export class UsageError extends PbError {}

/** A graph that cannot be planned: a cycle, a dangling dependency, a missing tool. */
export class PlanError extends PbError {}

/** A required tool is not installed. */
export class MissingToolError extends PlanError {
  readonly tool: string;
  constructor(tool: string, debianPackage?: string) {
    super(`required tool '${tool}' was not found on PATH`, debianPackage ? `install it: apt-get install -y ${debianPackage}` : `install '${tool}' or put it on PATH`);
    this.tool = tool;
  }
}

/**
 * A task failed: a command it ran, or a check it makes. `reason` says which
 * way (see {@link FailureReason}); the log holds the details. Without a
 * reason it is an `exception` named after the class, so a domain error
 * that extends this (`TarError`, ...) is reported under its own name.
 */
export class TaskFailure extends PbError {
  readonly reason: FailureReason;
  constructor(message: string, hint?: string, reason?: FailureReason) {
    super(message, hint, 1);
    this.reason = reason ?? { kind: 'exception', name: new.target.name };
  }
}

/** The build was interrupted by SIGINT/SIGTERM. */
export class Interrupted extends Error {
  constructor(readonly signal: string) {
    super(`interrupted by ${signal}`);
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
