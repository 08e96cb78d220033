/**
 * Wheel files (PEP 427, the binary distribution format), written by us and
 * reproducible.
 *
 * A wheel is a ZIP ({@link writeZip}) holding the files to install and one
 * `{name}-{version}.dist-info/` directory with:
 *   - METADATA: core metadata 2.1, as RFC 822 style headers, the
 *     description as the message body;
 *   - WHEEL: `Wheel-Version: 1.0`, `Generator`, `Root-Is-Purelib` and one
 *     `Tag:` line per tag;
 *   - RECORD: one CSV line `path,sha256=<urlsafe base64, no padding>,size`
 *     per file, and `RECORD,,` for itself. It is computed from the final
 *     bytes of every file, so it is built last, after any BOLT step changed
 *     the `.so`.
 *
 * Entry order: the payload files sorted by the bytes of their UTF-8 path,
 * then the dist-info files METADATA, WHEEL and RECORD, RECORD last. That is
 * the order pip and `python -m wheel unpack` are happiest with (dist-info
 * last, RECORD the very last entry, so a streaming reader has seen every
 * file before it reads their hashes), and it does not depend on the order
 * the caller lists files in. Modes are normalised to 0755 when any execute
 * bit is set and 0644 otherwise; every entry carries the same timestamp,
 * SOURCE_DATE_EPOCH clamped to 1980 or later. The same spec always gives
 * the same bytes.
 */
import { createHash } from 'node:crypto';
import { TaskFailure } from '../../graph/errors.js';
import { readZip, writeZip, type ZipEntry, type ZipReadEntry } from './zip.js';

/** A wheel that cannot be assembled: a bad name, version, tag or file. A build failure, with its fix. */
export class WheelError extends TaskFailure {
  constructor(
    message: string,
    override readonly hint: string,
  ) {
    super(message, hint);
  }
}

/** Core metadata (METADATA, version 2.1). Every field but `description` is one line. */
export interface WheelMetadata {
  /** The distribution name as published, e.g. `pyston_lite` (PEP 508 name: letters, digits, '-', '_', '.'). */
  name: string;
  /** A normalised PEP 440 version, e.g. `2.3.5`, `1.0rc1`, `1.0.post2`, `1.0+local`. */
  version: string;
  summary: string;
  homepage?: string;
  author?: string;
  license?: string;
  /** A specifier such as `>=3.7,<3.11`. */
  requiresPython?: string;
  /** PEP 508 requirements, one `Requires-Dist:` line each, in the order given, e.g. `pyston_lite==2.3.5`. */
  requiresDist?: readonly string[];
  /** The long description, written as the METADATA body. */
  description?: string;
  /** e.g. `text/markdown`. */
  descriptionContentType?: string;
}

/** A file to install, by its path inside the wheel ('/'-separated). */
export interface WheelFile {
  path: string;
  data: Buffer;
  /** Only whether any execute bit is set matters: the wheel gets 0755 or 0644. */
  mode: number;
}

export interface WheelSpec {
  meta: WheelMetadata;
  /** Full tags, e.g. `cp38-cp38-manylinux_2_17_x86_64` or `py3-none-any`; written as `Tag:` lines in this order. */
  tags: readonly string[];
  /** true for pure-Python wheels (files go to purelib), false for wheels with extension modules (platlib). */
  rootIsPurelib: boolean;
  /** The `Generator:` line, e.g. `pyston-build 0.1.0`. */
  generator: string;
  files: readonly WheelFile[];
  /** SOURCE_DATE_EPOCH: seconds since the Unix epoch; clamped to 1980-01-01 or later in the archive. */
  mtime: number;
}

export interface BuiltWheel {
  /** `{name}-{version}-{py}-{abi}-{plat}.whl`. */
  fileName: string;
  /** The wheel's bytes. */
  data: Buffer;
  /** The RECORD file's text, as written into the wheel. */
  record: string;
  /** The sha256 of `data`, lowercase hex (what SHA256SUMS lists). */
  sha256: string;
}

/** PEP 508 distribution name: starts and ends with a letter or digit, with letters, digits, '-', '_' and '.' between. */
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
/**
 * A PEP 440 version in its normalised form: an optional epoch, a release of
 * dot-separated numbers, an optional a/b/rc pre-release, .postN, .devN and a
 * +local label. Spellings that normalise to one of these ('1.0-1', '1.0alpha1',
 * 'v1.0') are refused rather than silently rewritten, so the file name and
 * METADATA always say what the caller passed.
 */
