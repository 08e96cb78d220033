/**
 * Base images without a registry: a Debian root (src/debian/rootfs.ts) made
 * into a one-layer image in the archive format `docker load` reads, with the
 * platform written into the image config by us. `docker import --platform`
 * cannot be trusted for this: Debian's 20.10 engine records the host's
 * architecture whatever the flag says, and a mislabelled base makes a wrong
 * image index. Docker 20.10 loads only this format (`manifest.json` at the
 * top); OCI layouts are read from engine 25 on.
 *
 * The archive: `<diffhex>/layer.tar` (the root as an uncompressed tar),
 * `<confighex>.json` (the image config) and `manifest.json`. The layer is
 * written by our own tar writer's headers (src/packaging/tar.ts), streamed
 * from the files so a 200 MB root never sits in memory: entries sorted by
 * path bytes, owners kept as numeric ids, modes kept whole (setuid, setgid,
 * sticky), hard links as links to the first path, mtimes clamped to the
 * epoch. The same root and epoch give the same bytes, so the same image ID
 * (the config's digest) on every machine.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readlinkSync, renameSync, rmSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { TaskFailure } from '../../graph/errors.js';
import { archInfo, type Arch } from '../../debian/arch.js';
import { archiveEnd, entryHeader, padding, TarError, TYPEFLAG } from '../tar.js';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ImageArchiveOptions {
  arch: Arch;
  /** SOURCE_DATE_EPOCH: the config's `created`, and the newest mtime in the layer. */
  epoch: number;
  /** Where the archive is written (replaced atomically). */
  out: string;
  /** `name:tag` that `docker load` gives the image; none by default. */
  tag?: string;
  /** The image's environment; PATH alone by default. */
  env?: string[];
  /** The image's default command; none by default. */
  cmd?: string[];
}

export interface ImageArchive {
  path: string;
  /** `sha256:<hex>` of the config, the ID `docker load` gives the image. */
  imageId: string;
  /** `sha256:<hex>` of the uncompressed layer tar. */
  diffId: string;
  /** Size of the archive file. */
  bytes: number;
  /** Paths of the root left out of the layer: device nodes and sockets (the engine makes /dev itself). */
  skipped: string[];
}

/** An OCI platform: `linux/arm64/v8` in its usual spelling. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
}

export function archPlatform(arch: Arch): Platform {
  const info = archInfo(arch);
  return { os: 'linux', architecture: info.oci, ...(info.ociVariant ? { variant: info.ociVariant } : {}) };
}

export function platformString(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x).join('/');
}

/** A base image whose platform is not the one it is used for, or that did not load. */
export class BaseImageError extends TaskFailure {}

