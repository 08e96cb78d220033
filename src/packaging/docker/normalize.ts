/**
 * Reproducible images from a Dockerfile build.
 *
 * What the engine's classic builder makes differs on every build, even from
 * the same .deb on the same base (measured on Debian's 20.10 engine, two
 * builds of the slim image on fresh data roots): the layer contents were the
 * same file for file, but
 * - every file and directory the build wrote has the build's time as mtime;
 * - the image config has the build's time in `created` and in each
 *   `history` entry, and the build container's ID in `container` and
 *   `container_config.Hostname`, and the intermediate image's ID in
 *   `config.Image` and `container_config.Image`;
 * - var/log/dpkg.log holds the time of `dpkg -i` (the Dockerfiles remove it).
 * So the layers' digests, the config's digest and the manifest's all
 * differed. The builder also leaves the .deb in the COPY step's layer, which
 * the RUN step's layer only hides (a whiteout): every image carried the
 * .deb twice over.
 *
 * `normalizeImage` takes the built image out of the engine (`docker save`),
 * squashes the layers the Dockerfile added on top of our base into one
 * layer written by our own tar writer (entries sorted, mtimes clamped to
 * SOURCE_DATE_EPOCH, whiteouts only for paths the base really has), writes
 * the config with `created` = SOURCE_DATE_EPOCH and without the build
 * container's traces, and loads the result (`docker load`). Same base +
 * same .deb + same Dockerfile -> the same image ID; the engine compresses a
 * layer the same way each time, so the pushed manifest digest is the same
 * too. Extended attributes in a build layer are refused in one line (our
 * tar writer does not carry them).
 */
import { closeSync, createReadStream, createWriteStream, lstatSync, mkdirSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { TaskFailure } from '../../graph/errors.js';
import { archiveEnd, entryHeader, padding, TYPEFLAG } from '../tar.js';
import { sha256Digest } from './registry.js';

const BLOCK = 512;

/** One entry of a tar archive as read: where its data is (in the buffer or file it was read from). */
export interface ReadEntry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  target: string;
  /** Offset of the entry's data in the archive. */
  offset: number;
  /** pax records other than the ones folded into the fields above (xattrs and the like). */
  extra: Record<string, string>;
}

const cstr = (b: Buffer, off: number, len: number): string => {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end === -1 || end > off + len ? off + len : end);
};

