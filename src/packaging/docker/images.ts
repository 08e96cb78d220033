/**
 * What the image tasks do on an engine, one platform at a time: build an
 * image from a Dockerfile and a few context files (the classic builder,
 * with no network: the base is local and holds everything the build
 * needs), push it and learn its manifest digest, pull it back by that
 * digest, and run a command in it with no network. Every engine message
 * that could carry a credential is masked before it reaches a log or an
 * error.
 *
 * The engine streams JSON messages for build, push and pull; an `error`
 * message is the engine's failure, turned into one line here. The classic
 * builder reports the image ID in an `aux` message; a push reports the
 * manifest digest the registry stored in one.
 */
import { basename } from 'node:path';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { TaskFailure } from '../../graph/errors.js';
import { tarArchive, type TarEntry } from '../tar.js';
import { maskSecrets, type Credentials } from './credentials.js';
import { checkImagePlatform, platformString, type Platform } from './base.js';

/** A failure the engine reported while building, pushing, pulling or running. */
export class ImageError extends TaskFailure {}

/** One message of the engine's build, push or pull stream. */
interface EngineMessage {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
}

/** Takes a progress line for the task's log. */
export type EngineLog = (line: string) => void;

/** Follow an engine stream to its end; the messages in order, or the engine's error as an ImageError. */
async function follow(docker: Docker, stream: NodeJS.ReadableStream, what: string, log: EngineLog, secrets: readonly string[]): Promise<EngineMessage[]> {
  const messages: EngineMessage[] = [];
  const out = (text: string): void => {
    for (const line of maskSecrets(text, secrets).split('\n')) if (line.trim()) log(line.trimEnd());
  };
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (m: EngineMessage) => {
        messages.push(m);
        if (m.stream) out(m.stream);
        // Pull and push: one line per layer state change, not every progress tick.
        else if (m.status && !m.progress) out(`${m.id ? `${m.id}: ` : ''}${m.status}`);
      },
    );
  }).catch((e: unknown) => {
    throw new ImageError(`${what} failed: ${maskSecrets(e instanceof Error ? e.message : String(e), secrets)}`, 'see the task log for the engine messages');
  });
  const failed = messages.find((m) => m.error);
  if (failed) {
    const text = maskSecrets((failed.errorDetail?.message ?? failed.error ?? '').trim().split('\n')[0] ?? '', secrets);
    const hint = /unauthorized|authentication required|denied/i.test(text)
      ? 'check the registry credentials (PB_REGISTRY_USER and PB_REGISTRY_PASSWORD, or the docker config file); they are not shown'
      : /dial tcp|connection refused|no such host|i\/o timeout/i.test(text)
        ? 'check that the registry in docker.registry is running and that the docker engine can reach it'
        : 'see the task log for the engine messages';
    throw new ImageError(`${what} failed: ${text}`, hint);
  }
  return messages;
}

export interface BuildOptions {
  /** The Dockerfile to build (put into the context as `Dockerfile`). */
  readonly dockerfile: string;
  /** Files of the build context, by the name the Dockerfile uses (`cpython_3.11.2-1_amd64.deb`). */
  readonly files: readonly string[];
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly platform: Platform;
  /** The local name the image gets (`pb-local/cpython:3.11.2-slim-arm64`). */
  readonly tag: string;
  /** mtime of the context's entries (SOURCE_DATE_EPOCH). */
  readonly epoch: number;
}

/**
 * Build one platform's image with the classic builder, without network.
 * Returns its image ID, after checking that the engine recorded the
 * platform asked for.
 */
export async function buildImage(docker: Docker, o: BuildOptions, log: EngineLog): Promise<{ imageId: string; size: number }> {
  const entries: TarEntry[] = [
    { type: 'file', path: 'Dockerfile', mode: 0o644, data: readFileSync(o.dockerfile) },
    ...o.files.map((f): TarEntry => ({ type: 'file', path: basename(f), mode: 0o644, data: readFileSync(f) })),
  ];
  const names = entries.map((e) => e.path);
  if (new Set(names).size !== names.length) throw new ImageError(`two files of the build context have the same name: ${names.join(', ')}`, 'give each context file its own name');
  const context = new PassThrough();
  context.end(tarArchive(entries, o.epoch));
  const platform = platformString(o.platform);
  log(`docker build --platform ${platform} --network none -t ${o.tag} (${names.join(', ')})`);
  const stream = await docker.buildImage(
    context as unknown as NodeJS.ReadableStream,
    {
      t: o.tag,
      dockerfile: 'Dockerfile',
      buildargs: { ...o.buildArgs },
      platform,
      networkmode: 'none',
      rm: true,
      forcerm: true,
      // The classic builder: BuildKit's session needs a gRPC channel dockerode does not open.
      version: '1',
    } as Docker.ImageBuildOptions,
  );
  const messages = await follow(docker, stream, `docker build of ${o.tag}`, log, []);
  const imageId = [...messages].reverse().find((m) => m.aux?.ID)?.aux?.ID;
  if (!imageId) throw new ImageError(`docker build of ${o.tag} reported no image ID`, 'see the task log for the engine messages');
  const inspect = await docker.getImage(imageId).inspect();
  const wrong = checkImagePlatform(inspect, o.platform);
  if (wrong) throw wrong;
  return { imageId, size: inspect.Size };
}

