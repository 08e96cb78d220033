/**
 * An example graph: configure, make and install a small C program
 * (tests/fixtures/cdemo) out of tree, then run it. It has the shape of an
 * interpreter variant (configure -> make -> install -> check), and shows
 * the engine's caching, jobserver and `--explain` on real tools, in a few
 * seconds.
 *
 * It is not part of the product: it has its own settings (environment
 * variables, below) and its own env allow-list, and reaches the CLI through
 * its graph seam (`Io.makeGraph`, src/cli.ts) from ./cli.ts. Run it with
 * `node examples/demo/pyston-build-demo.js [options] [demo]`, which takes
 * every option pyston-build takes.
 *
 * Settings:
 *   DEMO_GREETING   the text the program prints (compiled in by demo:configure)
 *   DEMO_CFLAGS     CFLAGS for the program (default -O2)
 *   DEMO_ITERATIONS how much work demo:check has it do (default 200000)
 *   CC, CFLAGS, LDFLAGS  read by the C build, under their Makefile names
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Task, TaskGraph, ToolRef } from '../../src/graph/index.js';
import { TaskFailure, UsageError } from '../../src/graph/index.js';

export const DEMO_SOURCE = 'tests/fixtures/cdemo';

export const TOOLS = {
  sh: { name: 'sh', package: 'dash', versionArgs: [] },
  make: { name: 'make', package: 'make' },
  cc: { name: 'cc', package: 'gcc' },
} as const satisfies Record<string, ToolRef>;

/** Env vars the C build reads, under their Makefile names: the demo graph's allow-list. */
export const DEMO_ENV = ['CC', 'CFLAGS', 'LDFLAGS'] as const;

/** The pyston-build checkout this example belongs to (where the fixture's original is). */
function checkout(): string {
  // Bundled into dist/demo.cjs, or run from examples/demo/ by tsx.
  const here = dirname(fileURLToPath(import.meta.url));
  return existsSync(join(here, '..', 'package.json')) ? join(here, '..') : join(here, '..', '..');
}

export interface DemoSettings {
  readonly greeting: string;
  readonly cflags: string;
  readonly iterations: number;
}

/** The demo's settings from its environment variables; a bad value is a usage error. */
export function demoSettings(env: NodeJS.ProcessEnv): DemoSettings {
  const it = env.DEMO_ITERATIONS ?? '200000';
  if (!/^\d+$/.test(it) || Number(it) < 1 || Number(it) > 1_000_000_000)
    throw new UsageError(`DEMO_ITERATIONS must be a whole number from 1 to 1000000000, got '${it}'`, 'for example: DEMO_ITERATIONS=1000');
  const greeting = env.DEMO_GREETING ?? 'hello from pyston-build';
  if ([...greeting].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    throw new UsageError('DEMO_GREETING must be one line of text without control characters', 'for example: DEMO_GREETING="hi there"');
  return { greeting, cflags: env.DEMO_CFLAGS ?? '-O2', iterations: Number(it) };
}

/** The example graph: one target, `demo` (also the default, `all`). */
export function demoGraph(env: NodeJS.ProcessEnv): TaskGraph {
  const tasks = demoTasks(demoSettings(env));
  const roots = ['demo:check'];
  return {
    tasks: new Map(tasks.map((t) => [t.id, t])),
    targets: new Map([
      ['demo', { name: 'demo', description: 'configure, make, install and run a small C program through the engine', roots }],
      ['all', { name: 'all', description: 'the same as demo', roots }],
    ]),
    envAllowList: DEMO_ENV,
  };
}

export function demoTasks(settings: DemoSettings): Task[] {
  const config = { 'demo.greeting': settings.greeting, 'demo.cflags': settings.cflags, 'demo.iterations': settings.iterations };
  const src = DEMO_SOURCE;
  const buildDir = 'build/demo_build';
  const installDir = 'build/demo_install';
  const prefix = '/usr/local';
  const env = (cflags: string, vals: Readonly<Record<string, string>>): Record<string, string> => ({
    CC: vals.CC ?? 'cc',
    CFLAGS: [cflags, vals.CFLAGS ?? ''].filter(Boolean).join(' '),
    ...(vals.LDFLAGS !== undefined ? { LDFLAGS: vals.LDFLAGS } : {}),
  });
  return [
    {
      id: 'demo:configure',
      title: 'configure the demo program out of tree',
      deps: [],
      inputs: {
        files: [`${src}/configure`, `${src}/Makefile.in`],
        env: DEMO_ENV,
        tools: [TOOLS.sh],
        config: { 'demo.greeting': config['demo.greeting'], 'demo.cflags': config['demo.cflags'] },
      },
      outputs: [`${buildDir}/config.mk`, `${buildDir}/config.h`, `${buildDir}/Makefile`],
      async run(ctx) {
        // The demo builds the project's own copy of the fixture (the tests
        // edit it there), so a project without one cannot build it.
        if (!existsSync(ctx.path(src, 'configure')))
          throw new TaskFailure(
            `the demo target builds ${src}, which ${ctx.path('.')} does not have`,
            `run it in the pyston-build checkout: node examples/demo/pyston-build-demo.js -C ${checkout()} demo`,
          );
        mkdirSync(ctx.path(buildDir), { recursive: true });
        await ctx.exec('sh', [ctx.path(src, 'configure'), `--prefix=${prefix}`, `--with-greeting=${config['demo.greeting']}`], {
          cwd: ctx.path(buildDir),
          env: env(config['demo.cflags'], ctx.env),
          jobserver: false,
        });
      },
    },
    {
      id: 'demo:make',
      title: 'compile the demo program (make, under the jobserver)',
      deps: ['demo:configure'],
      weight: 3,
      inputs: { files: [`${src}/*.c`, `${src}/*.h`], env: DEMO_ENV, tools: [TOOLS.make, TOOLS.cc] },
      outputs: [`${buildDir}/demo`],
      async run(ctx) {
        await ctx.exec('make', ['-C', ctx.path(buildDir), 'all']);
      },
    },
    {
      id: 'demo:install',
      title: 'install the demo program into build/demo_install',
      deps: ['demo:make'],
      inputs: { tools: [TOOLS.make] },
      outputs: [installDir],
      async run(ctx) {
        await ctx.exec('make', ['-C', ctx.path(buildDir), 'install', `DESTDIR=${ctx.path(installDir)}`]);
      },
    },
    {
      id: 'demo:check',
      title: 'run the installed demo program and check what it prints',
      deps: ['demo:install'],
      inputs: { config: { 'demo.greeting': config['demo.greeting'], 'demo.iterations': config['demo.iterations'] } },
      outputs: ['build/demo_check.txt'],
      async run(ctx) {
        const bin = ctx.path(installDir, prefix.slice(1), 'bin', 'demo');
        const out = ctx.path('build/demo_check.txt');
        await ctx.exec(bin, [String(config['demo.iterations'])], { jobserver: false });
        // The program prints into the task log: check it and keep its result lines.
        const log = readFileSync(ctx.logPath, 'utf8');
        if (!log.includes(config['demo.greeting'])) throw new TaskFailure(`demo program did not print the configured greeting '${config['demo.greeting']}'`);
        const lines = log.split('\n').filter((l) => l.startsWith('hot_loop(') || l === config['demo.greeting']);
        writeFileSync(out, lines.join('\n') + '\n');
      },
    },
  ];
}
