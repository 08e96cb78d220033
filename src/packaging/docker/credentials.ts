/**
 * Registry credentials for the image push: from the environment
 * (`PB_REGISTRY_USER` with `PB_REGISTRY_PASSWORD` or `PB_REGISTRY_PASSWORD_FILE`)
 * or from a Docker config file (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`, its `auths[registry].auth`).
 *
 * A {@link Credentials} object prints as `[redacted]` through `String()`,
 * `JSON.stringify()` and `util.inspect()`, so logging it or putting it in a
 * report cannot leak the password. {@link secretsOf} lists the strings that
 * must never appear in output, {@link maskSecrets} hides them, and in GitHub
 * Actions {@link loadCredentials} registers them with the runner's masking.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { PbError, errorMessage } from '../../graph/errors.js';

export const REDACTED = '[redacted]';

export class Credentials {
  readonly #username: string;
  readonly #password: string;
  /** Where they came from (an env variable's name or a file path), for hints. Never secret. */
  readonly #source: string;

  constructor(username: string, password: string, source: string) {
    this.#username = username;
    this.#password = password;
    this.#source = source;
  }

  get username(): string {
    return this.#username;
  }
  get password(): string {
    return this.#password;
  }
  get source(): string {
    return this.#source;
  }
  /** The base64 of `user:password`, as in a Docker config's `auth`. */
  get base64(): string {
    return Buffer.from(`${this.#username}:${this.#password}`, 'utf8').toString('base64');
  }
  /** The `Authorization` header value for HTTP basic auth. */
  basicHeader(): string {
    return `Basic ${this.base64}`;
  }

  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}

/** Every string derived from the credentials that must never be printed. */
export function secretsOf(creds: Credentials | undefined): string[] {
  if (!creds || creds.password === '') return [];
  return [creds.password, creds.base64, creds.basicHeader()];
}

/** `text` with each secret replaced by `***` (longest first, so no part of a longer one survives). */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  const sorted = [...new Set(secrets.filter((s) => s !== ''))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const s of sorted) out = out.split(s).join('***');
  return out;
}

/** A Docker config's `auths` key as a bare `host[:port]` (Docker writes `https://host/v1/` for some). */
function authsKeyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

function fromEnv(env: NodeJS.ProcessEnv): Credentials | undefined {
  const user = env.PB_REGISTRY_USER;
  const password = env.PB_REGISTRY_PASSWORD;
  const file = env.PB_REGISTRY_PASSWORD_FILE;
  if (user === undefined && password === undefined && file === undefined) return undefined;
  if (password !== undefined && file !== undefined) {
    throw new PbError('both PB_REGISTRY_PASSWORD and PB_REGISTRY_PASSWORD_FILE are set', 'set only one of them');
  }
  if (user === undefined || user === '') {
    throw new PbError('PB_REGISTRY_USER is not set but a registry password is', 'set PB_REGISTRY_USER to the registry user name');
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? errorMessage(e);
      throw new PbError(`cannot read PB_REGISTRY_PASSWORD_FILE ${file} (${code})`, 'point PB_REGISTRY_PASSWORD_FILE at a readable file holding the password');
    }
    // One trailing newline is the file's, not the password's.
    return new Credentials(user, text.replace(/\r?\n$/, ''), `PB_REGISTRY_PASSWORD_FILE (${file})`);
  }
  if (password === undefined) {
    throw new PbError('PB_REGISTRY_USER is set but no password', 'set PB_REGISTRY_PASSWORD or PB_REGISTRY_PASSWORD_FILE');
  }
  return new Credentials(user, password, 'PB_REGISTRY_USER/PB_REGISTRY_PASSWORD');
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** The Docker config file consulted: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG !== undefined && env.DOCKER_CONFIG !== '' ? env.DOCKER_CONFIG : join(env.HOME ?? homedir(), '.docker');
  return join(dir, 'config.json');
}

function fromDockerConfig(registry: string, path: string): Credentials | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PbError(`cannot read Docker config ${path} (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)})`, 'make the file readable, or set PB_REGISTRY_USER and PB_REGISTRY_PASSWORD');
  }
  let config: DockerConfig;
  try {
    config = JSON.parse(text) as DockerConfig;
  } catch {
    throw new PbError(`Docker config ${path} is not valid JSON`, 'fix the file, or set PB_REGISTRY_USER and PB_REGISTRY_PASSWORD');
  }
  const entry = Object.entries(config.auths ?? {}).find(([key]) => authsKeyHost(key) === registry)?.[1];
  if (entry?.auth !== undefined && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw new PbError(`Docker config ${path}: auths["${registry}"].auth is not base64 of user:password`, `log in again (docker login ${registry}), or set PB_REGISTRY_USER and PB_REGISTRY_PASSWORD`);
    }
    return new Credentials(decoded.slice(0, colon), decoded.slice(colon + 1), path);
  }
  if (entry?.username !== undefined && entry.password !== undefined) return new Credentials(entry.username, entry.password, path);
  const helper = config.credHelpers?.[registry] ?? config.credsStore;
  if (helper !== undefined && helper !== '') {
    throw new PbError(
      `Docker config ${path} keeps the credentials for ${registry} in credential helper '${helper}', which pyston-build does not support`,
      'set PB_REGISTRY_USER and PB_REGISTRY_PASSWORD (or PB_REGISTRY_PASSWORD_FILE) instead',
    );
  }
  if (entry?.identitytoken !== undefined) {
    throw new PbError(
      `Docker config ${path} has only an identity token for ${registry}, which pyston-build does not support`,
      'set PB_REGISTRY_USER and PB_REGISTRY_PASSWORD (or PB_REGISTRY_PASSWORD_FILE) instead',
    );
  }
  return undefined;
}

/**
 * The credentials for `registry` (`host[:port]`), or undefined for
 * anonymous access. The environment wins over the Docker config file.
 * Synchronous and side-effect free; {@link loadCredentials} also masks.
 */
export function findCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  return fromEnv(env) ?? fromDockerConfig(registry, dockerConfigPath(env));
}

/** Registers each value with the GitHub Actions runner's log masking (`GITHUB_ACTIONS=true` only). */
export async function addMasksInActions(secrets: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (env.GITHUB_ACTIONS !== 'true') return;
  const values = secrets.filter((s) => s !== '');
  if (values.length === 0) return;
  // Loaded only when needed, as the github reporter does (src/report/github.ts).
  const core = await import('@actions/core');
  for (const s of values) core.setSecret(s);
}

/** Registers the credentials' secrets ({@link secretsOf}) with the GitHub Actions runner's masking. */
export async function maskInActions(creds: Credentials | undefined, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await addMasksInActions(secretsOf(creds), env);
}

/** {@link findCredentials}, then {@link maskInActions}: what the image tasks call. */
export async function loadCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const creds = findCredentials(registry, env);
  await maskInActions(creds, env);
  return creds;
}
