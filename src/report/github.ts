/**
 * The GitHub Actions renderer (`GITHUB_ACTIONS=true`), on top of @actions/core.
 *
 * - One collapsible group per executed task. Groups cannot nest and tasks
 *   run concurrently, so a task's group is written in one go when the task
 *   ends: `::group::<id> (...)`, its reason, duration, log path and the tail
 *   of its output, `::endgroup::`. Live progress is one `[start]` line per task.
 * - Task output inside a group is wrapped in `::stop-commands::`, so a tool
 *   that prints `::error::` or `::add-mask::` cannot issue workflow commands.
 * - Each failure is an error annotation (`core.error`) with the end of its
 *   log; warnings are warning annotations. GitHub shows at most 10
 *   annotations of a type per step, so past that they become plain lines
 *   and a note says so.
 * - At `done`, a job summary table (task, status, duration, cached or run)
 *   is appended to `$GITHUB_STEP_SUMMARY`, if that is set.
 *
 * @actions/core writes workflow commands to `process.stdout` itself, so in
 * this mode everything but failure blocks (which go to `err`) is written
 * to `process.stdout`, whatever `out` is: one stream keeps the order.
 */
import { randomUUID } from 'node:crypto';

import type { BuildSummary, EngineEvent, TaskSummary } from '../graph/events.js';
import { formatReason } from '../graph/explain.js';
import type { Reason } from '../graph/explain.js';
import { formatFailureBlock } from './failure.js';
import type { FailEvent } from './failure.js';
import { cleanLine, flush, formatDuration, formatPlanLine, formatSummaryLine, paint, verdict, writeLines } from './format.js';
import type { Reporter, ReporterOptions } from './reporter.js';

type Core = typeof import('@actions/core');

/** GitHub shows at most this many annotations of one type per step. */
export const MAX_ANNOTATIONS = 10;
/** Lines of a task's output kept while it runs, printed in its group. */
const GROUP_TAIL_LINES = 100;
/** Lines of the log in an error annotation. */
const ANNOTATION_TAIL_LINES = 20;
/** Rows of the job-summary table; the rest are counted in a note. */
export const MAX_SUMMARY_ROWS = 2000;
/**
 * Byte budget of the job summary. GitHub rejects summaries over 1 MiB;
 * stop adding rows well before that.
 */
const SUMMARY_BYTE_BUDGET = 768 * 1024;
/** Failure details (`<details>` with the log tail) in the job summary. */
const MAX_SUMMARY_FAILURES = 10;

/** A task that started and has not ended yet. */
interface Running {
  readonly reason: Reason;
  readonly logPath: string;
  /** The last {@link GROUP_TAIL_LINES} lines of output. */
  readonly tail: string[];
}

export class GithubReporter implements Reporter {
  readonly #core: Core;
  readonly #err: NodeJS.WritableStream;
  readonly #color: boolean;
  readonly #verbose: boolean;
  readonly #running = new Map<string, Running>();
  /** Failures in arrival order, for the job summary. */
  readonly #failures: FailEvent[] = [];
  #targets: readonly string[] = [];
  #errorAnnotations = 0;
  #warningAnnotations = 0;
  /** The job summary being written, awaited by `close()`. */
  #summaryWrite: Promise<void> = Promise.resolve();

  /** Loads @actions/core (only this mode pays for it) and builds the reporter. */
  static async create(opts: ReporterOptions): Promise<GithubReporter> {
    const core = await import('@actions/core');
    return new GithubReporter(core, opts);
  }

  constructor(core: Core, opts: ReporterOptions) {
    this.#core = core;
    this.#err = opts.err;
    this.#color = opts.color;
    this.#verbose = opts.verbose ?? false;
  }

  onEvent(e: EngineEvent): void {
    const core = this.#core;
    switch (e.type) {
      case 'plan':
        this.#targets = e.targets;
        core.info(formatPlanLine(e));
        return;
      case 'skip':
        return;
      case 'start':
        this.#running.set(e.id, { reason: e.reason, logPath: e.logPath, tail: [] });
        core.info(`[start] ${e.id} (${formatReason(e.reason)})`);
        return;
      case 'output': {
        const tail = this.#running.get(e.id)?.tail;
        if (tail === undefined) return;
        tail.push(e.line);
        if (tail.length > GROUP_TAIL_LINES) tail.shift();
        return;
      }
      case 'finish': {
        const r = this.#running.get(e.id);
        this.#running.delete(e.id);
        this.#group(
          `${e.id} (${formatDuration(e.durationMs)})`,
          [`reason: ${r === undefined ? 'unknown' : formatReason(r.reason)}`, `duration: ${formatDuration(e.durationMs)}`, ...(r === undefined ? [] : [`log: ${r.logPath}`])],
          r?.tail ?? [],
        );
        return;
      }
      case 'fail':
        this.#onFail(e);
        return;
      case 'cancel':
        this.#running.delete(e.id);
        if (this.#verbose) core.info(`[cancel] ${e.id}: ${e.because}`);
        return;
      case 'interrupt':
        core.info(`interrupted by ${e.signal}: stopping running tasks`);
        return;
      case 'warning':
        if (this.#warningAnnotations < MAX_ANNOTATIONS) {
          this.#warningAnnotations++;
          core.warning(e.message);
        } else {
          core.info(`warning: ${e.message}`);
        }
        return;
      case 'done':
        this.#onDone(e.summary);
        return;
      default: {
        const unknown: never = e;
        void unknown;
      }
    }
  }

