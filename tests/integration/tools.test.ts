/**
 * Tools built by the graph: one task compiles a small C tool with the real
 * `cc`, another runs it to make its output. The user depends on the
 * producer without listing it, is keyed by the producer, and the tool is
 * never looked up on PATH (a decoy of the same name there must never run).
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { build, graphOf, read, tmpProject, write } from '../helpers.js';
import { formatReason, planBuild, PlanError, topoClosure, validateGraph, type EngineOptions, type Task, type TaskGraph } from '../../src/graph/index.js';
import { exportGraph } from '../../src/graph/export.js';
import { doctor } from '../../src/doctor.js';
import { planText } from '../../src/report/dryrun.js';

const TOOL_PATH = 'build/tool/bin/mytool';

/** `mytool IN OUT`: writes OUT = PREFIX + IN in upper case. */
function toolSource(prefix: string): string {
  return `#include <ctype.h>
#include <stdio.h>
int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: mytool IN OUT\\n"); return 2; }
  FILE *in = fopen(argv[1], "r"), *out = fopen(argv[2], "w");
  if (!in || !out) { perror("mytool"); return 1; }
  fputs("${prefix}", out);
  for (int c; (c = fgetc(in)) != EOF;) fputc(toupper(c), out);
  return fclose(out) != 0;
}
`;
}

/** A project with the tool's source, an input, and a decoy `mytool` on PATH that leaves a mark if it ever runs. */
function project(): { root: string; env: NodeJS.ProcessEnv; decoyMark: string } {
  const root = tmpProject('pb-tools-');
  write(root, 'src/tool/mytool.c', toolSource('v1: '));
  write(root, 'src/data.txt', 'hello\n');
  const decoyMark = join(root, 'decoy-ran');
  write(root, 'decoy/mytool', `#!/bin/sh\ntouch '${decoyMark}'\nexit 1\n`);
  chmodSync(join(root, 'decoy/mytool'), 0o755);
  return { root, env: { PATH: `${join(root, 'decoy')}:${process.env.PATH}` }, decoyMark };
}

function toolGraph(): TaskGraph {
  const producer: Task = {
    id: 'tool:build',
    deps: [],
    inputs: { files: ['src/tool/mytool.c'], tools: [{ name: 'cc', package: 'gcc' }] },
    outputs: [TOOL_PATH],
    async run(ctx) {
      await ctx.exec('mkdir', ['-p', ctx.path('build/tool/bin')], { jobserver: false });
      await ctx.exec('cc', ['-O1', '-o', ctx.path(TOOL_PATH), ctx.path('src/tool/mytool.c')], { jobserver: false });
    },
  };
  const user: Task = {
    id: 'use',
    // No deps listed: the engine adds the tool's producer.
    deps: [],
    inputs: { files: ['src/data.txt'], tools: [{ name: 'mytool', producer: 'tool:build', path: TOOL_PATH }] },
    outputs: ['build/out/result.txt'],
    async run(ctx) {
      await ctx.exec('mkdir', ['-p', ctx.path('build/out')], { jobserver: false });
      await ctx.exec('mytool', [ctx.path('src/data.txt'), ctx.path('build/out/result.txt')], { jobserver: false });
    },
  };
  return graphOf([producer, user], { use: ['use'] });
}

function opts(root: string, env: NodeJS.ProcessEnv): EngineOptions {
  return { root, buildDir: join(root, 'build'), jobs: 2, targets: ['use'], env };
}

/** What `-n --explain` says for each task: its reason, or `up to date`. */
function explain(g: TaskGraph, root: string, env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(planBuild(g, opts(root, env)).entries.map((e) => [e.task.id, e.reason ? formatReason(e.reason) : 'up to date']));
}

