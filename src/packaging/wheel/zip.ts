/**
 * Our own deterministic ZIP writer and a small reader, for wheels (PEP 427).
 *
 * The format is PKWARE's APPNOTE.TXT (6.3.x): per entry a local file header
 * and the data, then the central directory and the end-of-central-directory
 * record. We write only what every reader understands: no extra fields, no
 * data descriptors, no comments, no Zip64 (an archive that would need it is
 * refused), methods 8 (deflate) or 0 (stored).
 *
 * Reproducible by construction: the entries are written in the order given
 * (the caller sorts them; a wheel has its own order), one timestamp for
 * every entry (SOURCE_DATE_EPOCH, read as UTC and clamped to the range an
 * MS-DOS date holds), zlib deflate at level 9 (stored when deflate does not
 * make the data smaller), "version made by" Unix so that readers take the
 * mode from the high 16 bits of the external attributes, and only the
 * regular-file type and permission bits in those.
 *
 * The deflate stream is what Node's bundled zlib makes of the data, so the
 * bytes are the same for the same Node.js build on the same kind of CPU.
 * Node bundles Chromium's zlib, whose deflate hashes with CRC-32C where the
 * CPU has SSE4.2 and PCLMUL (or ARMv8 CRC32): its output differs from the
 * system zlib's (measured here: Node 20.20's zlib 1.3.1 gives 1,626,052
 * bytes for 3 MB of /usr/bin/python3.11 where Debian's zlib 1.2.13 gives
 * 1,597,119), and could differ on a CPU without those instructions. The
 * uncompressed contents, and so RECORD, never depend on it.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { TaskFailure } from '../../graph/errors.js';

/** An entry or archive that cannot be written or read (a bad path, too large, corrupt): a build failure, with its fix. */
export class ZipError extends TaskFailure {
  constructor(
    message: string,
    override readonly hint: string,
  ) {
    super(message, hint);
  }
}

export interface ZipEntry {
  /** Relative, '/'-separated; no '..', '.', empty segment, backslash or control character. */
  readonly path: string;
  readonly data: Buffer;
  /** Permission bits (only `mode & 0o7777` is kept); the entry is always a regular file. */
  readonly mode: number;
}

