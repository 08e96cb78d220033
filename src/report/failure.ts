/**
 * The failure block: what every mode prints to `err` for every failed task,
 * so that the reason of a red build is on screen without opening a file.
 *
 *     task opt:make failed after 12.3s
 *       error: make exited with code 2
 *       hint:  (when the failure has one) how to fix it
 *       log:   build/logs/opt:make.log
 *       last 40 lines of the log:
 *       | gcc: error: ...
 */
import type { EngineEvent } from '../graph/events.js';
import { cleanLine, firstLine, formatDuration, paint } from './format.js';

/** The `fail` event. */
export type FailEvent = Extract<EngineEvent, { type: 'fail' }>;

/** How many lines of the log the block shows at most. */
export const FAILURE_TAIL_LINES = 40;

export interface FailureBlockOptions {
  /** Colour the heading, and keep colours found in the log. Default false. */
  readonly color?: boolean;
}

/**
 * Formats a failure as lines (no trailing newlines). The event's `logTail`
 * already holds the last lines of the log; the last
 * {@link FAILURE_TAIL_LINES} of them are shown.
 */
export function formatFailureBlock(e: FailEvent, options: FailureBlockOptions = {}): string[] {
  const color = options.color ?? false;
  const p = paint(color);
  const lines = [p.red(p.bold(`task ${e.id} failed after ${formatDuration(e.durationMs)}`))];

  const message = e.message.split('\n').map((l) => cleanLine(l, color));
  lines.push(`  error: ${message[0] ?? ''}`);
  for (const more of message.slice(1)) lines.push(`         ${more}`);
  if (e.hint) lines.push(`  hint:  ${cleanLine(firstLine(e.hint), color)}`);
  lines.push(`  log:   ${e.logPath}`);

  const tail = e.logTail.slice(-FAILURE_TAIL_LINES).map((l) => cleanLine(l, color));
  if (tail.length === 0) {
    lines.push(p.dim('  (the log is empty)'));
  } else {
    lines.push(p.dim(`  last ${tail.length} ${tail.length === 1 ? 'line' : 'lines'} of the log:`));
    for (const l of tail) lines.push(`${p.dim('  |')} ${l}`);
  }
  return lines;
}
