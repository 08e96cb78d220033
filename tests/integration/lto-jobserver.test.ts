/**
 * The LTO link under the global -j: real gcc 12 and GNU make, with the
 * flags and make variables that src/variants/flags.ts gives an optimized
 * gcc variant, on a small program linked the way CPython's Makefile links
 * the interpreter (`$(LINKCC) ... $(PY_LDFLAGS_NODIST)`, configure's
 * LTO flags first). Concurrency is measured by sampling the process table:
 * gcc's link-time jobs (`lto1 -fltrans`) and a second make's slow jobs
 * together never exceed the budget.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, graphOf, processesWith, REPO, tmpProject } from '../helpers.js';
import type { Task } from '../../src/graph/index.js';
import { variantFlags } from '../../src/variants/flags.js';
import { findVariant } from '../../src/variants/table.js';
import { CPYTHON } from '../../src/flavors/index.js';
import { dropMakefileWords } from '../../src/variants/tasks.js';

const FIX = join(REPO, 'tests/fixtures/jobserver');
const flags = variantFlags({
  variant: findVariant('opt')!,
  flavor: CPYTHON,
  family: 'gcc',
  arch: 'amd64',
  pgo: false,
  lto: true,
  bolt: false,
  configureExtra: [],
  root: '/p',
  srcDir: '/p/src',
});

/** Eight heavy functions in eight files and a main: enough code for gcc to make several link-time partitions. */
function writeProgram(dir: string, mark: string): void {
  mkdirSync(dir, { recursive: true });
  const objs: string[] = [];
  for (let i = 0; i < 8; i++) {
    const body = Array.from({ length: 60 }, (_, j) => `  for (unsigned k${j} = 0; k${j} < n; k${j}++) s = s * ${j + 3}u + (s >> ${(j % 7) + 1}) + a[(k${j} + ${j}) & 255] * ${j + 1}u;`);
    writeFileSync(join(dir, `f${i}.c`), `unsigned f${i}(unsigned n, const unsigned *a) {\n  unsigned s = ${i};\n${body.join('\n')}\n  return s;\n}\n`);
    objs.push(`f${i}.o`);
  }
  const decls = Array.from({ length: 8 }, (_, i) => `unsigned f${i}(unsigned, const unsigned *);`).join('\n');
  const calls = Array.from({ length: 8 }, (_, i) => `f${i}((unsigned)c, a)`).join(' + ');
  writeFileSync(join(dir, 'main.c'), `${decls}\nunsigned a[256];\nint main(int c, char **v) { (void)v; return (int)(${calls}); }\n`);
  // As CPython's configure writes it for gcc --with-lto, and as its Makefile links the interpreter.
  writeFileSync(
    join(dir, 'Makefile'),
    [
      'PURIFY=',
      'MAINCC=gcc',
      'LINKCC=$(PURIFY) $(MAINCC)',
      'CONFIGURE_CFLAGS_NODIST= -flto -fuse-linker-plugin -ffat-lto-objects -flto-partition=none',
      'CONFIGURE_LDFLAGS_NODIST= -flto -fuse-linker-plugin -ffat-lto-objects -flto-partition=none',
      'PY_LDFLAGS_NODIST=$(CONFIGURE_LDFLAGS_NODIST) $(LDFLAGS_NODIST)',
      `OBJS=main.o ${objs.join(' ')}`,
      `prog-${mark}: $(OBJS)`,
      '\t$(LINKCC) -O2 $(PY_LDFLAGS_NODIST) -o $@ $(OBJS)',
      '%.o: %.c',
      '\tgcc -O2 $(CONFIGURE_CFLAGS_NODIST) -c $< -o $@',
      '',
    ].join('\n'),
  );
}

/** The link as a task (the objects are compiled before, outside the measurement). */
function ltoTask(id: string, dir: string, o: { drop: boolean; makeArgs: readonly string[] }): Task {
  return {
    id,
    deps: [],
    inputs: { tools: [{ name: 'make' }, { name: 'gcc' }] },
    outputs: [],
    run: async (ctx) => {
      if (o.drop) writeFileSync(join(dir, 'Makefile'), dropMakefileWords(readFileSync(join(dir, 'Makefile'), 'utf8'), flags.makefileDrop).text);
      // -v: gcc's lto-wrapper says whether it found the jobserver. The
      // partition size is lowered for this small program only.
      const ldflags = [...flags.final.ldflags.filter((f) => /^(-flto|--param=lto-max)/.test(f)), '--param=lto-min-partition=10', '-v'].join(' ');
      await ctx.exec('make', [...o.makeArgs], { cwd: dir, env: { LDFLAGS_NODIST: ldflags } });
    },
  };
}

