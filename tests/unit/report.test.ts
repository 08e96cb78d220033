/**
 * The renderers, fed a realistic event sequence. No wall-clock assertions:
 * every duration comes from the events.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { BuildSummary, EngineEvent, PlannedTask } from '../../src/graph/events.js';
import { createReporter, detectMode, formatFailureBlock } from '../../src/report/index.js';
import type { Reporter } from '../../src/report/index.js';
import { formatDuration, formatSummaryLine } from '../../src/report/format.js';
import { PlainReporter } from '../../src/report/plain.js';
import { TtyReporter } from '../../src/report/tty.js';

// ---------------------------------------------------------------------------
// Fixtures

/** A Writable that keeps everything written to it. */
function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

const UP_TO_DATE = 1997;

function plan(): EngineEvent {
  const tasks: PlannedTask[] = [
    { id: 'configure', title: 'configure', deps: [], reason: { kind: 'input changed', path: 'configure.ac' } },
    { id: 'make', title: 'make', deps: ['configure'], reason: { kind: 'dependency rebuilt', id: 'configure' } },
    { id: 'docs', title: 'docs', deps: ['configure'], reason: { kind: 'new' } },
    { id: 'install', title: 'install', deps: ['make'], reason: { kind: 'dependency rebuilt', id: 'make' } },
  ];
  for (let i = 0; i < UP_TO_DATE; i++) tasks.push({ id: `src:${i}`, title: undefined, deps: [], reason: undefined });
  return { type: 'plan', tasks, jobs: 2, targets: ['all'] };
}

const logTail = Array.from({ length: 45 }, (_, i) => `make[1]: line ${i + 1}`);
logTail[44] = '\x1b[31mmake: *** [Makefile:12: python] Error 2\x1b[0m';

function summary(over: Partial<BuildSummary> = {}): BuildSummary {
  return {
    ok: false,
    interrupted: false,
    ran: 2,
    upToDate: UP_TO_DATE,
    failed: ['make'],
    wallMs: 4200,
    criticalPath: ['configure', 'make'],
    criticalPathMs: 3900,
    tasks: [
      { id: 'configure', status: 'ran', durationMs: 1200, reason: { kind: 'input changed', path: 'configure.ac' } },
      { id: 'make', status: 'failed', durationMs: 2700 },
      { id: 'docs', status: 'ran', durationMs: 300 },
      { id: 'install', status: 'cancelled', durationMs: 0 },
      ...Array.from({ length: 3 }, (_, i) => ({ id: `src:${i}`, status: 'cached' as const, durationMs: 0 })),
    ],
    tracePath: 'build/.pyston-build/trace.json',
    ...over,
  };
}

const HINT = 'fix the compiler error at the end of the log';

/** plan, skip, start, output, finish, fail, cancel, done: one failed build. */
function failingBuild(): EngineEvent[] {
  return [
    plan(),
    { type: 'warning', message: 'state record of docs could not be read; it counts as never built' },
    ...Array.from({ length: 5 }, (_, i): EngineEvent => ({ type: 'skip', id: `src:${i}` })),
    { type: 'start', id: 'configure', reason: { kind: 'input changed', path: 'configure.ac' }, slot: 0, logPath: 'build/logs/configure.log', time: 1 },
    { type: 'output', id: 'configure', line: 'checking for gcc... gcc' },
    { type: 'finish', id: 'configure', durationMs: 1200, time: 2 },
    { type: 'start', id: 'make', reason: { kind: 'dependency rebuilt', id: 'configure' }, slot: 0, logPath: 'build/logs/make.log', time: 3 },
    { type: 'start', id: 'docs', reason: { kind: 'new' }, slot: 1, logPath: 'build/logs/docs.log', time: 3 },
    { type: 'output', id: 'make', line: '\x1b[1mgcc -c Python/ceval.c\x1b[0m' },
    { type: 'output', id: 'docs', line: 'building html\r' },
    { type: 'finish', id: 'docs', durationMs: 300, time: 4 },
    {
      type: 'fail',
      id: 'make',
      message: 'make exited with code 2',
      reason: { kind: 'exit', command: 'make', code: 2 },
      hint: HINT,
      logPath: 'build/logs/make.log',
      logTail,
      durationMs: 2700,
      time: 5,
    },
    { type: 'cancel', id: 'install', because: 'dependency failed: make' },
    { type: 'done', summary: summary() },
  ];
}