  async close(): Promise<void> {
    await this.#summaryWrite;
    await Promise.all([flush(process.stdout), flush(this.#err)]);
  }

  #onFail(e: FailEvent): void {
    const core = this.#core;
    const r = this.#running.get(e.id);
    this.#running.delete(e.id);
    this.#failures.push(e);

    // The group shows more context than the 40-line failure block when we
    // collected it; the block (on `err`) is the same in every mode.
    const tail = r !== undefined && r.tail.length > e.logTail.length ? r.tail : e.logTail;
    this.#group(
      `${e.id} (FAILED after ${formatDuration(e.durationMs)})`,
      [
        `reason: ${r === undefined ? 'unknown' : formatReason(r.reason)}`,
        `duration: ${formatDuration(e.durationMs)}`,
        `error: ${e.message}`,
        ...(e.hint ? [`hint: ${e.hint}`] : []),
        `log: ${e.logPath}`,
      ],
      tail,
    );

    if (this.#errorAnnotations < MAX_ANNOTATIONS) {
      this.#errorAnnotations++;
      const body = [e.message, ...(e.hint ? [`hint: ${e.hint}`] : []), ...e.logTail.slice(-ANNOTATION_TAIL_LINES)].map((l) => cleanLine(l, false));
      core.error(body.join('\n'), { title: `task ${e.id} failed` });
    } else if (this.#errorAnnotations === MAX_ANNOTATIONS) {
      this.#errorAnnotations++; // say it once
      core.info(`note: GitHub shows at most ${MAX_ANNOTATIONS} error annotations per step; further failures are in the log only`);
    }

    writeLines(this.#err, formatFailureBlock(e, { color: this.#color }));
  }

  #onDone(summary: BuildSummary): void {
    // Tasks still running when the build ended were stopped by an interrupt:
    // show what they printed, it is often why the user pressed Ctrl-C.
    for (const [id, r] of this.#running) {
      this.#group(`${id} (interrupted)`, [`reason: ${formatReason(r.reason)}`, `log: ${r.logPath}`], r.tail);
    }
    this.#running.clear();

    this.#core.info(formatSummaryLine(summary, paint(this.#color)));
    if (this.#errorAnnotations > MAX_ANNOTATIONS) {
      const unannotated = summary.failed.length - MAX_ANNOTATIONS;
      if (unannotated > 0) this.#core.info(`note: ${unannotated} more failures were not annotated`);
    }

    if (process.env.GITHUB_STEP_SUMMARY) {
      this.#summaryWrite = this.#writeJobSummary(summary);
    }
  }

  /**
   * Writes one complete group. Synchronous, so nothing else can be written
   * between `::group::` and `::endgroup::`.
   */
  #group(title: string, header: readonly string[], tail: readonly string[]): void {
    const core = this.#core;
    core.startGroup(title);
    for (const line of header) core.info(line);
    if (tail.length > 0) {
      core.info(`last ${tail.length} ${tail.length === 1 ? 'line' : 'lines'} of output:`);
      const token = randomUUID();
      core.info(`::stop-commands::${token}`);
      for (const line of tail) core.info(cleanLine(line, this.#color));
      core.info(`::${token}::`);
    }
    core.endGroup();
  }

  async #writeJobSummary(summary: BuildSummary): Promise<void> {
    const s = this.#core.summary;
    try {
      const target = this.#targets.length > 0 ? ` ${this.#targets.join(' ')}` : '';
      s.addHeading(escapeHtml(`pyston-build${target}: ${verdict(summary)}`), 2);
      s.addRaw(`<p>${escapeHtml(formatSummaryLine(summary))}</p>`, true);

      const rows = [...summary.tasks].sort(byInterest);
      const table: (string | { data: string; header: boolean })[][] = [
        [
          { data: 'task', header: true },
          { data: 'status', header: true },
          { data: 'duration', header: true },
          { data: 'cached or run', header: true },
        ],
      ];
      let bytes = 0;
      for (const t of rows) {
        if (table.length > MAX_SUMMARY_ROWS || bytes > SUMMARY_BYTE_BUDGET) break;
        const row = [escapeHtml(t.id), t.status, t.status === 'cached' ? '' : formatDuration(t.durationMs), cachedOrRun(t)];
        bytes += row.reduce((n, c) => n + c.length + 10, 20);
        table.push(row);
      }
      s.addTable(table);
      const omitted = rows.length - (table.length - 1);
      if (omitted > 0) {
        s.addRaw(`<p>${omitted} more tasks not shown (the summary is kept under 1 MiB); the trace has all of them: ${escapeHtml(summary.tracePath)}</p>`, true);
      }

      for (const f of this.#failures.slice(0, MAX_SUMMARY_FAILURES)) {
        const tail = f.logTail.slice(-40).map((l) => cleanLine(l, false));
        s.addDetails(
          escapeHtml(`task ${f.id} failed: ${f.message.split('\n')[0] ?? ''}`),
          `\n\n<pre>${escapeHtml([...(f.hint ? [`hint: ${f.hint}`] : []), `log: ${f.logPath}`, ...tail].join('\n'))}</pre>\n\n`,
        );
      }
      await s.write();
    } catch {
      // No summary file, or it is not writable: the log has everything.
    } finally {
      s.emptyBuffer();
    }
  }
}

/** Failed first, then what ran, then what did not; cached last (the first to be cut). */
const STATUS_ORDER: Record<TaskSummary['status'], number> = {
  failed: 0,
  interrupted: 1,
  ran: 2,
  cancelled: 3,
  'not-run': 4,
  cached: 5,
};

function byInterest(a: TaskSummary, b: TaskSummary): number {
  return STATUS_ORDER[a.status] - STATUS_ORDER[b.status];
}

function cachedOrRun(t: TaskSummary): string {
  switch (t.status) {
    case 'cached':
      return 'cached';
    case 'ran':
    case 'failed':
    case 'interrupted':
      return 'run';
    default:
      return '-';
  }
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