function slowMake(id: string, mark: string): Task {
  return {
    id,
    deps: [],
    inputs: { tools: [{ name: 'make' }] },
    outputs: [],
    run: async (ctx) => {
      await ctx.exec('make', ['-f', join(FIX, 'Makefile'), `SLOWJOB=${join(FIX, 'slowjob.sh')}`, `MARKER=${mark}`]);
    },
  };
}

async function compileObjects(root: string, dir: string): Promise<void> {
  const t: Task = {
    id: 'compile',
    deps: [],
    inputs: {},
    outputs: [],
    run: async (ctx) => {
      const objs = readFileSync(join(dir, 'Makefile'), 'utf8')
        .match(/^OBJS=(.*)$/m)![1]!
        .split(' ');
      await ctx.exec('make', objs, { cwd: dir });
    },
  };
  const r = await build(graphOf([t]), root, { jobs: 2 });
  expect(r.summary.ok).toBe(true);
}

let counter = 0;
const marker = () => `0.7${process.pid % 1000}${String(++counter).padStart(3, '0')}`;

describe('the LTO link under the jobserver', () => {
  it('the variant flags: link-time jobs share the global -j with another sub-build, never exceeding it', async () => {
    const root = tmpProject('pb-lto-');
    const mark = marker();
    const dir = join(root, 'prog');
    writeProgram(dir, mark);
    await compileObjects(root, dir);
    const seen = { ltrans: new Set<number>(), peak: 0, at: [] as string[] };
    const timer = setInterval(() => {
      const ps = processesWith(mark);
      // Every lto1 counts: the whole-program pass (and any streaming process it forks) and each partition's job.
      const lto1 = [...ps].filter(([, c]) => /\/lto1 /.test(c));
      for (const [pid, c] of lto1) if (c.includes(' -fltrans ')) seen.ltrans.add(pid);
      const sleeps = [...ps.values()].filter((c) => c.startsWith('sleep ')).length;
      if (lto1.length + sleeps > seen.peak) seen.at = [...ps.values()].map((c) => c.slice(0, 160));
      seen.peak = Math.max(seen.peak, lto1.length + sleeps);
    }, 5);
    let r: Awaited<ReturnType<typeof build>> | undefined;
    try {
      const linkcc = flags.makeArgs.filter((a) => a.startsWith('LINKCC='));
      expect(linkcc).toEqual(['LINKCC=+$(PURIFY) $(MAINCC)']);
      r = await build(graphOf([ltoTask('link', dir, { drop: true, makeArgs: linkcc }), slowMake('other', mark)]), root, { jobs: 2 });
    } finally {
      clearInterval(timer);
    }
    expect(r?.summary.ok, JSON.stringify(r?.events.filter((e) => e.type === 'fail'))).toBe(true);
    const log = readFileSync(join(root, 'build/logs/link.log'), 'utf8');
    // gcc found our jobserver and partitioned the link.
    expect(log).toContain('Using make jobserver');
    expect(log).toContain('-fwpa=jobserver');
    expect(log).not.toContain('-flto-partition=none');
    expect(seen.ltrans.size).toBeGreaterThanOrEqual(2);
    expect(seen.peak).toBeGreaterThanOrEqual(1);
    expect(seen.peak, seen.at.join('\n')).toBeLessThanOrEqual(2);
  });

  it("without them (configure's Makefile and LINKCC), the link is one serial job that never sees the jobserver", async () => {
    const root = tmpProject('pb-lto-');
    const mark = marker();
    const dir = join(root, 'prog');
    writeProgram(dir, mark);
    await compileObjects(root, dir);
    const r = await build(graphOf([ltoTask('link', dir, { drop: false, makeArgs: [] })]), root, { jobs: 2 });
    expect(r.summary.ok).toBe(true);
    const log = readFileSync(join(root, 'build/logs/link.log'), 'utf8');
    expect(log).not.toContain('Using make jobserver');
    expect(log).not.toContain('-fwpa');
    expect(log).not.toContain('-fltrans ');
  });
});
