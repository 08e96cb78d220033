/**
 * End to end on the embedded default, real CPython 3.11.2: `unopt`, then
 * `all` (opt with our PGO + LTO + BOLT, the probes, the pyston3 links), then a
 * second `all` that runs nothing. Slow: about 15 minutes on 2 cores.
 * Run alone with: npx vitest run tests/e2e
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { hasSection, readElf, stackPolicy } from '../../src/elf/reader.js';
import { join } from 'node:path';
import { cli, tmpProject } from '../helpers.js';

const MIN = 60_000;

describe('CPython 3.11.2 from the embedded pin', () => {
  const root = tmpProject('pb-e2e-');

  it('builds unopt and runs the probes', () => {
    const r = cli(['-C', root, 'unopt', '-j', '2'], { timeout: 20 * MIN });
    expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
    expect(readFileSync(join(root, 'build/unopt_probe.txt'), 'utf8')).toMatch(/^probe: OK/);
  }, 25 * MIN);

  it('builds all (opt: PGO + LTO + BOLT), links pyston3, and the interpreter works', () => {
    const r = cli(['-C', root, 'all', '-j', '2'], { timeout: 40 * MIN });
    expect(r.status, r.stderr + r.stdout.slice(-3000)).toBe(0);
    const summary = JSON.parse(readFileSync(join(root, 'build/opt_pgo/summary.json'), 'utf8')) as { hotFunction: string; hotFunctionBlockCountSum?: number; functions?: number };
    expect(summary.hotFunction).toBe('_PyEval_EvalFrameDefault');
    expect(readFileSync(join(root, 'build/opt_probe.txt'), 'utf8')).toMatch(/^probe: OK/);
    // BOLT ran, left its evidence, and the installed interpreter is the BOLTed one.
    const bolt = JSON.parse(readFileSync(join(root, 'build/opt_bolt/report.json'), 'utf8'));
    expect(bolt.bolted, JSON.stringify(bolt)).toBe(true);
    expect(bolt.files.python.coverage.percent).toBeGreaterThanOrEqual(20);
    const installed = realpathSync(join(root, 'build/opt_install/usr/bin/python3.11'));
    const elf = readElf(installed);
    expect(hasSection(elf, '.note.bolt_info')).toBe(true);
    expect(stackPolicy(elf)).toBe('ok');
    const report = JSON.parse(readFileSync(join(root, 'build/opt_report.json'), 'utf8'));
    expect(report.bolt.bolted).toBe(true);
    expect(report.pgo.enabled).toBe(true);
    expect(report.probe).toMatch(/^probe: OK/);
    const py = spawnSync(join(root, 'pyston3'), ['-c', 'import ssl, sqlite3; print(1)'], { encoding: 'utf8' });
    expect(py.stdout).toBe('1\n');
    const flags = spawnSync(join(root, 'pyston3'), ['-c', 'import sysconfig; print(sysconfig.get_config_var("CONFIG_ARGS"))'], { encoding: 'utf8' });
    expect(flags.stdout).toContain('--with-lto');
    const again = cli(['-C', root, 'all', '-j', '2']);
    expect(again.stdout).toMatch(/^ok: 0 ran, \d+ up to date/m);
  }, 45 * MIN);
});
