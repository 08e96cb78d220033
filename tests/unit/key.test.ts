import { describe, expect, it } from 'vitest';
import { chmodSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { canonicalJson, computeFingerprint, detailsOf, digestInputs, jsonString, keyReason, underRoot, type FingerprintContext } from '../../src/graph/key.js';
import { FileHasher } from '../../src/graph/hash.js';
import { ToolResolver } from '../../src/graph/tools.js';
import { forceMatcher, criticalPriorities } from '../../src/graph/plan.js';
import type { TaskRecord } from '../../src/graph/state.js';
import type { Task } from '../../src/graph/task.js';
import { tmpProject, write } from '../helpers.js';

function ctx(root: string, env: NodeJS.ProcessEnv = {}): FingerprintContext {
  const hasher = new FileHasher();
  return { root, hasher, tools: new ToolResolver(process.env.PATH, hasher, {}), env };
}

const task = (over: Partial<Task> = {}): Task => ({ id: 't', deps: [], inputs: { files: ['src/*.c'], config: { 'a.b': 1 }, env: ['CC'] }, outputs: ['out'], run: async () => undefined, ...over });

function record(fp: ReturnType<typeof computeFingerprint>): TaskRecord {
  return { status: 'ok', key: fp.key, outputs: {}, durationMs: 0 };
}

describe('action keys', () => {
  it('canonical JSON sorts keys, so equal values hash equally', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }));
    expect(canonicalJson({ 10: 'x', 9: 'y' })).toBe('{"10":"x","9":"y"}');
  });

  it('is stable, and names the first changed component', () => {
    const root = tmpProject();
    write(root, 'src/a.c', 'int a;');
    write(root, 'src/b.c', 'int b;');
    const fp = computeFingerprint(task(), new Map(), ctx(root, { CC: 'gcc' }));
    expect(computeFingerprint(task(), new Map(), ctx(root, { CC: 'gcc' })).key).toBe(fp.key);
    expect(keyReason(fp, record(fp), detailsOf(fp), false)).toBeUndefined();
    expect(keyReason(fp, record(fp), detailsOf(fp), true)).toEqual({ kind: 'forced' });
    expect(keyReason(fp, undefined, undefined, false)).toEqual({ kind: 'new' });

    write(root, 'src/b.c', 'int bb;');
    const changed = computeFingerprint(task(), new Map(), ctx(root, { CC: 'gcc' }));
    expect(keyReason(changed, record(fp), detailsOf(fp), false)).toEqual({ kind: 'input changed', path: 'src/b.c' });
    write(root, 'src/c.c', 'int c;');
    const added = computeFingerprint(task(), new Map(), ctx(root, { CC: 'gcc' }));
    expect(keyReason(added, record(changed), detailsOf(changed), false)).toEqual({ kind: 'input changed', path: 'src/c.c' });

    const cfg = computeFingerprint(task({ inputs: { files: ['src/*.c'], config: { 'a.b': 2 }, env: ['CC'] } }), new Map(), ctx(root, { CC: 'gcc' }));
    expect(keyReason(cfg, record(added), detailsOf(added), false)).toEqual({ kind: 'config changed', key: 'a.b' });
    const env = computeFingerprint(task(), new Map(), ctx(root, { CC: 'clang' }));
    expect(keyReason(env, record(added), detailsOf(added), false)).toEqual({ kind: 'env changed', name: 'CC' });
    const unset = computeFingerprint(task(), new Map(), ctx(root, {}));
    expect(keyReason(unset, record(added), detailsOf(added), false)).toEqual({ kind: 'env changed', name: 'CC' });
    const other = computeFingerprint(task(), new Map(), ctx(root, { CC: 'gcc', UNRELATED: '1' }));
    expect(other.key).toBe(added.key);
    const dep = computeFingerprint(task({ deps: ['d'] }), new Map([['d', 'k1']]), ctx(root, { CC: 'gcc' }));
    const dep2 = computeFingerprint(task({ deps: ['d'] }), new Map([['d', 'k2']]), ctx(root, { CC: 'gcc' }));
    expect(keyReason(dep2, record(dep), detailsOf(dep), false)).toEqual({ kind: 'dependency rebuilt', id: 'd' });
    const def = computeFingerprint(task({ outputs: ['other'] }), new Map(), ctx(root, { CC: 'gcc' }));
    expect(keyReason(def, record(added), detailsOf(added), false)).toEqual({ kind: 'definition changed' });
    expect(keyReason(fp, { ...record(fp), status: 'failed' }, undefined, false)).toEqual({ kind: 'previous run failed' });
    expect(keyReason(fp, { ...record(fp), status: 'running' }, undefined, false)).toEqual({ kind: 'previous run interrupted' });
  });

  it('never stores env values, only digests', () => {
    const root = tmpProject();
    const fp = computeFingerprint(task(), new Map(), ctx(root, { CC: 'secret-token-value' }));
    expect(JSON.stringify(detailsOf(fp))).not.toContain('secret-token-value');
  });

  it('without recorded details, a changed key is still a reason', () => {
    const root = tmpProject();
    const a = computeFingerprint(task(), new Map(), ctx(root, { CC: 'a' }));
    const b = computeFingerprint(task(), new Map(), ctx(root, { CC: 'b' }));
    expect(keyReason(b, record(a), undefined, false)).toEqual({ kind: 'inputs changed' });
  });

  it('quotes strings exactly as JSON.stringify does', () => {
    const fixed = ['', 'src/a.c', 'a"b', 'a\\b', 'tab\there', 'nl\n', '\u0000', '\u001f', '\u007f', 'é/ü', '\u2028', '😀', '\ud800', 'x\udfff', '\udfff\ud800'];
    const random = Array.from({ length: 2000 }, (_, i) => String.fromCharCode(...Array.from({ length: 1 + (i % 7) }, (_, k) => (i * 7919 + k * 104729) % 0x10000)));
    for (const s of [...fixed, ...random]) expect(jsonString(s), JSON.stringify(s)).toBe(JSON.stringify(s));
  });

  it('joins plain paths under the root exactly as path.resolve does', () => {
    const paths = ['a', 'a/b.c', '.hidden/x', 'a..b/c', 'a/.b', '..', '../x', 'a/../b', './a', 'a/./b', 'a//b', 'a/', '.', '', '/abs/p', '/abs/../q', 'a/..', 'a/.'];
    for (const root of ['/work/p', '/']) for (const p of paths) expect(underRoot(root, p), `${root} + ${p}`).toBe(resolve(root, p));
  });

  it('! entries exclude paths from globs and directories', () => {
    const root = tmpProject();
    write(root, 'tree/a.c', 'a');
    write(root, 'tree/build/x.o', 'x');
    write(root, 'tree/sub/build/y.o', 'y');
    write(root, 'tree/.git/HEAD', 'h');
    const h = new FileHasher();
    expect(Object.keys(digestInputs(['tree', '!tree/build/**', '!tree/.git/**'], root, h)).filter((k) => !k.endsWith('/'))).toEqual(['tree/a.c', 'tree/sub/build/y.o']);
    expect(Object.keys(digestInputs(['tree/**/*', '!tree/build/**', '!tree/.git/**'], root, h))).toEqual(['tree/a.c', 'tree/sub/build/y.o']);
  });
});