function feed(reporter: Reporter, events: readonly EngineEvent[]): void {
  for (const e of events) reporter.onEvent(e);
}

/**
 * Captures `process.stdout` (where @actions/core writes workflow commands)
 * until `restore()`. Write callbacks are called, so flushing works.
 */
function captureStdout(): { readonly text: string; restore: () => void } {
  const captured = { text: '', restore: () => spy.mockRestore() };
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, a?: unknown, b?: unknown) => {
    captured.text += chunk.toString();
    const done = typeof a === 'function' ? a : typeof b === 'function' ? b : undefined;
    if (done !== undefined) queueMicrotask(() => (done as () => void)());
    return true;
  }) as typeof process.stdout.write);
  return captured;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

// ---------------------------------------------------------------------------

describe('detectMode', () => {
  it('prefers GitHub Actions, then a TTY, then plain', () => {
    expect(detectMode({ GITHUB_ACTIONS: 'true' }, true)).toBe('github');
    expect(detectMode({ GITHUB_ACTIONS: 'false' }, true)).toBe('tty');
    expect(detectMode({}, false)).toBe('plain');
  });
});

describe('format', () => {
  it('formats durations', () => {
    expect(formatDuration(1234)).toBe('1.2s');
    expect(formatDuration(123_000)).toBe('2m03s');
    expect(formatDuration(3_900_000)).toBe('1h05m');
    expect(formatDuration(Number.NaN)).toBe('0.0s');
  });

  it('prints the summary line of a good build', () => {
    const line = formatSummaryLine(summary({ ok: true, ran: 3, failed: [], criticalPath: ['a', 'b', 'c'], tasks: [] }));
    expect(line).toBe('ok: 3 ran, 1997 up to date in 4.2s; critical path a -> b -> c (3.9s); trace: build/.pyston-build/trace.json');
  });

  it('formats a failure block with the log path and the last 40 lines', () => {
    const fail = failingBuild().find((e) => e.type === 'fail');
    if (fail?.type !== 'fail') throw new Error('fixture has no fail event');
    const block = formatFailureBlock(fail);
    expect(block[0]).toBe('task make failed after 2.7s');
    expect(block.join('\n')).toContain('build/logs/make.log');
    expect(block.join('\n')).toContain('make exited with code 2');
    expect(block.slice(1, 4)).toEqual(['  error: make exited with code 2', `  hint:  ${HINT}`, '  log:   build/logs/make.log']);
    const tail = block.filter((l) => l.startsWith('  | '));
    expect(tail).toHaveLength(40);
    expect(tail[0]).toBe('  | make[1]: line 6');
    expect(tail[39]).toBe('  | make: *** [Makefile:12: python] Error 2');
  });

  it('writes no hint line for a failure without a hint, and only the first line of a hint', () => {
    const fail = failingBuild().find((e) => e.type === 'fail');
    if (fail?.type !== 'fail') throw new Error('fixture has no fail event');
    const { hint: _, ...noHint } = fail;
    const block = formatFailureBlock(noHint);
    expect(block.some((l) => l.includes('hint:'))).toBe(false);
    expect(block[2]).toBe('  log:   build/logs/make.log');
    const twoLines = formatFailureBlock({ ...fail, hint: 'first\nsecond' });
    expect(twoLines.filter((l) => l.startsWith('  hint:'))).toEqual(['  hint:  first']);
  });
});

