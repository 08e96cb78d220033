/**
 * The registry client (src/packaging/docker/registry.ts) against a real
 * Debian `docker-registry` 2.8 on 127.0.0.1: blobs, two platform images, the
 * index pushed and read back, errors, and htpasswd auth with a password that
 * must never show up anywhere.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Credentials, maskSecrets, secretsOf } from '../../src/packaging/docker/credentials.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST, RegistryClient, RegistryError, type IndexEntry } from '../../src/packaging/docker/registry.js';
import { freePort, pidAlive, startRegistry, type TestRegistry } from '../registry-helpers.js';

/** Pushes a config blob, a fake layer and an image manifest for `arch`; returns the index entry. */
async function pushImage(client: RegistryClient, arch: string, mediaType: string = OCI_MANIFEST, salt = ''): Promise<IndexEntry> {
  const oci = mediaType === OCI_MANIFEST;
  const layer = await client.pushBlob(Buffer.from(`fake layer for ${arch}${salt}\n`));
  const config = await client.pushBlob(Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] }, config: {} })));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', digest: config.digest, size: config.size },
      layers: [{ mediaType: oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layer.digest, size: layer.size }],
    }),
  );
  const digest = await client.putManifest(`${arch}${salt}`, manifest, mediaType);
  return { digest, size: manifest.length, mediaType, platform: { os: 'linux', architecture: arch } };
}

async function caught(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RegistryError);
    return e as RegistryError;
  }
  throw new Error('expected a RegistryError');
}

function expectOneLine(e: RegistryError): void {
  expect(e.message).not.toContain('\n');
  expect(e.hint ?? '').not.toBe('');
  expect(e.hint).not.toContain('\n');
}

describe('registry client against docker-registry (anonymous)', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    const pid = reg.pid;
    await reg.stop();
    expect(pidAlive(pid)).toBe(false);
  });

  it('pushes blobs once: a second push of the same bytes is skipped', async () => {
    const client = new RegistryClient({ registry: reg.addr, repository: 'pb/blobs' });
    expect(client.baseUrl).toBe(`http://${reg.addr}`);
    const first = await client.pushBlob(Buffer.from('some bytes'));
    expect(first.pushed).toBe(true);
    expect(await client.hasBlob(first.digest)).toBe(true);
    const again = await client.pushBlob(Buffer.from('some bytes'));
    expect(again).toEqual({ ...first, pushed: false });
  });

  it('pushes two platform images and an OCI index, reads it back, and a re-push gives the same digest', async () => {
    const client = new RegistryClient({ registry: reg.addr, repository: 'pb/slim' });
    const arm = await pushImage(client, 'arm64');
    const amd = await pushImage(client, 'amd64');
    const annotations = { 'org.opencontainers.image.version': '3.11.2', 'org.opencontainers.image.source': 'https://example.invalid/pb' };
    // Given in arm64, amd64 order: the index sorts them.
    const digest = await client.pushIndex('3.11', [arm, amd], annotations);
    const back = await client.getManifest('3.11');
    expect(back.digest).toBe(digest);
    expect(back.mediaType).toBe(OCI_INDEX);
    const json = back.json as { manifests: { digest: string; platform: { architecture: string } }[]; annotations: Record<string, string> };
    expect(json.manifests.map((m) => [m.platform.architecture, m.digest])).toEqual([
      ['amd64', amd.digest],
      ['arm64', arm.digest],
    ]);
    expect(json.annotations).toEqual(annotations);
    const byDigest = await client.getManifest(digest);
    expect(byDigest.bytes.equals(back.bytes)).toBe(true);
    // Each platform's manifest is reachable by digest from the index.
    for (const m of json.manifests) expect((await client.getManifest(m.digest)).mediaType).toBe(OCI_MANIFEST);
    const head = await client.headManifest('3.11');
    expect(head).toEqual({ mediaType: OCI_INDEX, digest, size: back.bytes.length });

    // Deterministic: the same inputs in another order, under another tag, give the same digest.
    expect(await client.pushIndex('latest', [amd, arm], { ...annotations })).toBe(digest);
    // A different image behind a platform gives a different one.
    const amd2 = await pushImage(client, 'amd64', OCI_MANIFEST, '-2');
    expect(await client.pushIndex('other', [arm, amd2], annotations)).not.toBe(digest);
  });

  it('pushes a Docker manifest list of Docker v2 manifests as well', async () => {
    const client = new RegistryClient({ registry: reg.addr, repository: 'pb/full' });
    const amd = await pushImage(client, 'amd64', DOCKER_MANIFEST);
    const arm = await pushImage(client, 'arm64', DOCKER_MANIFEST);
    const digest = await client.pushIndex('latest', [amd, arm], undefined, DOCKER_MANIFEST_LIST);
    const back = await client.getManifest('latest');
    expect(back.mediaType).toBe(DOCKER_MANIFEST_LIST);
    expect(back.digest).toBe(digest);
  });

  it('refuses an index that references a manifest not in the repository, before any PUT of the index', async () => {
    const other = new RegistryClient({ registry: reg.addr, repository: 'pb/elsewhere' });
    const arm = await pushImage(other, 'arm64');
    const client = new RegistryClient({ registry: reg.addr, repository: 'pb/partial' });
    const amd = await pushImage(client, 'amd64');
    const e = await caught(client.pushIndex('broken', [amd, arm]));
    expectOneLine(e);
    expect(e.message).toBe(`index ${reg.addr}/pb/partial:broken references ${arm.digest} (linux/arm64), which is not in ${reg.addr}/pb/partial`);
    expect(await client.headManifest('broken')).toBeUndefined();
    expect(reg.log()).not.toMatch(/PUT \/v2\/pb\/partial\/manifests\/broken/);
    // The registry's access log does record manifest PUTs (so the line above can fail).
    expect(reg.log()).toMatch(/PUT \/v2\/pb\/partial\/manifests\/amd64/);
  });

  it('a missing manifest is a one-line 404 error; HEAD says undefined', async () => {
    const client = new RegistryClient({ registry: reg.addr, repository: 'pb/slim' });
    const e = await caught(client.getManifest('no-such-tag'));
    expectOneLine(e);
    expect(e.message).toBe(`manifest ${reg.addr}/pb/slim:no-such-tag not found`);
    expect(await client.headManifest('no-such-tag')).toBeUndefined();
  });

  it("an unexpected status names the registry's error code", async () => {
    const client = new RegistryClient({ registry: reg.addr, repository: 'pb/slim' });
    const bogus = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 2 }, layers: [] }),
    );
    const e = await caught(client.putManifest('bogus', bogus, OCI_MANIFEST));
    expectOneLine(e);
    expect(e.message).toMatch(new RegExp(`^registry ${reg.addr} answered 400 MANIFEST_BLOB_UNKNOWN: .* to PUT /v2/pb/slim/manifests/bogus$`));
  });

  it('connection refused is a one-line error naming the registry', async () => {
    const port = await freePort();
    const client = new RegistryClient({ registry: `127.0.0.1:${port}`, repository: 'pb/slim' });
    const e = await caught(client.getManifest('latest'));
    expectOneLine(e);
    expect(e.message).toBe(`cannot connect to registry 127.0.0.1:${port} (connection refused at http://127.0.0.1:${port})`);
    expect(e.hint).toBe('start the registry, or check docker.registry');
  });
});