describe('stat cache', () => {
  it('trusts an old unchanged file, rehashes a touched one, and never trusts a racy entry', () => {
    const root = tmpProject();
    const f = join(root, 'f');
    writeFileSync(f, 'one');
    const old = new Date(Date.now() - 60_000);
    utimesSync(f, old, old);
    const h = new FileHasher();
    const d1 = h.digestFile(f);
    expect(h.hashed).toBe(1);
    expect(h.digestFile(f)).toBe(d1);
    expect(h.hashed).toBe(1);
    utimesSync(f, new Date(), new Date());
    expect(h.digestFile(f)).toBe(d1);
    expect(h.hashed).toBe(2);
    // Just written: racy, so hashed again every time until it is old enough.
    writeFileSync(f, 'two');
    const d2 = h.digestFile(f);
    expect(d2).not.toBe(d1);
    h.digestFile(f);
    expect(h.hashed).toBe(4);
  });

  it('a directory digest covers names, contents and the executable bit', () => {
    const root = tmpProject();
    write(root, 'd/a', 'x');
    write(root, 'd/sub/b', 'y');
    const h = new FileHasher();
    const d1 = h.digestPath(join(root, 'd'));
    write(root, 'd/sub/c', '');
    const d2 = h.digestPath(join(root, 'd'));
    expect(d2).not.toBe(d1);
    chmodSync(join(root, 'd/a'), 0o755);
    expect(h.digestPath(join(root, 'd'))).not.toBe(d2);
  });
});

