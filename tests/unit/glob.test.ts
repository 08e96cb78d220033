import { describe, expect, it } from 'vitest';
import { GLOB_EXCLUDE, GLOB_FILE_NAME, GLOB_TASK_ID, globMatcher, globRegExp } from '../../src/graph/glob.js';
import { forceMatcher } from '../../src/graph/plan.js';

const matches = (pattern: string, opts: Parameters<typeof globRegExp>[1], s: string): boolean => globRegExp(pattern, opts).test(s);

describe('one glob matcher, three semantics', () => {
  it('`!` excludes: ** spans directories, * and ? stay within one, [ is literal', () => {
    const m = globMatcher(['build/**', '**/__pycache__/**', 'pyston3.*', 'a?c', 'x[1]'], GLOB_EXCLUDE);
    expect(m('build/a/b/c.o')).toBe(true);
    expect(m('sub/dir/__pycache__/m.pyc')).toBe(true);
    expect(m('__pycache__/m.pyc')).toBe(true);
    expect(m('pyston3.11')).toBe(true);
    expect(m('pyston3.11/x')).toBe(false); // * does not cross /
    expect(m('pyston3')).toBe(false);
    expect(m('abc')).toBe(true);
    expect(m('a/c')).toBe(false); // ? does not match /
    expect(m('x[1]')).toBe(true);
    expect(m('x1')).toBe(false);
    expect(m('.git')).toBe(false);
    expect(globMatcher(['*'], GLOB_EXCLUDE)('.hidden')).toBe(true); // dot files are matched
    expect(globMatcher(['a.c'], GLOB_EXCLUDE)('abc')).toBe(false); // . is literal
  });

  it('`**/` is whole directories: `**/test/**` is not `idle_test/`', () => {
    const m = globMatcher(['**/test/**', 'doc/**/x'], GLOB_EXCLUDE);
    expect(m('test/a.py')).toBe(true);
    expect(m('Lib/test/a.py')).toBe(true);
    expect(m('Lib/idlelib/idle_test/a.py')).toBe(false);
    expect(m('Lib/test_x/a.py')).toBe(false);
    expect(m('doc/x')).toBe(true);
    expect(m('doc/a/b/x')).toBe(true);
    expect(m('doc/ax')).toBe(false);
  });

  it('--force: * crosses : and /, ? and [ are literal, the whole id must match', () => {
    expect(matches('opt:*', GLOB_TASK_ID, 'opt:pgo:train')).toBe(true);
    expect(matches('*:train', GLOB_TASK_ID, 'opt:pgo:train')).toBe(true);
    expect(matches('*', GLOB_TASK_ID, 'a/b:c')).toBe(true);
    expect(matches('opt:?', GLOB_TASK_ID, 'opt:x')).toBe(false);
    expect(matches('opt:?', GLOB_TASK_ID, 'opt:?')).toBe(true);
    expect(matches('opt:[ab]', GLOB_TASK_ID, 'opt:a')).toBe(false);
    expect(matches('opt', GLOB_TASK_ID, 'opt:make')).toBe(false);
    expect(matches('opt.make', GLOB_TASK_ID, 'opt:make')).toBe(false);
    // `**` is just two stars here: it does not swallow the `/` after it.
    expect(matches('a**/b', GLOB_TASK_ID, 'ab')).toBe(false);
    expect(matches('a**/b', GLOB_TASK_ID, 'a:x/b')).toBe(true);
    const m = forceMatcher(['opt:*', 'demo:make']);
    expect([m('opt:bolt:optimize'), m('demo:make'), m('demo:make2'), m('unopt:configure')]).toEqual([true, true, false, false]);
  });

  it('file names (ld.so.conf includes): classes, no dot files, no /', () => {
    expect(matches('*.conf', GLOB_FILE_NAME, 'libc.conf')).toBe(true);
    expect(matches('*.conf', GLOB_FILE_NAME, '.hidden.conf')).toBe(false);
    expect(matches('.*.conf', GLOB_FILE_NAME, '.hidden.conf')).toBe(true);
    expect(matches('?ibc.conf', GLOB_FILE_NAME, '.ibc.conf')).toBe(false);
    expect(matches('[a-c]*.conf', GLOB_FILE_NAME, 'b.conf')).toBe(true);
    expect(matches('[a-c]*.conf', GLOB_FILE_NAME, 'd.conf')).toBe(false);
    expect(matches('[!a-c]*.conf', GLOB_FILE_NAME, 'd.conf')).toBe(true);
    expect(matches('[!a-c]*.conf', GLOB_FILE_NAME, 'a.conf')).toBe(false);
    expect(matches('[]x]', GLOB_FILE_NAME, ']')).toBe(true); // ] first in a set is a member
    expect(matches('[!]x]', GLOB_FILE_NAME, 'y')).toBe(true);
    expect(matches('[!]x]', GLOB_FILE_NAME, ']')).toBe(false);
    expect(matches('a[b', GLOB_FILE_NAME, 'a[b')).toBe(true); // an unclosed [ is literal
    expect(matches('*', GLOB_FILE_NAME, 'a/b')).toBe(false);
    expect(matches('**', GLOB_FILE_NAME, 'a/b')).toBe(false); // no globstar
  });

  it('noDotFiles applies to every path component of the pattern', () => {
    expect(matches('dir/*', { noDotFiles: true }, 'dir/.x')).toBe(false);
    expect(matches('dir/.*', { noDotFiles: true }, 'dir/.x')).toBe(true);
    expect(matches('dir/*', {}, 'dir/.x')).toBe(true);
  });
});