describe('registry client against docker-registry with htpasswd auth', () => {
  const user = 'pbuser';
  const password = 'S3cret-Pa55word-zq81';
  let reg: TestRegistry;
  const seen: string[] = [];
  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: { user, password } });
  });
  afterAll(async () => {
    // Nothing the registry logged during these tests carries a secret either.
    const log = reg.log();
    const pid = reg.pid;
    await reg.stop();
    expect(pidAlive(pid)).toBe(false);
    for (const s of secretsOf(new Credentials(user, password, 'x'))) expect(log).not.toContain(s);
    for (const text of seen) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(Buffer.from(`${user}:${password}`).toString('base64'));
    }
  });

  /** Every way an error might get printed: message, hint, JSON, inspect, String. */
  function renderings(e: RegistryError): string[] {
    const out = [e.message, e.hint ?? '', JSON.stringify(e), JSON.stringify({ ...e }), inspect(e), String(e), e.stack ?? ''];
    seen.push(...out);
    return out;
  }

  it('credentials print as [redacted] every way', () => {
    const creds = new Credentials(user, password, 'PB_REGISTRY_USER/PB_REGISTRY_PASSWORD');
    expect(String(creds)).toBe('[redacted]');
    expect(`${creds}`).toBe('[redacted]');
    expect(JSON.stringify(creds)).toBe('"[redacted]"');
    expect(JSON.stringify({ creds })).toBe('{"creds":"[redacted]"}');
    expect(inspect(creds)).toBe('[redacted]');
    expect(inspect({ creds }, { depth: 5, showHidden: true })).not.toContain(password);
    const client = new RegistryClient({ registry: reg.addr, repository: 'pb/auth', credentials: creds });
    const clientText = [inspect(client, { depth: 10, showHidden: true }), JSON.stringify(client)].join('\n');
    seen.push(clientText);
    expect(clientText).not.toContain(password);
  });

  it('without credentials: a one-line error asking for them', async () => {
    const client = new RegistryClient({ registry: reg.addr, repository: 'pb/auth' });
    const e = await caught(client.getManifest('latest'));
    expectOneLine(e);
    renderings(e);
    expect(e.message).toBe(`registry ${reg.addr} requires authentication for pb/auth (401 on GET /v2/pb/auth/manifests/latest)`);
  });

  it('a wrong password: a one-line 401 error naming the source, never the password', async () => {
    const wrong = `${password}-wrong`;
    const client = new RegistryClient({ registry: reg.addr, repository: 'pb/auth', credentials: new Credentials(user, wrong, 'PB_REGISTRY_PASSWORD_FILE (/run/secrets/reg)') });
    const e = await caught(client.pushBlob(Buffer.from('x')));
    expectOneLine(e);
    expect(e.message).toBe(`registry ${reg.addr} rejected the credentials for pb/auth (401 on HEAD /v2/pb/auth/blobs/sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881)`);
    expect(e.hint).toBe('check the credentials from PB_REGISTRY_PASSWORD_FILE (/run/secrets/reg) (they are not printed)');
    for (const text of renderings(e)) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(Buffer.from(`${user}:${wrong}`).toString('base64'));
    }
  });

  it('the right password: images and index push and read back', async () => {
    const creds = new Credentials(user, password, 'PB_REGISTRY_USER/PB_REGISTRY_PASSWORD');
    const client = new RegistryClient({ registry: reg.addr, repository: 'pb/auth', credentials: creds });
    const amd = await pushImage(client, 'amd64');
    const arm = await pushImage(client, 'arm64');
    const digest = await client.pushIndex('latest', [amd, arm]);
    const back = await client.getManifest('latest');
    expect(back.digest).toBe(digest);
    // And an anonymous reader is still turned away.
    const anon = new RegistryClient({ registry: reg.addr, repository: 'pb/auth' });
    renderings(await caught(anon.getManifest(digest)));
  });
});

