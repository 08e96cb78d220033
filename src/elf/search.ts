/**
 * Which file the dynamic loader would load for a DT_NEEDED name, found by
 * reading files only (no ldd, which runs the binary's loader): the ELF's
 * RPATH (when it has no RUNPATH), its RUNPATH, then the system path from
 * /etc/ld.so.conf and the multiarch defaults (ld.so(8)). Used by the .deb's
 * Depends and by the portable directory's library closure.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { GLOB_FILE_NAME, globRegExp, PbError } from '../graph/index.js';
import { ARCH_NAMES, archInfo, hostArch } from '../debian/arch.js';
import type { ElfFile } from './reader.js';

/** The build machine's GNU triplet. */
function hostTriplet(): string {
  const host = hostArch();
  if (host === undefined) throw new PbError(`the build machine's architecture is none of those pyston-build knows (${ARCH_NAMES.join(', ')})`, 'build on one of them');
  return archInfo(host).triplet;
}

/**
 * The system library search path for the loader: the directories of
 * /etc/ld.so.conf (following its `include` globs, as ldconfig does), then
 * the multiarch defaults /lib/<triplet>, /usr/lib/<triplet>, /lib, /usr/lib.
 * Reads the files, runs no tool. Under another `root` (a sysroot, or a fake
 * tree in a test) the configuration is read there and the directories are
 * returned inside it. The triplet is the release architecture's
 * (`archInfo(arch).triplet`); it defaults to the build machine's.
 */
export function librarySearchPath(root = '/', triplet: string = hostTriplet()): string[] {
  const dirs: string[] = [];
  readLdSoConf(root, '/etc/ld.so.conf', dirs, new Set());
  dirs.push(`/lib/${triplet}`, `/usr/lib/${triplet}`, '/lib', '/usr/lib');
  const seen = new Set<string>();
  const out: string[] = [];
  for (const d of dirs) {
    const full = join(root, d);
    if (seen.has(full)) continue;
    seen.add(full);
    out.push(full);
  }
  return out;
}

/**
 * One configuration file, after glibc's ldconfig (parse_conf): `#` starts a
 * comment, `include` takes white-space separated glob patterns (relative
 * ones are relative to the including file's directory), `hwcap` lines are
 * obsolete and ignored, every other line is one directory. A file that is
 * missing contributes nothing, as for ldconfig; an include loop stops at the
 * second visit.
 */
function readLdSoConf(root: string, file: string, dirs: string[], visiting: Set<string>): void {
  if (visiting.has(file)) return;
  visiting.add(file);
  let text: string;
  try {
    text = readFileSync(join(root, file), 'utf8');
  } catch {
    return;
  }
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const include = /^include\s+(.*)$/.exec(line);
    if (include) {
      for (const pattern of include[1]!.split(/\s+/)) {
        const abs = posix.isAbsolute(pattern) ? pattern : posix.join(posix.dirname(file), pattern);
        for (const f of expandGlob(root, abs)) readLdSoConf(root, f, dirs, visiting);
      }
      continue;
    }
    if (/^hwcap\s/.test(line)) continue;
    // libc5-era `dir=type` entries: the type is ignored, the directory kept.
    const dir = line.replace(/=.*$/, '').replace(/\/+$/, '');
    if (dir !== '') dirs.push(dir);
  }
}

/** glob(3) for absolute patterns with `*`, `?` and `[...]` (a wildcard matches no leading dot), sorted; paths are returned relative to `root`. */
function expandGlob(root: string, pattern: string): string[] {
  let found = ['/'];
  for (const part of pattern.split('/').filter((p) => p !== '')) {
    const next: string[] = [];
    if (!/[*?[]/.test(part)) {
      for (const f of found) next.push(posix.join(f, part));
    } else {
      const re = globRegExp(part, GLOB_FILE_NAME);
      for (const f of found) {
        let names: string[];
        try {
          names = readdirSync(join(root, f));
        } catch {
          continue;
        }
        for (const n of names.sort()) if (re.test(n)) next.push(posix.join(f, n));
      }
    }
    found = next;
  }
  return found.filter((f) => {
    try {
      statSync(join(root, f));
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The file the loader would load for `soname` on behalf of `from`, as
 * ld.so(8) searches: DT_RPATH (only when there is no DT_RUNPATH), then
 * DT_RUNPATH, then `searchPath`. LD_LIBRARY_PATH is ignored: it belongs to
 * the build machine, not the machine that installs the package. `$ORIGIN`
 * (or `${ORIGIN}`) expands to the directory of `from`; other tokens ($LIB,
 * $PLATFORM) are left as they are and so match nothing. A file counts only
 * when its ELF class and machine are those of `from`, the way the loader
 * skips a 32-bit libc in a 64-bit process. Returns an absolute path.
 */
export function resolveLibrary(soname: string, from: ElfFile, searchPath: readonly string[]): string | undefined {
  if (soname.includes('/')) {
    const p = resolve(dirname(resolve(from.path)), soname);
    return matchesElf(p, from) ? p : undefined;
  }
  const origin = dirname(resolve(from.path));
  const split = (list: string | undefined): string[] =>
    (list ?? '')
      .split(':')
      .filter((d) => d !== '')
      .map((d) => d.replace(/\$(ORIGIN\b|\{ORIGIN\})/g, origin));
  const dirs = [...(from.runpath === undefined ? split(from.rpath) : []), ...split(from.runpath), ...searchPath];
  for (const d of dirs) {
    const p = resolve(d, soname);
    if (matchesElf(p, from)) return p;
  }
  return undefined;
}

/** A regular file (after symlinks) whose ELF header has the class and machine of `elf`. Reads 20 bytes. */
function matchesElf(path: string, elf: ElfFile): boolean {
  let fd: number | undefined;
  try {
    if (!statSync(path).isFile()) return false;
    fd = openSync(path, 'r');
    const h = Buffer.alloc(20);
    if (readSync(fd, h, 0, 20, 0) < 20) return false;
    if (h[0] !== 0x7f || h[1] !== 0x45 || h[2] !== 0x4c || h[3] !== 0x46) return false;
    const cls = h[4] === 2 ? 64 : h[4] === 1 ? 32 : 0;
    const machine = h[5] === 2 ? h.readUInt16BE(18) : h.readUInt16LE(18);
    return cls === elf.class && machine === elf.machine;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
