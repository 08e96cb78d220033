/**
 * Pinned sources under their own ids: the embedded default keeps its
 * tasks, a second pin (CPython 3.9.2 for the cp39 wheels) gets its own,
 * fetched for real with apt-get source from Debian bullseye (this needs
 * the bullseye deb-src entry that `pyston-build setup` adds), verified by
 * sha256 and unpacked with GNU tar and xz.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, graphOf, REPO, tmpProject, write } from '../helpers.js';
import { cpythonPin, pinnedSourceTasks, resolveSource, sourceTasks } from '../../src/steps/source.js';
import { hasDebSrc } from '../../src/debian/apt.js';
import { doctor, neededDebSrcSuites } from '../../src/doctor.js';
import { PbError, type Task } from '../../src/graph/index.js';

const SHA_392 = '3c2034c54f811448f516668dce09d24008a0716c3a794dd8639b5388cbde247d';
const SHA_3112 = '2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849';

/** A task as data: everything but `run`. */
function shape(t: Task): Omit<Task, 'run'> {
  const { run: _run, ...rest } = t;
  return rest;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe('pinned sources under an id prefix', () => {
  it('the embedded default keeps its ids, inputs and outputs (its keys do not change)', () => {
    const root = tmpProject();
    const cache = tmpProject('pb-cache-');
    const spec = resolveSource({ root, source: '', pin: 'submodules/cpython-3.11.2.json' });
    const st = sourceTasks(spec, root, cache);
    const cached = join(cache, 'sources', `${SHA_3112}-Python-3.11.2.tgz`);
    expect(st.tasks.map(shape)).toEqual([
      {
        id: 'source:fetch',
        title: 'fetch Python-3.11.2.tgz (sha256 2411c74bda5b...)',
        deps: [],
        inputs: { upstream: { sha256: SHA_3112, archive: 'Python-3.11.2.tgz' }, tools: [{ name: 'apt-get', package: 'apt', versionArgs: ['--version'] }] },
        outputs: [cached],
        // Read by setup and doctor only, never by the key.
        debSrcSuites: ['bookworm'],
      },
      { id: 'source:unpack', title: 'unpack Python-3.11.2', deps: ['source:fetch'], inputs: { upstream: { sha256: SHA_3112 } }, outputs: ['build/src/Python-3.11.2', '!**/__pycache__'], weight: 2 },
    ]);
    expect(st.deps).toEqual(['source:unpack']);
    expect(st.srcDir).toBe(join(root, 'build/src/Python-3.11.2'));
    expect(st.describe).toEqual({ kind: 'pinned', name: 'cpython', version: '3.11.2', sha256: SHA_3112, archive: 'Python-3.11.2.tgz' });
    // The same tasks as pinnedSourceTasks under 'source'.
    if (spec.kind !== 'pinned') throw new Error(`expected the pinned default, got ${spec.kind}`);
    const direct = pinnedSourceTasks(spec.pin, root, cache, 'source');
    expect(direct.tasks.map(shape)).toEqual(st.tasks.map(shape));
  });

  it('CPython 3.9.2 gets its own tasks, its own directory and the bullseye suite', () => {
    const root = tmpProject();
    const cache = tmpProject('pb-cache-');
    const { pin, pinPath } = cpythonPin('3.9.2');
    expect(pinPath).toBe(join(REPO, 'submodules/cpython-3.9.2.json'));
    expect(pin).toEqual({
      name: 'cpython',
      version: '3.9.2',
      archive: 'python3.9_3.9.2.orig.tar.xz',
      topDir: 'Python-3.9.2',
      sha256: SHA_392,
      mirrors: [{ kind: 'apt-source', package: 'python3.9', release: 'bullseye', file: 'python3.9_3.9.2.orig.tar.xz' }],
    });
    const st = pinnedSourceTasks(pin, root, cache, 'cp39');
    expect(st.tasks.map((t) => [t.id, t.deps])).toEqual([
      ['cp39:fetch', []],
      ['cp39:unpack', ['cp39:fetch']],
    ]);
    expect(st.tasks[0]!.debSrcSuites).toEqual(['bullseye']);
    expect(st.tasks[1]!.inputs.tools?.map((t) => t.name)).toEqual(['tar', 'xz']);
    expect(st.deps).toEqual(['cp39:unpack']);
    expect(st.srcDir).toBe(join(root, 'build/src/Python-3.9.2'));
    expect([st.flavor.name, st.version]).toEqual(['cpython', '3.9.2']);

    // Both sources in one graph: setup needs a deb-src entry for each suite.
    const both = [...sourceTasks(resolveSource({ root, source: '', pin: 'submodules/cpython-3.11.2.json' }), root, cache).tasks, ...st.tasks];
    expect(graphOf(both).tasks.size).toBe(4);
    expect([...neededDebSrcSuites(both)]).toEqual([
      ['bookworm', ['source:fetch']],
      ['bullseye', ['cp39:fetch']],
    ]);
  });

  it('a CPython version without a pin is a one-line error listing the pinned ones', () => {
    for (const v of ['3.11', '3.10.0', '../../etc/passwd']) {
      let e: unknown;
      try {
        cpythonPin(v);
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(PbError);
      expect((e as PbError).message).toMatch(new RegExp(`^no pinned CPython '${v.replace(/\./g, '\\.')}': .* does not exist \\(pinned: 3\\.11\\.2, 3\\.9\\.2\\)$`));
    }
  });

  it('doctor reports the deb-src entry of each needed suite', () => {
    const root = tmpProject();
    const st = pinnedSourceTasks(cpythonPin('3.9.2').pin, root, tmpProject('pb-cache-'), 'cp39');
    const apt = tmpProject('pb-apt-');
    write(apt, 'sources.list.d/debian.sources', 'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n');
    const env = { PATH: process.env.PATH };
    const without = doctor(graphOf(st.tasks), root, join(root, 'build'), env, apt);
    expect(without.lines.filter((l) => l.includes('deb-src'))).toEqual([
      '  warn     no deb-src entry for bullseye: apt-get source cannot fetch for cp39:fetch',
      'to add the deb-src entries (as root):',
    ]);
    write(apt, 'sources.list.d/src.sources', 'Types: deb-src\nURIs: http://mirror.example/debian\nSuites: bullseye\nComponents: main\n');
    const withIt = doctor(graphOf(st.tasks), root, join(root, 'build'), env, apt);
    expect(withIt.lines.filter((l) => l.includes('deb-src'))).toEqual(['  ok       deb-src for bullseye (apt-get source, for cp39:fetch)']);
  });
});

describe('CPython 3.9.2 from Debian bullseye, for real', () => {
  it('is fetched with apt-get source (a corrupt cached copy is replaced), verified, cached and unpacked to build/src/Python-3.9.2', async () => {
    expect(hasDebSrc('/etc/apt', 'bullseye'), 'this machine needs a bullseye deb-src entry: run pyston-build setup for a target that builds cp39').toBe(true);
    const { pin } = cpythonPin('3.9.2');
    const root = tmpProject();
    const cache = tmpProject('pb-cache-');
    const cached = join(cache, 'sources', `${SHA_392}-python3.9_3.9.2.orig.tar.xz`);
    mkdirSync(join(cache, 'sources'));
    writeFileSync(cached, 'not the archive');
    const st = pinnedSourceTasks(pin, root, cache, 'cp39');
    const r = await build(graphOf(st.tasks), root);
    expect(r.summary.ok).toBe(true);
    expect(r.ran).toEqual(['cp39:fetch', 'cp39:unpack']);
    expect(statSync(cached).size).toBe(18_889_164);
    expect(sha256(cached)).toBe(SHA_392);
    const log = readFileSync(join(root, 'build/logs/cp39:fetch.log'), 'utf8');
    expect(log).not.toContain('cached:');
    expect(log).toContain(`verified sha256 ${SHA_392} from apt-get source python3.9/bullseye (python3.9_3.9.2.orig.tar.xz)`);
    expect(readdirSync(join(cache, 'sources'))).toEqual([`${SHA_392}-python3.9_3.9.2.orig.tar.xz`]);
    // The tree: CPython 3.9.2, its configure executable.
    expect(st.srcDir).toBe(join(root, 'build/src/Python-3.9.2'));
    expect(readFileSync(join(st.srcDir, 'Include/patchlevel.h'), 'utf8')).toMatch(/#define PY_VERSION\s+"3\.9\.2"/);
    expect(statSync(join(st.srcDir, 'configure')).mode & 0o111).toBe(0o111);
    expect(readdirSync(join(root, 'build/src'))).toEqual(['Python-3.9.2']);
    // GNU tar agrees on the file list.
    const listed = spawnSync('tar', ['-tJf', cached], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(listed.status).toBe(0);
    const files = listed.stdout.split('\n').filter((l) => l !== '' && !l.endsWith('/'));
    expect(files.every((f) => f.startsWith('Python-3.9.2/'))).toBe(true);
    expect(files.filter((f) => !existsSync(join(root, 'build/src', f)))).toEqual([]);

    // A second fresh project with the same cache does not download again.
    const root2 = tmpProject();
    const r2 = await build(graphOf(pinnedSourceTasks(pin, root2, cache, 'cp39').tasks), root2);
    expect(r2.summary.ok).toBe(true);
    expect(readFileSync(join(root2, 'build/logs/cp39:fetch.log'), 'utf8')).toContain(`cached: ${cached}`);
    expect(existsSync(join(root2, 'build/src/Python-3.9.2/configure'))).toBe(true);
  }, 300_000);

  it('bytes that are not the pinned ones are rejected by sha256 and never cached', async () => {
    const { pin } = cpythonPin('3.9.2');
    const wrong = { ...pin, sha256: SHA_3112 };
    const root = tmpProject();
    const cache = tmpProject('pb-cache-');
    const r = await build(graphOf(pinnedSourceTasks(wrong, root, cache, 'cp39').tasks), root);
    expect(r.summary.ok).toBe(false);
    const fail = r.events.find((e) => e.type === 'fail');
    expect(fail?.type === 'fail' && fail.id).toBe('cp39:fetch');
    expect(fail?.type === 'fail' && fail.message).toContain(`sha256 mismatch: expected ${SHA_3112}, got ${SHA_392}; the file was discarded`);
    expect(readdirSync(join(cache, 'sources'))).toEqual([]);
    expect(r.ran).toEqual(['cp39:fetch']);
  }, 300_000);
});
