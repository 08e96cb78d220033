/**
 * The demonstration graph: configure, make and install a small C program
 * (tests/fixtures/cdemo) out of tree, then run it. It has the shape every
 * interpreter variant will have (configure -> make -> install -> check), and
 * shows the engine's caching, jobserver and `--explain` on real tools.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Task, ToolRef } from '../graph/index.js';
import { TaskFailure } from '../graph/index.js';
import type { BuildConfig } from '../config.js';
import { packageRoot } from './paths.js';

export const DEMO_SOURCE = 'tests/fixtures/cdemo';

export const TOOLS = {
  sh: { name: 'sh', package: 'dash', versionArgs: [] },
  make: { name: 'make', package: 'make' },
  cc: { name: 'cc', package: 'gcc' },
} as const satisfies Record<string, ToolRef>;

/** Env vars the C build reads, under their Makefile names. */
export const DEMO_ENV = ['CC', 'CFLAGS', 'LDFLAGS'] as const;

export function demoTasks(config: BuildConfig): Task[] {
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
          throw new TaskFailure(`the demo target builds ${src}, which ${ctx.path('.')} does not have`, `run it in the pyston-build checkout: pyston-build -C ${packageRoot()} demo`);
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