describe('registry client against docker-registry with token auth (Bearer)', () => {
  const user = 'tokenuser';
  const password = 'T0ken-Pa55word-kq27';
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ token: { user, password } });
  });
  afterAll(async () => {
    const pid = reg.pid;
    await reg.stop();
    expect(pidAlive(pid)).toBe(false);
  });

  it('gets a token per scope from the realm with the credentials, caches it, and pushes', async () => {
    const client = new RegistryClient({ registry: reg.addr, repository: 'pb/bearer', credentials: new Credentials(user, password, 'test') });
    const amd = await pushImage(client, 'amd64');
    const arm = await pushImage(client, 'arm64');
    const digest = await client.pushIndex('latest', [amd, arm]);
    expect((await client.getManifest('latest')).digest).toBe(digest);
    // Dozens of calls, one token per scope the registry asked for.
    // The registry names a scope's actions in no fixed order (push,pull or pull,push): compare them as a set.
    const actions = (scope: string) => scope.replace(/:([a-z,]+)$/, (_, a: string) => `:${a.split(',').sort().join(',')}`);
    expect(reg.tokenRequests.map((r) => ({ ...r, scope: actions(r.scope) }))).toEqual([
      { scope: 'repository:pb/bearer:pull', authorized: true },
      { scope: 'repository:pb/bearer:pull,push', authorized: true },
    ]);
    // What to mask: the three credential strings and the two tokens (JWTs).
    const secrets = client.secrets();
    expect(secrets.slice(0, 3)).toEqual(secretsOf(new Credentials(user, password, 'x')));
    expect(secrets.slice(3)).toHaveLength(2);
    for (const t of secrets.slice(3)) expect(t).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(maskSecrets(`token ${secrets[4]} pw ${password}`, secrets)).toBe('token *** pw ***');
  });

  it('a wrong password: the token server says 401, and the error is one line without the password', async () => {
    const wrong = `${password}-no`;
    const client = new RegistryClient({ registry: reg.addr, repository: 'pb/bearer', credentials: new Credentials(user, wrong, 'PB_REGISTRY_USER/PB_REGISTRY_PASSWORD') });
    const e = await caught(client.getManifest('latest'));
    expectOneLine(e);
    expect(e.message).toMatch(new RegExp(`^registry ${reg.addr} rejected the credentials for pb/bearer \\(401 on token request to http://127\\.0\\.0\\.1:\\d+/token\\)$`));
    for (const text of [e.message, e.hint ?? '', JSON.stringify(e), inspect(e), e.stack ?? '']) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(Buffer.from(`${user}:${wrong}`).toString('base64'));
    }
  });
});