/** An entry as {@link readZip} returns it. */
export interface ZipReadEntry {
  readonly path: string;
  /** Permission bits from the external attributes (`(attr >>> 16) & 0o7777`); 0 when the archive was not made on Unix. */
  readonly mode: number;
  /** The file type bits from the external attributes (`(attr >>> 16) & 0o170000`), e.g. 0o100000 for a regular file. */
  readonly type: number;
  /** Uncompressed bytes, CRC-32 and size checked. */
  readonly data: Buffer;
  /** 0 (stored) or 8 (deflate). */
  readonly method: number;
  /** The DOS timestamp read back as seconds since the Unix epoch, taking it as UTC. */
  readonly mtime: number;
  /** General purpose flags (bit 11 = the name is UTF-8). */
  readonly flags: number;
  /** The high byte of "version made by" (3 = Unix). */
  readonly madeBy: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const LOCAL_LEN = 30;
const CENTRAL_LEN = 46;
const END_LEN = 22;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
/** General purpose bit 11: file name and comment are UTF-8 (APPNOTE appendix D). */
const FLAG_UTF8 = 0x0800;
/** Host system 3 = UNIX, specification version 2.0, as "version made by" (APPNOTE 4.4.2). */
const MADE_BY_UNIX = (3 << 8) | 20;
/** "Version needed to extract" (APPNOTE 4.4.3.2): 1.0 for a stored file, 2.0 for deflate. */
const NEEDED = { [METHOD_STORED]: 10, [METHOD_DEFLATE]: 20 } as const;
const S_IFREG = 0o100000;
/** Without Zip64, sizes and offsets are 32-bit and the entry count 16-bit; 0xFFFFFFFF / 0xFFFF mean "see Zip64". */
const MAX_U32 = 0xfffffffe;
const MAX_ENTRIES = 0xfffe;
/** 1980-01-01T00:00:00Z, the first second an MS-DOS date can hold. */
export const DOS_EPOCH_MIN = Date.UTC(1980, 0, 1) / 1000;
/** 2107-12-31T23:59:58Z, the last (even) second an MS-DOS date can hold. */
export const DOS_EPOCH_MAX = Date.UTC(2107, 11, 31, 23, 59, 58) / 1000;

const NO_ZIP64 = 'pyston-build writes no Zip64; split the contents into smaller archives';

/**
 * The archive bytes for `entries`, in the order given. `mtime` is seconds
 * since the Unix epoch (SOURCE_DATE_EPOCH); it is clamped to
 * [1980-01-01, 2107-12-31 23:59:58] UTC and, as DOS times count in two
 * seconds, rounded down to an even second.
 */
export function writeZip(entries: readonly ZipEntry[], mtime: number): Buffer {
  if (!Number.isSafeInteger(mtime)) throw new ZipError(`zip mtime must be a whole number of seconds, got ${mtime}`, 'pass SOURCE_DATE_EPOCH as an integer number of seconds');
  if (entries.length > MAX_ENTRIES) throw new ZipError(`zip archive would have ${entries.length} entries, more than ${MAX_ENTRIES} without Zip64`, NO_ZIP64);
  const { time, date } = dosDateTime(mtime);
  const seen = new Set<string>();
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = checkPath(e.path);
    if (seen.has(e.path)) throw new ZipError(`zip path '${e.path}' appears twice`, 'each path may be archived once; drop the duplicate entry');
    seen.add(e.path);
    if (!Number.isInteger(e.mode) || e.mode < 0) throw new ZipError(`zip path '${e.path}' has a mode that is not a non-negative integer (${e.mode})`, 'pass permission bits such as 0o644 or 0o755');
    if (e.data.length > MAX_U32) throw new ZipError(`zip path '${e.path}' is ${e.data.length} bytes, more than 4 GiB without Zip64`, NO_ZIP64);
    const crc = crc32(e.data);
    const deflated = e.data.length === 0 ? e.data : deflateRawSync(e.data, { level: 9 });
    const method = deflated.length < e.data.length ? METHOD_DEFLATE : METHOD_STORED;
    const body = method === METHOD_DEFLATE ? deflated : e.data;
    const flags = /^[\x20-\x7e]*$/.test(e.path) ? 0 : FLAG_UTF8;
    const fields = { flags, method, time, date, crc, compressed: body.length, size: e.data.length, nameLen: name.length };

    const local = Buffer.alloc(LOCAL_LEN);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(NEEDED[method], 4);
    writeCommon(local, 6, fields);
    local.writeUInt16LE(0, 28); // extra field length

    const central = Buffer.alloc(CENTRAL_LEN);
    central.writeUInt32LE(SIG_CENTRAL, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    central.writeUInt16LE(NEEDED[method], 6);
    writeCommon(central, 8, fields);
    central.writeUInt16LE(0, 30); // extra field length
    central.writeUInt16LE(0, 32); // comment length
    central.writeUInt16LE(0, 34); // disk number start
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE((S_IFREG | (e.mode & 0o7777)) * 0x10000, 38); // external: st_mode in the high 16 bits (a multiply: << would go negative)
    if (offset > MAX_U32) throw new ZipError(`zip path '${e.path}' would start beyond 4 GiB into the archive`, NO_ZIP64);
    central.writeUInt32LE(offset, 42);

    locals.push(local, name, body);
    centrals.push(central, name);
    offset += LOCAL_LEN + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  if (offset > MAX_U32 || offset + cd.length > MAX_U32) throw new ZipError(`zip archive would be larger than 4 GiB (${offset + cd.length} bytes)`, NO_ZIP64);
  const end = Buffer.alloc(END_LEN);
  end.writeUInt32LE(SIG_END, 0);
  end.writeUInt16LE(0, 4); // number of this disk
  end.writeUInt16LE(0, 6); // disk where the central directory starts
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20); // comment length
  return Buffer.concat([...locals, cd, end]);
}

/**
 * The entries of a ZIP archive, in central-directory order, each checked
 * against its local header, inflated, and its CRC-32 and size verified.
 * Sizes and offsets come from the central directory, so entries with data
 * descriptors read too; refused are Zip64, encryption, several disks,
 * methods other than 0 and 8, and a path that extracting could put outside
 * the target directory (absolute, '..', a backslash or a drive letter). A name without the UTF-8 flag is decoded as
 * latin1 (the same as CP437 for the ASCII names other tools write). `what` names the archive
 * in errors (a file path, usually).
 */
export function readZip(buf: Buffer, what = 'zip archive'): ZipReadEntry[] {
  const bad = (why: string): ZipError => new ZipError(`${what}: ${why}`, 'the archive is damaged or was not written by pyston-build; rebuild it');
  const endAt = findEnd(buf);
  if (endAt < 0) throw bad('no end-of-central-directory record');
  const count = buf.readUInt16LE(endAt + 10);
  const cdSize = buf.readUInt32LE(endAt + 12);
  const cdAt = buf.readUInt32LE(endAt + 16);
  if (buf.readUInt16LE(endAt + 4) !== 0 || buf.readUInt16LE(endAt + 6) !== 0 || buf.readUInt16LE(endAt + 8) !== count) throw bad('spans several disks');
  if (count === 0xffff || cdSize === 0xffffffff || cdAt === 0xffffffff) throw bad('uses Zip64, which pyston-build does not read');
  if (cdAt + cdSize > endAt) throw bad(`central directory (offset ${cdAt}, ${cdSize} bytes) runs past its end record`);
  const out: ZipReadEntry[] = [];
  const seen = new Set<string>();
  let p = cdAt;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_LEN > cdAt + cdSize || buf.readUInt32LE(p) !== SIG_CENTRAL) throw bad(`central directory entry ${i} is missing or has a bad signature`);
    const madeBy = buf.readUInt16LE(p + 4) >> 8;
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const time = buf.readUInt16LE(p + 12);
    const date = buf.readUInt16LE(p + 14);
    const crc = buf.readUInt32LE(p + 16);
    const compressed = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const attr = buf.readUInt32LE(p + 38);
    const localAt = buf.readUInt32LE(p + 42);
    const nameBytes = buf.subarray(p + CENTRAL_LEN, p + CENTRAL_LEN + nameLen);
    const path = nameBytes.toString(flags & FLAG_UTF8 ? 'utf8' : 'latin1');
    p += CENTRAL_LEN + nameLen + extraLen + commentLen;
    const unsafe = unsafePath(path);
    if (unsafe) throw bad(`entry '${printable(path)}' ${unsafe}`);
    if (flags & 0x0001) throw bad(`'${path}' is encrypted`);
    if (method !== METHOD_STORED && method !== METHOD_DEFLATE) throw bad(`'${path}' uses compression method ${method}; only 0 (stored) and 8 (deflate) are read`);
    if (seen.has(path)) throw bad(`'${path}' appears twice`);
    seen.add(path);
    if (localAt + LOCAL_LEN > cdAt || buf.readUInt32LE(localAt) !== SIG_LOCAL) throw bad(`'${path}' has no local header at offset ${localAt}`);
    const lNameLen = buf.readUInt16LE(localAt + 26);
    const lExtraLen = buf.readUInt16LE(localAt + 28);
    if (buf.readUInt16LE(localAt + 8) !== method || !buf.subarray(localAt + LOCAL_LEN, localAt + LOCAL_LEN + lNameLen).equals(nameBytes))
      throw bad(`'${path}': its local header disagrees with the central directory`);
    const dataAt = localAt + LOCAL_LEN + lNameLen + lExtraLen;
    if (dataAt + compressed > cdAt) throw bad(`'${path}': its ${compressed} bytes of data run into the central directory`);
    const raw = buf.subarray(dataAt, dataAt + compressed);
    let data: Buffer;
    try {
      data = method === METHOD_DEFLATE ? inflateRawSync(raw) : Buffer.from(raw);
    } catch (e) {
      throw bad(`'${path}' does not inflate (${e instanceof Error ? e.message : String(e)})`);
    }
    if (data.length !== size) throw bad(`'${path}' is ${data.length} bytes, the directory says ${size}`);
    if (crc32(data) !== crc) throw bad(`'${path}' fails its CRC-32 check`);
    const unixMode = madeBy === 3 ? attr >>> 16 : 0;
    out.push({ path, mode: unixMode & 0o7777, type: unixMode & 0o170000, data, method, mtime: fromDos(time, date), flags, madeBy });
  }
  return out;
}

