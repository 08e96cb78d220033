/**
 * Registry credentials (src/packaging/docker/credentials.ts): where they come
 * from, how they refuse to print, and masking; plus the registry client's
 * pure parts (scheme choice, challenge parsing, deterministic index bytes).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { PbError } from '../../src/graph/errors.js';
import { Credentials, dockerConfigPath, findCredentials, maskInActions, maskSecrets, secretsOf } from '../../src/packaging/docker/credentials.js';
import { buildIndex, isLoopbackRegistry, parseChallenge, RegistryClient, sha256Digest, type IndexEntry } from '../../src/packaging/docker/registry.js';

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-creds-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An env with an empty Docker config dir, so the machine's own ~/.docker never leaks in. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { DOCKER_CONFIG: tmp(), ...extra };
}

function thrown(f: () => unknown): PbError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PbError);
    const err = e as PbError;
    expect(err.message).not.toContain('\n');
    expect(err.hint ?? '').not.toBe('');
    return err;
  }
  throw new Error('expected a PbError');
}

describe('findCredentials from the environment', () => {
  it('none at all is anonymous', () => {
    expect(findCredentials('reg.example:5000', env())).toBeUndefined();
  });

  it('PB_REGISTRY_USER and PB_REGISTRY_PASSWORD', () => {
    const c = findCredentials('reg.example', env({ PB_REGISTRY_USER: 'u', PB_REGISTRY_PASSWORD: 'p:w' }))!;
    expect([c.username, c.password, c.source]).toEqual(['u', 'p:w', 'PB_REGISTRY_USER/PB_REGISTRY_PASSWORD']);
  });

  it('PB_REGISTRY_PASSWORD_FILE, one trailing newline dropped', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'pw'), 'filepass \n');
    const c = findCredentials('reg.example', env({ PB_REGISTRY_USER: 'u', PB_REGISTRY_PASSWORD_FILE: join(dir, 'pw') }))!;
    expect(c.password).toBe('filepass ');
    expect(c.source).toBe(`PB_REGISTRY_PASSWORD_FILE (${join(dir, 'pw')})`);
  });

  it('the environment wins over a Docker config', () => {
    const e = env({ PB_REGISTRY_USER: 'envuser', PB_REGISTRY_PASSWORD: 'envpass' });
    writeFileSync(join(e.DOCKER_CONFIG!, 'config.json'), JSON.stringify({ auths: { 'reg.example': { auth: Buffer.from('cfg:cfgpass').toString('base64') } } }));
    expect(findCredentials('reg.example', e)!.username).toBe('envuser');
  });

  it('incomplete or contradictory settings are one-line errors', () => {
    expect(thrown(() => findCredentials('r', env({ PB_REGISTRY_PASSWORD: 'p' }))).message).toBe('PB_REGISTRY_USER is not set but a registry password is');
    expect(thrown(() => findCredentials('r', env({ PB_REGISTRY_USER: 'u' }))).message).toBe('PB_REGISTRY_USER is set but no password');
    expect(thrown(() => findCredentials('r', env({ PB_REGISTRY_USER: 'u', PB_REGISTRY_PASSWORD: 'p', PB_REGISTRY_PASSWORD_FILE: '/x' }))).message).toBe(
      'both PB_REGISTRY_PASSWORD and PB_REGISTRY_PASSWORD_FILE are set',
    );
    const missing = join(tmp(), 'nope');
    expect(thrown(() => findCredentials('r', env({ PB_REGISTRY_USER: 'u', PB_REGISTRY_PASSWORD_FILE: missing }))).message).toBe(`cannot read PB_REGISTRY_PASSWORD_FILE ${missing} (ENOENT)`);
  });
});

describe('findCredentials from a Docker config', () => {
  function withConfig(config: unknown): NodeJS.ProcessEnv {
    const e = env();
    writeFileSync(join(e.DOCKER_CONFIG!, 'config.json'), JSON.stringify(config));
    return e;
  }

  it('$DOCKER_CONFIG/config.json, else ~/.docker/config.json', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/d', HOME: '/h' })).toBe('/d/config.json');
    expect(dockerConfigPath({ HOME: '/h' })).toBe('/h/.docker/config.json');
  });

  it('auths[registry].auth is base64 of user:password (the password may hold colons)', () => {
    const e = withConfig({ auths: { 'other:5000': { auth: Buffer.from('x:y').toString('base64') }, 'reg.example:5000': { auth: Buffer.from('me:pa:ss').toString('base64') } } });
    const c = findCredentials('reg.example:5000', e)!;
    expect([c.username, c.password, c.source]).toEqual(['me', 'pa:ss', join(e.DOCKER_CONFIG!, 'config.json')]);
    expect(findCredentials('unknown:5000', e)).toBeUndefined();
  });

  it('a key written as a URL matches its host', () => {
    const e = withConfig({ auths: { 'https://reg.example/v1/': { auth: Buffer.from('me:pw').toString('base64') } } });
    expect(findCredentials('reg.example', e)!.password).toBe('pw');
  });

  it('a credsStore or credHelpers entry is a one-line error saying helpers are unsupported', () => {
    const path = (e: NodeJS.ProcessEnv) => join(e.DOCKER_CONFIG!, 'config.json');
    const store = withConfig({ auths: { 'reg.example': {} }, credsStore: 'desktop' });
    const err = thrown(() => findCredentials('reg.example', store));
    expect(err.message).toBe(`Docker config ${path(store)} keeps the credentials for reg.example in credential helper 'desktop', which pyston-build does not support`);
    expect(err.hint).toContain('PB_REGISTRY_USER');
    const helpers = withConfig({ credHelpers: { 'reg.example': 'ecr-login' } });
    expect(thrown(() => findCredentials('reg.example', helpers)).message).toContain("credential helper 'ecr-login'");
    // An auth entry for the registry still wins over a global credsStore.
    const both = withConfig({ auths: { 'reg.example': { auth: Buffer.from('a:b').toString('base64') } }, credsStore: 'desktop' });
    expect(findCredentials('reg.example', both)!.username).toBe('a');
  });

  it('a malformed auth or file is a one-line error', () => {
    const bad = withConfig({ auths: { 'reg.example': { auth: Buffer.from('nocolon').toString('base64') } } });
    expect(thrown(() => findCredentials('reg.example', bad)).message).toContain('is not base64 of user:password');
    const e = env();
    writeFileSync(join(e.DOCKER_CONFIG!, 'config.json'), '{not json');
    expect(thrown(() => findCredentials('reg.example', e)).message).toBe(`Docker config ${join(e.DOCKER_CONFIG!, 'config.json')} is not valid JSON`);
  });
});

describe('secrets never print', () => {
  const creds = new Credentials('alice', 'hunter2-xyz', 'test');

  it('String, JSON and inspect show [redacted]', () => {
    expect(String(creds)).toBe('[redacted]');
    expect(JSON.stringify({ c: creds })).toBe('{"c":"[redacted]"}');
    expect(inspect(creds)).toBe('[redacted]');
    expect(inspect([creds], { showHidden: true, depth: 9 })).not.toContain('hunter2');
  });

  it('secretsOf lists the password, the base64 auth and the basic header; maskSecrets hides them', () => {
    const b64 = Buffer.from('alice:hunter2-xyz').toString('base64');
    expect(secretsOf(creds)).toEqual(['hunter2-xyz', b64, `Basic ${b64}`]);
    expect(secretsOf(undefined)).toEqual([]);
    const text = `pw=hunter2-xyz auth=${b64}\nAuthorization: Basic ${b64} user=alice`;
    expect(maskSecrets(text, secretsOf(creds))).toBe('pw=*** auth=***\nAuthorization: *** user=alice');
    expect(maskSecrets('nothing here', ['', 'zz'])).toBe('nothing here');
  });

  it('in GitHub Actions each secret is registered with the runner (::add-mask::), elsewhere nothing is written', async () => {
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      await maskInActions(creds, { GITHUB_ACTIONS: 'false' });
      expect(written).toEqual([]);
      await maskInActions(creds, { GITHUB_ACTIONS: 'true' });
    } finally {
      process.stdout.write = original;
    }
    const masks = written
      .join('')
      .split(/\r?\n/)
      .filter((l) => l.startsWith('::add-mask::'));
    expect(masks).toEqual(secretsOf(creds).map((s) => `::add-mask::${s}`));
  });
});

describe('registry client, pure parts', () => {
  it('plain http only for loopback (or insecure)', () => {
    for (const r of ['127.0.0.1:5000', '127.1.2.3', 'localhost:5000', 'localhost', '[::1]:5000']) expect(isLoopbackRegistry(r)).toBe(true);
    for (const r of ['reg.example', '10.0.0.1:5000', '128.0.0.1', 'localhost.example:5000']) expect(isLoopbackRegistry(r)).toBe(false);
    expect(new RegistryClient({ registry: 'reg.example', repository: 'x' }).baseUrl).toBe('https://reg.example');
    expect(new RegistryClient({ registry: 'reg.example:5000', repository: 'x', insecure: true }).baseUrl).toBe('http://reg.example:5000');
  });

  it('parses Basic and Bearer challenges', () => {
    expect(parseChallenge('Basic realm="pb-test"')).toEqual({ scheme: 'basic', params: { realm: 'pb-test' } });
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
    });
  });

  it('index bytes are deterministic: sorted by platform, fixed key order', () => {
    const e = (arch: string, variant?: string): IndexEntry => ({
      digest: sha256Digest(Buffer.from(arch + (variant ?? ''))),
      size: 10,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      platform: { os: 'linux', architecture: arch, ...(variant ? { variant } : {}) },
    });
    const a = buildIndex([e('arm64', 'v8'), e('amd64')], { b: '2', a: '1' });
    const b = buildIndex([e('amd64'), e('arm64', 'v8')], { a: '1', b: '2' });
    expect(a.equals(b)).toBe(true);
    const json = JSON.parse(a.toString()) as { manifests: { platform: unknown }[]; annotations: Record<string, string> };
    expect(json.manifests.map((m) => m.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ]);
    expect(Object.keys(json.annotations)).toEqual(['a', 'b']);
    expect(a.toString().startsWith('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[')).toBe(true);
    expect(() => buildIndex([e('amd64'), e('amd64')])).toThrow('index has two manifests for platform linux/amd64');
    expect(() => buildIndex([{ ...e('amd64'), digest: 'sha256:abc' }])).toThrow("malformed digest 'sha256:abc'");
  });
});