/** Write the docker-archive of `rootDir` as one layer; see the module comment. */
export async function imageArchive(rootDir: string, o: ImageArchiveOptions): Promise<ImageArchive> {
  if (!Number.isSafeInteger(o.epoch) || o.epoch < 0)
    throw new TarError(`image epoch must be a non-negative whole number of seconds, got ${o.epoch}`, 'pass SOURCE_DATE_EPOCH as an integer number of seconds');
  const { entries, skipped } = layerEntries(rootDir);
  const tmp = `${o.out}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    // The layer's directory and file headers name its digest, known only once
    // the layer is written: their two blocks are reserved now and written last.
    const out = new Output(fh, 2 * 512);
    const layer = createHash('sha256');
    const layerBytes = await writeLayer(out, layer, entries, o.epoch);
    const diffHex = layer.digest('hex');
    const layerPath = `${diffHex}/layer.tar`;
    await out.write(padding(layerBytes));
    const created = new Date(o.epoch * 1000).toISOString();
    const platform = archPlatform(o.arch);
    const config = {
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      os: platform.os,
      created,
      config: { Env: o.env ?? [DEFAULT_PATH], ...(o.cmd ? { Cmd: o.cmd } : {}) },
      rootfs: { type: 'layers', diff_ids: [`sha256:${diffHex}`] },
      history: [{ created, created_by: `pyston-build: a Debian root as one layer (${platformString(platform)})` }],
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const configHex = createHash('sha256').update(configBytes).digest('hex');
    const manifest = Buffer.from(JSON.stringify([{ Config: `${configHex}.json`, RepoTags: o.tag ? [o.tag] : null, Layers: [layerPath] }]));
    for (const [path, data] of [
      [`${configHex}.json`, configBytes],
      ['manifest.json', manifest],
    ] as const) {
      await out.write(entryHeader({ path, mode: 0o644, size: data.length, mtime: o.epoch, type: TYPEFLAG.file, target: '' }));
      await out.write(data);
      await out.write(padding(data.length));
    }
    await out.write(archiveEnd(out.position));
    await out.flush();
    const head = Buffer.concat([
      entryHeader({ path: `${diffHex}/`, mode: 0o755, size: 0, mtime: o.epoch, type: TYPEFLAG.dir, target: '' }),
      entryHeader({ path: layerPath, mode: 0o644, size: layerBytes, mtime: o.epoch, type: TYPEFLAG.file, target: '' }),
    ]);
    if (head.length !== 1024) throw new Error(`layer headers are ${head.length} bytes, not 1024`);
    await fh.write(head, 0, head.length, 0);
    await fh.close();
    renameSync(tmp, o.out);
    return { path: o.out, imageId: `sha256:${configHex}`, diffId: `sha256:${diffHex}`, bytes: out.position, skipped };
  } catch (e) {
    await fh.close().catch(() => undefined);
    rmSync(tmp, { force: true });
    throw e;
  }
}

interface LayerEntry {
  /** Relative, '/'-separated, a directory's ending in '/'. */
  path: string;
  full: string;
  st: Stats;
  kind: 'dir' | 'file' | 'symlink' | 'fifo';
}

/** The root's entries in archive order (by path bytes), and what is left out. */
function layerEntries(rootDir: string): { entries: LayerEntry[]; skipped: string[] } {
  const entries: LayerEntry[] = [];
  const skipped: string[] = [];
  const dev = lstatSync(rootDir).dev;
  const visit = (rel: string): void => {
    for (const name of readdirSync(join(rootDir, rel))) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const full = join(rootDir, childRel);
      const st = lstatSync(full);
      if (st.isDirectory()) {
        // A mount in the root (/proc left by a killed check) is not the root's content.
        if (st.dev !== dev) throw new TarError(`'${full}' is a mount point, not part of the root`, `unmount it (umount ${full}) and run again`);
        entries.push({ path: `${childRel}/`, full, st, kind: 'dir' });
        visit(childRel);
      } else if (st.isFile()) entries.push({ path: childRel, full, st, kind: 'file' });
      else if (st.isSymbolicLink()) entries.push({ path: childRel, full, st, kind: 'symlink' });
      else if (st.isFIFO()) entries.push({ path: childRel, full, st, kind: 'fifo' });
      // Character and block devices: a container's /dev is the engine's own
      // tmpfs, and an unprivileged (user-namespaced) engine cannot make them.
      // Sockets: tar has no type for them.
      else skipped.push(childRel);
    }
  };
  visit('');
  const keyed = entries.map((e) => ({ e, key: Buffer.from(e.path, 'utf8') }));
  keyed.sort((x, y) => Buffer.compare(x.key, y.key));
  return { entries: keyed.map((k) => k.e), skipped: skipped.sort() };
}

/** Stream the layer tar; returns its length. Hard links point at the first path (in archive order) of their inode. */
async function writeLayer(out: Output, hash: Hash, entries: readonly LayerEntry[], epoch: number): Promise<number> {
  const start = out.position;
  out.hashes.push(hash);
  const firstPath = new Map<string, string>();
  const chunk = Buffer.alloc(1 << 20);
  for (const e of entries) {
    const { st } = e;
    const base = { path: e.path, mode: st.mode & 0o7777, mtime: Math.max(0, Math.min(Math.floor(st.mtimeMs / 1000), epoch)), uid: st.uid, gid: st.gid, size: 0, target: '' };
    if (e.kind === 'dir') await out.write(entryHeader({ ...base, type: TYPEFLAG.dir }));
    else if (e.kind === 'symlink') await out.write(entryHeader({ ...base, mode: 0o777, type: TYPEFLAG.symlink, target: readlinkSync(e.full) }));
    else {
      const inode = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? firstPath.get(inode) : undefined;
      if (first !== undefined) {
        await out.write(entryHeader({ ...base, type: TYPEFLAG.hardlink, target: first }));
        continue;
      }
      if (st.nlink > 1) firstPath.set(inode, e.path);
      if (e.kind === 'fifo') {
        await out.write(entryHeader({ ...base, type: TYPEFLAG.fifo }));
        continue;
      }
      await out.write(entryHeader({ ...base, size: st.size, type: TYPEFLAG.file }));
      await copyFile(out, e.full, st.size, chunk);
      await out.write(padding(st.size));
    }
  }
  await out.write(archiveEnd(out.position - start));
  out.hashes.pop();
  return out.position - start;
}

/** Exactly `size` bytes of `full` into the archive; a file that changes size while being read is an error. */
async function copyFile(out: Output, full: string, size: number, chunk: Buffer): Promise<void> {
  const fh = await open(full, 'r');
  try {
    let done = 0;
    while (done < size) {
      const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, size - done), done);
      if (bytesRead === 0) break;
      await out.write(chunk.subarray(0, bytesRead));
      done += bytesRead;
    }
    const extra = await fh.read(Buffer.alloc(1), 0, 1, size);
    if (done !== size || extra.bytesRead !== 0) throw new TarError(`'${full}' changed size while it was archived`, 'nothing may write to the root while its image is made; run again');
  } finally {
    await fh.close();
  }
}

/** Sequential writes to a file from `start`, small ones batched, every byte fed to the hashes in `hashes`. */
class Output {
  readonly hashes: Hash[] = [];
  position: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private filePos: number;
  constructor(
    private readonly fh: FileHandle,
    start: number,
  ) {
    this.position = start;
    this.filePos = start;
  }
  async write(b: Buffer): Promise<void> {
    if (b.length === 0) return;
    for (const h of this.hashes) h.update(b);
    this.position += b.length;
    if (b.length >= 1 << 16) {
      // A file's chunk goes straight out: no copy, as the caller reuses its read buffer after this.
      await this.flush();
      await this.fh.write(b, 0, b.length, this.filePos);
      this.filePos += b.length;
      return;
    }
    // Copied: the caller may reuse the buffer.
    this.pending.push(Buffer.from(b));
    this.pendingBytes += b.length;
    if (this.pendingBytes >= 1 << 20) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.fh.write(data, 0, data.length, this.filePos);
    this.filePos += data.length;
  }
}

/** What the engine's image inspect says about the platform (dockerode's ImageInspectInfo, Variant where the engine reports one). */
export interface InspectPlatform {
  Id?: string | undefined;
  Os: string;
  Architecture: string;
  Variant?: string | undefined;
}

/**
 * The problem when the inspected image is not of `platform`, or undefined.
 * The variant is compared too, strictly (arm64 without a variant is not
 * taken for arm64/v8): the index is made from what the image says, so the
 * image must say exactly what the index is meant to name.
 */
export function checkImagePlatform(inspect: InspectPlatform, platform: Platform): BaseImageError | undefined {
  const actual: Platform = { os: inspect.Os, architecture: inspect.Architecture, ...(inspect.Variant ? { variant: inspect.Variant } : {}) };
  if (platformString(actual) === platformString(platform)) return undefined;
  return new BaseImageError(
    `image ${inspect.Id ?? '(unnamed)'} is ${platformString(actual)}, expected ${platformString(platform)}`,
    `make the base image with pyston-build's imageArchive for ${platform.architecture} and load it; 'docker import --platform' on a 20.10 engine records the host's architecture`,
  );
}

/**
 * Load the archive into the engine and check the image it made: its ID is
 * the expected one and its platform is the architecture's. Returns the
 * engine's inspect of it.
 */
export async function loadBaseImage(docker: Docker, archivePath: string, expected: { arch: Arch; imageId: string }): Promise<Docker.ImageInspectInfo> {
  const loadFailed = (why: string): BaseImageError =>
    new BaseImageError(`docker load of ${archivePath} failed: ${why.split('\n')[0]}`, 'remove the archive so it is written again; if it fails again, the engine log says why');
  let events: { error?: string; stream?: string }[];
  try {
    const stream = await docker.loadImage(createReadStream(archivePath), { quiet: true });
    events = await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, out: { error?: string; stream?: string }[]) => (err ? reject(err) : resolve(out))));
  } catch (e) {
    throw loadFailed(e instanceof Error ? e.message : String(e));
  }
  const failed = events.find((e) => e.error);
  if (failed?.error) throw loadFailed(failed.error);
  let inspect: Docker.ImageInspectInfo;
  try {
    inspect = await docker.getImage(expected.imageId).inspect();
  } catch {
    const loaded = events.map((e) => e.stream?.trim()).filter((s) => s);
    throw new BaseImageError(
      `docker load of ${archivePath} did not make image ${expected.imageId} (${loaded.join('; ') || 'it reported nothing'})`,
      'remove the archive so it is written again from the root',
    );
  }
  const problem = checkImagePlatform(inspect, archPlatform(expected.arch));
  if (problem) throw problem;
  return inspect;
}
