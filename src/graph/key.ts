/**
 * Action keys ("fingerprints").
 *
 * A task's key is a sha256 over its definition (id, version, declared
 * outputs, declared input names), the contents of its input files, its
 * config values, its allow-listed env values, its tools' identities, its
 * upstream keys and its dependencies' keys. The components are kept too, so
 * that a changed key can be explained by naming what changed.
 *
 * A tool built by the graph enters the key through its producer's key
 * (`builtToolIdentity` in tools.ts says why that is sound), so its users'
 * keys can be computed before it exists.
 */
import { type Dirent, lstatSync, readdirSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { GLOB_EXCLUDE, globMatcher } from './glob.js';
import { LSTAT_OPTS, sha256, type FileHasher } from './hash.js';
import type { Task } from './task.js';
import { builtToolIdentity, type ResolvedTool, type ToolResolver } from './tools.js';
import type { TaskDetails, TaskRecord } from './state.js';
import { type OutputDigest, type OutputTrees, stampHolds, type TreeStamp } from './outtree.js';
import type { Reason } from './explain.js';

export interface Fingerprint {
  readonly key: string;
  readonly def: string;
  readonly files: Record<string, string>;
  readonly config: Record<string, string>;
  readonly env: Record<string, string>;
  readonly tools: Record<string, string>;
  readonly deps: Record<string, string>;
  readonly upstream: Record<string, string>;
  /** The declared env vars' values, handed to the task (never stored). */
  readonly envValues: Record<string, string>;
  readonly resolvedTools: readonly ResolvedTool[];
}

export interface FingerprintContext {
  readonly root: string;
  readonly hasher: FileHasher;
  readonly tools: ToolResolver;
  readonly env: NodeJS.ProcessEnv;
}

// tinyglobby costs ~12 ms to load: only load it when a task declares a glob.
let globSyncFn: typeof import('tinyglobby').globSync | undefined;
function globSync(pattern: string | string[], options: import('tinyglobby').GlobOptions): string[] {
  globSyncFn ??= (createRequire(import.meta.url)('tinyglobby') as typeof import('tinyglobby')).globSync;
  return globSyncFn(pattern, options);
}

const GLOB_CHARS = /[*?[\]{}]/;

/**
 * The files a task's glob matches, relative to root. One planning pass
 * (one hasher) lists each distinct glob once: many tasks declare the same
 * one (the training scripts). A glob that lists a whole tree, `**‍/*` or
 * `DIR/**‍/*` (a checkout's sources), is listed by {@link allFiles}.
 */
const globMemo = new WeakMap<FileHasher, Map<string, string[]>>();
function globFiles(root: string, pattern: string, ignore: readonly string[], hasher: FileHasher): string[] {
  let memo = globMemo.get(hasher);
  if (memo === undefined) {
    memo = new Map();
    globMemo.set(hasher, memo);
  }
  const id = `${root}\0${pattern}\0${ignore.join('\0')}`;
  let files = memo.get(id);
  if (files === undefined) {
    files = allFiles(root, pattern, ignore) ?? globSync(pattern, { cwd: root, dot: true, onlyFiles: true, absolute: false, expandDirectories: false, ignore: [...ignore] });
    memo.set(id, files);
  }
  return files;
}

const WHOLE_TREE = /^(?:([^*?[\]{}!]+?)\/)?\*\*\/\*(\.[\w-]+)?$/;

/**
 * Every file of a tree for the globs `**‍/*`, `DIR/**‍/*` and
 * `DIR/**‍/*.EXT` (DIR relative to root, or absolute without ignore
 * patterns), by one readdir per directory: tinyglobby's crawl of a
 * checkout costs 30-60 ms, most of it matching every path against the
 * ignore patterns. The names are the ones tinyglobby gives (relative to
 * root, `../` included). A directory that an ignore pattern `X/**` covers
 * is not entered; files (and symlinks to files) are matched against every
 * ignore pattern. `undefined` (tinyglobby decides) when the pattern is
 * another kind, or the walk meets a symlink to a directory, a broken
 * symlink or an unreadable directory: how to follow those is tinyglobby's
 * to say.
 */
function allFiles(root: string, pattern: string, ignore: readonly string[]): string[] | undefined {
  const m = WHOLE_TREE.exec(pattern);
  if (!m) return undefined;
  const base = m[1];
  const ext = m[2];
  const absolute = base?.startsWith('/') ?? false;
  if (base !== undefined && (absolute ? ignore.length > 0 || base !== resolve(base) : NOT_PLAIN.test(base))) return undefined;
  const dir = base === undefined ? root : absolute ? base : underRoot(root, base);
  const name = (r: string): string => (base === undefined ? r : absolute ? relative(root, `${base}/${r}`) : `${base}/${r}`);
  const ignored = ignore.length > 0 ? globMatcher(ignore, GLOB_EXCLUDE) : undefined;
  const covers = ignore.filter((p) => p.endsWith('/**')).map((p) => p.slice(0, -3));
  const pruned = covers.length > 0 ? globMatcher(covers, GLOB_EXCLUDE) : undefined;
  const out: string[] = [];
  const visit = (rel: string): boolean => {
    let entries: Dirent[];
    try {
      entries = readdirSync(rel === '' ? dir : `${dir}/${rel}`, { withFileTypes: true });
    } catch {
      return false;
    }
    for (const e of entries) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!pruned?.(name(r)) && !visit(r)) return false;
        continue;
      }
      // A link to a file is listed like a file (as tinyglobby does); a link to a directory, or a broken one, is tinyglobby's.
      if (e.isSymbolicLink() && !statSync(`${dir}/${r}`, LSTAT_OPTS)?.isFile()) return false;
      if (ext !== undefined && !e.name.endsWith(ext)) continue;
      const n = name(r);
      if (!ignored?.(n)) out.push(n);
    }
    return true;
  };
  const st = lstatSync(dir, LSTAT_OPTS);
  if (st === undefined) return [];
  if (!st.isDirectory()) return undefined;
  return visit('') ? out : undefined;
}

