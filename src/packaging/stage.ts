/**
 * The staged release tree: the release variant's `make install` output made
 * fit to ship. Both the .deb and the portable directory start from it.
 *
 * What `make install` leaves that must not ship:
 * - the build machine's paths, in the sysconfig data, the config Makefile
 *   and config.c (source and build directories), in the ELF files' debug
 *   information, and in the .pyc files of what ensurepip installed (pip
 *   compiles them under DESTDIR);
 * - our PGO and BOLT flags (-fprofile-*, --emit-relocs, ...) in the sysconfig
 *   variables, where they would reach users' extension builds;
 * - pip's console scripts with a shebang pointing at `bin/python`, which
 *   `make install` does not create.
 *
 * So staging copies the tree, rewrites those text files, strips the ELF
 * files and objects (lintian's unstripped-binary-or-object), fixes the
 * shebangs, and recompiles every .pyc with the final paths and hash-based
 * invalidation (so that they stay valid whatever mtimes the archives give
 * the sources, and are the same bytes every time). Last, it scans every
 * file for the build root and fails if one still mentions it.
 */
import { chmodSync, cpSync, existsSync, lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { TaskFailure, type TaskContext, type ToolRef } from '../graph/index.js';
import { isElf, isSharedLibrary, readElf } from '../elf/reader.js';
import { listFiles, readHead } from './files.js';
import { installedNames } from './layout.js';

/**
 * Words of our own optimization pipeline that must not stay in sysconfig:
 * they name profile files, shape code for BOLT, or map our build paths.
 * (-fno-pie and -no-pie stay: they say how the core was compiled, which
 * whoever links libpython statically needs to know.)
 */
export const PIPELINE_FLAG = /^(-fprofile-.*|-W(?:no-)?missing-profile|-Wno-coverage-mismatch|-Wl,--emit-relocs|-fno-reorder-blocks-and-partition|-f(?:macro|debug|file)-prefix-map=.*)$/;

/** Remove our pipeline's words from a space-separated flags value. */
export function dropPipelineFlags(value: string): string {
  return value
    .split(/(\s+)/)
    .reduce<string[]>((out, w) => {
      if (PIPELINE_FLAG.test(w)) {
        if (out.length && /^\s+$/.test(out[out.length - 1]!)) out.pop();
        return out;
      }
      out.push(w);
      return out;
    }, [])
    .join('')
    .replace(/^\s+/, (m) => (value.startsWith(m) ? m : ''));
}

export interface StageOptions {
  /** The installed tree (DESTDIR), e.g. <root>/build/release_install. */
  readonly installRoot: string;
  /** Where the staged tree goes. Replaced whole. */
  readonly stageDir: string;
  /** The configured prefix, e.g. /usr/lib/cpython. */
  readonly prefix: string;
  /** Build-machine paths to replace with the config directory (source and build directories), longest first. */
  readonly buildPaths: readonly string[];
  /** Paths no staged file may contain (the build and source directories). */
  readonly forbidden: readonly string[];
  /**
   * llvm-strip. Not GNU strip: binutils 2.40 rewrites a BOLTed binary's
   * segments wrongly ("section .text.cold can't be allocated in segment")
   * and the result crashes at start; llvm-strip keeps BOLT's layout.
   */
  readonly strip: ToolRef;
  readonly patchelf: ToolRef;
  /** runtime/packaging/sanitize_sysconfig.py of this pyston-build. */
  readonly sysconfigSanitizer: string;
  /**
   * A cross build's build python (the build machine's interpreter that
   * configure recorded as PYTHON_FOR_BUILD and in CONFIG_ARGS): it becomes
   * the staged interpreter's installed path, which runs the build scripts
   * on the target.
   */
  readonly buildPython?: string;
}

/**
 * Files compileall must leave alone: CPython's tests ship sources that are
 * meant not to compile. Staging and the .deb's postinst both use it.
 */
export const COMPILEALL_EXCLUDE = 'bad_coding|badsyntax|lib2to3/tests/data';

/**
 * strip for objects and archives: they keep their symbols (linkers need
 * them) but lose debug info and LTO bytecode, whose paths and compiler
 * version users cannot use.
 */
const STRIP_OBJECT = ['--strip-debug', '--wildcard', '-R', '.gnu.lto_*', '-R', '.gnu.debuglto_*', '-R', '.comment'];
/** strip for executables and shared objects: every symbol table goes (the dynamic symbols stay), BOLT's note stays. */
const STRIP_PROGRAM = ['--strip-all', '--keep-section=.note.bolt_info', '-R', '.comment'];

/**
 * A shebang that runs some python: `#!/usr/bin/python3`, `#! /usr/bin/env
 * python3.11`, `#!/x/bin/python`, and a Pyston tree's
 * `#!/x/bin/python3.8-pyston2.3` (make's VERSION carries the suffix).
 */
export const PYTHON_SHEBANG = /^#!\s*(?:\S*\/env\s+)?\S*?python[0-9.]*(?:-[a-z]+[0-9][0-9.]*)?\s*$/;

export interface StageReport {
  readonly files: number;
  readonly stripped: number;
  readonly sanitized: readonly string[];
  readonly shebangs: readonly string[];
  readonly pyc: number;
  /** Extension modules given a DT_NEEDED on libc.so.6. */
  readonly libcAdded: readonly string[];
}

export async function stageRelease(ctx: TaskContext, o: StageOptions): Promise<StageReport> {
  rmSync(o.stageDir, { recursive: true, force: true });
  // Without the .pyc: they are compiled again below.
  cpSync(o.installRoot, o.stageDir, { recursive: true, verbatimSymlinks: true, filter: (src) => basename(src) !== '__pycache__' });
  const top = join(o.stageDir, o.prefix);
  // make's VERSION, from the tree: 3.11, or 3.8-pyston2.3 in a Pyston tree (bin/python3.8-pyston2.3, lib/python3.8-pyston2.3).
  const { version } = installedNames(top);
  const stdlib = join(top, 'lib', `python${version}`);
  if (!existsSync(stdlib)) throw new TaskFailure(`the release tree has no ${relative(ctx.root, stdlib)}`, 'the release install is incomplete: rerun with --force release:install');
  const configDir = readdirSync(stdlib).find((n) => n.startsWith(`config-${version}`));
  if (!configDir) throw new TaskFailure(`no config-${version}-* directory in ${relative(ctx.root, stdlib)}`, 'the release install is incomplete: rerun with --force release:install');
  const libpl = `${o.prefix}/lib/python${version}/${configDir}`;

  // The sysconfig data, rewritten by the staged interpreter itself (see
  // runtime/packaging/sanitize_sysconfig.py); the config Makefile and
  // config.c, whose assignments are one line each, here.
  const python = join(top, 'bin', `python${version}`);
  const sanitized: string[] = [];
  const maps = o.buildPython ? [{ from: o.buildPython, to: `${o.prefix}/bin/python${version}` }] : [];
  for (const n of readdirSync(stdlib).filter((x) => x.startsWith('_sysconfigdata_') && x.endsWith('.py'))) {
    // -B: the staged interpreter must not leave .pyc of its own imports, with stage paths, behind.
    const mapArgs = maps.flatMap((m) => ['--map', m.from, m.to]);
    await ctx.exec(python, ['-E', '-s', '-B', o.sysconfigSanitizer, ...mapArgs, join(stdlib, n), libpl, PIPELINE_FLAG.source, ...o.buildPaths], { jobserver: false });
    sanitized.push(relative(o.stageDir, join(stdlib, n)));
  }
  for (const f of [join(stdlib, configDir, 'Makefile'), join(stdlib, configDir, 'config.c')].filter((p) => existsSync(p))) {
    let text = readFileSync(f, 'utf8');
    for (const m of maps) text = text.split(m.from).join(m.to);
    for (const p of o.buildPaths) text = text.split(p).join(libpl);
    text = text.replace(/^([A-Za-z_][A-Za-z0-9_]*[ \t]*[:+]?=)(.*)$/gm, (_m, k: string, v: string) => `${k}${dropPipelineFlags(v)}`);
    writeFileSync(f, text);
    sanitized.push(relative(o.stageDir, f));
  }

  // Strip ELF files, objects and archives (-D keeps archives deterministic).
  const strip = o.strip.command ?? o.strip.name;
  const libcAdded: string[] = [];
  let stripped = 0;
  let files = 0;
  const shebangs: string[] = [];
  for (const f of listFiles(o.stageDir, { links: true })) {
    files++;
    const st = lstatSync(f);
    if (!st.isFile()) continue;
    const head = readHead(f, 8);
    // Only programs are executable: make install leaves the static library
    // and some test data 0755 (lintian: executable-not-elf-or-script).
    if (st.mode & 0o111 && !(isElf(head) && !f.endsWith('.o')) && head.subarray(0, 2).toString('latin1') !== '#!') chmodSync(f, 0o644);
    if (isElf(head)) {
      const object = f.endsWith('.o');
      await ctx.exec(strip, [...(object ? STRIP_OBJECT : STRIP_PROGRAM), f], { jobserver: false });
      stripped++;
      // An extension module that calls nothing in libc has no DT_NEEDED on
      // it; lintian (library-not-linked-against-libc) wants one.
      if (!object) {
        const elf = readElf(f);
        if (isSharedLibrary(elf) && !elf.needed.includes('libc.so.6')) {
          await ctx.exec(o.patchelf.command ?? o.patchelf.name, ['--add-needed', 'libc.so.6', f], { jobserver: false });
          libcAdded.push(relative(o.stageDir, f));
        }
      }
    } else if (head.subarray(0, 8).toString('latin1') === '!<arch>\n') {
      await ctx.exec(strip, [...STRIP_OBJECT, '-D', f], { jobserver: false });
      stripped++;
    } else if (head.subarray(0, 2).toString('latin1') === '#!') {
      // Every Python script names our interpreter: pip's say bin/python,
      // which make install does not create, and stdlib modules say
      // /usr/bin/env python3 or /usr/local/bin/python.
      const text = readFileSync(f, 'utf8');
      const nl = text.indexOf('\n');
      const first = nl < 0 ? text : text.slice(0, nl);
      const mine = `#!${o.prefix}/bin/python${version}`;
      if (PYTHON_SHEBANG.test(first) && first !== mine) {
        writeFileSync(f, mine + (nl < 0 ? '\n' : text.slice(nl)));
        shebangs.push(relative(o.stageDir, f));
      }
    }
  }

  // Every .pyc again, with the paths it will have on the target, and with
  // hash-based invalidation (PEP 552).
  // -B keeps compileall's own imports from caching themselves first (with
  // stage paths); compileall writes its .pyc regardless. -d names the
  // directory as it will be installed (compileall's -s/-p do the same but
  // are new in 3.9, and a Pyston release is a 3.8).
  await ctx.exec(python, ['-E', '-s', '-B', '-m', 'compileall', '-q', '-j', '0', '--invalidation-mode', 'checked-hash', '-d', `/${relative(o.stageDir, stdlib)}`, '-x', COMPILEALL_EXCLUDE, stdlib], {
    jobserver: false,
  });
  let pyc = 0;
  for (const f of listFiles(stdlib)) if (f.endsWith('.pyc')) pyc++;

  // Nothing may still name the build machine.
  const needles = o.forbidden.map((p) => Buffer.from(p));
  const leaks: string[] = [];
  for (const f of listFiles(o.stageDir)) {
    const data = readFileSync(f);
    if (needles.some((n) => data.includes(n))) leaks.push(relative(o.stageDir, f));
  }
  if (leaks.length > 0) {
    throw new TaskFailure(
      `${leaks.length} staged file(s) still contain a build path (${o.forbidden.join(', ')}): ${leaks.slice(0, 5).join(', ')}${leaks.length > 5 ? ', ...' : ''}`,
      'see the task log; a new kind of file records the build directory and needs a rule in src/packaging/stage.ts',
    );
  }
  return { files, stripped, sanitized, shebangs, pyc, libcAdded };
}
