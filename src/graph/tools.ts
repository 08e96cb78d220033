/**
 * Tool identity: resolved path + version + content digest.
 *
 * Looking an installed tool up is a PATH walk and a stat. Its version
 * (which needs a child process) and digest are cached in the state by the
 * executable's stat identity, so a no-op build starts no process.
 *
 * A tool built by the graph ({@link BuiltTool}) is not looked up at all:
 * see {@link builtToolIdentity}.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { MissingToolError, PlanError } from './errors.js';
import type { BuiltTool, Task, ToolRef } from './task.js';
import type { FileHasher } from './hash.js';
import type { ToolCacheEntry } from './state.js';
import { sha256 } from './hash.js';

export interface ResolvedTool {
  readonly name: string;
  /** The real path of the executable (symlinks resolved); for a built tool, `<root>/<path>`. */
  readonly path: string;
  /** The first line of its version output; for a built tool, `built by <producer>` (it is never probed). */
  readonly version: string;
  /** sha256 of the executable; for a built tool, the producer's key (the file may not exist yet). */
  readonly digest: string;
  /** sha256 over path, version and digest: what goes into keys. */
  readonly identity: string;
  /** For a built tool: the task that builds it. */
  readonly producer?: string;
}

/** Find an executable on PATH (or check an absolute path). `undefined` if absent. */
export function which(command: string, pathEnv: string | undefined): string | undefined {
  const candidates =
    isAbsolute(command) || command.includes('/')
      ? [command]
      : (pathEnv ?? '')
          .split(delimiter)
          .filter(Boolean)
          .map((d) => join(d, command));
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

  /**
   * Resolve an installed tool or throw {@link MissingToolError} with its
   * install hint. A built tool has no installed identity: it is a
   * {@link PlanError} to ask for one (use {@link builtToolIdentity}).
   */
  resolve(tool: ToolRef): ResolvedTool {
    if (tool.producer !== undefined)
      throw new PlanError(`tool ${tool.name} is built by task ${tool.producer}: it is not looked up on PATH`, 'compute its identity from its producer (builtToolIdentity)');
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

/**
 * The identity of a tool the graph builds, for the keys of the tasks that
 * use it, computed when the build is planned.
 *
 * At that time the producer may not have run yet, so the file's digest is
 * not known. The producer's key stands for it: that key covers everything
 * the file is made from (its sources, compiler, flags, the producer's own
 * tools), so it changes whenever the file can change; that is sound.
 * The engine has no early cut-off (a task whose dependency reran reruns),
 * so digesting the file once it exists would rerun no fewer tasks. And an
 * edited or deleted tool is still caught: it is the producer's declared
 * output, so the producer reruns ("output changed"), and its users with
 * it ("dependency rebuilt").
 */
export function builtToolIdentity(tool: BuiltTool, producerKey: string, root: string): ResolvedTool {
  const version = `built by ${tool.producer}`;
  return {
    name: tool.name,
    path: resolve(root, tool.path),
    version,
    digest: producerKey,
    identity: sha256(`built\0${tool.path}\0${version}\0${producerKey}`),
    producer: tool.producer,
  };
}

/**
 * What `ctx.exec` runs for a task's built tools: its name and its declared
 * path both map to the file under the root. Installed tools are not in it
 * (they are found on PATH, as any command).
 */
export function builtToolFiles(task: Task, root: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const t of task.inputs.tools ?? []) {
    if (t.producer === undefined) continue;
    const abs = resolve(root, t.path);
    files.set(t.name, abs);
    files.set(t.path, abs);
  }
  return files;
}

/** First non-empty line the tool prints for its version arguments; '' if it prints nothing or fails. */
function probeVersion(path: string, args: readonly string[]): string {
  if (args.length === 0) return '';
  try {
    const out = execFileSync(path, args, { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' } });
    return (
      out
        .split('\n')
        .find((l) => l.trim() !== '')
        ?.trim() ?? ''
    );
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    const text = `${err.stdout ?? ''}\n${err.stderr ?? ''}`;
    return (
      text
        .split('\n')
        .find((l) => l.trim() !== '')
        ?.trim() ?? ''
    );
  }
}