/** The MS-DOS time and date fields for `epoch` (UTC), clamped to what they can hold. */
export function dosDateTime(epoch: number): { time: number; date: number } {
  const clamped = Math.min(Math.max(epoch, DOS_EPOCH_MIN), DOS_EPOCH_MAX);
  const d = new Date(clamped * 1000);
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  return { time, date };
}

function fromDos(time: number, date: number): number {
  return Date.UTC((date >> 9) + 1980, ((date >> 5) & 0xf) - 1, date & 0x1f, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2) / 1000;
}

/** The fields local and central headers share, from version-needed's end: flags .. name length. */
function writeCommon(b: Buffer, at: number, f: { flags: number; method: number; time: number; date: number; crc: number; compressed: number; size: number; nameLen: number }): void {
  b.writeUInt16LE(f.flags, at);
  b.writeUInt16LE(f.method, at + 2);
  b.writeUInt16LE(f.time, at + 4);
  b.writeUInt16LE(f.date, at + 6);
  b.writeUInt32LE(f.crc, at + 8);
  b.writeUInt32LE(f.compressed, at + 12);
  b.writeUInt32LE(f.size, at + 16);
  b.writeUInt16LE(f.nameLen, at + 20);
}

/** Why extracting `path` could write outside the target directory (or it names nothing), or undefined when it cannot. */
function unsafePath(path: string): string | undefined {
  if (path === '') return 'is empty';
  if (path.startsWith('/')) return 'is absolute';
  if (path.includes('\\')) return 'contains a backslash';
  if ([...path].some(isControl)) return 'contains a control character';
  if (/^[A-Za-z]:/.test(path)) return 'starts with a drive letter';
  if (path.split('/').includes('..')) return "has a '..' segment";
  return undefined;
}

