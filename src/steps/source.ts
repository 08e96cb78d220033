/**
 * The tree to build, chosen in this order:
 *   1. `--source DIR|ARCHIVE` (config `source`);
 *   2. the project directory itself, when it is a CPython or Pyston checkout
 *      (it has `configure` and `Include/patchlevel.h`);
 *   3. the embedded default: the pinned CPython release in submodules/.
 *
 * A pinned archive is fetched from its mirrors in order, verified against
 * its sha256 before use (a mismatch names both hashes and the file is never
 * used), and cached by sha256 so a second fresh build does not download
 * again. Archives are unpacked into build/src/ (to a temp dir, then renamed).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, type Stats } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { PbError, TaskFailure, errorMessage, type Task, type TaskContext } from '../graph/index.js';
import { packageRoot } from './paths.js';
import { describePatches, patchSetFor, patchTask } from './patches.js';
import { archiveFlavor, detectFlavor, flavorOfPin, type Flavor } from '../flavors/index.js';
import { extractWithTar, needsSystemTar, untarInputs } from './untar.js';

export type Mirror = { readonly kind: 'url'; readonly url: string } | { readonly kind: 'apt-source'; readonly package: string; readonly release: string; readonly file: string };

export interface Pin {
  readonly name: string;
  readonly version: string;
  readonly archive: string;
  readonly topDir: string;
  readonly sha256: string;
  readonly mirrors: readonly Mirror[];
}

export type SourceSpec =
  | { readonly kind: 'checkout'; readonly dir: string; readonly flavor: Flavor; readonly version: string }
  | { readonly kind: 'archive'; readonly file: string }
  | { readonly kind: 'pinned'; readonly pin: Pin; readonly pinPath: string };

function bad(path: string, what: string): PbError {
  return new PbError(`pin ${path}: ${what}`, 'fix the pin file (see submodules/README.md)');
}

export function loadPin(path: string): Pin {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw bad(path, `cannot read it: ${errorMessage(e)}`);
  }
  for (const k of ['name', 'version', 'archive', 'topDir', 'sha256']) if (typeof v[k] !== 'string' || v[k] === '') throw bad(path, `'${k}' must be a non-empty string`);
  if (!/^[0-9a-f]{64}$/.test(v.sha256 as string)) throw bad(path, `'sha256' must be 64 lowercase hex digits, got '${String(v.sha256)}'`);
  if (!Array.isArray(v.mirrors) || v.mirrors.length === 0) throw bad(path, `'mirrors' must be a non-empty list`);
  for (const m of v.mirrors as Record<string, unknown>[]) {
    if (m.kind === 'url' && typeof m.url === 'string') continue;
    if (m.kind === 'apt-source' && typeof m.package === 'string' && typeof m.release === 'string' && typeof m.file === 'string') continue;
    throw bad(path, `bad mirror ${JSON.stringify(m)}: expected {kind:'url',url} or {kind:'apt-source',package,release,file}`);
  }
  return v as unknown as Pin;
}

/** A CPython-family checkout: has `configure` and `Include/patchlevel.h`. */
export function isCheckout(dir: string): boolean {
  return existsSync(join(dir, 'configure')) && existsSync(join(dir, 'Include', 'patchlevel.h'));
}

export function checkoutVersion(dir: string): string {
  const m = /#define\s+PY_VERSION\s+"([^"]+)"/.exec(readFileSync(join(dir, 'Include', 'patchlevel.h'), 'utf8'));
  return m?.[1] ?? 'unknown';
}

