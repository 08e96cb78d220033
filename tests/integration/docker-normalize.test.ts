/**
 * Reproducible images (src/packaging/docker/normalize.ts): the tar reader on
 * what GNU tar writes (ustar, pax and GNU long names), the overlay squash
 * rules, the rewritten layer read back by GNU tar; then a tiny image built
 * by two fresh private engines from the same base and Dockerfile: the
 * engine's images differ, the normalized ones are the same image, with
 * SOURCE_DATE_EPOCH as every time, one build layer, and the file the
 * Dockerfile copied in and removed really gone from the layer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTar, squashLayers, writeLayer, normalizeImage, type ReadEntry } from '../../src/packaging/docker/normalize.js';
import { imageArchive, loadBaseImage, archPlatform } from '../../src/packaging/docker/base.js';
import { buildImage, runInImage } from '../../src/packaging/docker/images.js';
import { startPrivateDockerd } from '../docker-helpers.js';

const EPOCH = 1_700_000_000;
const work = mkdtempSync(join(tmpdir(), 'pb-normalize-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const LONG = `${'deep/'.repeat(25)}file-with-a-long-name.txt`;

function tarOf(dir: string, format: string): Buffer {
  const r = spawnSync('tar', ['-C', dir, `--format=${format}`, '-cf', '-', '.'], { maxBuffer: 1 << 28 });
  expect(r.status, r.stderr?.toString()).toBe(0);
  return r.stdout;
}
const fromBuffer = (b: Buffer) => (off: number, len: number) => b.subarray(off, off + len);
const entry = (path: string, type = '0', data = ''): { e: ReadEntry; data: Buffer } => ({
  e: { path, type, mode: type === '5' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: EPOCH + 1000, size: Buffer.byteLength(data), target: '', offset: 0, extra: {} },
  data: Buffer.from(data),
});

describe('the layer tar reader and writer', () => {
  const tree = join(work, 'tree');
  mkdirSync(join(tree, LONG, '..'), { recursive: true });
  writeFileSync(join(tree, LONG), 'long\n');
  writeFileSync(join(tree, 'a.txt'), 'aaa\n');
  linkSync(join(tree, 'a.txt'), join(tree, 'hard.txt'));
  symlinkSync(`../${'x'.repeat(120)}`, join(tree, 'far-link'));
  utimesSync(join(tree, 'a.txt'), EPOCH + 5000, EPOCH + 5000);

  for (const format of ['ustar', 'pax', 'gnu']) {
    it(`reads what GNU tar writes as ${format}`, () => {
      if (format === 'ustar') return expect(spawnSync('tar', ['-C', tree, '--format=ustar', '-cf', '/dev/null', '.']).status).not.toBe(0); // ustar cannot hold the long link
      const b = tarOf(tree, format);
      const entries = readTar(fromBuffer(b), b.length, 'test');
      const paths = entries.map((e) => e.path.replace(/^\.\//, '').replace(/\/$/, '')).filter((p) => p !== '.' && p !== '');
      const listed = spawnSync('tar', ['-tf', '-'], { input: b, encoding: 'utf8' })
        .stdout.split('\n')
        .map((p) => p.replace(/^\.\//, '').replace(/\/$/, ''))
        .filter((p) => p !== '.' && p !== '');
      expect(paths).toEqual(listed);
      const long = entries.find((e) => e.path.endsWith('file-with-a-long-name.txt'))!;
      expect(b.subarray(long.offset, long.offset + long.size).toString()).toBe('long\n');
      expect(entries.find((e) => e.path.endsWith('far-link'))!.target).toBe(`../${'x'.repeat(120)}`);
      expect(entries.find((e) => e.path.endsWith('hard.txt') || e.path.endsWith('a.txt'))!.mtime).toBe(EPOCH + 5000);
      expect(entries.some((e) => e.type === '1')).toBe(true);
    });
  }

  it('a corrupt header is one clear error', () => {
    const b = Buffer.from(tarOf(tree, 'pax'));
    b[148] = 0x39; // the checksum field
    expect(() => readTar(fromBuffer(b), b.length, 'layer X')).toThrow(/^layer X is not a tar archive pyston-build can read: bad header checksum at offset 0$/);
  });

  it('squashes like an overlay: upper replaces, whiteouts remove, opaque directories empty, and only whiteouts the base needs stay', () => {
    const base = new Set(['etc', 'etc/old.conf', 'var/log/dpkg.log', 'usr/share/doc/x', 'usr/share/doc/x/README']);
    const copy = [entry('tmp/', '5'), entry('tmp/interpreter.deb', '0', 'DEB'), entry('etc/kept.conf', '0', 'v1')];
    const run = [
      entry('tmp/', '5'),
      entry('tmp/.wh.interpreter.deb'),
      entry('etc/kept.conf', '0', 'v2'),
      entry('etc/.wh.old.conf'),
      entry('var/log/.wh.dpkg.log'),
      entry('usr/share/doc/x/.wh..wh..opq'),
      entry('usr/share/doc/x/NEW', '0', 'n'),
      entry('usr/share/doc/y/.wh..wh..opq'),
    ];
    const out = squashLayers([copy, run], (p) => base.has(p));
    const byPath = new Map(out.map((f) => [f.e.path, f.data.toString()]));
    expect([...byPath.keys()].sort()).toEqual(['etc/.wh.old.conf', 'etc/kept.conf', 'tmp/', 'usr/share/doc/x/.wh..wh..opq', 'usr/share/doc/x/NEW', 'var/log/.wh.dpkg.log']);
    expect(byPath.get('etc/kept.conf')).toBe('v2');
    // A path made again above its whiteout: the new entry wins, the whiteout goes.
    const again = squashLayers([[entry('etc/.wh.old.conf')], [entry('etc/old.conf', '0', 'back')]], (p) => base.has(p));
    expect(again.map((f) => f.e.path)).toEqual(['etc/old.conf']);
  });

  it('writes a layer GNU tar reads: sorted, mtimes clamped to the epoch, owners and modes kept', () => {
    const files = [entry('b.txt', '0', 'b'), entry('a/', '5'), entry('a/x', '0', 'x'), { ...entry('l', '2'), e: { ...entry('l', '2').e, target: 'a/x' } }];
    files[0]!.e.uid = 1000;
    files[0]!.e.mode = 0o600;
    const layer = writeLayer(files, EPOCH);
    expect(writeLayer([...files].reverse(), EPOCH).equals(layer)).toBe(true);
    const listed = spawnSync('tar', ['-tvf', '-', '--numeric-owner', '--full-time'], { input: layer, encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } })
      .stdout.trim()
      .split('\n');
    expect(listed.map((l) => l.split(/\s+/).slice(5).join(' '))).toEqual(['a/', 'a/x', 'b.txt', 'l -> a/x']);
    expect(listed[2]).toMatch(/^-rw------- 1000\/0 .* 2023-11-14 22:13:20 b\.txt$/);
    const withXattr = [{ ...entry('f'), e: { ...entry('f').e, extra: { 'SCHILY.xattr.security.capability': 'x' } } }];
    expect(() => writeLayer(withXattr, EPOCH)).toThrow(/has extended attributes on f/);
    expect(() => writeLayer([entry('dev/null', '3')], EPOCH)).toThrow(/of tar type '3'/);
  });
});

// A static helper the RUN step runs (the tiny root has no shell): removes the copied file, adds files.
const FSOP_C = `#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
int main(void) {
  if (unlink("/tmp/payload.bin") != 0) return 2;
  if (unlink("/base-file.txt") != 0) return 3;
  mkdir("/made", 0755);
  FILE *f = fopen("/made/result.txt", "w");
  if (!f) return 4;
  fputs("made by the build\\n", f);
  fclose(f);
  return 0;
}
`;
const DOCKERFILE = [
  'ARG BASE',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable
  'FROM ${BASE}',
  'COPY payload.bin /tmp/payload.bin',
  'RUN ["/fsop"]',
  'CMD ["/fsop"]',
  '',
].join('\n');

describe('a Dockerfile build made reproducible', () => {
  it('two fresh engines, same base and Dockerfile: different engine images, one normalized image', async () => {
    const root = join(work, 'root');
    mkdirSync(join(root, 'tmp'), { recursive: true });
    writeFileSync(join(root, 'base-file.txt'), 'in the base\n');
    writeFileSync(join(work, 'fsop.c'), FSOP_C);
    const cc = spawnSync('gcc', ['-static', '-O2', '-o', join(root, 'fsop'), join(work, 'fsop.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const payload = join(work, 'payload.bin');
    writeFileSync(payload, Buffer.alloc(300_000, 7));
    writeFileSync(join(work, 'Dockerfile'), DOCKERFILE);
    const base = await imageArchive(root, { arch: 'amd64', epoch: EPOCH, out: join(work, 'base.tar'), tag: 'pb-test-base:normalize' });
    const results: { built: string; normalized: string; layer: Buffer; config: Record<string, unknown> }[] = [];
    for (let round = 0; round < 2; round++) {
      const d = await startPrivateDockerd();
      try {
        const docker = d.engine.docker;
        await loadBaseImage(docker, base.path, { arch: 'amd64', imageId: base.imageId });
        const built = await buildImage(
          docker,
          { dockerfile: join(work, 'Dockerfile'), files: [payload], buildArgs: { BASE: 'pb-test-base:normalize' }, platform: archPlatform('amd64'), tag: 'pb-test/normalize:built', epoch: EPOCH },
          () => {},
        );
        const lines: string[] = [];
        const n = await normalizeImage(docker, {
          imageId: built.imageId,
          baseDiffIds: [base.diffId],
          baseRoot: root,
          epoch: EPOCH,
          tag: 'pb-test/normalize:1',
          workDir: join(work, `n${round}`),
          log: (l) => lines.push(l),
        });
        expect(lines.join('\n')).toMatch(/2 build layer\(s\) squashed into one/);
        const inspect = await docker.getImage(n.imageId).inspect();
        expect(inspect.RootFS.Layers).toEqual([base.diffId, n.diffId]);
        // Run it: the build's removals and additions are there.
        const r = await runInImage(docker, { image: n.imageId, cmd: ['/fsop'], platform: archPlatform('amd64') });
        expect(r.status).toBe(2); // /tmp/payload.bin is gone
        // The saved layer: no payload bytes, every mtime the epoch.
        // docker save of the normalized image: its manifest names the layers and the config.
        const save = await streamBytes(await docker.getImage(n.imageId).get());
        const members = readTar(fromBuffer(save), save.length, 'docker save');
        const member = (name: string): Buffer => {
          const m = members.find((e) => e.path === name)!;
          return save.subarray(m.offset, m.offset + m.size);
        };
        const manifest = JSON.parse(member('manifest.json').toString()) as { Config: string; Layers: string[] }[];
        expect(manifest[0]!.Layers).toHaveLength(2);
        const saved = { stdout: Buffer.from(member(manifest[0]!.Layers[1]!)) };
        const config = JSON.parse(member(manifest[0]!.Config).toString());
        results.push({ built: built.imageId, normalized: n.imageId, layer: saved.stdout, config });
      } finally {
        await d.cleanup();
      }
    }
    const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
    expect(a.built).not.toBe(b.built);
    expect(a.normalized).toBe(b.normalized);
    expect(a.layer.equals(b.layer)).toBe(true);
    const listing = spawnSync('tar', ['-tvf', '-', '--full-time'], { input: a.layer, encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } })
      .stdout.trim()
      .split('\n');
    expect(listing.map((l) => l.split(/\s+/).slice(5).join(' ')).sort()).toEqual(['.wh.base-file.txt', 'made/', 'made/result.txt', 'tmp/'].sort());
    for (const l of listing) expect(l).toContain('2023-11-14 22:13:20');
    expect(a.layer.includes(Buffer.alloc(1000, 7))).toBe(false);
    const created = '2023-11-14T22:13:20Z';
    expect(a.config.created).toBe(created);
    expect(a.config.container).toBeUndefined();
    expect(a.config.container_config).toBeUndefined();
    for (const h of a.config.history as { created: string }[]) expect(h.created).toBe(created);
    expect((a.config.history as { empty_layer?: boolean }[]).filter((h) => !h.empty_layer)).toHaveLength(2);
  }, 180_000);
});

async function streamBytes(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
