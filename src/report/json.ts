/**
 * The `json` mode's renderer: the CLI prints its own JSON on `out` at the
 * end, so nothing is written to `out` here. Failure blocks still go to
 * `err` (every failure is printed in every mode), and so do warnings, which
 * the engine defines as "something the user must see".
 */
import type { EngineEvent } from '../graph/events.js';
import { formatFailureBlock } from './failure.js';
import { flush, writeLines } from './format.js';
import type { Reporter, ReporterOptions } from './reporter.js';

export class FailuresOnlyReporter implements Reporter {
  readonly #err: NodeJS.WritableStream;
  readonly #color: boolean;

  constructor(opts: Pick<ReporterOptions, 'err' | 'color'>) {
    this.#err = opts.err;
    this.#color = opts.color;
  }

  onEvent(e: EngineEvent): void {
    if (e.type === 'fail') writeLines(this.#err, formatFailureBlock(e, { color: this.#color }));
    else if (e.type === 'warning') writeLines(this.#err, [`warning: ${e.message}`]);
  }

  async close(): Promise<void> {
    await flush(this.#err);
  }
}
