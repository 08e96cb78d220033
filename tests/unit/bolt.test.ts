/** BOLT's pure parts: the log parsers, the skip list, and the config keys. */
import { describe, expect, it } from 'vitest';
import { parseCoverage, parseStale } from '../../src/bolt/pipeline.js';
import { skipFuncsFromConfig } from '../../src/bolt/skip.js';
import { CPYTHON, PYSTON, defaultSkipFuncs } from '../../src/flavors/index.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { tmpProject, write } from '../helpers.js';

describe('parseCoverage', () => {
  it('reads the profile coverage line of llvm-bolt 19', () => {
    expect(parseCoverage('BOLT-INFO: 2797 out of 5565 functions in the binary (50.3%) have non-empty execution profile\n')).toEqual({ profiled: 2797, total: 5565, percent: 50.3 });
    expect(parseCoverage('BOLT-INFO: enabling relocation mode\n')).toBeUndefined();
  });
  it("reads llvm-bolt 19's count of functions with a stale profile (0 without the line)", () => {
    expect(parseStale('BOLT-WARNING: 5 (62.5% of all profiled) functions have invalid (possibly stale) profile. Use -report-stale to see the list.\n')).toBe(5);
    expect(parseStale('BOLT-WARNING: 1 (0.1% of all profiled) function has invalid (possibly stale) profile.\n')).toBe(1);
    expect(parseStale('BOLT-INFO: 8 out of 11 functions in the binary (72.7%) have non-empty execution profile\n')).toBe(0);
  });
});

describe('skip list', () => {
  it('keeps the eval loop out of BOLT only in PIC code', () => {
    expect(defaultSkipFuncs(CPYTHON, true)).toContain('_PyEval_EvalFrameDefault');
    expect(defaultSkipFuncs(CPYTHON, false)).not.toContain('_PyEval_EvalFrameDefault');
    expect(defaultSkipFuncs(CPYTHON, false)).toContain('sre_ucs1_match/1');
  });
  it("Pyston's AOT interpreter loops are skipped in its shared libpython only", () => {
    expect(defaultSkipFuncs(PYSTON, true)).toContain('_PyEval_EvalFrame_AOT_Interpreter.*');
    expect(defaultSkipFuncs(PYSTON, false)).not.toContain('_PyEval_EvalFrame_AOT_Interpreter.*');
    expect(defaultSkipFuncs(CPYTHON, true)).not.toContain('_PyEval_EvalFrame_AOT_Interpreter.*');
  });
  it("bolt.skip_funcs: 'default', 'none' or a list", () => {
    expect(skipFuncsFromConfig('default', defaultSkipFuncs(CPYTHON, true))).toEqual(defaultSkipFuncs(CPYTHON, true));
    expect(skipFuncsFromConfig('none', defaultSkipFuncs(CPYTHON, true))).toEqual([]);
    expect(skipFuncsFromConfig(' a/1, b ,', [])).toEqual(['a/1', 'b']);
  });
});

describe('BOLT config', () => {
  const load = (env: NodeJS.ProcessEnv, file?: string) => {
    const root = tmpProject();
    if (file !== undefined) write(root, 'pyston-build.toml', file);
    return loadConfig({ root, env, sets: [] });
  };
  it('defaults to required; USE_BOLT and NOBOLT switch it as in the Makefile', async () => {
    expect((await load({})).config.bolt).toBe('required');
    expect((await load({ USE_BOLT: '0' })).config.bolt).toBe('off');
    expect((await load({ USE_BOLT: '1' })).config.bolt).toBe('required');
    expect((await load({ USE_BOLT: 'auto' })).config.bolt).toBe('auto');
    expect((await load({ NOBOLT: '1' })).config.bolt).toBe('off');
    expect((await load({}, 'bolt = "auto"\n')).config.bolt).toBe('auto');
  });
  it('bad values are one-line errors naming the choices', async () => {
    const e = await load({ USE_BOLT: 'maybe' }).catch((x: ConfigError) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).toBe("environment variable USE_BOLT: invalid value 'maybe' for bolt");
    expect((e as ConfigError).hint).toBe('use 0, 1, required, auto, off');
    await expect(load({}, 'bolt = "sometimes"\n')).rejects.toThrow(/invalid value "sometimes" for bolt/);
    await expect(load({}, 'bolt.min_coverage = 101\n')).rejects.toThrow(/bolt.min_coverage = 101 is out of range/);
    await expect(load({}, 'bolt.timeout = 0\n')).rejects.toThrow(/bolt.timeout = 0 is out of range/);
    const nb = await load({ NOBOLT: 'yes please' }).catch((x: ConfigError) => x);
    expect((nb as ConfigError).message).toBe("environment variable NOBOLT: invalid value 'yes please' for bolt");
    expect((nb as ConfigError).hint).toBe('use 0, 1, required, auto, off');
  });
  it('a table and a value of the same name: dotted keys work, quoted ones too', async () => {
    expect((await load({}, '[bolt]\nmin_coverage = 35\n')).config['bolt.min_coverage']).toBe(35);
    const both = (await load({}, 'bolt = "auto"\n"bolt.min_coverage" = 30\n"pgo.task" = "regrtest"\n')).config;
    expect([both.bolt, both['bolt.min_coverage'], both['pgo.task']]).toEqual(['auto', 30, 'regrtest']);
  });
});