/** Anything path.resolve would change: `.` or `..` segments, `//`, a leading or trailing `/`. */
const NOT_PLAIN = /(^|\/)\.\.?(\/|$)|\/\/|^\/|\/$/;

/**
 * `resolve(root, p)` for an already absolute, normalized root. A plain
 * relative path is simply appended: path.resolve costs about 1 µs a call,
 * and a no-op build resolves every input and output.
 */
export function underRoot(root: string, p: string): string {
  if (p !== '' && !NOT_PLAIN.test(p)) return root === '/' ? `/${p}` : `${root}/${p}`;
  return resolve(root, p);
}

const MISSING = '<missing>';

/** A string JSON.stringify would leave as it is between its quotes: no quote, backslash, control character or surrogate. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this pattern must exclude
const JSON_PLAIN = /^[^"\\\x00-\x1f\ud800-\udfff]*$/;

/**
 * JSON.stringify of a string, byte for byte. Paths and hex digests need no
 * escaping, and quoting them directly is several times faster; a no-op
 * build quotes about 20 strings per task.
 */
export function jsonString(s: string): string {
  return JSON_PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** Canonical JSON of a value: object keys sorted, so equal values hash equally. */
export function canonicalJson(v: unknown): string {
  if (typeof v === 'string') return jsonString(v);
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i > 0 ? ',' : '') + canonicalJson(v[i]);
    return s + ']';
  }
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    let s = '{';
    for (let i = 0; i < keys.length; i++) s += (i > 0 ? ',' : '') + jsonString(keys[i]!) + ':' + canonicalJson(o[keys[i]!]);
    return s + '}';
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * Expand a task's file inputs to path -> digest, paths as the task named them
 * (relative to root where possible). Entries starting with `!` are globs
 * excluded from every glob and directory entry of the same task.
 */
export function digestInputs(entries: readonly string[], root: string, hasher: FileHasher): Record<string, string> {
  const out: Record<string, string> = {};
  const ignore = entries.filter((e) => e.startsWith('!')).map((e) => e.slice(1));
  const excluded = ignore.length > 0 ? globMatcher(ignore, GLOB_EXCLUDE) : undefined;
  for (const entry of entries) {
    if (entry.startsWith('!')) continue;
    if (GLOB_CHARS.test(entry)) {
      const matches = globFiles(root, entry, ignore, hasher);
      for (const m of matches.sort()) out[m] = hasher.digestPath(underRoot(root, m)) ?? MISSING;
      continue;
    }
    const abs = underRoot(root, entry);
    // One lstat per input: it decides file vs directory and feeds the stat cache.
    const st = lstatSync(abs, LSTAT_OPTS);
    if (st === undefined) {
      out[entry] = MISSING;
    } else if (st.isDirectory()) {
      const base = entry.replace(/\/+$/, '');
      for (const [rel, d] of hasher.walk(abs)) {
        const path = `${base}/${rel}`;
        if (!excluded?.(path)) out[path] = d;
      }
    } else {
      out[entry] = hasher.digestPath(abs, st) ?? MISSING;
    }
  }
  return out;
}