describe('plain reporter', () => {
  it('prints one start and one end line per executed task, the failure block and the summary', async () => {
    const out = sink();
    const err = sink();
    const reporter = new PlainReporter({ out: out.stream, err: err.stream, color: false });
    feed(reporter, failingBuild());
    await reporter.close();

    const o = lines(out.text());
    expect(o[0]).toBe('plan: 4 to run, 1997 up to date (-j2)');
    expect(o.filter((l) => l.startsWith('[start] '))).toEqual(['[start] configure (input changed: configure.ac)', '[start] make (dependency rebuilt: configure)', '[start] docs (new)']);
    expect(o.filter((l) => l.startsWith('[done] '))).toEqual(['[done] configure 1.2s', '[done] docs 0.3s']);
    expect(o.filter((l) => l.startsWith('[fail] '))).toEqual(['[fail] make 2.7s: make exited with code 2']);
    expect(o.some((l) => l.startsWith('[skip]'))).toBe(false);
    expect(o.at(-1)).toBe('FAILED: 1 failed (make), 2 ran, 1 cancelled, 1997 up to date in 4.2s; critical path configure -> make (3.9s); trace: build/.pyston-build/trace.json');

    const e = err.text();
    expect(e).toContain('warning: state record of docs could not be read');
    expect(e).toContain('task make failed after 2.7s');
    expect(e).toContain(`\n  hint:  ${HINT}\n`);
    expect(e).toContain('log:   build/logs/make.log');
    expect(e).toContain('  | make[1]: line 6\n');
    expect(e).toContain('  | make: *** [Makefile:12: python] Error 2\n');
    expect(e).not.toContain('line 5\n');

    expect(out.text()).not.toContain('\x1b[');
    expect(err.text()).not.toContain('\x1b[');
  });

  it('uses colour only when asked', async () => {
    const out = sink();
    const err = sink();
    const reporter = new PlainReporter({ out: out.stream, err: err.stream, color: true });
    feed(reporter, failingBuild());
    await reporter.close();
    expect(out.text()).toContain('\x1b[');
  });

  it('prints output, skips and cancels when verbose', async () => {
    const out = sink();
    const reporter = new PlainReporter({ out: out.stream, err: sink().stream, color: false, verbose: true });
    feed(reporter, failingBuild());
    await reporter.close();
    const o = out.text();
    expect(o).toContain('make | gcc -c Python/ceval.c\n');
    expect(o).toContain('docs | building html\n');
    expect(o).toContain('[skip] src:0\n');
    expect(o).toContain('[cancel] install: dependency failed: make\n');
  });
});

describe('json reporter', () => {
  it('json prints only failure blocks (and warnings) to err', async () => {
    const out = sink();
    const err = sink();
    const reporter = await createReporter('json', { out: out.stream, err: err.stream, color: false });
    feed(reporter, failingBuild());
    await reporter.close();
    expect(out.text()).toBe('');
    expect(err.text()).toContain('task make failed after 2.7s');
    expect(err.text()).toContain(`\n  hint:  ${HINT}\n`);
    expect(err.text()).toContain('build/logs/make.log');
  });
});

describe('github reporter', () => {
  let dir: string;
  let summaryFile: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pyston-report-'));
    summaryFile = join(dir, 'step-summary.md');
    writeFileSync(summaryFile, '');
    vi.stubEnv('GITHUB_STEP_SUMMARY', summaryFile);
  });

  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes non-nested groups, an error annotation per failure and a job summary', async () => {
    const err = sink();
    const reporter = await createReporter('github', { out: sink().stream, err: err.stream, color: false });
    const stdout = captureStdout();
    feed(reporter, failingBuild());
    await reporter.close();
    stdout.restore();

    // Groups never nest, and every group is closed.
    let open: string | undefined;
    const groups: string[] = [];
    for (const line of stdout.text.split('\n')) {
      if (line.startsWith('::group::')) {
        expect(open).toBeUndefined();
        open = line.slice('::group::'.length);
        groups.push(open);
      } else if (line.startsWith('::endgroup::')) {
        expect(open).toBeDefined();
        open = undefined;
      }
    }
    expect(open).toBeUndefined();
    expect(groups.map((g) => g.split(' ')[0])).toEqual(['configure', 'docs', 'make']);

    // Tool output inside groups cannot issue workflow commands.
    expect(stdout.text).toMatch(/::stop-commands::([0-9a-f-]+)\n[\s\S]*?\n::\1::\n/);

    const errors = stdout.text.split('\n').filter((l) => l.startsWith('::error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('title=task make failed');
    // The annotation's message is URL-encoded: its lines are joined by %0A.
    expect(errors[0]).toContain(`make exited with code 2%0Ahint: ${HINT}%0A`);
    expect(errors[0]).toContain('Error 2');
    expect(errors[0]).not.toContain('\x1b[');
    expect(stdout.text).toContain('::warning::state record of docs could not be read');
    expect(stdout.text).toContain('FAILED: 1 failed (make)');

    expect(err.text()).toContain('task make failed after 2.7s');
    expect(err.text()).toContain(`\n  hint:  ${HINT}\n`);
    // The failed task's group says the hint on its own line.
    expect(stdout.text).toContain(`\nerror: make exited with code 2\nhint: ${HINT}\nlog: build/logs/make.log\n`);

    const html = readFileSync(summaryFile, 'utf8');
    expect(html).toContain('<table>');
    for (const t of summary().tasks) expect(html).toContain(`<td>${t.id}</td>`);
    expect(html.match(/<tr>/g)).toHaveLength(summary().tasks.length + 1);
    expect(html).toContain('task make failed');
    expect(html).toContain(`<pre>hint: ${HINT}\nlog: build/logs/make.log\n`);
  });

  it('caps error annotations at 10 and says so', async () => {
    const reporter = await createReporter('github', { out: sink().stream, err: sink().stream, color: false });
    const stdout = captureStdout();
    const ids = Array.from({ length: 12 }, (_, i) => `t${i}`);
    feed(reporter, [
      { type: 'plan', tasks: ids.map((id) => ({ id, title: id, deps: [], reason: { kind: 'new' } })), jobs: 12, targets: ['all'] },
      ...ids.map((id): EngineEvent => ({ type: 'start', id, reason: { kind: 'new' }, slot: 0, logPath: `build/logs/${id}.log`, time: 0 })),
      ...ids.map((id): EngineEvent => ({ type: 'fail', id, message: 'boom', reason: { kind: 'exception', name: 'Error' }, logPath: `build/logs/${id}.log`, logTail: ['x'], durationMs: 1, time: 1 })),
      { type: 'done', summary: summary({ failed: ids, tasks: [] }) },
    ]);
    await reporter.close();
    stdout.restore();
    expect(stdout.text.split('\n').filter((l) => l.startsWith('::error'))).toHaveLength(10);
    expect(stdout.text).toContain('at most 10 error annotations');
    expect(stdout.text).toContain('2 more failures were not annotated');
  });
});