function num(b: Buffer, off: number, len: number): number {
  // base-256 (GNU), the high bit of the first byte set: large sizes and ids.
  if ((b[off]! & 0x80) !== 0) {
    let v = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  const s = cstr(b, off, len).trim();
  return s === '' ? 0 : Number.parseInt(s, 8);
}

function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp === -1) break;
    const len = Number.parseInt(data.toString('latin1', i, sp), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const rec = data.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/**
 * Read the entries of a tar archive through `read(offset, length)`: ustar
 * headers, pax extended headers ('x'; global ones, 'g', are skipped) and GNU
 * long names ('L', 'K').
 */
export function readTar(read: (offset: number, length: number) => Buffer, total: number, what: string): ReadEntry[] {
  const entries: ReadEntry[] = [];
  let off = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  const bad = (why: string): TaskFailure => new TaskFailure(`${what} is not a tar archive pyston-build can read: ${why}`, 'see the task log; the engine may have written an unexpected format');
  while (off + BLOCK <= total) {
    const h = read(off, BLOCK);
    if (h.every((x) => x === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== num(h, 148, 8)) throw bad(`bad header checksum at offset ${off}`);
    const type = h.toString('latin1', 156, 157) || '0';
    const size = num(h, 124, 12);
    const dataOff = off + BLOCK;
    const next = dataOff + Math.ceil(size / BLOCK) * BLOCK;
    if (next > total) throw bad(`an entry at offset ${off} runs past the end`);
    if (type === 'x') {
      pax = { ...pax, ...paxRecords(read(dataOff, size)) };
    } else if (type === 'L') {
      longName = read(dataOff, size).toString('utf8').replace(/\0+$/, '');
    } else if (type === 'K') {
      longLink = read(dataOff, size).toString('utf8').replace(/\0+$/, '');
    } else if (type !== 'g') {
      const name = cstr(h, 0, 100);
      const prefix = h.toString('latin1', 257, 262) === 'ustar' ? cstr(h, 345, 155) : '';
      const { path: pPath, linkpath, size: pSize, mtime: pMtime, uid: pUid, gid: pGid, atime: _a, ctime: _c, ...extra } = pax;
      const realSize = pSize !== undefined ? Number(pSize) : size;
      entries.push({
        path: pPath ?? longName ?? (prefix ? `${prefix}/${name}` : name),
        type: type === '\0' ? '0' : type,
        mode: num(h, 100, 8) & 0o7777,
        uid: pUid !== undefined ? Number(pUid) : num(h, 108, 8),
        gid: pGid !== undefined ? Number(pGid) : num(h, 116, 8),
        mtime: pMtime !== undefined ? Math.floor(Number(pMtime)) : num(h, 136, 12),
        size: realSize,
        target: linkpath ?? longLink ?? cstr(h, 157, 100),
        offset: dataOff,
        extra,
      });
      pax = {};
      longName = undefined;
      longLink = undefined;
      off = dataOff + Math.ceil(realSize / BLOCK) * BLOCK;
      continue;
    }
    off = next;
  }
  return entries;
}

/** A layer entry after squashing: its fields, and its data where it is (a buffer). */
interface LayerFile {
  e: ReadEntry;
  data: Buffer;
}

const clean = (p: string): string => posix.normalize(p.replace(/^\.?\/+/, '')).replace(/\/+$/, '');

/**
 * Squash layers (lowest first) the way an overlay stacks them: an upper
 * entry replaces the same path below; a whiteout `.wh.NAME` removes NAME
 * (and what is under it) below; an opaque marker `.wh..wh..opq` removes
 * everything below in its directory. Whiteouts and opaque markers stay
 * only where the base (`inBase`) has something for them to hide.
 */
export function squashLayers(layers: readonly LayerFile[][], inBase: (path: string) => boolean): LayerFile[] {
  const result = new Map<string, LayerFile>();
  const dropUnder = (dir: string): void => {
    for (const k of [...result.keys()]) if (k.startsWith(`${dir}/`)) result.delete(k);
  };
  for (const layer of layers) {
    for (const f of layer) {
      const p = clean(f.e.path);
      if (p === '' || p === '.') continue;
      const dir = posix.dirname(p);
      const base = posix.basename(p);
      if (base === '.wh..wh..opq') {
        dropUnder(dir === '.' ? '' : dir);
        result.set(p, f);
      } else if (base.startsWith('.wh.')) {
        const target = dir === '.' ? base.slice(4) : `${dir}/${base.slice(4)}`;
        result.delete(target);
        dropUnder(target);
        result.set(p, f);
      } else {
        if (f.e.type !== '5') dropUnder(p);
        // A path made again above a whiteout of it: the whiteout has nothing left to hide below the new entry.
        result.delete(dir === '.' ? `.wh.${base}` : `${dir}/.wh.${base}`);
        result.set(p, f);
      }
    }
  }
  return [...result.entries()]
    .filter(([p]) => {
      const base = posix.basename(p);
      if (base === '.wh..wh..opq') return inBase(posix.dirname(p));
      if (base.startsWith('.wh.')) return inBase(posix.join(posix.dirname(p), base.slice(4)));
      return true;
    })
    .map(([, f]) => f);
}

/** The squashed layer's bytes: entries sorted by path, mtimes clamped to `epoch`. */
export function writeLayer(files: readonly LayerFile[], epoch: number): Buffer {
  const keyed = files.map((f) => {
    const p = clean(f.e.path);
    const path = f.e.type === '5' ? `${p}/` : p;
    return { f, path, key: Buffer.from(path, 'utf8') };
  });
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  const parts: Buffer[] = [];
  for (const { f, path } of keyed) {
    const e = f.e;
    const xattrs = Object.keys(e.extra).filter((k) => k.startsWith('SCHILY.xattr.') || k.startsWith('LIBARCHIVE.xattr.'));
    if (xattrs.length)
      throw new TaskFailure(
        `the image's build layer has extended attributes on ${path} (${xattrs.join(', ')})`,
        'pyston-build writes layers without extended attributes: leave them out of the Dockerfile',
      );
    const kind = { '0': TYPEFLAG.file, '7': TYPEFLAG.file, '1': TYPEFLAG.hardlink, '2': TYPEFLAG.symlink, '5': TYPEFLAG.dir, '6': TYPEFLAG.fifo }[e.type];
    if (kind === undefined) throw new TaskFailure(`the image's build layer has ${path} of tar type '${e.type}' (a device?)`, 'leave device nodes out of the Dockerfile: the engine makes /dev');
    const size = kind === TYPEFLAG.file ? e.size : 0;
    const target = kind === TYPEFLAG.hardlink ? clean(e.target) : kind === TYPEFLAG.symlink ? e.target : '';
    parts.push(entryHeader({ path, mode: kind === TYPEFLAG.symlink ? 0o777 : e.mode, size, mtime: Math.max(0, Math.min(e.mtime, epoch)), type: kind, target, uid: e.uid, gid: e.gid }));
    if (size) parts.push(f.data, padding(size));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, archiveEnd(body.length)]);
}

/** What `docker save` wrote: manifest.json's first image. */
interface SaveManifest {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

interface ImageConfig {
  created?: string;
  container?: string;
  container_config?: unknown;
  config?: { Image?: string } & Record<string, unknown>;
  rootfs: { type: string; diff_ids: string[] };
  history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
  [k: string]: unknown;
}

export interface NormalizeOptions {
  /** The image the engine built. */
  readonly imageId: string;
  /** The base image's layers (diff IDs): these stay as they are. */
  readonly baseDiffIds: readonly string[];
  /** The base's root directory, to tell which whiteouts hide something (may be gone: then all stay). */
  readonly baseRoot?: string;
  readonly epoch: number;
  /** `name:tag` the normalized image gets. */
  readonly tag: string;
  /** A scratch directory (two archives of the image's size go there; removed after). */
  readonly workDir: string;
  readonly log: (line: string) => void;
}

/** Save, squash and rewrite, load; returns the new image ID and what changed. */
export async function normalizeImage(docker: Docker, o: NormalizeOptions): Promise<{ imageId: string; diffId: string; entries: number; layersSquashed: number }> {
  const saved = join(o.workDir, 'saved.tar');
  const out = join(o.workDir, 'normalized.tar');
  rmSync(o.workDir, { recursive: true, force: true });
  mkdirSync(o.workDir, { recursive: true });
  try {
    await pipeline((await docker.getImage(o.imageId).get()) as unknown as NodeJS.ReadableStream, createWriteStream(saved));
    const fd = openSync(saved, 'r');
    try {
      const read = (offset: number, length: number): Buffer => {
        const b = Buffer.alloc(length);
        let got = 0;
        while (got < length) {
          const n = readSync(fd, b, got, length - got, offset + got);
          if (n === 0) break;
          got += n;
        }
        return b.subarray(0, got);
      };
      const outer = readTar(read, statSync(saved).size, `docker save of ${o.imageId}`);
      const member = (name: string): ReadEntry => {
        const m = outer.find((e) => clean(e.path) === clean(name));
        if (!m) throw new TaskFailure(`docker save of ${o.imageId} has no ${name}`, 'see the task log; the engine may have written an unexpected format');
        return m;
      };
      const mf = member('manifest.json');
      const manifest = (JSON.parse(read(mf.offset, mf.size).toString('utf8')) as SaveManifest[])[0]!;
      const cf = member(manifest.Config);
      const config = JSON.parse(read(cf.offset, cf.size).toString('utf8')) as ImageConfig;
      const diffIds = config.rootfs.diff_ids;
      const nBase = o.baseDiffIds.length;
      if (diffIds.length < nBase || o.baseDiffIds.some((d, i) => diffIds[i] !== d))
        throw new TaskFailure(`image ${o.imageId} is not built on the base's layers (${o.baseDiffIds.join(', ')})`, 'the Dockerfile must build FROM the BASE build argument');
      if (manifest.Layers.length !== diffIds.length) throw new TaskFailure(`docker save of ${o.imageId} lists ${manifest.Layers.length} layers for ${diffIds.length} diff IDs`, 'see the task log');
      const buildLayers = manifest.Layers.slice(nBase).map((name) => {
        const m = member(name);
        const bytes = read(m.offset, m.size);
        return readTar((off, len) => bytes.subarray(off, off + len), bytes.length, name).map((e) => ({
          e,
          data: bytes.subarray(e.offset, e.offset + (e.type === '0' || e.type === '7' ? e.size : 0)),
        }));
      });
      const inBase = (p: string): boolean => {
        if (!o.baseRoot) return true;
        try {
          lstatSync(join(o.baseRoot, p));
          return true;
        } catch (e) {
          return (e as NodeJS.ErrnoException).code !== 'ENOENT';
        }
      };
      const files = squashLayers(buildLayers, inBase);
      const layer = writeLayer(files, o.epoch);
      const diffId = sha256Digest(layer);
      const created = new Date(o.epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
      // The config: the build's times and container gone; one layer for the build's steps.
      const { container: _c, container_config: _cc, ...rest } = config;
      const next: ImageConfig = { ...rest, created, rootfs: { ...config.rootfs, diff_ids: [...o.baseDiffIds, diffId] } };
      if (next.config && 'Image' in next.config) next.config = { ...next.config, Image: '' };
      if (config.history) {
        let layerIndex = 0;
        const lastBuild = config.history.reduce((last, h, i) => (h.empty_layer ? last : i), -1);
        next.history = config.history.map((h, i) => {
          const isLayer = !h.empty_layer;
          const idx = isLayer ? layerIndex++ : -1;
          const squashedAway = isLayer && idx >= nBase && i !== lastBuild;
          return {
            ...h,
            created,
            ...(squashedAway ? { empty_layer: true } : {}),
            ...(isLayer && i === lastBuild && buildLayers.length > 1 ? { comment: `${buildLayers.length} build layers squashed by pyston-build` } : {}),
          };
        });
      }
      const configBytes = Buffer.from(JSON.stringify(next), 'utf8');
      const imageId = sha256Digest(configBytes);
      const hex = (d: string): string => d.replace(/^sha256:/, '');
      const layerNames = [...manifest.Layers.slice(0, nBase), `${hex(diffId)}/layer.tar`];
      const newManifest = Buffer.from(JSON.stringify([{ Config: `${hex(imageId)}.json`, RepoTags: [o.tag], Layers: layerNames }]), 'utf8');
      // The archive for docker load: the base layers copied as saved, then ours.
      const ws = createWriteStream(out);
      let written = 0;
      const put = async (b: Buffer): Promise<void> => {
        written += b.length;
        if (!ws.write(b)) await once(ws, 'drain');
      };
      const file = async (name: string, data: Buffer | { offset: number; size: number }): Promise<void> => {
        const size = Buffer.isBuffer(data) ? data.length : data.size;
        await put(entryHeader({ path: name, mode: 0o644, size, mtime: o.epoch, type: TYPEFLAG.file, target: '' }));
        if (Buffer.isBuffer(data)) await put(data);
        else {
          for (let off = 0; off < data.size; off += 1 << 22) await put(read(data.offset + off, Math.min(1 << 22, data.size - off)));
        }
        await put(padding(size));
      };
      for (let i = 0; i < nBase; i++) {
        const m = member(manifest.Layers[i]!);
        await file(manifest.Layers[i]!, { offset: m.offset, size: m.size });
      }
      await file(layerNames[nBase]!, layer);
      await file(`${hex(imageId)}.json`, configBytes);
      await file('manifest.json', newManifest);
      await put(archiveEnd(written));
      ws.end();
      await once(ws, 'finish');
      const stream = await docker.loadImage(createReadStream(out), { quiet: true });
      const events = await new Promise<{ error?: string; stream?: string }[]>((resolve, reject) =>
        docker.modem.followProgress(stream, (err: Error | null, res: { error?: string }[]) => (err ? reject(err) : resolve(res))),
      );
      const failed = events.find((e) => e.error);
      if (failed) throw new TaskFailure(`docker load of the normalized image failed: ${failed.error}`, 'see the task log');
      await docker.getImage(imageId).inspect();
      o.log(
        `normalized ${o.imageId} -> ${imageId}: ${buildLayers.length} build layer(s) squashed into one of ${files.length} entries (${(layer.length / 1e6).toFixed(1)} MB), mtimes clamped to ${created}`,
      );
      return { imageId, diffId, entries: files.length, layersSquashed: buildLayers.length };
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(o.workDir, { recursive: true, force: true });
  }
}
