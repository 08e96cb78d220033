/**
 * A minimal client of the OCI distribution API (registry v2), enough to push
 * blobs and manifests, push a multi-platform image index and read it back.
 * HTTP goes through Node's global fetch; no registry SDK.
 *
 * Scheme: https, except plain http for loopback hosts (127.0.0.0/8, ::1,
 * localhost), as Docker treats them, or when `insecure` is set.
 *
 * Auth: every request is tried anonymously first (or with what an earlier
 * challenge taught us). On 401 the `WWW-Authenticate` challenge decides:
 * `Basic` sends the credentials as basic auth; `Bearer realm=,service=,scope=`
 * fetches a token from the realm (with basic auth when there are
 * credentials) and retries with it. Tokens are cached per scope.
 *
 * No message this module produces contains the credentials or a token: they
 * live only in the `Authorization` header of the requests. Tokens are
 * registered with the GitHub Actions masking as they arrive, and
 * `secrets()` lists everything to mask in a log.
 */
import { createHash } from 'node:crypto';
import { TaskFailure } from '../../graph/errors.js';
import { addMasksInActions, secretsOf, type Credentials } from './credentials.js';
import { platformString, type Platform } from './base.js';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
/** Without an Accept header a registry answers with a schema1 manifest. */
const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(', ');

/** A registry call that failed: one line, with a hint. */
export class RegistryError extends TaskFailure {}

export interface RegistryOptions {
  /** `host[:port]`, as in `docker.registry`. */
  readonly registry: string;
  /** The repository name inside the registry, e.g. `pyston-build/slim`. */
  readonly repository: string;
  readonly credentials?: Credentials | undefined;
  /** Plain http even for a non-loopback host. */
  readonly insecure?: boolean | undefined;
}

export type { Platform };

/** One entry of an image index: a platform's image manifest. */
export interface IndexEntry {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  readonly platform: Platform;
}

export interface Manifest {
  readonly mediaType: string;
  readonly digest: string;
  readonly bytes: Buffer;
  readonly json: unknown;
}

export interface ManifestHead {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

export interface BlobDescriptor {
  readonly digest: string;
  readonly size: number;
  /** False when the registry already had the blob. */
  readonly pushed: boolean;
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** True for the hosts Docker talks plain http to without configuration. */
export function isLoopbackRegistry(registry: string): boolean {
  let host = registry;
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(registry);
  if (bracket) host = bracket[1]!;
  else host = registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `linux/arm64/v8`. */
export const platformName = platformString;

function comparePlatforms(a: IndexEntry, b: IndexEntry): number {
  const ka = [a.platform.os, a.platform.architecture, a.platform.variant ?? '', a.digest];
  const kb = [b.platform.os, b.platform.architecture, b.platform.variant ?? '', b.digest];
  for (let i = 0; i < ka.length; i++) {
    if (ka[i]! < kb[i]!) return -1;
    if (ka[i]! > kb[i]!) return 1;
  }
  return 0;
}

/**
 * The bytes of an image index: entries sorted by platform, keys in a fixed
 * order, annotations sorted by key, no whitespace. The same inputs always
 * give the same bytes, hence the same digest.
 */
export function buildIndex(manifests: readonly IndexEntry[], annotations?: Readonly<Record<string, string>>, mediaType: string = OCI_INDEX): Buffer {
  const seen = new Set<string>();
  for (const m of manifests) {
    if (!DIGEST_RE.test(m.digest))
      throw new RegistryError(`index entry for ${platformName(m.platform)} has a malformed digest '${m.digest}'`, 'pass the sha256:<64 hex> digest the registry returned for the manifest');
    const name = platformName(m.platform);
    if (seen.has(name)) throw new RegistryError(`index has two manifests for platform ${name}`, 'pass one image manifest per platform');
    seen.add(name);
  }
  const sorted = [...manifests].sort(comparePlatforms);
  const index: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    manifests: sorted.map((m) => ({
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.size,
      platform: {
        architecture: m.platform.architecture,
        os: m.platform.os,
        ...(m.platform.variant ? { variant: m.platform.variant } : {}),
      },
    })),
  };
  const keys = Object.keys(annotations ?? {}).sort();
  if (keys.length > 0) index.annotations = Object.fromEntries(keys.map((k) => [k, annotations![k]!]));
  return Buffer.from(JSON.stringify(index), 'utf8');
}

/** A `WWW-Authenticate` challenge: its scheme and its `key="value"` parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\S+)\s*(.*)$/.exec(header);
  const scheme = (m?.[1] ?? '').toLowerCase();
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const p of (m?.[2] ?? '').matchAll(re)) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  return { scheme, params };
}

type Auth = { kind: 'none' } | { kind: 'basic' } | { kind: 'bearer'; realm: string; service: string | undefined };

interface RequestOptions {
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
  /** `pull` or `pull,push`. */
  readonly access: 'pull' | 'pull,push';
  /** Statuses the caller handles itself (others become a RegistryError). */
  readonly ok: readonly number[];
}

export class RegistryClient {
  readonly registry: string;
  readonly repository: string;
  readonly baseUrl: string;
  readonly #credentials: Credentials | undefined;
  #auth: Auth = { kind: 'none' };
  /** Bearer tokens by scope (`repository:NAME:pull` or `...:pull,push`). */
  readonly #tokens = new Map<string, string>();

