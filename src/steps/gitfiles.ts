/**
 * What a git checkout says about its submodules, read from its files
 * without running git: the graph is built without running any tool, and a
 * task's key must be known before anything runs.
 *
 *   - {@link gitDirOf}: the checkout's git directory (`.git`, or the
 *     directory a `.git` file names, as in a worktree or a submodule);
 *   - {@link readGitmodules}: the `[submodule "NAME"]` sections of
 *     `.gitmodules` (name, path, url);
 *   - {@link readGitlinks}: the gitlinks (mode 160000) of the index, path ->
 *     commit. The index, as `git submodule update` reads it: a gitlink staged
 *     but not yet committed counts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { PbError, errorMessage } from '../graph/index.js';

/** The git directory of checkout `dir`, or undefined when `dir` is not a git checkout. */
export function gitDirOf(dir: string): string | undefined {
  const dotGit = join(dir, '.git');
  let st: import('node:fs').Stats;
  try {
    st = statSync(dotGit);
  } catch {
    return undefined;
  }
  if (st.isDirectory()) return dotGit;
  const m = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, 'utf8'));
  if (!m) throw new PbError(`${dotGit} is neither a directory nor a 'gitdir: PATH' file`, `repair the checkout (git rev-parse --git-dir in ${dir} says what git makes of it)`);
  return isAbsolute(m[1]!) ? m[1]! : resolve(dir, m[1]!);
}

export interface SubmoduleEntry {
  readonly name: string;
  readonly path: string;
  readonly url: string;
}

/** Unquote a git-config value: double quotes, and the \" \\ \t \n escapes. Comments (# ;) outside quotes end it. */
function configValue(raw: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && i + 1 < raw.length) {
      const n = raw[++i]!;
      out += n === 't' ? '\t' : n === 'n' ? '\n' : n;
    } else if (!quoted && (c === '#' || c === ';')) break;
    else out += c;
  }
  return out.trim();
}

/** The submodules `.gitmodules` in `dir` declares (empty when it has none). Entries without a path or url are left out. */
export function readGitmodules(dir: string): SubmoduleEntry[] {
  const file = join(dir, '.gitmodules');
  if (!existsSync(file)) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PbError(`cannot read ${file}: ${errorMessage(e)}`, 'check its permissions');
  }
  const found = new Map<string, { path?: string; url?: string }>();
  let current: { path?: string; url?: string } | undefined;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) continue;
    const section = /^\[\s*submodule\s+"((?:[^"\\]|\\.)*)"\s*\]/i.exec(t);
    if (section) {
      const name = section[1]!.replace(/\\(.)/g, '$1');
      current = found.get(name) ?? {};
      found.set(name, current);
      continue;
    }
    if (t.startsWith('[')) {
      current = undefined;
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9-]*)\s*=\s*(.*)$/.exec(t);
    if (!current || !kv) continue;
    const key = kv[1]!.toLowerCase();
    if (key === 'path') current.path = configValue(kv[2]!).replace(/\/+$/, '');
    else if (key === 'url') current.url = configValue(kv[2]!);
  }
  return [...found].flatMap(([name, v]) => (v.path && v.url ? [{ name, path: v.path, url: v.url }] : []));
}

const GITLINK = 0o160000;

/**
 * The gitlinks of the index in `gitDir` (path -> commit), read from the
 * index file (versions 2, 3 and 4). No index: none. A split or sparse
 * index is refused with a hint: its gitlinks may live in another file.
 */
export function readGitlinks(gitDir: string): Map<string, string> {
  const file = join(gitDir, 'index');
  const links = new Map<string, string>();
  if (!existsSync(file)) return links;
  const bad = (what: string): PbError => new PbError(`${file}: ${what}`, 'run git status in the checkout (it rewrites the index), then try again');
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new PbError(`cannot read ${file}: ${errorMessage(e)}`, 'check its permissions');
  }
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'DIRC') throw bad('not a git index (no DIRC signature)');
  const version = buf.readUInt32BE(4);
  if (version < 2 || version > 4) throw bad(`index version ${version} is not one pyston-build reads (2, 3 or 4)`);
  const count = buf.readUInt32BE(8);
  let pos = 12;
  let prev = '';
  for (let i = 0; i < count; i++) {
    const start = pos;
    if (pos + 62 > buf.length) throw bad('truncated');
    const mode = buf.readUInt32BE(pos + 24);
    const flags = buf.readUInt16BE(pos + 60);
    const link = (mode & 0o170000) === GITLINK && ((flags >> 12) & 3) === 0;
    pos += 62;
    if (version >= 3 && flags & 0x4000) pos += 2;
    let path: string;
    if (version === 4) {
      // Prefix compression: drop N bytes from the end of the previous path, then a NUL-terminated suffix.
      let c = buf[pos++]!;
      let strip = c & 0x7f;
      while (c & 0x80) {
        c = buf[pos++]!;
        strip = ((strip + 1) << 7) | (c & 0x7f);
      }
      const end = buf.indexOf(0, pos);
      if (end < 0) throw bad('truncated');
      path = prev.slice(0, prev.length - strip) + buf.toString('utf8', pos, end);
      pos = end + 1;
    } else {
      // The name's length is in the flags (0xfff: that long or longer); only a gitlink's name is decoded.
      const short = (flags & 0xfff) < 0xfff;
      const end = short ? pos + (flags & 0xfff) : buf.indexOf(0, pos);
      if (end < 0 || end >= buf.length || buf[end] !== 0) throw bad('truncated');
      path = link ? buf.toString('utf8', pos, end) : '';
      // Entries are NUL-padded to a multiple of 8 bytes (at least one NUL).
      pos = start + Math.ceil((end + 1 - start) / 8) * 8;
    }
    prev = path;
    if (link) links.set(path, buf.toString('hex', start + 40, start + 60));
  }
  // Extensions: a 4-byte signature and a 4-byte size each, up to the trailing checksum.
  while (pos + 8 <= buf.length - 20) {
    const sig = buf.toString('latin1', pos, pos + 4);
    if (sig === 'link') throw new PbError(`${file} is a split index: its gitlinks may be in another file`, 'turn it off in the checkout: git update-index --no-split-index');
    if (sig === 'sdir') throw new PbError(`${file} is a sparse index: gitlinks may be folded into directories`, 'turn it off in the checkout: git sparse-checkout init --no-sparse-index');
    pos += 8 + buf.readUInt32BE(pos + 4);
  }
  return links;
}
