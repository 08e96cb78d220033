/**
 * Patches applied to a source, as every distribution builder has them
 * (Debian's quilt series, python-build-standalone's patch sets): each one
 * lives in this project with its reason, and is applied to a copy of the
 * tree, never to the user's checkout.
 *
 * A patch set is the directory `submodules/patches/<flavor>-<version>/`
 * (e.g. `pyston-2.3.5`, by the tree's own version: Pyston's, or CPython's
 * for a CPython tree). Its `*.patch` files apply in name order with
 * `patch -p1`. Each file starts with a header, before its first `--- `
 * line, that says what it changes and why; a patch without one is an error.
 *
 * The task `source:patch` copies the tree into `build/src/patched-<set>`
 * (without .git, build/ and bytecode caches), applies the set there, and
 * the variants configure from the copy. The patch files are inputs of that
 * task, so their digests are in every build's key, `-n --explain` names an
 * edited patch, and build-info.json lists the set with each file's sha256.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { PbError, sha256, TaskFailure, type Task, type ToolRef } from '../graph/index.js';
import { packageRoot } from './paths.js';

export interface Patch {
  /** Absolute path of the patch file. */
  readonly file: string;
  readonly name: string;
  /** The header: what the patch changes and why. */
  readonly why: string;
  readonly sha256: string;
}

export interface PatchSet {
  /** `<flavor>-<version>`, the directory's name. */
  readonly id: string;
  readonly patches: readonly Patch[];
}

export const PATCH: ToolRef = { name: 'patch', package: 'patch' };

/** The directory that holds every patch set. */
export function patchesDir(): string {
  return join(packageRoot(), 'submodules', 'patches');
}

/** Read one patch file: its header is its reason. */
export function readPatch(file: string): Patch {
  const data = readFileSync(file);
  const text = data.toString('utf8');
  const header = text.split(/^--- /m)[0]!.trim();
  if (!header || !/^(diff |--- )/m.test(text))
    throw new PbError(`patch ${file} has no header saying why it exists, or no diff`, 'start the file with a paragraph that says what it changes and why, then the unified diff');
  return { file, name: basename(file), why: header.replace(/\s+/g, ' '), sha256: sha256(data) };
}

/** The patch set for a tree, if pyston-build has one. */
export function patchSetFor(flavor: string, version: string, dir: string = patchesDir()): PatchSet | undefined {
  const id = `${flavor}-${version}`;
  const setDir = join(dir, id);
  if (!existsSync(setDir)) return undefined;
  const files = readdirSync(setDir)
    .filter((f) => f.endsWith('.patch'))
    .sort();
  if (files.length === 0) return undefined;
  return { id, patches: files.map((f) => readPatch(join(setDir, f))) };
}

/** What build-info.json and the source description say about a set. */
export function describePatches(set: PatchSet): string {
  return set.patches.map((p) => `${set.id}/${p.name} (sha256 ${p.sha256})`).join(', ');
}

/** Names that are never copied into the patched tree: VCS data, build outputs, bytecode. */
const SKIP = new Set(['.git', 'build', '__pycache__', 'pyston3', 'pyston-build.toml']);

/**
 * Copy a source tree: files (with their modes and times), directories and
 * symlinks as they are, leaving out {@link SKIP} at any depth. Node's
 * cpSync refuses a destination inside the source, which is where a
 * checkout's build/ is.
 */
function copyTree(from: string, to: string, skip: ReadonlySet<string> = new Set(), rel = ''): void {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    if (SKIP.has(e.name) || e.name.startsWith('pyston3.')) continue;
    const a = join(from, e.name);
    const b = join(to, e.name);
    const r = rel ? `${rel}/${e.name}` : e.name;
    // A submodule the build does not use stays an empty directory, as in a fresh clone.
    if (e.isDirectory() && skip.has(r)) mkdirSync(b);
    else if (e.isDirectory()) copyTree(a, b, skip, r);
    else if (e.isSymbolicLink()) symlinkSync(readlinkSync(a), b);
    else if (e.isFile()) {
      copyFileSync(a, b);
      const st = statSync(a);
      chmodSync(b, st.mode & 0o7777);
      utimesSync(b, st.atime, st.mtime);
    }
    // Sockets, FIFOs and devices have no place in a source tree: left out.
  }
}

/**
 * The `source:patch` task: copy `srcDir` to `build/src/patched-<set>` and
 * apply the set there. `deps` and `files` are what the unpatched source
 * needs (its unpack task, or a checkout's files).
 */
export function patchTask(o: { set: PatchSet; srcDir: string; root: string; deps: readonly string[]; files: readonly string[]; skip?: readonly string[] }): { task: Task; srcDir: string } {
  const dest = `build/src/patched-${o.set.id}`;
  const task: Task = {
    id: 'source:patch',
    title: `apply ${o.set.patches.length} patch${o.set.patches.length === 1 ? '' : 'es'} (${o.set.id}) to a copy of the source`,
    deps: [...o.deps],
    inputs: {
      files: [...o.files, ...o.set.patches.map((p) => p.file)],
      tools: [PATCH],
      config: { set: o.set.id, patches: o.set.patches.map((p) => p.name), ...(o.skip?.length ? { skip: o.skip } : {}) },
    },
    outputs: [dest, '!**/__pycache__'],
    packages: ['patch'],
    weight: 2,
    async run(ctx) {
      const parent = ctx.path('build/src');
      mkdirSync(parent, { recursive: true });
      const tmp = mkdtempSync(join(parent, '.patch-'));
      try {
        // A checkout's own build/ (where this copy goes) and .git stay behind.
        copyTree(resolve(o.srcDir), tmp, new Set(o.skip ?? []));
        for (const p of o.set.patches) {
          ctx.log(`applying ${p.name}: ${p.why}`);
          try {
            await ctx.exec('patch', ['-p1', '--batch', '--forward', '--no-backup-if-mismatch', '-i', p.file], { cwd: tmp, jobserver: false });
          } catch {
            throw new TaskFailure(`${p.name} does not apply to ${o.srcDir}`, `it is made for ${o.set.id}; see the log for the rejected hunks, then update or remove ${p.file}`);
          }
        }
        rmSync(ctx.path(dest), { recursive: true, force: true });
        renameSync(tmp, ctx.path(dest));
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    },
  };
  return { task, srcDir: resolve(o.root, dest) };
}