  constructor(opts: RegistryOptions) {
    this.registry = opts.registry;
    this.repository = opts.repository;
    this.#credentials = opts.credentials;
    const scheme = opts.insecure || isLoopbackRegistry(opts.registry) ? 'http' : 'https';
    this.baseUrl = `${scheme}://${opts.registry}`;
  }

  /** `registry/repository:tag` or `registry/repository@digest`, for messages. */
  refName(ref: string): string {
    return `${this.registry}/${this.repository}${ref.startsWith('sha256:') ? '@' : ':'}${ref}`;
  }

  #scope(access: string): string {
    return `repository:${this.repository}:${access}`;
  }

  #authHeader(scope: string): string | undefined {
    if (this.#auth.kind === 'basic') return this.#credentials?.basicHeader();
    if (this.#auth.kind === 'bearer') {
      const token = this.#tokens.get(scope);
      return token !== undefined ? `Bearer ${token}` : undefined;
    }
    return undefined;
  }

  async #fetch(method: string, url: string, headers: Record<string, string>, body: Buffer | undefined): Promise<Response> {
    try {
      return await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), redirect: 'follow' });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      const code = cause?.code ?? (e instanceof Error ? e.message : String(e));
      if (code === 'ECONNREFUSED') {
        throw new RegistryError(`cannot connect to registry ${this.registry} (connection refused at ${new URL(url).origin})`, 'start the registry, or check docker.registry');
      }
      throw new RegistryError(
        `cannot reach registry ${this.registry} (${code} at ${new URL(url).origin})`,
        'check docker.registry and the network; a plain-http registry that is not on loopback needs insecure',
      );
    }
  }

  /** Answers a 401 challenge: learns the auth scheme, and for Bearer fetches a token. False when there is nothing new to try. */
  async #answerChallenge(res: Response, scope: string): Promise<boolean> {
    const header = res.headers.get('www-authenticate');
    const { scheme, params } = parseChallenge(header ?? '');
    if (scheme === 'basic') {
      if (!this.#credentials || this.#auth.kind === 'basic') return false;
      this.#auth = { kind: 'basic' };
      return true;
    }
    if (scheme === 'bearer' && params.realm) {
      if (this.#auth.kind === 'bearer' && this.#tokens.has(scope)) return false;
      this.#auth = { kind: 'bearer', realm: params.realm, service: params.service };
      await this.#fetchToken(params.realm, params.service, params.scope ?? scope, scope);
      return true;
    }
    throw new RegistryError(
      `registry ${this.registry} asked for an authentication scheme pyston-build does not support (${scheme || 'no WWW-Authenticate header'})`,
      'use a registry with basic or bearer-token authentication',
    );
  }

  async #fetchToken(realm: string, service: string | undefined, askScope: string, cacheScope: string): Promise<void> {
    const url = new URL(realm);
    if (service !== undefined) url.searchParams.set('service', service);
    url.searchParams.set('scope', askScope);
    const headers: Record<string, string> = {};
    if (this.#credentials) headers.Authorization = this.#credentials.basicHeader();
    const res = await this.#fetch('GET', url.toString(), headers, undefined);
    if (res.status === 401 || res.status === 403) {
      await res.arrayBuffer();
      throw this.#unauthorized(res.status, `token request to ${url.origin}${url.pathname}`);
    }
    if (!res.ok) throw await this.#unexpected(res, 'GET', `${url.origin}${url.pathname}`);
    const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryError(`token server ${url.origin}${url.pathname} for registry ${this.registry} answered without a token`, "check the registry's token service");
    }
    this.#tokens.set(cacheScope, token);
    await addMasksInActions([token]);
  }

  /** What must never be printed: the credentials' secrets and every token obtained so far (to pass to maskSecrets in credentials.ts). */
  secrets(): string[] {
    return [...secretsOf(this.#credentials), ...this.#tokens.values()];
  }

  #unauthorized(status: number, what: string): RegistryError {
    if (!this.#credentials) {
      return new RegistryError(
        `registry ${this.registry} requires authentication for ${this.repository} (${status} on ${what})`,
        `set PB_REGISTRY_USER and PB_REGISTRY_PASSWORD (or PB_REGISTRY_PASSWORD_FILE), or log in with docker login ${this.registry}`,
      );
    }
    return new RegistryError(
      `registry ${this.registry} rejected the credentials for ${this.repository} (${status} on ${what})`,
      `check the credentials from ${this.#credentials.source} (they are not printed)`,
    );
  }

  async #unexpected(res: Response, method: string, path: string): Promise<RegistryError> {
    const text = await res.text().catch(() => '');
    let detail = '';
    try {
      const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
      detail = errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
    } catch {
      detail = '';
    }
    const oneLine = detail.replace(/\s+/g, ' ').trim().slice(0, 300);
    return new RegistryError(
      `registry ${this.registry} answered ${res.status}${oneLine ? ` ${oneLine}` : ''} to ${method} ${path}`,
      "check docker.registry and docker.repository; the registry's own log has the details",
    );
  }

  /** One API call, with the auth dance. Returns the response when its status is in `ok`. */
  async #request(method: string, path: string, opts: RequestOptions): Promise<Response> {
    const url = path.startsWith('http://') || path.startsWith('https://') ? path : `${this.baseUrl}${path}`;
    const shown = new URL(url).pathname;
    const scope = this.#scope(opts.access);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...opts.headers };
      const auth = this.#authHeader(scope);
      // An upload Location on another origin never gets our credentials.
      if (auth !== undefined && new URL(url).origin === new URL(this.baseUrl).origin) headers.Authorization = auth;
      const res = await this.#fetch(method, url, headers, opts.body);
      if (res.status === 401 && attempt === 0) {
        await res.arrayBuffer();
        if (await this.#answerChallenge(res, scope)) continue;
        throw this.#unauthorized(401, `${method} ${shown}`);
      }
      if (res.status === 401 || res.status === 403) {
        await res.arrayBuffer();
        throw this.#unauthorized(res.status, `${method} ${shown}`);
      }
      if (opts.ok.includes(res.status)) return res;
      throw await this.#unexpected(res, method, shown);
    }
  }

  #manifestPath(ref: string): string {
    return `/v2/${this.repository}/manifests/${ref}`;
  }

  #notFound(ref: string): RegistryError {
    return new RegistryError(`manifest ${this.refName(ref)} not found`, 'push it first, or check docker.registry, docker.repository and the tag');
  }

  async getManifest(ref: string): Promise<Manifest> {
    const res = await this.#request('GET', this.#manifestPath(ref), { access: 'pull', headers: { Accept: MANIFEST_ACCEPT }, ok: [200, 404] });
    const bytes = Buffer.from(await res.arrayBuffer());
    if (res.status === 404) throw this.#notFound(ref);
    const digest = sha256Digest(bytes);
    const claimed = res.headers.get('docker-content-digest');
    if (claimed !== null && claimed !== digest) {
      throw new RegistryError(
        `registry ${this.registry} sent manifest ${this.refName(ref)} with Docker-Content-Digest ${claimed} but its bytes hash to ${digest}`,
        'the registry or a proxy altered the manifest; check the registry',
      );
    }
    if (ref.startsWith('sha256:') && ref !== digest) {
      throw new RegistryError(`registry ${this.registry} answered ${this.refName(ref)} with a manifest whose digest is ${digest}`, 'the registry content is corrupt; check the registry');
    }
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new RegistryError(`manifest ${this.refName(ref)} is not JSON`, 'check what was pushed under that reference');
    }
    const mediaType = (json as { mediaType?: string }).mediaType ?? res.headers.get('content-type') ?? '';
    return { mediaType, digest, bytes, json };
  }

  /** The manifest's digest, size and media type, or undefined when the registry does not have it. */
  async headManifest(ref: string): Promise<ManifestHead | undefined> {
    const res = await this.#request('HEAD', this.#manifestPath(ref), { access: 'pull', headers: { Accept: MANIFEST_ACCEPT }, ok: [200, 404] });
    if (res.status === 404) return undefined;
    return {
      mediaType: res.headers.get('content-type') ?? '',
      digest: res.headers.get('docker-content-digest') ?? '',
      size: Number(res.headers.get('content-length') ?? '-1'),
    };
  }

  /** PUTs a manifest under `ref` (a tag or its digest) and returns its digest, checked against our bytes. */
  async putManifest(ref: string, bytes: Buffer, mediaType: string): Promise<string> {
    const res = await this.#request('PUT', this.#manifestPath(ref), { access: 'pull,push', headers: { 'Content-Type': mediaType }, body: bytes, ok: [201] });
    await res.arrayBuffer();
    const digest = sha256Digest(bytes);
    const claimed = res.headers.get('docker-content-digest');
    if (claimed !== null && claimed !== digest) {
      throw new RegistryError(
        `registry ${this.registry} stored ${this.refName(ref)} as ${claimed}, not as the pushed bytes' digest ${digest}`,
        'the registry rewrote the manifest; use a registry that stores manifests byte for byte',
      );
    }
    return digest;
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.#request('HEAD', `/v2/${this.repository}/blobs/${digest}`, { access: 'pull', ok: [200, 404] });
    return res.status === 200;
  }

  /** Uploads a blob in one request (monolithic upload), unless the repository has it already. */
  async pushBlob(bytes: Buffer): Promise<BlobDescriptor> {
    const digest = sha256Digest(bytes);
    if (await this.hasBlob(digest)) return { digest, size: bytes.length, pushed: false };
    const start = await this.#request('POST', `/v2/${this.repository}/blobs/uploads/`, { access: 'pull,push', ok: [202] });
    await start.arrayBuffer();
    const location = start.headers.get('location');
    if (location === null) throw new RegistryError(`registry ${this.registry} started a blob upload for ${this.repository} without a Location`, 'check the registry');
    const url = new URL(location, this.baseUrl);
    url.searchParams.set('digest', digest);
    const res = await this.#request('PUT', url.toString(), { access: 'pull,push', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes, ok: [201] });
    await res.arrayBuffer();
    const claimed = res.headers.get('docker-content-digest');
    if (claimed !== null && claimed !== digest) {
      throw new RegistryError(`registry ${this.registry} stored a blob as ${claimed}, not as its digest ${digest}`, 'check the registry');
    }
    return { digest, size: bytes.length, pushed: true };
  }

  /**
   * Pushes an image index under `tag` referencing `manifests` (which must
   * already be in this repository: each is checked with HEAD first, before
   * anything is written), reads it back and checks that its platforms and
   * digests are the ones pushed. Returns the index digest.
   *
   * Debian's registry 2.8 stores the OCI index type as is; `mediaType`
   * selects the Docker manifest list instead, for registries that want it.
   */
  async pushIndex(tag: string, manifests: readonly IndexEntry[], annotations?: Readonly<Record<string, string>>, mediaType: string = OCI_INDEX): Promise<string> {
    if (manifests.length === 0) throw new RegistryError(`index ${this.refName(tag)} would reference no manifests`, "pass at least one platform's image manifest");
    const bytes = buildIndex(manifests, annotations, mediaType);
    for (const m of manifests) {
      const head = await this.headManifest(m.digest);
      if (head === undefined) {
        throw new RegistryError(
          `index ${this.refName(tag)} references ${m.digest} (${platformName(m.platform)}), which is not in ${this.registry}/${this.repository}`,
          "push each platform's image to the same repository before the index",
        );
      }
      if (head.size >= 0 && head.size !== m.size) {
        throw new RegistryError(
          `index ${this.refName(tag)} gives ${m.digest} (${platformName(m.platform)}) size ${m.size}, but the registry has ${head.size} bytes`,
          'pass the size of the manifest as pushed',
        );
      }
    }
    const digest = await this.putManifest(tag, bytes, mediaType);
    const back = await this.getManifest(tag);
    const want = JSON.parse(bytes.toString('utf8')) as { manifests: { digest: string; platform: Platform }[] };
    const got = back.json as { manifests?: { digest?: string; platform?: Platform }[] };
    const summary = (list: { digest?: string; platform?: Platform }[] | undefined): string => (list ?? []).map((e) => `${e.platform ? platformName(e.platform) : '?'}=${e.digest ?? '?'}`).join(',');
    if (back.digest !== digest || back.mediaType !== mediaType || summary(got.manifests) !== summary(want.manifests)) {
      throw new RegistryError(
        `index ${this.refName(tag)} read back as ${back.digest} [${summary(got.manifests)}], not as pushed ${digest} [${summary(want.manifests)}]`,
        'something else pushed to the same tag meanwhile, or the registry rewrote the index; push again',
      );
    }
    return digest;
  }
}
