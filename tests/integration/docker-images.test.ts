/**
 * A tiny image through the whole path, for both platforms, on a private
 * dockerd 20.10 and a real docker-registry with htpasswd auth on 127.0.0.1:
 * base archives made by us from tiny roots (a static hello per
 * architecture) and loaded with their platform; a Dockerfile build per
 * platform with no network (arm64's RUN step under qemu); push with a
 * password; one OCI index of both; the local images removed; each platform
 * pulled back by digest and run with no network. The password never
 * appears in any log line or error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type Docker from 'dockerode';
import { startPrivateDockerd, type PrivateDockerd } from '../docker-helpers.js';
import { startRegistry, type TestRegistry } from '../registry-helpers.js';
import { archPlatform, imageArchive, loadBaseImage } from '../../src/packaging/docker/base.js';
import { buildImage, ImageError, pullByDigest, pushImage, runInImage } from '../../src/packaging/docker/images.js';
import { Credentials, secretsOf } from '../../src/packaging/docker/credentials.js';
import { OCI_INDEX, RegistryClient } from '../../src/packaging/docker/registry.js';
import type { Arch } from '../../src/debian/arch.js';

const EPOCH = 1_700_000_000;
const USER = 'pb-user';
const PASSWORD = 'pw-9f3c1e7a-never-printed';
const ARCHS: readonly Arch[] = ['amd64', 'arm64'];
const DOCKERFILE = [
  'ARG BASE',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable
  'FROM ${BASE}',
  'ARG GREETING',
  'COPY greeting.txt /greeting.txt',
  'RUN ["/hello", "built"]',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable
  'LABEL org.opencontainers.image.version="${GREETING}"',
  'CMD ["/hello"]',
  '',
].join('\n');
// Prints its argument and /greeting.txt when it exists: what the build copied in.
const HELLO_C = `#include <stdio.h>
int main(int argc, char **argv) {
  char buf[128] = "";
  FILE *f = fopen("/greeting.txt", "r");
  if (f) { if (!fgets(buf, sizeof buf, f)) buf[0] = 0; fclose(f); }
  printf("hello %s %s\\n", argc > 1 ? argv[1] : "run", buf);
  return 0;
}
`;

function tinyRoot(work: string, arch: Arch): string {
  const root = join(work, `root-${arch}`);
  mkdirSync(join(root, 'tmp'), { recursive: true });
  writeFileSync(join(work, 'hello.c'), HELLO_C);
  const cc = arch === 'amd64' ? 'gcc' : 'aarch64-linux-gnu-gcc';
  const r = spawnSync(cc, ['-static', '-O2', '-o', join(root, 'hello'), join(work, 'hello.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cc}: ${r.stderr}`);
  return root;
}

describe('a tiny image for amd64 and arm64: build, push, index, pull by digest, run', () => {
  let dockerd: PrivateDockerd;
  let docker: Docker;
  let reg: TestRegistry;
  let work: string;
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const creds = new Credentials(USER, PASSWORD, 'the test');

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'pb-docker-images-'));
    dockerd = await startPrivateDockerd();
    docker = dockerd.engine.docker;
    reg = await startRegistry({ htpasswd: { user: USER, password: PASSWORD } });
  }, 120_000);

  afterAll(async () => {
    await dockerd?.cleanup();
    await reg?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('publishes a two-platform index whose images, pulled back by digest, run', async () => {
    writeFileSync(join(work, 'Dockerfile'), DOCKERFILE);
    writeFileSync(join(work, 'greeting.txt'), 'from the context');
    const pushed: { arch: Arch; digest: string }[] = [];
    for (const arch of ARCHS) {
      const base = await imageArchive(tinyRoot(work, arch), { arch, epoch: EPOCH, out: join(work, `base-${arch}.tar`), tag: `pb-test-base:${arch}` });
      await loadBaseImage(docker, base.path, { arch, imageId: base.imageId });
      const built = await buildImage(
        docker,
        {
          dockerfile: join(work, 'Dockerfile'),
          files: [join(work, 'greeting.txt')],
          buildArgs: { BASE: `pb-test-base:${arch}`, GREETING: '1.0' },
          platform: archPlatform(arch),
          tag: `pb-test/tiny:1.0-${arch}`,
          epoch: EPOCH,
        },
        log,
      );
      const img = await docker.getImage(built.imageId).inspect();
      expect(img.Architecture).toBe(arch);
      expect(img.Config.Labels?.['org.opencontainers.image.version']).toBe('1.0');
      // The RUN step ran the image's own program (arm64: under qemu).
      expect(lines.some((l) => l.startsWith('hello built from the context'))).toBe(true);
      const p = await pushImage(docker, { image: built.imageId, registry: reg.addr, repository: 'pb/tiny', tag: `1.0-${arch}`, credentials: creds, secrets: secretsOf(creds) }, log);
      pushed.push({ arch, digest: p.digest });
    }
    const client = new RegistryClient({ registry: reg.addr, repository: 'pb/tiny', credentials: creds });
    const entries = [];
    for (const p of pushed) {
      const head = await client.headManifest(p.digest);
      expect(head?.digest).toBe(p.digest);
      entries.push({ digest: p.digest, size: head!.size, mediaType: head!.mediaType, platform: archPlatform(p.arch) });
    }
    const index = await client.pushIndex('1.0', entries);
    const back = await client.getManifest('1.0');
    expect(back.digest).toBe(index);
    expect(back.mediaType).toBe(OCI_INDEX);
    const listed = (back.json as { manifests: { digest: string; platform: { architecture: string } }[] }).manifests.map((m) => [m.platform.architecture, m.digest]);
    expect(listed.sort()).toEqual(pushed.map((p) => [p.arch, p.digest]).sort());

    // Nothing local is left to run: each platform comes back from the registry by its digest.
    for (const img of await docker.listImages()) await docker.getImage(img.Id).remove({ force: true });
    for (const p of pushed) {
      const pulled = await pullByDigest(docker, { registry: reg.addr, repository: 'pb/tiny', digest: p.digest, platform: archPlatform(p.arch), credentials: creds, secrets: secretsOf(creds) }, log);
      expect(pulled.Architecture).toBe(p.arch);
      const run = await runInImage(docker, { image: `${reg.addr}/pb/tiny@${p.digest}`, cmd: ['/hello', p.arch], platform: archPlatform(p.arch), files: { '/tmp/extra.txt': Buffer.from('x') } });
      expect(run).toEqual({ status: 0, output: `hello ${p.arch} from the context\n` });
    }
    for (const l of lines) expect(l).not.toContain(PASSWORD);
  }, 300_000);

  it('a wrong password fails the push in one line that does not carry it', async () => {
    const wrong = new Credentials(USER, `${PASSWORD}-wrong`, 'the test');
    const base = await imageArchive(tinyRoot(work, 'amd64'), { arch: 'amd64', epoch: EPOCH, out: join(work, 'base-wrong.tar'), tag: 'pb-test-base:wrong' });
    await loadBaseImage(docker, base.path, { arch: 'amd64', imageId: base.imageId });
    const e = await pushImage(docker, { image: base.imageId, registry: reg.addr, repository: 'pb/tiny', tag: 'wrong', credentials: wrong, secrets: secretsOf(wrong) }, log).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ImageError);
    const err = e as ImageError;
    expect(err.message).toMatch(/^docker push of 127\.0\.0\.1:\d+\/pb\/tiny:wrong failed: unauthorized: authentication required$/);
    expect(err.hint).toBe('check the registry credentials (PB_REGISTRY_USER and PB_REGISTRY_PASSWORD, or the docker config file); they are not shown');
    expect(err.message).not.toContain('\n');
    for (const text of [err.message, err.hint ?? '', inspect(err), JSON.stringify(err), ...lines]) expect(text).not.toContain(PASSWORD);
  }, 120_000);

  it('a build whose base has another platform is refused', async () => {
    // The amd64 root's archive, labelled amd64, built as linux/arm64: the engine's result is not arm64.
    const base = await imageArchive(tinyRoot(work, 'amd64'), { arch: 'amd64', epoch: EPOCH, out: join(work, 'base-mislabel.tar'), tag: 'pb-test-base:mislabel' });
    await loadBaseImage(docker, base.path, { arch: 'amd64', imageId: base.imageId });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable
    writeFileSync(join(work, 'Dockerfile.plain'), 'ARG BASE\nFROM ${BASE}\nCMD ["/hello"]\n');
    const e = await buildImage(
      docker,
      { dockerfile: join(work, 'Dockerfile.plain'), files: [], buildArgs: { BASE: 'pb-test-base:mislabel' }, platform: archPlatform('arm64'), tag: 'pb-test/mislabel:1', epoch: EPOCH },
      log,
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(/^image sha256:[0-9a-f]{64} is linux\/amd64, expected linux\/arm64\/v8$/);
  }, 120_000);
});
