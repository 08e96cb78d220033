/**
 * Sources: a pinned archive served over real HTTP on loopback, verified by
 * sha256, cached, unpacked; bad pins and bad --source paths.
 */
import { CPYTHON } from '../../src/flavors/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, graphOf, tmpProject, write } from '../helpers.js';
import { loadPin, resolveSource, sourceTasks, type Pin } from '../../src/steps/source.js';

let server: Server;
let base = '';
let hits = 0;
let archive: Buffer;
let sha = '';

beforeAll(async () => {
  const src = tmpProject('pb-srcfix-');
  write(src, 'Python-9.9.9/configure', '#!/bin/sh\necho configured\n');
  write(src, 'Python-9.9.9/Include/patchlevel.h', '#define PY_VERSION "9.9.9"\n');
  const { c } = await import('tar');
  await c({ gzip: true, file: join(src, 'Python-9.9.9.tgz'), cwd: src, portable: true }, ['Python-9.9.9']);
  archive = readFileSync(join(src, 'Python-9.9.9.tgz'));
  sha = createHash('sha256').update(archive).digest('hex');
  server = createServer((req, res) => {
    hits++;
    if (req.url === '/Python-9.9.9.tgz') res.end(archive);
    else if (req.url === '/tampered.tgz') res.end(Buffer.concat([archive, Buffer.from('x')]));
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function pin(urls: string[], sha256 = sha): Pin {
  return { name: 'cpython', version: '9.9.9', archive: 'Python-9.9.9.tgz', topDir: 'Python-9.9.9', sha256, mirrors: urls.map((u) => ({ kind: 'url' as const, url: `${base}${u}` })) };
}

describe('pinned sources', () => {
  it('fetches from the first good mirror, verifies, caches, and unpacks', async () => {
    const root = tmpProject();
    const cache = tmpProject('pb-cache-');
    const st = sourceTasks({ kind: 'pinned', pin: pin(['/missing.tgz', '/Python-9.9.9.tgz']), pinPath: 'x' }, root, cache);
    hits = 0;
    const r = await build(graphOf(st.tasks), root);
    expect(r.summary.ok).toBe(true);
    expect(hits).toBe(2);
    expect(readFileSync(join(st.srcDir, 'Include/patchlevel.h'), 'utf8')).toContain('9.9.9');
    expect(readdirSync(join(cache, 'sources'))).toEqual([`${sha}-Python-9.9.9.tgz`]);
    const log = readFileSync(join(root, 'build/logs/source:fetch.log'), 'utf8');
    expect(log).toContain('mirror failed: ' + base + '/missing.tgz: HTTP 404');
    expect(log).toContain(`verified sha256 ${sha}`);
    // A second fresh build (new project, same cache) does not download again.
    const root2 = tmpProject();
    hits = 0;
    const r2 = await build(graphOf(sourceTasks({ kind: 'pinned', pin: pin(['/Python-9.9.9.tgz']), pinPath: 'x' }, root2, cache).tasks), root2);
    expect(r2.summary.ok).toBe(true);
    expect(hits).toBe(0);
  });

  it('a sha256 mismatch is an error naming both hashes, and the bytes are never used', async () => {
    const root = tmpProject();
    const cache = tmpProject('pb-cache-');
    const bad = createHash('sha256')
      .update(Buffer.concat([archive, Buffer.from('x')]))
      .digest('hex');
    const st = sourceTasks({ kind: 'pinned', pin: pin(['/tampered.tgz']), pinPath: 'x' }, root, cache);
    const r = await build(graphOf(st.tasks), root);
    const fail = r.events.find((e) => e.type === 'fail');
    expect(fail?.type === 'fail' && fail.id).toBe('source:fetch');
    expect(fail?.type === 'fail' && fail.message).toContain(`sha256 mismatch: expected ${sha}, got ${bad}`);
    expect(existsSync(join(cache, 'sources'))).toBe(true);
    expect(readdirSync(join(cache, 'sources'))).toEqual([]);
    expect(r.ran).not.toContain('source:unpack');
  });
});

describe('choosing the source', () => {
  it('a checkout is built in place; its sources (not build/) are the configure inputs', () => {
    const root = tmpProject();
    write(root, 'configure', '#!/bin/sh\n');
    write(root, 'Include/patchlevel.h', '#define PY_VERSION "3.12.1+"\n');
    const spec = resolveSource({ root, source: '', pin: 'submodules/cpython-3.11.2.json' });
    expect(spec).toEqual({ kind: 'checkout', dir: root, flavor: CPYTHON, version: '3.12.1+' });
    const st = sourceTasks(spec, root, tmpProject());
    expect(st.tasks).toEqual([]);
    expect(st.files).toContain('!build/**');
  });

  it("a checkout's submodules: the synced ones run first, none of them is hashed into the source's key", () => {
    const root = tmpProject();
    write(root, 'configure', '#!/bin/sh\n');
    write(root, 'Include/patchlevel.h', '#define PY_VERSION "3.12.1+"\n');
    const spec = resolveSource({ root, source: '', pin: 'submodules/cpython-3.11.2.json' });
    const sync = { id: 'submodules:deps/used', title: 'sync', deps: [], inputs: {}, outputs: [], run: async () => {} };
    const st = sourceTasks(spec, root, tmpProject(), { tasks: [sync], ids: [sync.id], paths: ['deps/used', 'deps/huge'], synced: ['deps/used'] });
    expect(st.tasks.map((t) => t.id)).toEqual(['submodules:deps/used']);
    expect(st.deps).toEqual(['submodules:deps/used']);
    expect(st.files).toEqual(expect.arrayContaining(['**/*', '!deps/used/**', '!deps/huge/**']));
  });

  it('without a checkout the embedded CPython 3.11.2 pin is used', () => {
    const spec = resolveSource({ root: tmpProject(), source: '', pin: 'submodules/cpython-3.11.2.json' });
    expect(spec.kind === 'pinned' && spec.pin.sha256).toBe('2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849');
  });

  it.each([
    ['nowhere', /--source: 'nowhere' does not exist/],
    ['file.txt', /is neither a directory nor a \.tgz/],
    ['dir', /is not a CPython or Pyston checkout/],
  ])('--source %s is a clear error', (name, re) => {
    const root = tmpProject();
    write(root, 'file.txt', 'x');
    write(root, 'dir/README', 'x');
    expect(() => resolveSource({ root, source: name, pin: '' })).toThrow(re);
  });

  it('a bad pin is reported with what is wrong', () => {
    const dir = tmpProject();
    const p = join(dir, 'pin.json');
    writeFileSync(p, JSON.stringify({ name: 'x', version: '1', archive: 'a.tgz', topDir: 'a', sha256: 'ABC', mirrors: [] }));
    expect(() => loadPin(p)).toThrow(/'sha256' must be 64 lowercase hex digits, got 'ABC'/);
    writeFileSync(p, '{not json');
    expect(() => loadPin(p)).toThrow(/cannot read it/);
  });
});

describe('an xz archive as --source', () => {
  it('is unpacked with GNU tar and xz, declared as the task tools', async () => {
    const src = tmpProject('pb-srcfix-');
    write(src, 'Python-9.9.8/configure', '#!/bin/sh\necho configured\n');
    write(src, 'Python-9.9.8/Include/patchlevel.h', '#define PY_VERSION "9.9.8"\n');
    expect(spawnSync('tar', ['-cJf', join(src, 'Python-9.9.8.tar.xz'), '-C', src, 'Python-9.9.8']).status).toBe(0);
    const root = tmpProject();
    const st = sourceTasks(resolveSource({ root, source: join(src, 'Python-9.9.8.tar.xz'), pin: '' }), root, tmpProject('pb-cache-'));
    expect(st.tasks.map((t) => [t.id, t.inputs.tools?.map((x) => x.name)])).toEqual([['source:unpack', ['tar', 'xz']]]);
    const r = await build(graphOf(st.tasks), root);
    expect(r.summary.ok).toBe(true);
    expect(readFileSync(join(st.srcDir, 'Include/patchlevel.h'), 'utf8')).toContain('9.9.8');
    expect(st.srcDir).toBe(join(root, 'build/src/Python-9.9.8'));
  });
});