function sortedRecord(entries: [string, string][]): Record<string, string> {
  if (entries.length > 1) entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Record<string, string> = {};
  for (const [k, v] of entries) out[k] = v;
  return out;
}

/** canonicalJson of a string record, specialised: keys are computed for every task on every run. */
function recordJson(r: Readonly<Record<string, string>>): string {
  const keys = Object.keys(r).sort();
  let s = '{';
  for (let i = 0; i < keys.length; i++) s += (i > 0 ? ',' : '') + jsonString(keys[i]!) + ':' + jsonString(r[keys[i]!]!);
  return s + '}';
}

/** sha256 of small values that repeat across many tasks (env and config values). */
const valueDigests = new Map<string, string>();
function valueDigest(s: string): string {
  let d = valueDigests.get(s);
  if (d === undefined) {
    d = sha256(s);
    valueDigests.set(s, d);
  }
  return d;
}

/** The key of a built tool's producer. It is always there: the producer is a dependency (see `withToolProducers`), so its key was computed first. */
function producerKey(producer: string, depKeys: ReadonlyMap<string, string>): string {
  const k = depKeys.get(producer);
  if (k === undefined) throw new Error(`internal: the key of tool producer ${producer} is not known yet`);
  return k;
}

export function computeFingerprint(task: Task, depKeys: ReadonlyMap<string, string>, fx: FingerprintContext): Fingerprint {
  const inp = task.inputs;
  const resolvedTools = (inp.tools ?? []).map((t) => (t.producer === undefined ? fx.tools.resolve(t) : builtToolIdentity(t, producerKey(t.producer, depKeys), fx.root)));
  const tools = sortedRecord(resolvedTools.map((t) => [t.name, t.identity]));
  const envValues: Record<string, string> = {};
  const env = sortedRecord(
    (inp.env ?? []).map((name) => {
      const v = fx.env[name];
      if (v !== undefined) envValues[name] = v;
      return [name, v === undefined ? 'unset' : valueDigest('set\0' + v)];
    }),
  );
  const config = sortedRecord(Object.entries(inp.config ?? {}).map(([k, v]) => [k, valueDigest(canonicalJson(v))]));
  const upstream = sortedRecord(Object.entries(inp.upstream ?? {}));
  const deps = sortedRecord(task.deps.map((d) => [d, depKeys.get(d) ?? MISSING]));
  const files = digestInputs(inp.files ?? [], fx.root, fx.hasher);
  // canonicalJson of the definition with its keys in sorted order, spelled out (this runs for every task on every run).
  const def = sha256(
    JSON.stringify({ config: Object.keys(config), env: inp.env ?? [], files: inp.files ?? [], id: task.id, outputs: task.outputs, tools: Object.keys(tools), version: task.version ?? 0 }),
  );
  // Exactly canonicalJson({ config, def, deps, env, files, tools, upstream }), without the generic recursion.
  const key = sha256(
    `{"config":${recordJson(config)},"def":"${def}","deps":${recordJson(deps)},"env":${recordJson(env)},"files":${recordJson(files)},"tools":${recordJson(tools)},"upstream":${recordJson(upstream)}}`,
  );
  return { key, def, files, config, env, tools, deps, upstream, envValues, resolvedTools };
}

/** The first key whose value differs between two maps (added and removed keys count), sorted order. */
function firstDiff(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): string | undefined {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.find((k) => a[k] !== b[k]);
}

/**
 * Why the task must run judging by its key alone, or `undefined` if the key
 * matches an `ok` record (outputs are checked separately). `details` are the
 * components recorded with the record's key, if still known.
 */