describe('planning helpers', () => {
  it('--force patterns use * wildcards and match whole ids', () => {
    const m = forceMatcher(['opt:*', 'demo:make']);
    expect(m('opt:configure')).toBe(true);
    expect(m('demo:make')).toBe(true);
    expect(m('demo:make2')).toBe(false);
    expect(m('unopt:configure')).toBe(false);
  });

  it('critical path priority is the longest remaining chain', () => {
    const t = (id: string, deps: string[] = []): Task => ({ id, deps, inputs: {}, outputs: [], run: async () => undefined });
    const order = [t('a'), t('b', ['a']), t('c', ['b']), t('x')];
    const p = criticalPriorities(order, (x) => (x.id === 'x' ? 5 : 1));
    expect(Object.fromEntries(p)).toEqual({ a: 3, b: 2, c: 1, x: 5 });
  });
});

describe('whole-tree globs (our own walk) list what tinyglobby lists', () => {
  const tiny = (root: string, pattern: string, ignore: string[]): string[] =>
    (createRequire(import.meta.url)('tinyglobby') as typeof import('tinyglobby'))
      .globSync(pattern, { cwd: root, dot: true, onlyFiles: true, absolute: false, expandDirectories: false, ignore })
      .sort();
  const ours = (root: string, pattern: string, ignore: string[]): string[] => Object.keys(digestInputs([pattern, ...ignore.map((i) => `!${i}`)], root, new FileHasher())).sort();

  function fixture(): string {
    const root = tmpProject();
    for (const f of [
      'a.c',
      '.hidden',
      'src/m.py',
      'src/.dot/n.py',
      'src/sub/deep/o.py',
      'src/sub/deep/o.txt',
      'Lib/test/t.py',
      'Lib/idle_test/i.py',
      'Lib/__pycache__/c.pyc',
      'build/x.o',
      'pyston3.8',
      'docs/r.md',
    ])
      write(root, f, `${f}\n`);
    symlinkSync('../a.c', join(root, 'src/link.c'));
    return root;
  }

  it('matches tinyglobby for **/*, DIR/**/*, **/*.EXT and an absolute DIR, with ignores that prune and ignores that filter', () => {
    const root = fixture();
    const cases: [string, string[]][] = [
      ['**/*', []],
      ['**/*', ['build/**', '**/__pycache__/**', 'pyston3.*', '**/test/**', 'docs/*.md']],
      ['src/**/*', ['src/sub/**']],
      ['src/**/*.py', []],
      ['Lib/**/*.py', ['**/test/**']],
      [`${root}/src/**/*.py`, []],
      ['missing/**/*', []],
    ];
    for (const [pattern, ignore] of cases) expect(ours(root, pattern, ignore), `${pattern} ${ignore.join(' ')}`).toEqual(tiny(root, pattern, ignore));
    expect(ours(root, '**/*', ['build/**'])).toContain('src/link.c'); // a symlink to a file is listed
  });

  it('leaves a symlink to a directory, and a broken symlink, to tinyglobby: same result', () => {
    const root = fixture();
    symlinkSync('sub', join(root, 'src/alias'));
    expect(ours(root, 'src/**/*', [])).toEqual(tiny(root, 'src/**/*', []));
    const other = fixture();
    symlinkSync('nowhere', join(other, 'src/broken'));
    expect(ours(other, 'src/**/*', [])).toEqual(tiny(other, 'src/**/*', []));
  });
});
