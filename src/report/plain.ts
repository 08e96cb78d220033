/**
 * The plain renderer: for pipes, log files and CI systems other than GitHub.
 * One line per state change, appended, never redrawn.
 *
 *     plan: 3 to run, 1997 up to date (-j2)
 *     [start] configure (input changed: configure.ac)
 *     [done] configure 4.1s
 *     [fail] make 12.3s: make exited with code 2
 *     ok: 3 ran, 1997 up to date in 4.2s; critical path ...; trace: ...
 *
 * Up-to-date tasks are not listed one by one (there can be thousands): the
 * plan line counts them. Task output is in the log files; `verbose` also
 * streams it here, prefixed with the task id. Failure blocks and warnings go
 * to `err`, everything else to `out`.
 */
import { formatReason } from '../graph/explain.js';
import type { EngineEvent } from '../graph/events.js';
import { formatFailureBlock } from './failure.js';
import { cleanLine, firstLine, formatDuration, formatPlanLine, formatSummaryLine, flush, paint, writeLines } from './format.js';
import type { Paint } from './format.js';
import type { Reporter, ReporterOptions } from './reporter.js';

export class PlainReporter implements Reporter {
  readonly #out: NodeJS.WritableStream;
  readonly #err: NodeJS.WritableStream;
  readonly #color: boolean;
  readonly #verbose: boolean;
  readonly #p: Paint;

  constructor(opts: ReporterOptions) {
    this.#out = opts.out;
    this.#err = opts.err;
    this.#color = opts.color;
    this.#verbose = opts.verbose ?? false;
    this.#p = paint(opts.color);
  }

  onEvent(e: EngineEvent): void {
    const p = this.#p;
    switch (e.type) {
      case 'plan':
        writeLines(this.#out, [formatPlanLine(e)]);
        return;
      case 'skip':
        if (this.#verbose) writeLines(this.#out, [p.dim(`[skip] ${e.id}`)]);
        return;
      case 'start':
        writeLines(this.#out, [`${p.cyan('[start]')} ${e.id} ${p.dim(`(${formatReason(e.reason)})`)}`]);
        return;
      case 'output':
        if (this.#verbose) writeLines(this.#out, [`${p.dim(`${e.id} |`)} ${cleanLine(e.line, this.#color)}`]);
        return;
      case 'finish':
        writeLines(this.#out, [`${p.green('[done]')} ${e.id} ${formatDuration(e.durationMs)}`]);
        return;
      case 'fail':
        writeLines(this.#out, [`${p.red('[fail]')} ${e.id} ${formatDuration(e.durationMs)}: ${cleanLine(firstLine(e.message), this.#color)}`]);
        writeLines(this.#err, formatFailureBlock(e, { color: this.#color }));
        return;
      case 'cancel':
        if (this.#verbose) writeLines(this.#out, [p.yellow(`[cancel] ${e.id}: ${e.because}`)]);
        return;
      case 'interrupt':
        writeLines(this.#out, [p.yellow(`interrupted by ${e.signal}: stopping running tasks`)]);
        return;
      case 'warning':
        writeLines(this.#err, [`${p.yellow('warning:')} ${e.message}`]);
        return;
      case 'done':
        writeLines(this.#out, [formatSummaryLine(e.summary, p)]);
        return;
      default: {
        const unknown: never = e;
        void unknown;
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all([flush(this.#out), flush(this.#err)]);
  }
}
