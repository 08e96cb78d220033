/**
 * Action keys ("fingerprints").
 *
 * A task's key is a sha256 over its definition (id, version, declared
 * outputs, declared input names), the contents of its input files, its
 * config values, its allow-listed env values, its tools' identities, its
 * upstream keys and its dependencies' keys. The components are kept too, so
 * that a changed key can be explained by naming what changed.
 */
import { lstatSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { globSync } from 'tinyglobby';
import { sha256, type FileHasher } from './hash.js';
import type { Task } from './task.js';
import type { ResolvedTool, ToolResolver } from './tools.js';
import type { TaskRecord } from './state.js';
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

const GLOB_CHARS = /[*?[\]{}]/;
const MISSING = '<missing>';

/** Canonical JSON of a value: object keys sorted, so equal values hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Expand a task's file inputs to path -> digest, paths as the task named them (relative to root where possible). */
export function digestInputs(entries: readonly string[], root: string, hasher: FileHasher): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    if (GLOB_CHARS.test(entry)) {
      const matches = globSync(entry, { cwd: root, dot: true, onlyFiles: true, absolute: false, expandDirectories: false });
      for (const m of matches.sort()) out[m] = hasher.digestPath(resolve(root, m)) ?? MISSING;
      continue;
    }
    const abs = isAbsolute(entry) ? entry : resolve(root, entry);
    let isDir = false;
    try {
      isDir = lstatSync(abs).isDirectory();
    } catch {
      out[entry] = MISSING;
      continue;
    }
    if (isDir) {
      const base = entry.replace(/\/+$/, '');
      for (const [rel, d] of hasher.walk(abs)) out[`${base}/${rel}`] = d;
    } else {
      out[entry] = hasher.digestPath(abs) ?? MISSING;
    }
  }
  return out;
}

function sortedRecord(entries: Iterable<[string, string]>): Record<string, string> {
  return Object.fromEntries([...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

export function computeFingerprint(task: Task, depKeys: ReadonlyMap<string, string>, fx: FingerprintContext): Fingerprint {
  const inp = task.inputs;
  const resolvedTools = (inp.tools ?? []).map((t) => fx.tools.resolve(t));
  const tools = sortedRecord(resolvedTools.map((t) => [t.name, t.identity]));
  const envValues: Record<string, string> = {};
  const env = sortedRecord(
    (inp.env ?? []).map((name) => {
      const v = fx.env[name];
      if (v !== undefined) envValues[name] = v;
      return [name, v === undefined ? 'unset' : sha256('set\0' + v)];
    }),
  );
  const config = sortedRecord(Object.entries(inp.config ?? {}).map(([k, v]) => [k, sha256(canonicalJson(v))]));
  const upstream = sortedRecord(Object.entries(inp.upstream ?? {}));
  const deps = sortedRecord(task.deps.map((d) => [d, depKeys.get(d) ?? MISSING]));
  const files = digestInputs(inp.files ?? [], fx.root, fx.hasher);
  const def = sha256(
    canonicalJson({ id: task.id, version: task.version ?? 0, outputs: task.outputs, files: inp.files ?? [], env: inp.env ?? [], tools: Object.keys(tools), config: Object.keys(config) }),
  );
  const key = sha256(canonicalJson({ def, files, config, env, tools, deps, upstream }));
  return { key, def, files, config, env, tools, deps, upstream, envValues, resolvedTools };
}

/** The first key whose value differs between two maps (added and removed keys count), sorted order. */
function firstDiff(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): string | undefined {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.find((k) => a[k] !== b[k]);
}

/**
 * Why the task must run judging by its key alone, or `undefined` if the key
 * matches an `ok` record (outputs are checked separately).
 */
export function keyReason(fp: Fingerprint, rec: TaskRecord | undefined, forced: boolean): Reason | undefined {
  if (forced) return { kind: 'forced' };
  if (!rec) return { kind: 'new' };
  if (rec.status === 'failed') return { kind: 'previous run failed' };
  if (rec.status !== 'ok') return { kind: 'previous run interrupted' };
  if (rec.key === fp.key) return undefined;
  let d: string | undefined;
  if ((d = firstDiff(fp.tools, rec.tools))) return { kind: 'tool changed', name: d };
  if ((d = firstDiff(fp.config, rec.config))) return { kind: 'config changed', key: d };
  if ((d = firstDiff(fp.env, rec.env))) return { kind: 'env changed', name: d };
  if ((d = firstDiff(fp.files, rec.files))) return { kind: 'input changed', path: d };
  if ((d = firstDiff(fp.upstream, rec.upstream))) return { kind: 'input changed', path: `upstream:${d}` };
  if (fp.def !== rec.def) return { kind: 'definition changed' };
  if ((d = firstDiff(fp.deps, rec.deps))) return { kind: 'dependency rebuilt', id: d };
  return { kind: 'definition changed' };
}

/** Check declared outputs against the record: the first missing or changed one. */
export function outputReason(outputs: readonly string[], rec: TaskRecord, root: string, hasher: FileHasher): Reason | undefined {
  for (const o of outputs) {
    const d = hasher.digestPath(isAbsolute(o) ? o : resolve(root, o));
    if (d === undefined) return { kind: 'output missing', path: o };
    if (d !== rec.outputs[o]) return { kind: 'output changed', path: o };
  }
  return undefined;
}

/** Every component that differs from the record, for `--explain` (at most `limit`). */
export function allChanges(fp: Fingerprint, rec: TaskRecord | undefined, limit = 20): string[] {
  if (!rec || rec.status !== 'ok') return [];
  const out: string[] = [];
  const diff = (label: string, a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): void => {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (a[k] === b[k]) continue;
      out.push(`${label}: ${k}${b[k] === undefined ? ' (added)' : a[k] === undefined ? ' (removed)' : ''}`);
    }
  };
  diff('tool changed', fp.tools, rec.tools);
  diff('config changed', fp.config, rec.config);
  diff('env changed', fp.env, rec.env);
  diff('input changed', fp.files, rec.files);
  diff('upstream changed', fp.upstream, rec.upstream);
  if (fp.def !== rec.def) out.push('definition changed');
  diff('dependency rebuilt', fp.deps, rec.deps);
  return out.length > limit ? [...out.slice(0, limit), `... and ${out.length - limit} more`] : out;
}
