/**
 * Tool identity: resolved path + version + content digest.
 *
 * Looking a tool up is a PATH walk and a stat. Its version (which needs a
 * child process) and digest are cached in the state by the executable's
 * stat identity, so a no-op build starts no process.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { delimiter, isAbsolute, join } from 'node:path';
import { MissingToolError } from './errors.js';
import type { ToolRef } from './task.js';
import type { FileHasher } from './hash.js';
import type { ToolCacheEntry } from './state.js';
import { sha256 } from './hash.js';

export interface ResolvedTool {
  readonly name: string;
  /** The real path of the executable (symlinks resolved). */
  readonly path: string;
  readonly version: string;
  readonly digest: string;
  /** sha256 over path, version and digest: what goes into keys. */
  readonly identity: string;
}

/** Find an executable on PATH (or check an absolute path). `undefined` if absent. */
export function which(command: string, pathEnv: string | undefined): string | undefined {
  const candidates = isAbsolute(command) || command.includes('/') ? [command] : (pathEnv ?? '').split(delimiter).filter(Boolean).map((d) => join(d, command));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export class ToolResolver {
  private readonly resolved = new Map<string, ResolvedTool>();
  dirty = false;
  constructor(
    private readonly pathEnv: string | undefined,
    private readonly hasher: FileHasher,
    /** Persistent cache: real path -> {stat identity, version, digest}. */
    readonly cache: Record<string, ToolCacheEntry>,
  ) {}

  /** Resolve a tool or throw {@link MissingToolError} with its install hint. */
  resolve(tool: ToolRef): ResolvedTool {
    const command = tool.command ?? tool.name;
    const memo = this.resolved.get(command + '\0' + tool.name);
    if (memo) return memo;
    const found = which(command, this.pathEnv);
    if (!found) throw new MissingToolError(tool.name, tool.package);
    const real = realpathSync(found);
    const st = statSync(real);
    const statId = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    let entry = this.cache[real];
    if (!entry || entry.stat !== statId) {
      entry = { stat: statId, version: probeVersion(found, tool.versionArgs ?? ['--version']), digest: this.hasher.digestFile(real, st) ?? '' };
      this.cache[real] = entry;
      this.dirty = true;
    }
    const r: ResolvedTool = { name: tool.name, path: real, version: entry.version, digest: entry.digest, identity: sha256(`${real}\0${entry.version}\0${entry.digest}`) };
    this.resolved.set(command + '\0' + tool.name, r);
    return r;
  }
}

/** First non-empty line the tool prints for its version arguments; '' if it prints nothing or fails. */
function probeVersion(path: string, args: readonly string[]): string {
  if (args.length === 0) return '';
  try {
    const out = execFileSync(path, args, { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' } });
    return out.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    const text = `${err.stdout ?? ''}\n${err.stderr ?? ''}`;
    return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  }
}
