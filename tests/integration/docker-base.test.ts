/**
 * Base images made by us, never pulled (src/packaging/docker/base.ts), on a
 * real engine: Debian's dockerd 20.10, started for this file on a private
 * socket (root, as on CI). Tiny roots stand in for debootstrap's: a static
 * hello per architecture plus a symlink, a 0700 directory, a setuid file, a
 * hard link, a non-root owner, a fifo and a device node. The arm64 image
 * runs under qemu-aarch64 through binfmt_misc.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { archPlatform, checkImagePlatform, imageArchive, loadBaseImage, platformString, BaseImageError, type ImageArchive } from '../../src/packaging/docker/base.js';
import { tarArchive } from '../../src/packaging/tar.js';
import type { Arch } from '../../src/debian/arch.js';
import { startPrivateDockerd } from '../docker-helpers.js';

const EPOCH = 1_700_000_000;
const OLD_MTIME = 1_000_000_000;
const LONG_NAME = 'n'.repeat(120);
const HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello from a pyston-build base image"); return 0; }\n';

/** A tiny root for `arch`: a static hello and one of each thing a layer must keep. */
function tinyRoot(base: string, arch: Arch): string {
  const root = join(base, `root-${arch}`);
  mkdirSync(join(root, 'private'), { recursive: true });
  mkdirSync(join(root, 'dev'));
  writeFileSync(join(base, 'hello.c'), HELLO_C);
  const cc = arch === 'amd64' ? 'gcc' : 'aarch64-linux-gnu-gcc';
  const r = spawnSync(cc, ['-static', '-O2', '-o', join(root, 'hello'), join(base, 'hello.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cc} failed: ${r.stderr}`);
  symlinkSync('hello', join(root, 'hello-symlink'));
  linkSync(join(root, 'hello'), join(root, 'hello-hardlink'));
  chmodSync(join(root, 'private'), 0o700);
  writeFileSync(join(root, 'private/secret'), 'not for everyone\n');
  chmodSync(join(root, 'private/secret'), 0o600);
  writeFileSync(join(root, 'suid'), '#!/bin/false\n');
  chmodSync(join(root, 'suid'), 0o4755);
  writeFileSync(join(root, 'owned'), 'owned by 1000:50\n');
  chownSync(join(root, 'owned'), 1000, 50);
  utimesSync(join(root, 'owned'), OLD_MTIME, OLD_MTIME); // older than the epoch: kept; the others are newer: clamped
  // A name no ustar header holds (pax 'path'), and a symlink to it (pax 'linkpath').
  mkdirSync(join(root, 'long'));
  writeFileSync(join(root, 'long', LONG_NAME), 'a long name\n');
  symlinkSync(`long/${LONG_NAME}`, join(root, 'long-symlink'));
  expect(spawnSync('mkfifo', [join(root, 'fifo')]).status).toBe(0);
  expect(spawnSync('mknod', [join(root, 'dev/null'), 'c', '1', '3']).status).toBe(0);
  return root;
}

interface TarHeader {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  link: string;
  mtime: number;
}

/** The entries of a tar stream by path (modes without the file-type bits Go's tar writer adds; no leading './' or '/', no trailing '/'): enough of ustar, pax and GNU long names to read an export. */
function readTar(buf: Buffer): Map<string, TarHeader> {
  const out = new Map<string, TarHeader>();
  let pos = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  while (pos + 512 <= buf.length) {
    const h = buf.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) break;
    const str = (o: number, n: number): string => h.toString('utf8', o, o + n).replace(/\0.*$/s, '');
    const num = (o: number, n: number): number => parseInt(str(o, n).trim() || '0', 8);
    const size = num(124, 12);
    const type = str(156, 1) || '0';
    const data = buf.subarray(pos + 512, pos + 512 + size);
    pos += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const records = data.toString('utf8');
      longName = /\d+ path=([^\n]*)\n/.exec(records)?.[1];
      longLink = /\d+ linkpath=([^\n]*)\n/.exec(records)?.[1];
      continue;
    }
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    const prefix = str(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    out.set(name.replace(/^\.?\/+/, '').replace(/\/$/, ''), { type, mode: num(100, 8) & 0o7777, uid: num(108, 8), gid: num(116, 8), link: longLink ?? str(157, 100), mtime: num(136, 12) });
    longName = longLink = undefined;
  }
  return out;
}

async function streamToBuffer(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** The stdout of a finished non-TTY container: the engine's multiplexed frames, 8-byte headers stripped. */
function demux(buf: Buffer): string {
  let out = '';
  for (let pos = 0; pos + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(pos + 4);
    if (buf[pos] === 1) out += buf.toString('utf8', pos + 8, pos + 8 + size);
    pos += 8 + size;
  }
  return out;
}

async function progress(docker: Docker, stream: NodeJS.ReadableStream): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, out: Record<string, unknown>[]) => (err ? reject(err) : resolve(out))));
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('base images from a root, on a private dockerd 20.10', () => {
  let docker: Docker;
  let stop: (() => Promise<void>) | undefined;
  let work: string;
  const roots = {} as Record<'amd64' | 'arm64', string>;
  const archives = {} as Record<'amd64' | 'arm64', ImageArchive>;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'pb-docker-base-'));
    roots.amd64 = tinyRoot(work, 'amd64');
    roots.arm64 = tinyRoot(work, 'arm64');
    const d = await startPrivateDockerd();
    docker = d.engine.docker;
    stop = d.cleanup;
  }, 120_000);

  afterAll(async () => {
    await stop?.();
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('writes the same archive twice from the same root, and the engine loads it under our image ID and platform', async () => {
    for (const arch of ['amd64', 'arm64'] as const) {
      const a = await imageArchive(roots[arch], { arch, epoch: EPOCH, out: join(work, `${arch}-1.tar`), tag: `pb-base-${arch}:test` });
      const b = await imageArchive(roots[arch], { arch, epoch: EPOCH, out: join(work, `${arch}-2.tar`), tag: `pb-base-${arch}:test` });
      expect(sha256(b.path)).toBe(sha256(a.path));
      expect(b.imageId).toBe(a.imageId);
      expect(a.skipped).toEqual(['dev/null']);
      archives[arch] = a;
      const inspect = await loadBaseImage(docker, a.path, { arch, imageId: a.imageId });
      expect(inspect.Id).toBe(a.imageId);
      expect(inspect.RepoTags).toEqual([`pb-base-${arch}:test`]);
      expect(inspect.RootFS.Layers).toEqual([a.diffId]);
      expect(inspect.Created).toBe(new Date(EPOCH * 1000).toISOString().replace('.000Z', 'Z'));
      expect([inspect.Os, inspect.Architecture, inspect.Variant ?? '']).toEqual(arch === 'amd64' ? ['linux', 'amd64', ''] : ['linux', 'arm64', 'v8']);
    }
    // A copy of the root (other inodes, other place; cp -a keeps mtimes and owners) is the same image.
    const copy = join(work, 'root-amd64-copy');
    expect(spawnSync('cp', ['-a', roots.amd64, copy]).status).toBe(0);
    const copied = await imageArchive(copy, { arch: 'amd64', epoch: EPOCH, out: join(work, 'amd64-copy.tar'), tag: 'pb-base-amd64:test' });
    expect(sha256(copied.path)).toBe(sha256(archives.amd64.path));
    // Another epoch is another image.
    const later = await imageArchive(roots.amd64, { arch: 'amd64', epoch: EPOCH + 1, out: join(work, 'amd64-later.tar') });
    expect(later.imageId).not.toBe(archives.amd64.imageId);
  });

  it('runs the hello of each architecture, arm64 under qemu, and keeps links, modes and owners in the image', async () => {
    const outputs: string[] = [];
    for (const arch of ['amd64', 'arm64'] as const) {
      const container = await docker.createContainer({ Image: archives[arch].imageId, Cmd: ['/hello'], HostConfig: { NetworkMode: 'none' }, platform: platformString(archPlatform(arch)) });
      try {
        await container.start();
        const { StatusCode } = (await container.wait()) as { StatusCode: number };
        expect(StatusCode).toBe(0);
        outputs.push(demux((await container.logs({ stdout: true, stderr: false, follow: false })) as unknown as Buffer));
        const files = readTar(await streamToBuffer(await container.export()));
        expect(files.get('hello')).toMatchObject({ type: '0', mode: 0o755, uid: 0, gid: 0, mtime: EPOCH });
        expect(files.get('hello-symlink')).toMatchObject({ type: '2', link: 'hello' });
        expect(files.get('hello-hardlink')).toMatchObject({ type: '1', link: 'hello' });
        expect(files.get('private')).toMatchObject({ type: '5', mode: 0o700 });
        expect(files.get('private/secret')).toMatchObject({ type: '0', mode: 0o600 });
        expect(files.get('suid')).toMatchObject({ type: '0', mode: 0o4755 });
        expect(files.get('owned')).toMatchObject({ type: '0', mode: 0o644, uid: 1000, gid: 50, mtime: OLD_MTIME });
        expect(files.get('fifo')).toMatchObject({ type: '6' });
        expect(files.get(`long/${LONG_NAME}`)).toMatchObject({ type: '0', mode: 0o644 });
        expect(files.get('long-symlink')).toMatchObject({ type: '2', link: `long/${LONG_NAME}` });
      } finally {
        await container.remove({ force: true });
      }
    }
    expect(outputs).toEqual(['hello from a pyston-build base image\n', 'hello from a pyston-build base image\n']);
  }, 120_000);

  it('catches a wrong-platform base: an archive labelled amd64, and what docker import records', async () => {
    const wrong = await imageArchive(roots.arm64, { arch: 'amd64', epoch: EPOCH, out: join(work, 'wrong.tar') });
    const err = await loadBaseImage(docker, wrong.path, { arch: 'arm64', imageId: wrong.imageId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BaseImageError);
    expect((err as BaseImageError).message).toBe(`image ${wrong.imageId} is linux/amd64, expected linux/arm64/v8`);
    expect((err as BaseImageError).message).not.toContain('\n');
    expect((err as BaseImageError).hint).toMatch(/imageArchive for arm64/);

    // Not an image archive at all: one line, naming the file.
    writeFileSync(join(work, 'garbage.tar'), 'not a tar\n');
    const bad = await loadBaseImage(docker, join(work, 'garbage.tar'), { arch: 'amd64', imageId: wrong.imageId }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BaseImageError);
    expect((bad as BaseImageError).message).toMatch(new RegExp(`^docker load of ${join(work, 'garbage.tar')} failed: .+$`));

    // docker import of the arm64 root, asking for linux/arm64: this engine (Debian's 20.10)
    // ignores the platform and records the host's architecture.
    const tar = spawn('tar', ['-C', roots.arm64, '--exclude=./dev/null', '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const events = await progress(docker, await docker.importImage(tar.stdout as Readable, { platform: 'linux/arm64' }));
    const id = events.map((e) => e.status).find((s): s is string => typeof s === 'string' && s.startsWith('sha256:'));
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const imported = await docker.getImage(id!).inspect();
    expect([imported.Os, imported.Architecture]).toEqual(['linux', 'amd64']);
    expect(checkImagePlatform(imported, archPlatform('arm64'))?.message).toBe(`image ${id} is linux/amd64, expected linux/arm64/v8`);
    expect(checkImagePlatform(imported, archPlatform('amd64'))).toBeUndefined();
  }, 120_000);

  it('builds FROM the loaded arm64 base with a RUN step under qemu (classic builder), and the image stays arm64', async () => {
    const context = tarArchive([{ type: 'file', path: 'Dockerfile', mode: 0o644, data: Buffer.from(`FROM ${archives.arm64.imageId}\nRUN ["/hello"]\n`) }], EPOCH);
    const started = Date.now();
    const events = await progress(docker, await docker.buildImage(Readable.from([context]), { version: '1', networkmode: 'none', platform: 'linux/arm64', t: 'pb-built-arm64:test' }));
    const seconds = (Date.now() - started) / 1000;
    const failed = events.find((e) => e.error);
    expect(failed).toBeUndefined();
    const log = events.map((e) => (typeof e.stream === 'string' ? e.stream : '')).join('');
    expect(log).toContain('hello from a pyston-build base image');
    const built = await docker.getImage('pb-built-arm64:test').inspect();
    expect([built.Os, built.Architecture, built.Variant ?? '']).toEqual(['linux', 'arm64', 'v8']);
    expect(built.RootFS.Layers?.[0]).toBe(archives.arm64.diffId);
    console.log(`docker build (classic, linux/arm64, one RUN under qemu): ${seconds.toFixed(1)} s`);
  }, 300_000);
});
