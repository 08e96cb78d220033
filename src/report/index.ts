/**
 * Renderers: they turn engine events into what a person reads. They only
 * listen (`report` imports from `graph`, never the reverse).
 *
 * | mode     | when                         | out                          | err                       |
 * |----------|------------------------------|------------------------------|---------------------------|
 * | `tty`    | stdout is a terminal         | live listr2 task list, summary | failure blocks, warnings (after the list) |
 * | `plain`  | pipes, files, other CI       | one line per start/finish/fail, plan and summary lines | failure blocks, warnings |
 * | `github` | `GITHUB_ACTIONS=true`        | a group per task, annotations, job summary (via @actions/core, on process.stdout) | failure blocks |
 * | `json`   | `--json`: the CLI prints JSON | nothing                      | failure blocks, warnings  |
 *
 * In every mode, a stream that goes away (a closed pipe, a lost terminal, a
 * full disk) never crashes the renderer: see streams.ts.
 *
 * Usage (the CLI):
 *
 *     const reporter = await createReporter(mode, { out: process.stdout, err: process.stderr, color });
 *     bus.on((e) => reporter.onEvent(e));
 *     ... run the build; the engine emits `done` last ...
 *     await reporter.close();
 *
 * Start-up cost matters (a no-op build must finish in under 300 ms): listr2
 * is imported only by `tty`, and only once the plan has a task to run;
 * @actions/core only by `github`.
 */
import { PlainReporter } from './plain.js';
import { FailuresOnlyReporter } from './json.js';
import { guardReporter } from './streams.js';
import type { Reporter, ReporterOptions } from './reporter.js';

export type { Reporter, ReporterOptions } from './reporter.js';
export { formatFailureBlock, FAILURE_TAIL_LINES } from './failure.js';
export type { FailEvent, FailureBlockOptions } from './failure.js';
export { formatDuration, formatPlanLine, formatSummaryLine } from './format.js';

export type ReportMode = 'tty' | 'plain' | 'github' | 'json';

/**
 * The mode when the user did not choose one: GitHub Actions, else a
 * terminal, else plain. (`json` is only chosen by its flag.)
 */
export function detectMode(env: NodeJS.ProcessEnv, stdoutIsTTY: boolean): ReportMode {
  if (env.GITHUB_ACTIONS === 'true') return 'github';
  return stdoutIsTTY ? 'tty' : 'plain';
}

/**
 * Builds the reporter of a mode, loading its dependencies if it has any.
 * With `opts.onLost`, the reporter survives its output going away
 * (streams.ts): it never throws for a failed write, and once `out` is lost
 * failures and warnings still go to `err`.
 */
export async function createReporter(mode: ReportMode, opts: ReporterOptions): Promise<Reporter> {
  const inner = await createRenderer(mode, opts);
  if (!opts.onLost) return inner;
  return guardReporter(inner, opts, opts.onLost, new FailuresOnlyReporter(opts));
}

async function createRenderer(mode: ReportMode, opts: ReporterOptions): Promise<Reporter> {
  switch (mode) {
    case 'tty': {
      const { TtyReporter } = await import('./tty.js');
      return new TtyReporter(opts);
    }
    case 'plain':
      return new PlainReporter(opts);
    case 'github': {
      const { GithubReporter } = await import('./github.js');
      return GithubReporter.create(opts);
    }
    case 'json':
      return new FailuresOnlyReporter(opts);
    default: {
      const unknown: never = mode;
      throw new Error(`unknown report mode: ${String(unknown)}`);
    }
  }
}
