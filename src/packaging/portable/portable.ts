/**
 * The portable directory: the staged release tree made to run from any
 * path on any glibc Linux of the same architecture, with nothing but glibc
 * from the host.
 *
 * - The ELF closure of the interpreter and of every extension module is
 *   resolved by our own ELF reader against the loader's search path (no
 *   ldd: it runs the binary's loader). Every library outside the glibc
 *   allow-list is copied into `lib/`, with its Debian copyright file beside
 *   it, and every ELF that needs one gets a RUNPATH relative to $ORIGIN
 *   (patchelf).
 * - Console scripts (pip, pydoc, idle, 2to3) get a launcher that finds the
 *   interpreter next to itself, so `bin/pip` works wherever the directory
 *   is moved. (Pyston's make_portable_dir.py deletes pip instead.)
 * - Top-level links `python3` and `python3.X` point at the interpreter.
 */
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, lstatSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { TaskFailure, type TaskContext, type ToolRef } from '../../graph/index.js';
import { readElf, type ElfFile } from '../../elf/reader.js';
import { DpkgDb } from '../../debian/dpkg.js';
import { librarySearchPath, resolveLibrary } from '../../elf/search.js';
import { listElves } from '../files.js';
import { PYTHON_SHEBANG } from '../stage.js';

export const PATCHELF: ToolRef = { name: 'patchelf', package: 'patchelf' };

/**
 * Libraries every glibc system has, which must never be bundled: glibc's
 * own (a bundled libc would not match the host's loader) and the loader.
 * The same set python-build-standalone allows.
 */
export const GLIBC_ALLOW: ReadonlySet<string> = new Set([
  'ld-linux-x86-64.so.2',
  'ld-linux-aarch64.so.1',
  'ld-linux-armhf.so.3',
  'ld64.so.2',
  'ld64.so.1',
  'ld-linux-riscv64-lp64d.so.1',
  'linux-vdso.so.1',
  'libc.so.6',
  'libm.so.6',
  'libmvec.so.1',
  'libpthread.so.0',
  'libdl.so.2',
  'librt.so.1',
  'libutil.so.1',
  'libresolv.so.2',
  'libanl.so.1',
  'libnsl.so.1',
]);

export interface Bundled {
  readonly soname: string;
  /** Where it came from on the build machine. */
  readonly from: string;
  /** The Debian package that provided it. */
  readonly package: string;
}

export interface PortableReport {
  readonly bundled: readonly Bundled[];
  readonly runpaths: Readonly<Record<string, string>>;
  readonly launchers: readonly string[];
  readonly links: readonly string[];
}

/**
 * A launcher that is a shell script and a Python program at once. sh reads
 * `"true" '''\'` as a no-op command, then the next two lines: find the
 * directory the script really lives in (through links) and exec the
 * interpreter there with the script itself. Python reads the same first
 * lines as one string expression (`"true"` joined to a triple-quoted string
 * that ends at the closing `'''`), then the original script body.
 */
export function relocatableScript(body: string, interpreterName: string): string {
  const nl = body.indexOf('\n');
  const rest = nl < 0 ? '' : body.slice(nl + 1);
  return ['#!/bin/sh', `"true" '''\\'`, 'here=$(dirname -- "$(readlink -f -- "$0")")', `exec "$here/${interpreterName}" "$0" "$@"`, "'''", rest].join('\n');
}

export interface PortableOptions {
  /** The staged tree's prefix directory (bin/, lib/, ...). */
  readonly stagePrefix: string;
  /** The portable directory to make. Replaced whole. */
  readonly outDir: string;
  /** The interpreter, relative to the prefix (bin/python3.11): console scripts launch it, the top-level links point at it. */
  readonly interpreter: string;
  /** Top-level link names. */
  readonly links: readonly string[];
  /** dpkg's admin directory (tests). */
  readonly admindir?: string;
  /** The GNU triplet of the release's architecture: where its libraries are looked up (/usr/lib/<triplet>). Default: the build machine's. */
  readonly triplet?: string;
}