export function resolveSource(opts: { root: string; source: string; pin: string }): SourceSpec {
  if (opts.source) {
    const p = resolve(opts.root, opts.source);
    let st: Stats;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new PbError(
        `--source: '${opts.source}' ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? errorMessage(e)})`}`,
        'pass a CPython/Pyston checkout directory or a .tar.gz/.tgz/.tar.xz archive',
      );
    }
    if (st.isDirectory()) {
      if (!isCheckout(p)) throw new PbError(`--source: '${opts.source}' is not a CPython or Pyston checkout (no configure and Include/patchlevel.h)`, 'pass the top directory of the source tree');
      assertReadableVersion(p);
      return { kind: 'checkout', dir: p, flavor: detectFlavor(p), version: checkoutVersion(p) };
    }
    // stat, not open: a FIFO or a device would block (or never end) the first read, even a dry run's digest.
    if (!st.isFile())
      throw new PbError(`--source: '${opts.source}' is ${kindOf(st)}, not a regular file or a directory`, 'pass a CPython/Pyston checkout directory or a .tar.gz/.tgz/.tar.xz archive file');
    if (!/\.(tgz|tar\.gz|tar\.xz|tar\.bz2|tar)$/.test(p))
      throw new PbError(`--source: '${opts.source}' is neither a directory nor a .tgz/.tar.gz/.tar.xz archive`, 'pass a checkout directory or a source archive');
    return { kind: 'archive', file: p };
  }
  if (isCheckout(opts.root) && assertReadableVersion(opts.root)) return { kind: 'checkout', dir: opts.root, flavor: detectFlavor(opts.root), version: checkoutVersion(opts.root) };
  const pinPath = resolve(packageRoot(), opts.pin);
  const pinStat = statSync(pinPath, { throwIfNoEntry: false });
  if (pinStat && !pinStat.isFile()) throw new PbError(`source.pin: ${pinPath} is ${kindOf(pinStat)}, not a regular file`, 'point source.pin at a pin file (see submodules/README.md)');
  return { kind: 'pinned', pin: loadPin(pinPath), pinPath };
}

/** The version header is read next: it must be a regular file (a FIFO there would block even a dry run). */
function assertReadableVersion(dir: string): true {
  const header = join(dir, 'Include', 'patchlevel.h');
  if (!statSync(header).isFile()) throw new PbError(`${header} is ${kindOf(statSync(header))}, not a regular file`, 'restore it from the source tree (git checkout Include/patchlevel.h)');
  return true;
}

function kindOf(st: import('node:fs').Stats): string {
  return st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a regular file';
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/** One mirror: download to `dest` (a temp path). Throws with a one-line reason. */
async function fromMirror(m: Mirror, dest: string, ctx: TaskContext): Promise<void> {
  if (m.kind === 'url') {
    ctx.log(`fetching ${m.url}`);
    const res = await fetch(m.url, { signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(120_000)]) }).catch((e: Error & { cause?: { code?: string; message?: string } }) => {
      // Node's fetch says only "fetch failed"; the cause says why (ENOTFOUND, ECONNREFUSED, ...).
      throw new Error(`${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}`);
    });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(dest));
    return;
  }
  const tmp = mkdtempSync(join(resolve(dest, '..'), 'apt-source-'));
  try {
    await ctx.exec('apt-get', ['source', '--download-only', `${m.package}/${m.release}`], { cwd: tmp, jobserver: false });
    const f = join(tmp, m.file);
    if (!existsSync(f)) throw new Error(`apt-get source did not download ${m.file} (got: ${readdirSync(tmp).join(', ')})`);
    renameSync(f, dest);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function describe(m: Mirror): string {
  return m.kind === 'url' ? m.url : `apt-get source ${m.package}/${m.release} (${m.file})`;
}

/** Fetch a pinned archive into `dest`, verified. Nothing unverified is ever left at `dest`. */
export async function fetchPinned(pin: Pin, dest: string, ctx: TaskContext): Promise<void> {
  mkdirSync(resolve(dest, '..'), { recursive: true });
  if (existsSync(dest) && (await sha256File(dest)) === pin.sha256) {
    ctx.log(`cached: ${dest}`);
    return;
  }
  const failures: string[] = [];
  for (const m of pin.mirrors) {
    const tmp = `${dest}.part-${process.pid}`;
    try {
      await fromMirror(m, tmp, ctx);
      const got = await sha256File(tmp);
      if (got !== pin.sha256) throw new Error(`sha256 mismatch: expected ${pin.sha256}, got ${got}; the file was discarded`);
      renameSync(tmp, dest);
      ctx.log(`verified sha256 ${got} from ${describe(m)}`);
      return;
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      const why = e instanceof TaskFailure ? e.message : errorMessage(e).split('\n')[0];
      ctx.log(`mirror failed: ${describe(m)}: ${why}`);
      failures.push(`${describe(m)}: ${why}`);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  const mismatch = failures.find((f) => f.includes('sha256 mismatch'));
  const suites = pinDebSrcSuites(pin);
  throw new TaskFailure(
    `could not fetch ${pin.archive} (${pin.name} ${pin.version}) from any mirror: ${failures.join('; ')}`,
    mismatch
      ? 'a mirror served different bytes than the pin; check the pin and the mirror'
      : `run 'pyston-build setup' (it adds Debian's deb-src entries for apt-get source${suites.length > 0 ? `: ${suites.join(', ')}` : ''}), or pass --source DIR|ARCHIVE`,
  );
}

/**
 * Unpack an archive into `destDir` (which must not exist yet), via a temp dir and a rename; with `flavor`, check the tree is of it.
 * An xz archive needs `ctx` (GNU tar runs through it) and its task must declare `untarInputs(archive)`.
 */
export async function unpack(archive: string, destDir: string, topDir: string | undefined, flavor?: Flavor, ctx?: TaskContext): Promise<void> {
  const { x } = await import('tar');
  const parent = resolve(destDir, '..');
  mkdirSync(parent, { recursive: true });
  const tmp = mkdtempSync(join(parent, '.unpack-'));
  try {
    if (!needsSystemTar(archive)) await x({ file: archive, cwd: tmp, strict: true, preserveOwner: false });
    else if (ctx) await extractWithTar(archive, tmp, ctx);
    else throw new TaskFailure(`${basename(archive)} is xz-compressed, which needs GNU tar run by its task`);
    const entries = readdirSync(tmp);
    const top = topDir ?? (entries.length === 1 ? entries[0] : undefined);
    if (!top || !existsSync(join(tmp, top)))
      throw new TaskFailure(`${basename(archive)} does not unpack to one top directory${topDir ? ` named ${topDir}` : ''} (got: ${entries.slice(0, 5).join(', ')})`);
    const found = detectFlavor(join(tmp, top));
    if (flavor && found !== flavor) {
      throw new TaskFailure(`${basename(archive)} holds a ${found.title} tree, but its name says ${flavor.title}`, `name a Pyston archive pyston-<version>.tar.*, and any other archive otherwise`);
    }
    rmSync(destDir, { recursive: true, force: true });
    renameSync(join(tmp, top), destDir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface SourceTasks {
  readonly tasks: Task[];
  /** Absolute source directory the builds configure from. */
  readonly srcDir: string;
  /** Task ids a configure step must depend on. */
  readonly deps: string[];
  /** File inputs a configure step must declare (a checkout's sources). */
  readonly files: string[];
  readonly flavor: Flavor;
  readonly version: string;
  /** The user's checkout, when the source is one (srcDir may be a patched copy of it). */
  readonly checkoutDir?: string;
  /** The tree's own version (Pyston's for a Pyston tree): names its patch set. */
  readonly flavorVersion: string;
  /** For build-info: what was built. */
  readonly describe: Record<string, string>;
}

/** Globs that make up a checkout's sources, for the configure key. Build outputs and VCS data are excluded. */
export const CHECKOUT_INPUTS = ['**/*', '!build/**', '!.git/**', '!**/__pycache__/**', '!pyston3', '!pyston3.*', '!pyston-build.toml'];

/**
 * A checkout's submodules, for its source: the sync tasks of the ones the
 * build needs (src/steps/submodules.ts), and every submodule path the
 * checkout declares. The files of submodules are never hashed into the
 * source's key: a synced one enters through its sync task's key (its
 * commit and URL), and the others are not read by the build at all (with
 * pyston/llvm checked out, hashing them would read gigabytes).
 */
export interface CheckoutSubmodules {
  readonly tasks: readonly Task[];
  readonly ids: readonly string[];
  /** Paths of every submodule `.gitmodules` declares. */
  readonly paths: readonly string[];
  /** The ones synced for the build. */
  readonly synced: readonly string[];
}

/** The source's tasks, with the project's patch set for the tree applied to a copy when there is one. */
export function sourceTasks(spec: SourceSpec, root: string, cache: string, submodules?: CheckoutSubmodules): SourceTasks {
  let base = unpatchedSourceTasks(spec, root, cache);
  if (submodules && base.checkoutDir !== undefined) {
    const rel = base.checkoutDir === root ? '' : `${base.checkoutDir}/`;
    base = {
      ...base,
      tasks: [...base.tasks, ...submodules.tasks],
      deps: [...base.deps, ...submodules.ids],
      files: [...base.files, ...submodules.paths.map((p) => `!${rel}${p}/**`)],
    };
  }
  const set = patchSetFor(base.flavor.name, base.flavorVersion);
  if (!set) return base;
  const skip = submodules ? submodules.paths.filter((p) => !submodules.synced.includes(p)) : [];
  const p = patchTask({ set, srcDir: base.srcDir, root, deps: base.deps, files: base.files, skip });
  return { ...base, tasks: [...base.tasks, p.task], srcDir: p.srcDir, deps: ['source:patch'], files: [], describe: { ...base.describe, patches: describePatches(set) } };
}

function unpatchedSourceTasks(spec: SourceSpec, root: string, cache: string): SourceTasks {
  if (spec.kind === 'checkout') {
    const rel = spec.dir === root ? '' : spec.dir;
    return {
      tasks: [],
      srcDir: spec.dir,
      deps: [],
      files: CHECKOUT_INPUTS.map((g) => (rel ? (g.startsWith('!') ? `!${rel}/${g.slice(1)}` : `${rel}/${g}`) : g)),
      flavor: spec.flavor,
      version: spec.version,
      checkoutDir: spec.dir,
      flavorVersion: spec.flavor.treeVersion(readFileSync(join(spec.dir, 'Include', 'patchlevel.h'), 'utf8')) ?? spec.version,
      describe: { kind: 'checkout', dir: spec.dir, version: spec.version },
    };
  }
  if (spec.kind === 'archive') {
    const name = basename(spec.file).replace(/\.(tgz|tar\.gz|tar\.xz|tar\.bz2|tar)$/, '');
    const dest = `build/src/${name}`;
    return {
      tasks: [
        {
          id: 'source:unpack',
          title: `unpack ${basename(spec.file)}`,
          deps: [],
          inputs: { files: [spec.file], ...untarInputs(spec.file) },
          outputs: [dest, '!**/__pycache__'],
          run: (ctx) => unpack(spec.file, ctx.path(dest), undefined, archiveFlavor(spec.file), ctx),
        },
      ],
      srcDir: resolve(root, dest),
      deps: ['source:unpack'],
      files: [],
      flavor: archiveFlavor(spec.file),
      version: name.replace(/^(Python|pyston)[-_]/i, ''),
      flavorVersion: name.replace(/^(Python|pyston)[-_]/i, ''),
      describe: { kind: 'archive', file: spec.file },
    };
  }
  return pinnedSourceTasks(spec.pin, root, cache, 'source');
}

/** The Debian suites a pin's `apt-source` mirrors fetch from, sorted: each needs a deb-src entry. */
export function pinDebSrcSuites(pin: Pin): string[] {
  return [...new Set(pin.mirrors.flatMap((m) => (m.kind === 'apt-source' ? [m.release] : [])))].sort();
}

/**
 * A pinned archive's tasks under an id prefix: `<prefix>:fetch` (into the
 * cache, verified by sha256) and `<prefix>:unpack` (to build/src/<topDir>).
 * The embedded default is the prefix `source`; a second interpreter's
 * source takes its own (e.g. `cp39`). The fetch task names the suites its
 * apt mirrors need (`debSrcSuites`), outside its key.
 */
export function pinnedSourceTasks(pin: Pin, root: string, cache: string, idPrefix: string): SourceTasks {
  const cached = join(cache, 'sources', `${pin.sha256}-${pin.archive}`);
  const dest = `build/src/${pin.topDir}`;
  const suites = pinDebSrcSuites(pin);
  return {
    tasks: [
      {
        id: `${idPrefix}:fetch`,
        title: `fetch ${pin.archive} (sha256 ${pin.sha256.slice(0, 12)}...)`,
        deps: [],
        inputs: { upstream: { sha256: pin.sha256, archive: pin.archive }, tools: [{ name: 'apt-get', package: 'apt', versionArgs: ['--version'] }] },
        outputs: [cached],
        ...(suites.length > 0 ? { debSrcSuites: suites } : {}),
        run: (ctx) => fetchPinned(pin, cached, ctx),
      },
      {
        id: `${idPrefix}:unpack`,
        title: `unpack ${pin.topDir}`,
        deps: [`${idPrefix}:fetch`],
        // An xz archive adds GNU tar and xz; the default (a .tgz) declares no tool, as before.
        inputs: { upstream: { sha256: pin.sha256 }, ...untarInputs(pin.archive) },
        // The builds run Python from this tree, which writes bytecode caches into it.
        outputs: [dest, '!**/__pycache__'],
        weight: 2,
        run: (ctx) => unpack(cached, ctx.path(dest), pin.topDir, undefined, ctx),
      },
    ],
    srcDir: resolve(root, dest),
    deps: [`${idPrefix}:unpack`],
    files: [],
    flavor: flavorOfPin(pin.name),
    version: pin.version,
    flavorVersion: pin.version,
    describe: { kind: 'pinned', name: pin.name, version: pin.version, sha256: pin.sha256, archive: pin.archive },
  };
}

/**
 * The pin of a CPython release shipped in submodules/ (`cpython-<version>.json`),
 * e.g. `cpythonPin('3.9.2')` for the cp39 wheels; give it to pinnedSourceTasks.
 */
export function cpythonPin(version: string): { readonly pin: Pin; readonly pinPath: string } {
  const dir = resolve(packageRoot(), 'submodules');
  const pinPath = join(dir, `cpython-${version}.json`);
  if (!/^\d+\.\d+\.\d+$/.test(version) || !existsSync(pinPath)) {
    const pinned = safeReaddir(dir)
      .flatMap((f) => /^cpython-(\d+\.\d+\.\d+)\.json$/.exec(f)?.[1] ?? [])
      .sort();
    throw new PbError(
      `no pinned CPython '${version}': ${pinPath} does not exist (pinned: ${pinned.join(', ') || 'none'})`,
      'use a pinned version, or add a pin file for it (see submodules/README.md)',
    );
  }
  return { pin: loadPin(pinPath), pinPath };
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