const VERSION = /^(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?(?:\+[a-z0-9]+(?:\.[a-z0-9]+)*)?$/;
/** One part of a tag (`cp38`, `abi3`, `manylinux_2_17_x86_64`): no '-' (it separates parts) and no '.' (it joins compressed tag sets in file names). */
const TAG_PART = /^[A-Za-z0-9_]+$/;

/** PEP 427 escaping of a name for file and directory names: each run of '-', '_' and '.' becomes one '_'; case is kept. */
export function distName(name: string): string {
  return name.replace(/[-_.]+/g, '_');
}

/** A RECORD hash: `sha256=` and the digest in URL-safe base64 without '=' padding. */
export function recordHash(data: Buffer): string {
  return `sha256=${createHash('sha256').update(data).digest('base64url')}`;
}

/**
 * The wheel's file name. Several tags are written as one compressed tag set
 * (PEP 425): the distinct python, abi and platform parts, each joined by '.'
 * in the order they first appear, e.g. `cp38-cp38-manylinux_2_17_x86_64` and
 * `cp38-cp38-manylinux2014_x86_64` give `...-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl`.
 * The tags must then be exactly every combination of those parts; a set that
 * no one file name can express (e.g. `cp38-cp38-linux_x86_64` with `py3-none-any`) is refused.
 */
export function wheelFileName(meta: WheelMetadata, tags: readonly string[]): string {
  checkMeta(meta);
  const parsed = parseTags(tags);
  const sets = [0, 1, 2].map((i) => [...new Set(parsed.map((t) => t[i]!))]);
  const [py, abi, plat] = sets as [string[], string[], string[]];
  if (py.length * abi.length * plat.length !== parsed.length)
    throw new WheelError(
      `wheel tags ${tags.join(', ')} are not every combination of their python (${py.join('.')}), abi (${abi.join('.')}) and platform (${plat.join('.')}) parts, so no one file name can carry them`,
      'build one wheel per tag family, or add the missing combinations',
    );
  return `${distName(meta.name)}-${meta.version}-${py.join('.')}-${abi.join('.')}-${plat.join('.')}.whl`;
}

/** The `{name}-{version}.dist-info` directory name. */
export function distInfoDir(meta: WheelMetadata): string {
  return `${distName(meta.name)}-${meta.version}.dist-info`;
}

/** Assemble the wheel: payload sorted, METADATA, WHEEL, then RECORD over everything, zipped reproducibly. */
export function buildWheel(spec: WheelSpec): BuiltWheel {
  const fileName = wheelFileName(spec.meta, spec.tags);
  oneLine('generator', spec.generator);
  const distInfo = distInfoDir(spec.meta);
  const payload = spec.files.map((f) => {
    const top = f.path.split('/')[0] ?? '';
    if (top.endsWith('.dist-info')) throw new WheelError(`wheel file '${f.path}' lies in a .dist-info directory`, `pyston-build writes ${distInfo}/ itself; leave the dist-info out of the files`);
    if (!Number.isInteger(f.mode) || f.mode < 0) throw new WheelError(`wheel file '${f.path}' has a mode that is not a non-negative integer (${f.mode})`, 'pass the file mode, e.g. 0o644 or 0o755');
    return { path: f.path, data: f.data, mode: f.mode & 0o111 ? 0o755 : 0o644 };
  });
  payload.sort((a, b) => Buffer.compare(Buffer.from(a.path, 'utf8'), Buffer.from(b.path, 'utf8')));
  const entries: ZipEntry[] = [
    ...payload,
    { path: `${distInfo}/METADATA`, data: Buffer.from(metadataText(spec.meta), 'utf8'), mode: 0o644 },
    { path: `${distInfo}/WHEEL`, data: Buffer.from(wheelText(spec), 'utf8'), mode: 0o644 },
  ];
  const recordPath = `${distInfo}/RECORD`;
  const record = [...entries.map((e) => `${csvField(e.path)},${recordHash(e.data)},${e.data.length}`), `${csvField(recordPath)},,`].join('\n') + '\n';
  entries.push({ path: recordPath, data: Buffer.from(record, 'utf8'), mode: 0o644 });
  const data = writeZip(entries, spec.mtime);
  return { fileName, data, record, sha256: createHash('sha256').update(data).digest('hex') };
}

/** METADATA text (core metadata 2.1). */
export function metadataText(meta: WheelMetadata): string {
  checkMeta(meta);
  const lines = ['Metadata-Version: 2.1', `Name: ${meta.name}`, `Version: ${meta.version}`, `Summary: ${oneLine('summary', meta.summary)}`];
  const optional: [string, string | undefined, string][] = [
    ['Home-page', meta.homepage, 'homepage'],
    ['Author', meta.author, 'author'],
    ['License', meta.license, 'license'],
    ['Requires-Python', meta.requiresPython, 'requiresPython'],
  ];
  for (const [field, value, key] of optional) if (value !== undefined) lines.push(`${field}: ${oneLine(key, value)}`);
  for (const req of meta.requiresDist ?? []) {
    if (req.trim() === '') throw new WheelError(`wheel '${meta.name}' has an empty requiresDist entry`, "write each requirement as a PEP 508 string such as 'pyston_lite==2.3.5'");
    lines.push(`Requires-Dist: ${oneLine('requiresDist', req)}`);
  }
  if (meta.descriptionContentType !== undefined) lines.push(`Description-Content-Type: ${oneLine('descriptionContentType', meta.descriptionContentType)}`);
  let text = lines.join('\n') + '\n';
  if (meta.description !== undefined && meta.description !== '') {
    const body = meta.description.replace(/\r\n?/g, '\n');
    text += '\n' + body + (body.endsWith('\n') ? '' : '\n');
  }
  return text;
}

/** WHEEL text. */
function wheelText(spec: WheelSpec): string {
  const lines = ['Wheel-Version: 1.0', `Generator: ${spec.generator}`, `Root-Is-Purelib: ${spec.rootIsPurelib ? 'true' : 'false'}`, ...spec.tags.map((t) => `Tag: ${t}`)];
  return lines.join('\n') + '\n';
}

function checkMeta(meta: WheelMetadata): void {
  if (!NAME.test(meta.name))
    throw new WheelError(`wheel name '${meta.name}' is not a valid distribution name`, "use letters, digits, '-', '_' and '.', starting and ending with a letter or digit (e.g. 'pyston_lite')");
  if (!VERSION.test(meta.version))
    throw new WheelError(
      `wheel version '${meta.version}' of '${meta.name}' is not a normalised PEP 440 version`,
      "write it like '2.3.5', '1.0rc1', '1.0.post2' or '1.0+local1': no spaces, no '-', no leading 'v'",
    );
}

function parseTags(tags: readonly string[]): [string, string, string][] {
  if (tags.length === 0) throw new WheelError('wheel has no tags', "give at least one full tag, e.g. 'py3-none-any' or 'cp38-cp38-manylinux_2_17_x86_64'");
  const seen = new Set<string>();
  return tags.map((tag) => {
    const parts = tag.split('-');
    if (parts.length !== 3 || !parts.every((p) => TAG_PART.test(p)))
      throw new WheelError(`wheel tag '${tag}' is not python-abi-platform`, "a tag is three '-'-separated parts of letters, digits and '_', e.g. 'cp38-cp38-manylinux_2_17_x86_64'");
    if (seen.has(tag)) throw new WheelError(`wheel tag '${tag}' is listed twice`, 'list each tag once');
    seen.add(tag);
    return parts as [string, string, string];
  });
}

/** `value`, or a WheelError when a line break or NUL would break the header format. */
function oneLine(field: string, value: string): string {
  if (/[\r\n\0]/.test(value))
    throw new WheelError(`wheel ${field} '${value.replace(/\r?\n/g, '\\n').replace(/\0/g, '\\0')}' spans several lines`, `write ${field} on one line (only the description may have line breaks)`);
  return value;
}

/** What {@link readWheel} found in a wheel that passed its checks. */
export interface WheelContents {
  /** `{name}-{version}.dist-info`. */
  distInfo: string;
  /** The `Tag:` lines of WHEEL, in order. */
  tags: string[];
  rootIsPurelib: boolean;
  /** Every entry, RECORD included, in archive order. */
  entries: ZipReadEntry[];
}

/**
 * Read a wheel and check it the way a verifier before publishing must: the
 * file name parses; its dist-info holds METADATA, WHEEL and RECORD, and no
 * other dist-info exists; METADATA's Name and Version and WHEEL's tags agree
 * with the file name; RECORD is the last entry and lists every entry exactly
 * once, each with the sha256 and size of its contents (RECORD itself with
 * neither) and nothing that is not in the archive. Any mismatch is a
 * WheelError naming the wheel and the entry. (`python3 -m wheel unpack`
 * checks the hashes too, but neither sizes nor RECORD lines without a file.)
 */
export function readWheel(data: Buffer, fileName: string): WheelContents {
  const fail = (why: string, hint = 'rebuild the wheel with pyston-build: RECORD must be written last, after every change to the files'): WheelError => new WheelError(`${fileName}: ${why}`, hint);
  const m = /^([^-]+)-([^-]+)(?:-[0-9][^-]*)?-([^-]+)-([^-]+)-([^-]+)\.whl$/.exec(fileName.split('/').pop() ?? '');
  if (!m) throw fail('is not a wheel file name {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl', 'name the file as wheelFileName() does');
  const [, name, version, py, abi, plat] = m as unknown as [string, string, string, string, string, string];
  const entries = readZip(data, fileName);
  const distInfo = `${name}-${version}.dist-info`;
  const others = [...new Set(entries.map((e) => e.path.split('/')[0]!).filter((top) => top.endsWith('.dist-info') && top !== distInfo))];
  if (others.length > 0) throw fail(`holds '${others[0]}/', another dist-info than '${distInfo}/'`);
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const text = (f: string): string => {
    const e = byPath.get(`${distInfo}/${f}`);
    if (!e) throw fail(`has no ${distInfo}/${f}`);
    return e.data.toString('utf8');
  };
  const headers = (f: string): [string, string][] =>
    text(f)
      .split('\n\n')[0]!
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const i = l.indexOf(': ');
        return [l.slice(0, i), l.slice(i + 2)];
      });
  const meta = headers('METADATA');
  const field = (key: string): string | undefined => meta.find(([k]) => k === key)?.[1];
  if (distName(field('Name') ?? '') !== name || field('Version') !== version) throw fail(`METADATA says Name '${field('Name')}', Version '${field('Version')}', the file name '${name}', '${version}'`);
  const wheel = headers('WHEEL');
  if (!wheel.some(([k, v]) => k === 'Wheel-Version' && v === '1.0')) throw fail('WHEEL has no "Wheel-Version: 1.0"');
  const tags = wheel.filter(([k]) => k === 'Tag').map(([, v]) => v);
  const expanded = py.split('.').flatMap((p) => abi.split('.').flatMap((a) => plat.split('.').map((pl) => `${p}-${a}-${pl}`)));
  if ([...tags].sort().join(' ') !== [...expanded].sort().join(' ')) throw fail(`WHEEL's tags (${tags.join(', ')}) are not the file name's (${expanded.join(', ')})`);
  const recordPath = `${distInfo}/RECORD`;
  const record = text('RECORD');
  if (entries.at(-1)!.path !== recordPath) throw fail(`'${entries.at(-1)!.path}' comes after RECORD, which must be the last entry`);
  const listed = new Set<string>();
  for (const [i, line] of record.replace(/\n$/, '').split('\n').entries()) {
    const row = parseCsvLine(line);
    if (row?.length !== 3) throw fail(`RECORD line ${i + 1} is not path,hash,size: ${JSON.stringify(line)}`);
    const [path, hash, size] = row as [string, string, string];
    if (listed.has(path)) throw fail(`RECORD lists '${path}' twice`);
    listed.add(path);
    const e = byPath.get(path);
    if (!e) throw fail(`RECORD lists '${path}', which is not in the wheel`);
    if (path === recordPath) {
      if (hash !== '' || size !== '') throw fail('RECORD gives itself a hash or size');
      continue;
    }
    const want = recordHash(e.data);
    if (hash !== want) throw fail(`RECORD says '${path}' has ${hash || 'no hash'}, its contents hash to ${want}`);
    if (size !== String(e.data.length)) throw fail(`RECORD says '${path}' is ${size || 'no'} bytes, it is ${e.data.length}`);
  }
  const unlisted = entries.find((e) => !listed.has(e.path));
  if (unlisted) throw fail(`'${unlisted.path}' is not listed in RECORD`);
  return { distInfo, tags, rootIsPurelib: wheel.some(([k, v]) => k === 'Root-Is-Purelib' && v === 'true'), entries };
}

/** One CSV line as Python's csv module writes it (fields quoted when needed, '"' doubled inside quotes), or undefined when it is malformed. */
function parseCsvLine(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let value = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return undefined;
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      if (i < line.length && line[i] !== ',') return undefined;
    } else {
      const c = line.indexOf(',', i);
      value = line.slice(i, c < 0 ? line.length : c);
      if (value.includes('"')) return undefined;
      i = c < 0 ? line.length : c;
    }
    out.push(value);
    if (i >= line.length) return out;
    i++; // past ','
  }
}

/** A RECORD CSV field: quoted, with '"' doubled, when it holds ',' or '"' (what Python's csv module reads back). */
function csvField(s: string): string {
  return /[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