export async function makePortable(ctx: TaskContext, o: PortableOptions): Promise<PortableReport> {
  rmSync(o.outDir, { recursive: true, force: true });
  cpSync(o.stagePrefix, o.outDir, { recursive: true, verbatimSymlinks: true });
  if (!existsSync(join(o.outDir, o.interpreter))) throw new TaskFailure(`the staged tree has no ${o.interpreter}`, 'rerun: pyston-build --force package:stage package');
  const lib = join(o.outDir, 'lib');
  const db = new DpkgDb(o.admindir);
  const searchPath = o.triplet === undefined ? librarySearchPath() : librarySearchPath('/', o.triplet);

  // The ELF files that ship, and what they need.
  const elves = new Map<string, ElfFile>(listElves(o.outDir).map((e) => [e.path, e]));
  const shipped = new Set([...elves.values()].map((e) => e.soname).filter((s): s is string => !!s));
  const bundled: Bundled[] = [];
  const queue = [...elves.entries()];
  while (queue.length > 0) {
    const [path, elf] = queue.shift()!;
    for (const soname of elf.needed) {
      if (GLIBC_ALLOW.has(soname) || shipped.has(soname)) continue;
      const from = resolveLibrary(soname, elf, searchPath);
      if (!from)
        throw new TaskFailure(`${relative(o.outDir, path)} needs ${soname}, which is not on this machine's library path`, `install the package that provides ${soname} (apt-file search ${soname})`);
      const real = realpathSync(from);
      const owner = db.owner(from) ?? db.owner(real);
      if (!owner)
        throw new TaskFailure(`${soname} (${real}) belongs to no Debian package, so its license is unknown`, 'install the library from a Debian package, or build without the module that needs it');
      mkdirSync(lib, { recursive: true });
      const to = join(lib, soname);
      copyFileSync(real, to);
      chmodSync(to, 0o644);
      const pkg = owner.replace(/:.*$/, ''); // libssl3:amd64 -> libssl3
      const copyright = `/usr/share/doc/${pkg}/copyright`;
      if (!existsSync(copyright))
        throw new TaskFailure(`no copyright file ${copyright} for ${soname}`, `reinstall ${pkg} (its documentation was removed: check /etc/dpkg/dpkg.cfg.d for path-exclude rules)`);
      copyFileSync(copyright, `${to}.copyright`);
      chmodSync(`${to}.copyright`, 0o644);
      shipped.add(soname);
      bundled.push({ soname, from: real, package: pkg });
      const copied = readElf(to);
      elves.set(to, copied);
      queue.push([to, copied]);
      ctx.log(`bundled ${soname} from ${real} (${pkg})`);
    }
  }

  // RUNPATH: $ORIGIN-relative, for every ELF that needs a bundled library.
  const bundledNames = new Set(bundled.map((b) => b.soname));
  const runpaths: Record<string, string> = {};
  for (const [path, elf] of [...elves.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!elf.needed.some((n) => bundledNames.has(n))) {
      if (elf.rpath || elf.runpath) await ctx.exec('patchelf', ['--remove-rpath', path], { jobserver: false });
      continue;
    }
    const rel = relative(dirname(path), lib);
    const rp = rel === '' ? '$ORIGIN' : `$ORIGIN/${rel}`;
    await ctx.exec('patchelf', ['--set-rpath', rp, path], { jobserver: false });
    runpaths[relative(o.outDir, path)] = rp;
  }

  // Console scripts that name an interpreter by absolute path.
  const launchers: string[] = [];
  const bin = join(o.outDir, 'bin');
  for (const name of readdirSync(bin).sort()) {
    const p = join(bin, name);
    if (!lstatSync(p).isFile()) continue;
    const text = readFileSync(p);
    if (text.subarray(0, 2).toString('latin1') !== '#!') continue;
    const nl = text.indexOf(10);
    if (!PYTHON_SHEBANG.test(text.toString('utf8', 0, nl < 0 ? text.length : nl))) continue;
    writeFileSync(p, relocatableScript(text.toString('utf8'), basename(o.interpreter)));
    launchers.push(`bin/${name}`);
  }

  const links = [...o.links];
  for (const l of links) {
    rmSync(join(o.outDir, l), { force: true });
    symlinkSync(o.interpreter, join(o.outDir, l));
  }
  return { bundled, runpaths, launchers, links };
}
