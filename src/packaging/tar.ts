/**
 * Our own deterministic tar writer, for the .deb's control.tar.gz and
 * data.tar.gz and for the portable directory's .tar.gz.
 *
 * The format is POSIX.1-1988 ustar as POSIX.1-2001 restates it (the pax
 * utility's "ustar Interchange Format"), byte for byte what
 * `tar --format=ustar` writes (checked with od on GNU tar 1.34's output):
 * 512-byte headers with octal fields terminated by NUL, uid/gid 0 and
 * devmajor/devminor written as zeros, and the archive closed by two zero
 * blocks and padded to GNU tar's 10240-byte record. Only what ustar cannot
 * hold (a path that no name/prefix split fits, a link target over 100
 * bytes, a file of 8 GiB or more) goes into a POSIX.1-2001 pax extended
 * header ('x'), so every common archive stays plain ustar that any reader,
 * dpkg-deb included, understands.
 *
 * Reproducible by construction: entries sorted by path, fixed owner
 * root/root (0/0), one caller-given mtime (SOURCE_DATE_EPOCH), modes masked
 * to permission bits, and gzip with a zero header mtime and no file name.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TaskFailure } from '../graph/errors.js';

/** A tree or an entry that cannot go into an archive (a bad path, a fifo, a bad mtime): a build failure, with its fix. */
export class TarError extends TaskFailure {
  constructor(
    message: string,
    override readonly hint: string,
  ) {
    super(message, hint);
  }
}

export type TarEntry = { type: 'dir'; path: string; mode: number } | { type: 'file'; path: string; mode: number; data: Buffer } | { type: 'symlink'; path: string; target: string };

const BLOCK = 512;
/** GNU tar's default blocking factor 20 x 512 bytes; archives end on this boundary. */
const RECORD = 10240;
/** The largest value an 11-digit octal field (size, mtime) holds: 8 GiB - 1. */
const MAX_OCTAL_11 = 0o77777777777;
/** The largest value a 7-digit octal field (uid, gid) holds. */
const MAX_OCTAL_7 = 0o7777777;
export const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', dir: '5', fifo: '6', pax: 'x' } as const;

/**
 * Archive bytes (uncompressed, POSIX ustar; a pax extended header only where
 * ustar cannot hold a path, link target or size). Entries are sorted by the
 * bytes of their normalised path; a directory's path ends in '/', so it sorts
 * before its contents. A leading './' is kept when every entry has it (the
 * .deb form, with a './' root entry), and mixing the two forms is an error.
 */
export function tarArchive(entries: readonly TarEntry[], mtime: number): Buffer {
  if (!Number.isSafeInteger(mtime) || mtime < 0) throw new TarError(`tar mtime must be a non-negative whole number of seconds, got ${mtime}`, 'pass SOURCE_DATE_EPOCH as an integer number of seconds');
  if (mtime > MAX_OCTAL_11) throw new TarError(`tar mtime ${mtime} does not fit ustar's 11 octal digits`, 'use a SOURCE_DATE_EPOCH before the year 2242');
  const normalised = entries.map((e) => ({ entry: e, ...normalise(e) }));
  const dotted = new Set(normalised.map((n) => n.dotted));
  if (dotted.size > 1) {
    const a = normalised.find((n) => n.dotted)?.path,
      b = normalised.find((n) => !n.dotted)?.path;
    throw new TarError(`tar entries mix './' paths ('${a}') with bare paths ('${b}')`, "give every path the './' prefix, or none");
  }
  const seen = new Set<string>();
  for (const n of normalised) {
    const key = n.path.replace(/\/$/, '');
    if (seen.has(key)) throw new TarError(`tar path '${n.path}' appears twice`, 'each path may be archived once; drop the duplicate entry');
    seen.add(key);
  }
  normalised.sort((x, y) => Buffer.compare(x.bytes, y.bytes));

  const parts: Buffer[] = [];
  for (const { entry, path } of normalised) {
    const data = entry.type === 'file' ? entry.data : Buffer.alloc(0);
    const mode = entry.type === 'symlink' ? 0o777 : entry.mode & 0o7777;
    const target = entry.type === 'symlink' ? entry.target : '';
    parts.push(entryHeader({ path, mode, size: data.length, mtime, type: TYPEFLAG[entry.type], target }));
    parts.push(data, padding(data.length));
  }
  return Buffer.concat([...parts, archiveEnd(parts.reduce((n, b) => n + b.length, 0))]);
}

/** One entry's header fields; `path` is already normalised (relative, a directory's ending in '/'). */
export interface EntryFields {
  path: string;
  mode: number;
  size: number;
  mtime: number;
  /** The ustar typeflag: '0' file, '1' hard link, '2' symlink, '5' directory, '6' fifo. */
  type: string;
  /** A symlink's target or a hard link's path; '' otherwise. */
  target: string;
  /** Numeric owner; 0/0 (written as root/root) unless given. */
  uid?: number;
  gid?: number;
}