/** A C0 control character or DEL. */
function isControl(c: string): boolean {
  const n = c.charCodeAt(0);
  return n < 0x20 || n === 0x7f;
}

/** `path` with control characters shown as '?', for a one-line message. */
function printable(path: string): string {
  return [...path].map((c) => (isControl(c) ? '?' : c)).join('');
}

/** The UTF-8 bytes of a valid entry path, or a ZipError naming what is wrong with it. */
function checkPath(path: string): Buffer {
  const bad = (why: string): ZipError =>
    new ZipError(`zip path '${printable(path)}' ${why}`, "archive paths are relative and '/'-separated, without '..', '.', empty segments, backslashes or control characters");
  const unsafe = unsafePath(path);
  if (unsafe) throw bad(unsafe);
  const parts = path.split('/');
  if (parts.includes('.')) throw bad("has a '.' segment");
  if (parts.includes('')) throw bad(path.endsWith('/') ? "ends in '/' (only files are archived)" : "has an empty segment ('//')");
  if (path !== path.normalize('NFC')) throw bad('is not in Unicode normal form C');
  const name = Buffer.from(path, 'utf8');
  if (name.length > 0xffff) throw bad(`is ${name.length} bytes long, more than a zip name holds (65535)`);
  return name;
}

/** Offset of the end-of-central-directory record: the last signature whose comment length reaches the end exactly. */
function findEnd(buf: Buffer): number {
  const lowest = Math.max(0, buf.length - END_LEN - 0xffff);
  for (let i = buf.length - END_LEN; i >= lowest; i--) {
    if (buf.readUInt32LE(i) === SIG_END && i + END_LEN + buf.readUInt16LE(i + 20) === buf.length) return i;
  }
  return -1;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO 3309, reflected polynomial 0xEDB88320), as zip and gzip use it. */
export function crc32(data: Buffer): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