/** `authconfig` for the engine, or none for an anonymous registry. */
function authconfig(registry: string, creds: Credentials | undefined): Docker.AuthConfig | undefined {
  return creds ? { username: creds.username, password: creds.password, serveraddress: registry } : undefined;
}

/**
 * Push `image` as `<registry>/<repository>:<tag>` and return the manifest
 * digest the registry stored (from the push's `aux` message).
 */
export async function pushImage(
  docker: Docker,
  o: { image: string; registry: string; repository: string; tag: string; credentials?: Credentials; secrets: readonly string[] },
  log: EngineLog,
): Promise<{ digest: string; size: number }> {
  const name = `${o.registry}/${o.repository}`;
  await docker.getImage(o.image).tag({ repo: name, tag: o.tag });
  log(`docker push ${name}:${o.tag}`);
  const auth = authconfig(o.registry, o.credentials);
  const stream = await docker.getImage(`${name}:${o.tag}`).push({ tag: o.tag, ...(auth ? { authconfig: auth } : {}) });
  const messages = await follow(docker, stream as unknown as NodeJS.ReadableStream, `docker push of ${name}:${o.tag}`, log, o.secrets);
  const aux = messages.find((m) => m.aux?.Digest)?.aux;
  if (!aux?.Digest || !/^sha256:[0-9a-f]{64}$/.test(aux.Digest)) throw new ImageError(`docker push of ${name}:${o.tag} reported no manifest digest`, 'see the task log for the engine messages');
  return { digest: aux.Digest, size: aux.Size ?? 0 };
}

/** Pull `<registry>/<repository>@<digest>` for one platform; returns the local image's inspect data, its platform checked. */
export async function pullByDigest(
  docker: Docker,
  o: { registry: string; repository: string; digest: string; platform: Platform; credentials?: Credentials; secrets: readonly string[] },
  log: EngineLog,
): Promise<Docker.ImageInspectInfo> {
  const ref = `${o.registry}/${o.repository}@${o.digest}`;
  log(`docker pull --platform ${platformString(o.platform)} ${ref}`);
  const auth = authconfig(o.registry, o.credentials);
  const stream = await docker.pull(ref, { platform: platformString(o.platform), ...(auth ? { authconfig: auth } : {}) });
  await follow(docker, stream, `docker pull of ${ref}`, log, o.secrets);
  const inspect = await docker.getImage(ref).inspect();
  const wrong = checkImagePlatform(inspect, o.platform);
  if (wrong) throw wrong;
  return inspect;
}

/**
 * Run `cmd` in a new container of `image` with no network, after copying
 * `files` (absolute path in the container -> content) into it; the
 * container is removed after. Returns the exit status and the output
 * (stdout and stderr interleaved).
 */
export async function runInImage(
  docker: Docker,
  o: { image: string; cmd: readonly string[]; platform: Platform; files?: Readonly<Record<string, Buffer>>; env?: readonly string[] },
): Promise<{ status: number; output: string }> {
  const container = await docker.createContainer({
    Image: o.image,
    Cmd: [...o.cmd],
    Env: [...(o.env ?? [])],
    HostConfig: { NetworkMode: 'none' },
    platform: platformString(o.platform),
  } as Docker.ContainerCreateOptions);
  try {
    const files = Object.entries(o.files ?? {});
    if (files.length) {
      const entries = files.map(([path, data]): TarEntry => ({ type: 'file', path: path.replace(/^\/+/, ''), mode: 0o644, data }));
      await container.putArchive(tarArchive(entries, 0), { path: '/' });
    }
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => chunks.push(c));
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    docker.modem.demuxStream(stream, sink, sink);
    const ended = new Promise<void>((resolve) => stream.on('end', () => resolve()));
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await ended;
    return { status: StatusCode, output: Buffer.concat(chunks).toString('utf8') };
  } finally {
    await container.remove({ force: true });
  }
}