/**
 * The header blocks of one entry: a pax extended header first when ustar
 * cannot hold its path, link target or size, then the ustar header. The
 * entry's data (`size` bytes) and its {@link padding} follow.
 */
export function entryHeader(f: EntryFields): Buffer {
  const bytes = Buffer.from(f.path, 'utf8');
  const link = Buffer.from(f.target, 'utf8');
  const pax: [string, string][] = [];
  let split = splitUstar(bytes);
  if (!split) {
    pax.push(['path', f.path]);
    split = [Buffer.alloc(0), truncateUtf8(f.path, 100)];
  }
  let linkField: Buffer = link;
  if (link.length > 100) {
    pax.push(['linkpath', f.target]);
    linkField = truncateUtf8(f.target, 100);
  }
  let sizeField = f.size;
  if (f.size > MAX_OCTAL_11) {
    pax.push(['size', String(f.size)]);
    sizeField = 0; // the pax record overrides the header field (POSIX.1-2001 pax, "size")
  }
  const owner = { uid: f.uid ?? 0, gid: f.gid ?? 0 };
  if (owner.uid > MAX_OCTAL_7 || owner.gid > MAX_OCTAL_7)
    throw new TarError(`tar path '${f.path}' has owner ${owner.uid}:${owner.gid}, beyond ustar's 7 octal digits`, 'give the file an owner id below 2097152');
  const parts: Buffer[] = [];
  if (pax.length > 0) {
    const records = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
    const base = f.path.replace(/\/$/, '').split('/').pop() ?? '';
    parts.push(header(truncateUtf8(`./PaxHeaders/${base}`, 100), Buffer.alloc(0), 0o644, records.length, f.mtime, TYPEFLAG.pax, Buffer.alloc(0)));
    parts.push(records, padding(records.length));
  }
  parts.push(header(split[1], split[0], f.mode, sizeField, f.mtime, f.type, linkField, owner));
  return Buffer.concat(parts);
}

/** End of archive after `length` bytes of entries: two zero blocks (POSIX), then zeros up to a whole record (GNU tar's reading unit). */
export function archiveEnd(length: number): Buffer {
  const total = length + 2 * BLOCK;
  return Buffer.alloc(2 * BLOCK + ((RECORD - (total % RECORD)) % RECORD));
}

/**
 * gzip at level 9 with header mtime 0 and no file name, the guarantee of
 * `gzip -9n`: the same input gives the same bytes. zlib's gzip wrapper
 * already writes mtime 0 and no FNAME; we check that rather than trust it,
 * and pin the OS byte (RFC 1952: 3 = Unix) so the host platform cannot leak in.
 */
export function gzipDeterministic(data: Buffer): Buffer {
  const gz = gzipSync(data, { level: 9 });
  // RFC 1952 member header: ID1 ID2 CM FLG MTIME(4) XFL OS.
  if (gz[0] !== 0x1f || gz[1] !== 0x8b || gz[2] !== 8) throw new TarError('zlib did not write a gzip deflate header', 'this Node.js build has an unusual zlib; use an official Node.js 20+ build');
  if (gz[3] !== 0 || gz.readUInt32LE(4) !== 0)
    throw new TarError('zlib wrote a gzip header with flags or an mtime, which would make the output depend on the build time', 'use an official Node.js 20+ build');
  gz[9] = 3;
  return gz;
}

/**
 * Walk `dir` into entries whose paths start with `prefix` ('' or ending in
 * '/'; a non-empty prefix also gets its own directory entry, e.g. './' for
 * the .deb). Modes are normalised so the archive does not depend on the
 * builder's umask: directories 0755, files 0755 when any execute bit is set
 * and 0644 otherwise; setuid, setgid and sticky are dropped. `filter`
 * receives the path relative to `dir` ('/'-separated, no trailing slash);
 * returning false leaves the path out, and a directory's whole subtree.
 */
export function walkTree(dir: string, prefix: string, filter?: (rel: string) => boolean): TarEntry[] {
  if (prefix !== '' && !prefix.endsWith('/')) throw new TarError(`tar prefix '${prefix}' does not end in '/'`, "use a directory prefix such as './' or 'cpython-3.11.2/'");
  const out: TarEntry[] = prefix === '' ? [] : [{ type: 'dir', path: prefix, mode: 0o755 }];
  const visit = (rel: string): void => {
    // Sorted so the walk itself is deterministic, whatever order readdir gives.
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (filter && !filter(childRel)) continue;
      const full = join(dir, childRel);
      const st = lstatSync(full);
      const path = prefix + childRel;
      if (st.isSymbolicLink()) out.push({ type: 'symlink', path, target: readlinkSync(full) });
      else if (st.isDirectory()) {
        out.push({ type: 'dir', path: `${path}/`, mode: 0o755 });
        visit(childRel);
      } else if (st.isFile()) out.push({ type: 'file', path, mode: st.mode & 0o111 ? 0o755 : 0o644, data: readFileSync(full) });
      else throw new TarError(`cannot archive '${full}': it is not a regular file, directory or symlink`, 'remove the device, fifo or socket from the tree, or leave it out with the filter');
    }
  };
  visit('');
  return out;
}