export function keyReason(fp: Fingerprint, rec: TaskRecord | undefined, details: TaskDetails | undefined, forced: boolean): Reason | undefined {
  if (forced) return { kind: 'forced' };
  if (!rec) return { kind: 'new' };
  if (rec.status === 'failed') return { kind: 'previous run failed' };
  if (rec.status !== 'ok') return { kind: 'previous run interrupted' };
  if (rec.key === fp.key) return undefined;
  if (!details) return { kind: 'inputs changed' };
  // In this order: the first difference found is the reason given.
  const tool = firstDiff(fp.tools, details.tools);
  if (tool) {
    const producer = fp.resolvedTools.find((t) => t.name === tool)?.producer;
    return producer === undefined ? { kind: 'tool changed', name: tool } : { kind: 'tool rebuilt', name: tool, producer };
  }
  const config = firstDiff(fp.config, details.config);
  if (config) return { kind: 'config changed', key: config };
  const env = firstDiff(fp.env, details.env);
  if (env) return { kind: 'env changed', name: env };
  const file = firstDiff(fp.files, details.files);
  if (file) return { kind: 'input changed', path: file };
  const upstream = firstDiff(fp.upstream, details.upstream);
  if (upstream) return { kind: 'input changed', path: `upstream:${upstream}` };
  if (fp.def !== details.def) return { kind: 'definition changed' };
  const dep = firstDiff(fp.deps, details.deps);
  if (dep) return { kind: 'dependency rebuilt', id: dep };
  return { kind: 'definition changed' };
}

/** The components of a fingerprint, as recorded for `--explain`. */
export function detailsOf(fp: Fingerprint): TaskDetails {
  return { key: fp.key, def: fp.def, files: fp.files, config: fp.config, env: fp.env, tools: fp.tools, deps: fp.deps, upstream: fp.upstream };
}

/**
 * Digests of a task's declared outputs. Entries starting with `!` are globs,
 * relative to each directory output, excluded from its digest (for example
 * the bytecode caches that tools write into a source tree).
 */
export function outputDigests(outputs: readonly string[], root: string, trees: OutputTrees): Map<string, OutputDigest> {
  const exclude = outputExclude(outputs);
  const out = new Map<string, OutputDigest>();
  for (const o of outputs) {
    if (o.startsWith('!')) continue;
    out.set(o, trees.digest(underRoot(root, o), exclude));
  }
  return out;
}

function outputExclude(outputs: readonly string[]): ((rel: string) => boolean) | undefined {
  const ignore = outputs.filter((o) => o.startsWith('!')).map((o) => o.slice(1));
  return ignore.length > 0 ? globMatcher(ignore, GLOB_EXCLUDE) : undefined;
}

/**
 * Check declared outputs against the record: the first missing or changed
 * one. A directory output whose recorded stamp still holds is not walked
 * (outtree.ts); one that is walked and found unchanged gets a new stamp
 * through `restamp`.
 */
export function outputReason(outputs: readonly string[], rec: TaskRecord, root: string, trees: OutputTrees, restamp: (output: string, stamp: TreeStamp) => void): Reason | undefined {
  let exclude: ((rel: string) => boolean) | undefined | null = null;
  for (const o of outputs) {
    if (o.startsWith('!')) continue;
    const abs = underRoot(root, o);
    if (rec.trees !== undefined && Object.hasOwn(rec.trees, o) && stampHolds(abs, rec.trees[o])) continue;
    if (exclude === null) exclude = outputExclude(outputs);
    const { digest, stamp } = trees.digest(abs, exclude);
    if (digest === undefined) return { kind: 'output missing', path: o };
    if (digest !== rec.outputs[o]) return { kind: 'output changed', path: o };
    if (stamp) restamp(o, stamp);
  }
  return undefined;
}

/** Every component that differs from the record, for `--explain` (at most `limit`). */
export function allChanges(fp: Fingerprint, rec: TaskDetails | undefined, limit = 20): string[] {
  if (!rec) return [];
  const out: string[] = [];
  const diff = (label: string, a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>, detail?: (k: string) => string): void => {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (a[k] === b[k]) continue;
      out.push(`${label}: ${k}${b[k] === undefined ? ' (added)' : a[k] === undefined ? ' (removed)' : (detail?.(k) ?? '')}`);
    }
  };
  const producers = new Map(fp.resolvedTools.flatMap((t) => (t.producer === undefined ? [] : [[t.name, t.producer] as const])));
  diff('tool changed', fp.tools, rec.tools, (k) => (producers.has(k) ? ` (rebuilt by ${producers.get(k)})` : ''));
  diff('config changed', fp.config, rec.config);
  diff('env changed', fp.env, rec.env);
  diff('input changed', fp.files, rec.files);
  diff('upstream changed', fp.upstream, rec.upstream);
  if (fp.def !== rec.def) out.push('definition changed');
  diff('dependency rebuilt', fp.deps, rec.deps);
  return out.length > limit ? [...out.slice(0, limit), `... and ${out.length - limit} more`] : out;
}
