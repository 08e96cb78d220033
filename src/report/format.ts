/**
 * Text helpers shared by every renderer: durations, colours, and the two
 * lines every mode prints (the plan line and the summary line).
 *
 * This module has no dependencies beyond `graph/`. It is on the path of a
 * no-op run, so it must stay cheap to import.
 */
import type { BuildSummary, EngineEvent, PlannedTask } from '../graph/events.js';

/** The `plan` event. */
export type PlanEvent = Extract<EngineEvent, { type: 'plan' }>;

// ---------------------------------------------------------------------------
// Colour

/**
 * A palette. When colour is off every function is the identity, so callers
 * never branch on colour themselves.
 */
export interface Paint {
  readonly bold: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly red: (s: string) => string;
  readonly green: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly cyan: (s: string) => string;
}

const sgr =
  (open: number, close: number) =>
  (s: string): string =>
    `\x1b[${open}m${s}\x1b[${close}m`;

const identity = (s: string): string => s;

const COLOR: Paint = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
};

const NO_COLOR: Paint = {
  bold: identity,
  dim: identity,
  red: identity,
  green: identity,
  yellow: identity,
  cyan: identity,
};

export function paint(color: boolean): Paint {
  return color ? COLOR : NO_COLOR;
}

// ---------------------------------------------------------------------------
// Lines of task output

/** CSI sequences (colours, cursor moves) and OSC sequences (titles, links). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences start with ESC and end with BEL
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
/** C0 control characters other than tab (and ESC, handled by {@link ANSI}). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this pattern's purpose
const CONTROL = /[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/**
 * Makes one line of a tool's output safe to print: keeps what a terminal
 * would show after the last carriage return (progress bars), drops control
 * characters, and drops escape sequences unless `color` is on.
 */
export function cleanLine(line: string, color: boolean): string {
  let s = line.endsWith('\r') ? line.slice(0, -1) : line;
  const cr = s.lastIndexOf('\r');
  if (cr >= 0) s = s.slice(cr + 1);
  if (!color) s = stripAnsi(s);
  return s.replace(CONTROL, '');
}

/** The first line of a possibly multi-line message. */
export function firstLine(message: string): string {
  const nl = message.indexOf('\n');
  return nl < 0 ? message : message.slice(0, nl);
}

// ---------------------------------------------------------------------------
// Durations

/** `0.4s`, `12.3s`, `2m03s`, `1h05m`. Never negative, never `NaN`. */
export function formatDuration(ms: number): string {
  const safe = Number.isFinite(ms) && ms > 0 ? ms : 0;
  if (safe < 60_000) return `${(safe / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(safe / 1000);
  if (totalSeconds < 3600) {
    const m = Math.floor(totalSeconds / 60);
    const s = totalSeconds % 60;
    return `${m}m${String(s).padStart(2, '0')}s`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  const h = Math.floor(totalMinutes / 60);
  const m = totalMinutes % 60;
  return `${h}h${String(m).padStart(2, '0')}m`;
}

// ---------------------------------------------------------------------------
// The plan line

export interface PlanCounts {
  /** Tasks with a reason: they will run. */
  readonly toRun: number;
  /** Tasks without a reason: up to date, they will not run. */
  readonly upToDate: number;
}

export function countPlan(tasks: readonly PlannedTask[]): PlanCounts {
  let toRun = 0;
  for (const t of tasks) if (t.reason !== undefined) toRun++;
  return { toRun, upToDate: tasks.length - toRun };
}

/** `plan: 3 to run, 1997 up to date (-j2)` */
export function formatPlanLine(e: PlanEvent): string {
  const { toRun, upToDate } = countPlan(e.tasks);
  return `plan: ${toRun} to run, ${upToDate} up to date (-j${e.jobs})`;
}

// ---------------------------------------------------------------------------
// The summary line

/** Longest critical path printed in full; longer ones keep both ends. */
const MAX_PATH_SHOWN = 8;
/** Failed task ids named in the summary line; the rest are counted. */
const MAX_FAILED_SHOWN = 3;

function formatPath(path: readonly string[]): string {
  if (path.length <= MAX_PATH_SHOWN) return path.join(' -> ');
  const head = path.slice(0, 3);
  const tail = path.slice(-3);
  return [...head, `... (${path.length - 6} more)`, ...tail].join(' -> ');
}

function formatIds(ids: readonly string[]): string {
  const shown = ids.slice(0, MAX_FAILED_SHOWN).join(', ');
  const more = ids.length - MAX_FAILED_SHOWN;
  return more > 0 ? `${shown}, +${more} more` : shown;
}

/** The verdict word the summary line starts with. */
export function verdict(summary: BuildSummary): 'ok' | 'FAILED' | 'interrupted' {
  if (summary.interrupted) return 'interrupted';
  return summary.ok ? 'ok' : 'FAILED';
}

/**
 * The last line of every human-readable mode:
 *
 *     ok: 3 ran, 1997 up to date in 4.2s; critical path a -> b -> c (3.9s); trace: build/.pyston-build/trace.json
 *     FAILED: 1 failed (b), 1 ran, 1 cancelled, 1997 up to date in 4.2s; ...
 *     interrupted: 1 ran, 1997 up to date in 4.2s; trace: ...
 */
export function formatSummaryLine(summary: BuildSummary, p: Paint = paint(false)): string {
  const word = verdict(summary);
  const head = word === 'ok' ? p.green(p.bold('ok')) : word === 'FAILED' ? p.red(p.bold('FAILED')) : p.yellow(p.bold('interrupted'));

  const counts: string[] = [];
  if (summary.failed.length > 0) counts.push(`${summary.failed.length} failed (${formatIds(summary.failed)})`);
  counts.push(`${summary.ran} ran`);
  const cancelled = summary.tasks.filter((t) => t.status === 'cancelled').length;
  if (cancelled > 0) counts.push(`${cancelled} cancelled`);
  counts.push(`${summary.upToDate} up to date`);

  const parts = [`${counts.join(', ')} in ${formatDuration(summary.wallMs)}`];
  if (summary.criticalPath.length > 0) {
    parts.push(`critical path ${formatPath(summary.criticalPath)} (${formatDuration(summary.criticalPathMs)})`);
  }
  if (summary.tracePath !== '') parts.push(`trace: ${summary.tracePath}`);
  return `${head}: ${parts.join('; ')}`;
}

// ---------------------------------------------------------------------------
// Streams

/** Writes lines, each followed by a newline, in one `write` call. */
export function writeLines(stream: NodeJS.WritableStream, lines: readonly string[]): void {
  if (lines.length === 0) return;
  stream.write(`${lines.join('\n')}\n`);
}

/**
 * Resolves once everything written to `stream` so far has been handed to
 * the OS (or the stream has failed: closing a reporter never throws).
 */
export function flush(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    try {
      stream.write('', () => resolve());
    } catch {
      resolve();
    }
  });
}