describe('a tool built by the graph', () => {
  it('is built first, keyed by its producer, rebuilt with its source, and never looked up on PATH', async () => {
    const { root, env, decoyMark } = project();
    const g = toolGraph();
    const run = () => build(g, root, { targets: ['use'], env });

    // Planning works before the tool exists: no lookup, no MissingToolError, no version probe.
    expect(existsSync(join(root, TOOL_PATH))).toBe(false);
    expect(explain(g, root, env)).toEqual({ 'tool:build': 'new', use: 'new' });

    const first = await run();
    expect(first.summary.ok, JSON.stringify(first.events.filter((e) => e.type === 'fail'))).toBe(true);
    expect(first.ran).toEqual(['tool:build', 'use']);
    expect(read(root, 'build/out/result.txt')).toBe('v1: HELLO\n');

    // A no-op rebuild runs neither.
    expect(explain(g, root, env)).toEqual({ 'tool:build': 'up to date', use: 'up to date' });
    expect((await run()).ran).toEqual([]);

    // Editing the tool's source reruns both, and the output shows the new tool.
    write(root, 'src/tool/mytool.c', toolSource('v2: '));
    expect(explain(g, root, env)).toEqual({ 'tool:build': 'input changed: src/tool/mytool.c', use: 'tool rebuilt: mytool (by tool:build)' });
    expect(planText(planBuild(g, opts(root, env)), { targets: ['use'], jobs: 2, explain: true })).toBe(
      [
        '2 of 2 tasks would run for use (-j 2)',
        '  tool:build  input changed: src/tool/mytool.c',
        '  use         tool rebuilt: mytool (by tool:build)',
        '                tool changed: mytool (rebuilt by tool:build)',
        '                dependency rebuilt: tool:build',
        '',
      ].join('\n'),
    );
    const edited = await run();
    expect(edited.ran).toEqual(['tool:build', 'use']);
    expect(read(root, 'build/out/result.txt')).toBe('v2: HELLO\n');
    expect((await run()).ran).toEqual([]);

    // A touch without a content change runs nothing.
    const future = new Date(Date.now() + 5000);
    utimesSync(join(root, 'src/tool/mytool.c'), future, future);
    expect((await run()).ran).toEqual([]);

    // A deleted tool is its producer's missing output: both rerun.
    rmSync(join(root, TOOL_PATH));
    expect(explain(g, root, env)).toEqual({ 'tool:build': `output missing: ${TOOL_PATH}`, use: 'dependency rebuilt: tool:build' });
    expect((await run()).ran).toEqual(['tool:build', 'use']);

    // The user's own input still counts on its own.
    write(root, 'src/data.txt', 'bye\n');
    expect(explain(g, root, env)).toEqual({ 'tool:build': 'up to date', use: 'input changed: src/data.txt' });
    expect((await run()).ran).toEqual(['use']);
    expect(read(root, 'build/out/result.txt')).toBe('v2: BYE\n');

    expect(existsSync(decoyMark)).toBe(false);
  }, 60_000);

  it('makes its producer a dependency in the plan and in `graph`, and doctor lists it as built', () => {
    const { root, env, decoyMark } = project();
    const g = toolGraph();
    validateGraph(g);
    const closure = topoClosure(g, ['use']);
    expect(closure.map((t) => t.id)).toEqual(['tool:build', 'use']);
    expect(closure[1]!.deps).toEqual(['tool:build']);
    // The graph's own task is left as it was declared.
    expect(g.tasks.get('use')!.deps).toEqual([]);
    const json = JSON.parse(exportGraph(closure, 'json')) as { tasks: { id: string; deps: string[] }[] };
    expect(json.tasks.find((t) => t.id === 'use')!.deps).toEqual(['tool:build']);

    const report = doctor(g, root, join(root, 'build'), env);
    expect(report.lines.filter((l) => l.includes('mytool'))).toEqual([`  ok       mytool built by tool:build (${TOOL_PATH})`]);
    expect(report.lines.some((l) => l.startsWith('  missing') && l.includes('mytool'))).toBe(false);
    expect(existsSync(decoyMark)).toBe(false);
  });

  it('is a plan error when its producer is unknown or does not declare it', () => {
    const base = toolGraph();
    const withTool = (tool: { producer: string; path: string }): TaskGraph => {
      const use = base.tasks.get('use')!;
      const changed: Task = { ...use, inputs: { ...use.inputs, tools: [{ name: 'mytool', ...tool }] } };
      return { ...base, tasks: new Map([...base.tasks, ['use', changed]]) };
    };
    const planError = (g: TaskGraph): PlanError => {
      try {
        validateGraph(g);
      } catch (e) {
        expect(e).toBeInstanceOf(PlanError);
        return e as PlanError;
      }
      throw new Error('validateGraph accepted the graph');
    };
    let e = planError(withTool({ producer: 'tool:nope', path: TOOL_PATH }));
    expect(e.message).toBe('task use uses tool mytool, built by tool:nope, which is not a task of the graph');
    expect(e.hint).toMatch(/producer/);
    e = planError(withTool({ producer: 'tool:build', path: 'build/tool/bin/other' }));
    expect(e.message).toBe("task use uses tool mytool, built by tool:build, at build/tool/bin/other, which is not one of tool:build's declared outputs");
    expect(e.hint).toBe('declare build/tool/bin/other (or a directory holding it) as an output of tool:build');
    e = planError(withTool({ producer: 'tool:build', path: '/usr/bin/mytool' }));
    expect(e.message).toMatch(/at '\/usr\/bin\/mytool', which is not a path inside the project$/);
    // A path inside a declared output directory is fine.
    const dirGraph = withTool({ producer: 'tool:build', path: TOOL_PATH });
    expect(() => validateGraph(dirGraph)).not.toThrow();
  });
});