/** The normalised path (no leading '/', directories ending in '/'), its UTF-8 bytes, and whether it keeps './'. */
function normalise(e: TarEntry): { path: string; bytes: Buffer; dotted: boolean } {
  const raw = e.path;
  const bad = (why: string): TarError => new TarError(`tar path '${raw.replace(/\0/g, '\\0')}' ${why}`, 'archive paths are relative, without NUL bytes or .. components');
  if (raw === '') throw bad('is empty');
  if (raw.includes('\0')) throw bad('contains a NUL byte');
  if (e.type === 'symlink' && (e.target === '' || e.target.includes('\0'))) throw bad('has an empty link target or one with a NUL byte');
  if (e.type !== 'symlink' && !Number.isInteger(e.mode)) throw bad(`has a mode that is not an integer (${e.mode})`);
  if (e.type !== 'dir' && raw.endsWith('/')) throw bad(`ends in '/' but is a ${e.type}`);
  const rel = raw.replace(/^\/+/, '');
  const dotted = rel === '.' || rel.startsWith('./');
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw bad("has a '..' component");
  if (parts.length === 0 && !(dotted && e.type === 'dir')) throw bad('names no file');
  const path = (dotted ? './' : '') + parts.join('/') + (e.type === 'dir' && parts.length > 0 ? '/' : '');
  return { path, bytes: Buffer.from(path, 'utf8'), dotted };
}

/**
 * ustar keeps a path in name[100] or, split at a '/', in prefix[155] + '/' +
 * name[100] (POSIX.1-2001 ustar: the reader joins them with a '/'). Returns
 * [prefix, name], or undefined when no split fits and pax must carry the path.
 */
function splitUstar(path: Buffer): [Buffer, Buffer] | undefined {
  if (path.length <= 100) return [Buffer.alloc(0), path];
  // Like GNU tar, take the rightmost '/' that leaves prefix <= 155 bytes (so our bytes
  // match its output); the name must be non-empty, so never a directory's trailing '/'.
  for (let i = Math.min(155, path.length - 2); i >= path.length - 101; i--) {
    if (path[i] === 0x2f) return [path.subarray(0, i), path.subarray(i + 1)];
  }
  return undefined;
}

/** One 512-byte ustar header. */
function header(name: Buffer, prefix: Buffer, mode: number, size: number, mtime: number, type: string, link: Buffer, owner = { uid: 0, gid: 0 }): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0);
  h.write(octal(mode, 8), 100, 'latin1');
  h.write(octal(owner.uid, 8), 108, 'latin1');
  h.write(octal(owner.gid, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(mtime, 12), 136, 'latin1');
  h.write(type, 156, 'latin1');
  link.copy(h, 157);
  h.write('ustar\x0000', 257, 'latin1'); // magic "ustar\0" and version "00"
  // uname/gname: 'root' for id 0; other ids stay numeric only, so the build machine's user names cannot leak in.
  if (owner.uid === 0) h.write('root', 265, 'latin1');
  if (owner.gid === 0) h.write('root', 297, 'latin1');
  h.write(octal(0, 8), 329, 'latin1'); // devmajor, zeros as GNU tar writes them
  h.write(octal(0, 8), 337, 'latin1'); // devminor
  prefix.copy(h, 345);
  // Checksum: the unsigned sum of all header bytes with the chksum field read as
  // eight spaces, written as six octal digits, NUL, space.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** A numeric field of `width` bytes: width-1 zero-padded octal digits and a NUL. */
function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** A pax record "%d key=value\n", where %d counts the whole record, its own digits included. */
function paxRecord(key: string, value: string): Buffer {
  const rest = ` ${key}=${value}\n`;
  const restLen = Buffer.byteLength(rest, 'utf8');
  let digits = String(restLen).length;
  while (String(restLen + digits).length !== digits) digits++; // e.g. 98 bytes + 2 digits = 100, which needs 3
  return Buffer.from(`${restLen + digits}${rest}`, 'utf8');
}

/** At most `max` UTF-8 bytes of `s`, never cutting a character in half. */
function truncateUtf8(s: string, max: number): Buffer {
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch, 'utf8') > max) break;
    out += ch;
  }
  return Buffer.from(out, 'utf8');
}

/** The zeros that bring `length` bytes of data up to a whole number of 512-byte blocks. */
export function padding(length: number): Buffer {
  return Buffer.alloc((BLOCK - (length % BLOCK)) % BLOCK);
}
