/**
 * The real `pyston-build` command, and the demo example's command (the same
 * CLI on the example graph, examples/demo, over a copy of the C fixture in a
 * temp project): usage errors, dry runs, --explain reasons,
 * config, the graph formats, doctor, clean, the report modes and the trace.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, demoCli, demoProject, tmpProject } from '../helpers.js';

/** A PATH with sh and cc but no make. */
function pathWithoutMake(): string {
  const dir = join(tmpProject('pb-path-'), 'bin');
  mkdirSync(dir);
  for (const t of ['sh', 'cc', 'mkfifo', 'sed', 'cat', 'cp', 'mkdir', 'dirname', 'printf']) {
    for (const d of ['/usr/bin', '/bin']) {
      if (existsSync(join(d, t))) {
        symlinkSync(join(d, t), join(dir, t));
        break;
      }
    }
  }
  return dir;
}

function expectUsageError(r: ReturnType<typeof cli>, message: string, hint: RegExp): void {
  expect(r.status).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toBe(`error: ${message}`);
  expect(lines[1]).toMatch(hint);
  expect(lines).toHaveLength(2);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('usage errors: one line, a hint, exit 2', () => {
  const root = demoProject();
  it('unknown target', () =>
    expectUsageError(
      cli(['-C', root, 'nope']),
      "unknown target 'nope'",
      /^hint: valid targets: all, aot, aot-tools, aot_pic, bc, dbg, dbgshared, docker, opt, optshared, package, release, releaseshared, source, stock, stockdbg, stockunopt, submodules, unopt, unoptshared, wheels/,
    ));
  it('the demo is an example, not a product target', () => expectUsageError(cli(['-C', root, 'demo']), "unknown target 'demo'", /^hint: valid targets: /));
  it('a prefix where the system Python lives', () =>
    expectUsageError(
      cli(['-C', root, '-n', 'package', '--set', 'package.prefix=/usr']),
      "invalid package.prefix '/usr': the system Python or its commands live there",
      /^hint: use a directory of its own, such as \/usr\/lib\/cpython$/,
    ));
  it('a bad Debian version', () =>
    expectUsageError(
      cli(['-C', root, '-n', 'package', '--set', 'package.version=3.11.2_1']),
      "invalid package.version '3.11.2_1': the upstream version '3.11.2_1' contains '_'",
      /^hint: use \[epoch:\]upstream\[-revision\]/,
    ));
  it('a bad package name', () => expectUsageError(cli(['-C', root, '-n', 'package', '--set', 'package.name=My Python']), "invalid package.name 'My Python'", /^hint: use lowercase letters/));
  it('a bad Debian suite', () => expectUsageError(cli(['-C', root, '-n', 'package', '--set', 'package.suite=Bookworm 12']), "invalid package.suite 'Bookworm 12'", /^hint: use a Debian suite name/));
  it('a bad mirror', () =>
    expectUsageError(cli(['-C', root, '-n', 'package', '--set', 'package.mirror=deb.debian.org']), "invalid package.mirror 'deb.debian.org'", /^hint: use an http:\/\/, https:\/\/ or file:\/\/ URL/));
  it('a bad maintainer', () =>
    expectUsageError(
      cli(['-C', root, '-n', 'package', '--set', 'package.maintainer=jane@example.org']),
      `invalid package.maintainer "jane@example.org": it is not 'Full Name <email@example.org>'`,
      /^hint: use 'Full Name <email@example.org>'/,
    ));
  it('a maintainer that would add a control field', () =>
    expectUsageError(
      cli(['-C', root, '-n', 'package', '--set', 'package.maintainer=Jane <j@example.org>\nDepends: evil']),
      '--set package.maintainer: package.maintainer contains a control character ("\\n")',
      /^hint: write the value on one line/,
    ));
  it('a bad SOURCE_DATE_EPOCH', () =>
    expectUsageError(
      cli(['-C', root, '-n', 'package'], { env: { SOURCE_DATE_EPOCH: 'last tuesday' } }),
      "SOURCE_DATE_EPOCH must be a whole number of seconds, got 'last tuesday'",
      /^hint: for example/,
    ));
  it('bad -j', () => expectUsageError(cli(['-C', root, '-jx2']), "invalid value 'x2' for -j: expected a whole number from 1 to 4096", /^hint: /));
  it('negative -j', () => expectUsageError(cli(['-C', root, '-j', '-3']), "invalid value '-3' for -j: expected a whole number from 1 to 4096", /^hint: /));
  it('zero jobs', () => expectUsageError(cli(['-C', root, '--jobs=0']), "invalid value '0' for --jobs: expected a whole number from 1 to 4096", /^hint: /));
  it('bad --format', () => expectUsageError(cli(['-C', root, 'graph', '--format', 'svg']), "invalid value 'svg' for --format", /^hint: valid formats: dot, json, mermaid$/));
  it('unknown option', () => expectUsageError(cli(['-C', root, '--frobnicate']), "unknown option '--frobnicate'", /^hint: see pyston-build --help$/));
  it('missing directory', () => expectUsageError(cli(['-C', join(root, 'nowhere')]), `-C: directory '${join(root, 'nowhere')}' does not exist`, /^hint: /));
  it('unknown config key in --set', () =>
    expectUsageError(
      cli(['-C', root, '--set', 'package.nmae=hi']),
      "--set: unknown config key 'package.nmae'",
      /^hint: valid keys: arch, bolt, bolt\.apply_flags, bolt\.instrument_flags, bolt\.min_coverage, bolt\.skip_funcs, bolt\.timeout, cache\.dir, cc, configure\.extra, docker\.daemon, docker\.registry, docker\.repository, llvm\.bin, /,
    ));
  it('bad config value type', () => expectUsageError(cli(['-C', root, '--set', 'bolt.timeout=many']), "--set bolt.timeout: bolt.timeout must be an integer, got 'many'", /^hint: use a whole number/));
  it('an architecture pyston-build does not know', () =>
    expectUsageError(cli(['-C', root, '--set', 'arch=ia32']), '--set arch: invalid value "ia32" for arch', /^hint: valid choices: host, amd64, arm64, /));
  it('settings only package uses are not checked for clean, graph, doctor or other targets', () => {
    const bad = ['--set', 'package.maintainer=bad', '--set', 'package.prefix=/usr'];
    expect(cli(['-C', root, 'clean', ...bad]).status).toBe(0);
    expect(cli(['-C', root, 'graph', 'opt', ...bad]).status).toBe(0);
    expect(cli(['-C', root, '-n', 'opt', ...bad]).status).toBe(0);
    expect(cli(['-C', root, 'doctor', ...bad]).stderr).toBe('');
    // The release variant is configured for the package prefix, so it checks that one.
    expectUsageError(cli(['-C', root, '-n', 'release', ...bad]), "invalid package.prefix '/usr': the system Python or its commands live there", /^hint: /);
  });
  it('RELEASE_PREFIX and PYSTON_USE_SYS_BINS work as in the Makefile', () => {
    expectUsageError(cli(['-C', root, '-n', 'release'], { env: { RELEASE_PREFIX: '/usr/local' } }), "invalid package.prefix '/usr/local': the system Python or its commands live there", /^hint: /);
    const ok = cli(['-C', root, '-n', '--json', 'release'], { env: { RELEASE_PREFIX: '/usr/lib/fastpy', PYSTON_USE_SYS_BINS: '1' } });
    expect(ok.status, ok.stderr).toBe(0);
    expectUsageError(cli(['-C', root, '-n', 'unopt'], { env: { PYSTON_USE_SYS_BINS: '0' } }), "environment variable PYSTON_USE_SYS_BINS: invalid value '0' for toolchain", /^hint: use 1, system$/);
  });
  it('bad TOML in the config file', () => {
    const p = demoProject();
    writeFileSync(join(p, 'pyston-build.toml'), '[package]\nname = "unterminated\n');
    const r = demoCli(['-C', p, 'demo', '-n']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: .*pyston-build\.toml:2:\d+: invalid TOML: /);
  });
  it('unknown key in the config file', () => {
    const p = demoProject();
    writeFileSync(join(p, 'pyston-build.toml'), '[package]\ncolour = "blue"\n');
    expect(demoCli(['-C', p, 'demo', '-n']).stderr).toMatch(/^error: .*pyston-build\.toml: unknown config key 'package\.colour'\nhint: valid keys: /);
  });
  it('a missing tool names the tool and the package, before anything runs', () => {
    const p = demoProject();
    const r = demoCli(['-C', p, 'demo'], { env: { PATH: pathWithoutMake() } });
    expectUsageError(r, "required tool 'make' was not found on PATH", /^hint: install it: apt-get install -y make$/);
    expect(existsSync(join(p, 'build/logs/demo:configure.log'))).toBe(false);
  });
});

describe('the demonstration build', () => {
  it('builds, then runs nothing; dry runs are deterministic and explain every change', () => {
    const root = demoProject();
    const dry1 = demoCli(['-C', root, 'demo', '-n']);
    const dry2 = demoCli(['-C', root, 'demo', '-n']);
    expect(dry1.status).toBe(0);
    expect(dry1.stdout).toBe(dry2.stdout);
    expect(dry1.stdout).toBe(
      ['4 of 4 tasks would run for demo (-j ' + dry1.stdout.match(/-j (\d+)/)![1] + ')', '  demo:configure  new', '  demo:make       new', '  demo:install    new', '  demo:check      new', ''].join(
        '\n',
      ),
    );

    const b = demoCli(['-C', root, 'demo', '-j', '2']);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/^ok: 4 ran, 0 up to date in /m);
    expect(readFileSync(join(root, 'build/demo_check.txt'), 'utf8')).toContain('hello from pyston-build');

    const again = demoCli(['-C', root, 'demo', '-j', '2']);
    expect(again.stdout).toMatch(/^ok: 0 ran, 4 up to date in /m);
    expect(demoCli(['-C', root, 'demo', '-n']).stdout).toMatch(/^0 of 4 tasks would run/);

    // An input edit, a config change and an env change, each named.
    writeFileSync(join(root, 'tests/fixtures/cdemo/hot.c'), readFileSync(join(root, 'tests/fixtures/cdemo/hot.c'), 'utf8') + '\n/* edited */\n');
    let ex = demoCli(['-C', root, 'demo', '-n', '--explain']);
    expect(ex.stdout).toMatch(/demo:configure\s+up to date/);
    expect(ex.stdout).toMatch(/demo:make\s+input changed: tests\/fixtures\/cdemo\/hot\.c/);
    expect(ex.stdout).toMatch(/demo:install\s+dependency rebuilt: demo:make/);
    expect(demoCli(['-C', root, 'demo', '-n', '--explain']).stdout).toBe(ex.stdout);

    ex = demoCli(['-C', root, 'demo', '-n'], { env: { DEMO_GREETING: 'bonjour' } });
    expect(ex.stdout).toMatch(/demo:configure\s+config changed: demo\.greeting/);
    ex = demoCli(['-C', root, 'demo', '-n'], { env: { CC: 'gcc' } });
    expect(ex.stdout).toMatch(/demo:configure\s+env changed: CC/);
    ex = demoCli(['-C', root, 'demo', '-n'], { env: { SOME_OTHER_VAR: '1' } });
    expect(ex.stdout).toMatch(/demo:make\s+input changed/);
    expect(ex.stdout).not.toMatch(/demo:configure\s/);

    const json = JSON.parse(demoCli(['-C', root, 'demo', '-n', '--json', '--explain']).stdout) as { wouldRun: number; tasks: { id: string; reason: string; changes?: string[] }[] };
    expect(json.wouldRun).toBe(3);
    expect(json.tasks.find((t) => t.id === 'demo:make')?.changes).toEqual(['input changed: tests/fixtures/cdemo/hot.c']);

    // The trace of the last real run.
    const trace = JSON.parse(readFileSync(join(root, 'build/.pyston-build/trace.json'), 'utf8')) as {
      traceEvents: { ph: string }[];
      summary: { tasksRun: number; tasksUpToDate: number; criticalPath: string[] };
    };
    expect(trace.summary.tasksRun).toBe(0);
    expect(trace.summary.tasksUpToDate).toBe(4);
    const final = demoCli(['-C', root, 'demo'], { env: { DEMO_GREETING: 'bonjour' } });
    expect(final.status).toBe(0);
    const t2 = JSON.parse(readFileSync(join(root, 'build/.pyston-build/trace.json'), 'utf8')) as typeof trace;
    expect(t2.traceEvents.filter((e) => e.ph === 'X')).toHaveLength(4);
    expect(t2.summary.criticalPath).toEqual(['demo:configure', 'demo:make', 'demo:install', 'demo:check']);
    expect(readFileSync(join(root, 'build/demo_check.txt'), 'utf8')).toContain('bonjour');
  });

  it('a failing sub-build prints the task, its log path and the log tail, and exits 1', () => {
    const root = demoProject();
    const r = demoCli(['-C', root, 'demo'], { env: { CFLAGS: '-DTHIS_IS=broken -include /nonexistent/header.h' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('task demo:make failed');
    expect(r.stderr).toContain(`log:   ${join(root, 'build/logs/demo:make.log')}`);
    expect(r.stderr).toMatch(/\|.*nonexistent\/header\.h/);
    expect(r.stdout).toMatch(/^FAILED: 1 failed \(demo:make\)/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('demo in a project without the fixture names the fix, not a shell error', () => {
    const root = tmpProject('pb-nodemo-');
    const r = demoCli(['-C', root, 'demo']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`error: the demo target builds tests/fixtures/cdemo, which ${root} does not have
  hint:  run it in the pyston-build checkout: node examples/demo/pyston-build-demo.js -C `);
    expect(r.stderr).not.toContain('cannot open');
    expect(existsSync(join(root, 'build/demo_build'))).toBe(false);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--json prints the build summary', () => {
    const root = demoProject();
    const r = demoCli(['-C', root, 'demo', '--json']);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as { ok: boolean; ran: number; tasks: { id: string; status: string }[] };
    expect(s.ok).toBe(true);
    expect(s.ran).toBe(4);
  });

  it('GitHub Actions mode: one group per task and a job summary', () => {
    const root = demoProject();
    const summaryFile = join(root, 'step-summary.md');
    writeFileSync(summaryFile, '');
    const r = demoCli(['-C', root, 'demo'], { env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summaryFile } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.match(/^::group::/gm)).toHaveLength(4);
    expect(r.stdout.match(/^::endgroup::/gm)).toHaveLength(4);
    expect(readFileSync(summaryFile, 'utf8')).toContain('demo:make');
  });

  it('graph prints dot, json and mermaid', () => {
    const root = demoProject();
    const dot = demoCli(['-C', root, 'graph', 'demo']);
    expect(dot.stdout).toContain('"demo:configure" -> "demo:make";');
    const json = JSON.parse(demoCli(['-C', root, 'graph', '--format', 'json', 'demo']).stdout) as { tasks: { id: string; deps: string[] }[] };
    expect(json.tasks.map((t) => t.id)).toEqual(['demo:check', 'demo:configure', 'demo:install', 'demo:make']);
    expect(demoCli(['-C', root, 'graph', '--format=mermaid', 'demo']).stdout).toMatch(/^graph LR\n/);
  });

  it('doctor lists tools and the install command for what is missing', () => {
    const root = demoProject();
    const ok = cli(['-C', root, 'doctor']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/ok\s+make GNU Make/);
    const bad = cli(['-C', root, 'doctor'], { env: { PATH: pathWithoutMake() } });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/missing\s+make, needed by dbg:configure, /);
    expect(bad.stdout).toMatch(/apt-get update && apt-get install -y (\S+ )*make(\s|$)/);
  });

  it("clean removes one target's outputs, or the whole build directory", () => {
    const root = demoProject();
    expect(demoCli(['-C', root, 'demo']).status).toBe(0);
    // A target's closure: demo:install and everything it needs.
    expect(demoCli(['-C', root, 'clean', 'demo:install']).status).toBe(0);
    expect(existsSync(join(root, 'build/demo_install'))).toBe(false);
    expect(existsSync(join(root, 'build/demo_check.txt'))).toBe(true);
    expect(demoCli(['-C', root, 'demo', '-n']).stdout).toMatch(/^4 of 4 tasks would run/);
    expect(cli(['-C', root, 'clean']).status).toBe(0);
    expect(existsSync(join(root, 'build'))).toBe(false);
  });

  it('--help and --version', () => {
    const h = cli(['--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('usage: pyston-build');
    expect(cli(['--version']).stdout).toMatch(/^pyston-build \d+\.\d+\.\d+\n$/);
  });
});