describe('tty reporter', () => {
  it('settles close() after a build with a failure and a cancel', async () => {
    const out = sink();
    const err = sink();
    const reporter = new TtyReporter({ out: out.stream, err: err.stream, color: false, listrRenderer: 'simple' });
    feed(reporter, failingBuild());
    await reporter.close();
    expect(err.text()).toContain('task make failed after 2.7s');
    expect(err.text()).toContain(`\n  hint:  ${HINT}\n`);
    expect(err.text()).toContain('build/logs/make.log');
    expect(out.text()).toContain('make: make exited with code 2');
    expect(out.text()).toContain('install cancelled: dependency failed: make');
    expect(lines(out.text()).at(-1)).toMatch(/^FAILED: 1 failed \(make\)/);
  });

  it('settles close() after an interrupt with tasks still running and waiting', async () => {
    const out = sink();
    const err = sink();
    const reporter = new TtyReporter({ out: out.stream, err: err.stream, color: false, listrRenderer: 'simple' });
    feed(reporter, [
      plan(),
      { type: 'start', id: 'configure', reason: { kind: 'new' }, slot: 0, logPath: 'build/logs/configure.log', time: 1 },
      { type: 'start', id: 'docs', reason: { kind: 'new' }, slot: 1, logPath: 'build/logs/docs.log', time: 1 },
      { type: 'output', id: 'configure', line: 'checking for gcc...' },
      { type: 'interrupt', signal: 'SIGINT' },
      { type: 'cancel', id: 'docs', because: 'the build is stopping' },
      { type: 'done', summary: summary({ interrupted: true, ran: 0, failed: [], criticalPath: [], tasks: [] }) },
    ]);
    await reporter.close();
    expect(out.text()).toContain('configure: interrupted');
    expect(lines(out.text()).at(-1)).toMatch(/^interrupted: 0 ran/);
  });

  it('settles close() without a done event', async () => {
    const reporter = new TtyReporter({ out: sink().stream, err: sink().stream, color: false, listrRenderer: 'simple' });
    feed(reporter, [plan(), { type: 'start', id: 'configure', reason: { kind: 'new' }, slot: 0, logPath: 'x.log', time: 1 }]);
    await reporter.close();
  });

  it('prints only the summary when nothing runs', async () => {
    const out = sink();
    const reporter = new TtyReporter({ out: out.stream, err: sink().stream, color: false, listrRenderer: 'simple' });
    feed(reporter, [
      { type: 'plan', tasks: [{ id: 'a', title: 'a', deps: [], reason: undefined }], jobs: 1, targets: ['all'] },
      { type: 'skip', id: 'a' },
      { type: 'done', summary: summary({ ok: true, ran: 0, upToDate: 1, failed: [], criticalPath: [], tasks: [] }) },
    ]);
    await reporter.close();
    expect(out.text()).toBe('ok: 0 ran, 1 up to date in 4.2s; trace: build/.pyston-build/trace.json\n');
  });
});
