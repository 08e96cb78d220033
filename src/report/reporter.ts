/**
 * What every renderer is: a listener to engine events with an asynchronous end.
 */
import type { EngineEvent } from '../graph/events.js';

/**
 * A renderer of engine events.
 *
 * Life cycle: `onEvent` is called synchronously for every event of one run,
 * ending with `done`; then the caller awaits `close()` exactly once.
 * `close()` also works without a `done` (the engine threw): it stops
 * rendering, settles everything pending and never throws.
 */
export interface Reporter {
  onEvent(e: EngineEvent): void;
  /** Flushes output and stops rendering. Resolves when nothing more will be written. */
  close(): Promise<void>;
}

/** Options of {@link createReporter}, shared by every mode. */
export interface ReporterOptions {
  /** Progress and the summary line go here (normally `process.stdout`). */
  readonly out: NodeJS.WritableStream;
  /** Failure blocks and warnings go here (normally `process.stderr`). */
  readonly err: NodeJS.WritableStream;
  /**
   * Emit ANSI colours. The CLI decides (a TTY, or `FORCE_COLOR` set and not
   * `'0'`; never with `NO_COLOR`). When false, no escape sequence is written,
   * including those found in task output. (In `tty` mode listr2 also colours
   * its own icons; it follows `NO_COLOR`/`FORCE_COLOR` by itself.)
   */
  readonly color: boolean;
  /**
   * More detail: `plain` also prints every output line, skip and cancel;
   * `tty` keeps the last 5 output lines of a running task instead of 1;
   * `github` prints cancel lines.
   */
  readonly verbose?: boolean;
  /**
   * `tty` mode only: force a listr2 renderer. `'default'` (the default) is
   * the live-updating one and needs `process.stdout` to be a TTY, otherwise
   * listr2 itself falls back to `'simple'` (one line per state change).
   * Tests pass `'simple'`.
   */
  readonly listrRenderer?: 'default' | 'simple';
  /**
   * Called (once per stream) when `out`, `err` or `process.stdout` fails:
   * a closed pipe, a terminal that went away, a full disk. The renderer
   * stops writing to the lost stream and never throws for it; the caller
   * decides what the loss means (the CLI stops the build). See streams.ts.
   */
  readonly onLost?: (reason: string) => void;
}
