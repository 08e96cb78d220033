/**
 * `pyston-build docker`: the full and the slim image of the published
 * release, for every configured architecture, pushed to `docker.registry`
 * as one multi-platform index per tag, after each platform's image was
 * pulled back by digest and checked.
 *
 * For each architecture A (amd64, arm64) and kind K (full, slim):
 *
 *   package:publish ─┐
 *   <chain>:deb ─► docker:base:K-A ─► docker:image:K-A ─► docker:check:K-A ─┐
 *                                                                           ├─► docker:publish
 *                                       (every architecture and kind) ─────┘
 *
 * - docker:base:K-A: a Debian root made by debootstrap for A (never
 *   pulled): slim = minbase plus the packages the .deb depends on; full =
 *   that plus a C toolchain and the common -dev libraries (the image build
 *   has no network, so everything `dpkg -i` and extension builds need is
 *   in the base). Written as a `docker load` archive with our own
 *   deterministic layer and the platform in its config (base.ts). Its
 *   digest is this task's output, so a new base rebuilds the images.
 * - docker:image:K-A: `Dockerfile` (full) or `Dockerfile.slim` at the
 *   repository root, built on the engine (classic builder, no network) from
 *   the base and the verified .deb in build/dist; pushed as
 *   `<version>-A` / `<version>-slim-A` and its manifest digest recorded.
 * - docker:check:K-A: the local image removed, the platform pulled back by
 *   that digest and run with no network (under qemu for a foreign
 *   architecture): python/python3/pip are the interpreter, the probes
 *   pass, pip runs, a venv works; in the full image a C extension is
 *   compiled with pip and imported.
 * - docker:publish: the slim image smaller than the full one on every
 *   platform, then one OCI index per tag (full: <version>, latest; slim:
 *   <version>-slim, slim) over the checked manifests, each read back from
 *   the registry and compared (registry.ts).
 *
 * One engine per run (lease.ts): the engine at DOCKER_HOST, or a private
 * dockerd under build/docker-engine (docker.daemon = auto, as root).
 * Registry credentials are read when a task runs (PB_REGISTRY_* or the
 * docker config file), never enter a task's key, and are masked in every
 * message (credentials.ts).
 *
 * Reproducibility: the bases and the index bytes are deterministic by
 * construction. The image the engine's classic builder makes on them is
 * not (the build's times in the layers and the config); normalize.ts
 * squashes and rewrites it, so the same base, .deb and Dockerfile give the
 * same image ID and manifest digest. The engine's own image stays in its
 * store as the builder's cache.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256, TaskFailure, writeFileAtomic, type Task, type TaskContext } from '../../graph/index.js';
import type { Arch } from '../../debian/arch.js';
import { DEBOOTSTRAP, ensureRootfs } from '../../debian/rootfs.js';
import type { PackagePart } from '../tasks.js';
import { archPlatform, DEFAULT_PATH, imageArchive, loadBaseImage, platformString } from './base.js';
import { buildImage, ImageError, pullByDigest, pushImage, runInImage } from './images.js';
import { leaseEngine } from './lease.js';
import { normalizeImage } from './normalize.js';
import { loadCredentials, maskInActions, secretsOf } from './credentials.js';
import { RegistryClient, type IndexEntry } from './registry.js';
import type { DaemonMode } from './engine.js';
import { PbError } from '../../graph/errors.js';

export type ImageKind = 'full' | 'slim';
export const IMAGE_KINDS: readonly ImageKind[] = ['full', 'slim'];

/**
 * What the full image adds to the .deb's dependencies: a C toolchain and the
 * -dev libraries extension modules commonly build against (the kind of set
 * buildpack-deps carries), plus git and the tools pip's source builds call.
 */
export const FULL_PACKAGES: readonly string[] = [
  'build-essential',
  'pkg-config',
  'git',
  'ca-certificates',
  'curl',
  'xz-utils',
  'unzip',
  'patch',
  'file',
  'libffi-dev',
  'libssl-dev',
  'zlib1g-dev',
  'libbz2-dev',
  'liblzma-dev',
  'libsqlite3-dev',
  'libreadline-dev',
  'libncurses-dev',
  'libgdbm-dev',
  'libdb-dev',
  'libxml2-dev',
  'libxslt1-dev',
  'libyaml-dev',
  'libjpeg-dev',
  'libpng-dev',
  'libpq-dev',
  'libcurl4-openssl-dev',
];

export interface DockerOptions {
  /** Every architecture's package chain (package.ts), in the configured order. */
  readonly parts: readonly PackagePart[];
  /** The task that published the release, and where (build/dist/<name>-<version>). */
  readonly publish: string;
  readonly dist: string;
  readonly registry: string;
  readonly repository: string;
  readonly daemon: DaemonMode;
  readonly suite: string;
  readonly mirror: string;
  readonly cacheDir: string;
  /** This pyston-build's root: the Dockerfiles, runtime/ (the probes, the C extension). */
  readonly packageRoot: string;
  /** What build-info.json says about the source (the labels' revision). */
  readonly source: Readonly<Record<string, string>>;
  /** The flavor's probe arguments (Pyston: --pyston yes). */
  readonly probeArgs: readonly string[];
  /** binfmt entry for a foreign architecture's tasks (qemu-aarch64), per architecture. */
  readonly binfmt: (arch: Arch) => readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

/** The per-architecture tag a platform's image is pushed under before the index names it. */
export function platformTag(version: string, kind: ImageKind, arch: string): string {
  return `${version}${kind === 'slim' ? '-slim' : ''}-${arch}`;
}

/** The index tags of a kind: full = <version>, latest; slim = <version>-slim, slim. */
export function indexTags(version: string, kind: ImageKind): string[] {
  return kind === 'full' ? [version, 'latest'] : [`${version}-slim`, 'slim'];
}

/** The package names in a Depends list (`libc6 (>= 2.36)`, `a | b` -> the first). */
export function dependsPackages(depends: readonly string[]): string[] {
  return [...new Set(depends.map((d) => d.split('|')[0]!.trim().split(/[\s(]/)[0]!.replace(/:any$/, '')))].filter((n) => n !== '').sort();
}

const REGISTRY_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;
const REPOSITORY_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** docker.registry and docker.repository, checked before anything builds. */
export function checkDockerSettings(registry: string, repository: string): void {
  if (registry === '')
    throw new PbError('the docker target pushes to a registry, and docker.registry is not set', 'set it, e.g. --set docker.registry=127.0.0.1:5000 (a local registry) or registry.example.org');
  if (!REGISTRY_RE.test(registry)) throw new PbError(`docker.registry ${JSON.stringify(registry)} is not host[:port]`, 'set it like 127.0.0.1:5000 or registry.example.org (no scheme, no path)');
  if (!REPOSITORY_RE.test(repository))
    throw new PbError(
      `docker.repository ${JSON.stringify(repository)} is not a repository name`,
      'use lowercase letters, digits and . _ - separators, with / between path parts (e.g. cpython or team/cpython)',
    );
}

const json = (v: unknown): string => JSON.stringify(v, null, 2) + '\n';
const readJson = (p: string): Record<string, unknown> => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

interface ImageRecord {
  kind: ImageKind;
  arch: string;
  platform: string;
  tag: string;
  /** The normalized image (what is pushed). */
  imageId: string;
  /** The engine's image before normalize.ts. */
  builtImageId: string;
  digest: string;
  base: string;
  buildSeconds: number;
}

export function dockerTasks(o: DockerOptions): { tasks: Task[]; root: string } {
  const D = 'build/docker';
  const stateDir = 'build/docker-engine';
  const env = o.env ?? process.env;
  const n0 = o.parts[0]!.names;
  const version = n0.upstreamVersion;
  const probe = join(o.packageRoot, 'runtime/probes/probe.py');
  const cext = ['setup.py', 'cext.c'].map((f) => join(o.packageRoot, 'runtime/probes/cext', f));
  const tasks: Task[] = [];
  const checks: string[] = [];
  const registryConfig = { registry: o.registry, repository: o.repository };
  const engineFor = (ctx: TaskContext) => leaseEngine(ctx, { daemon: o.daemon, stateDir: ctx.path(stateDir), env });
  const credentials = async () => {
    const creds = await loadCredentials(o.registry, env);
    await maskInActions(creds, env);
    return { creds, secrets: secretsOf(creds) };
  };

  for (const part of o.parts) {
    const n = part.names;
    const arch = n.debArch as Arch;
    const platform = archPlatform(arch);
    const chain = part.dir.slice('build/'.length);
    const binfmt = o.binfmt(arch);
    for (const kind of IMAGE_KINDS) {
      const name = `${kind}-${arch}`;
      const baseId = `docker:base:${name}`;
      const archive = `${D}/base-${name}.tar`;
      const baseJson = `${D}/base-${name}.json`;
      tasks.push({
        id: baseId,
        title: `the ${kind} base image for ${arch}: a ${o.suite} root by debootstrap (${kind === 'slim' ? "minbase and the .deb's Depends" : "minbase, the .deb's Depends, a C toolchain and -dev libraries"}), as a docker archive`,
        version: 1,
        deps: [`${chain}:deb`],
        inputs: { tools: [DEBOOTSTRAP], config: { suite: o.suite, mirror: o.mirror, arch, kind, ...(kind === 'full' ? { extra: FULL_PACKAGES } : {}) } },
        outputs: [archive, baseJson],
        ...(binfmt.length ? { binfmt } : {}),
        async run(ctx) {
          const debInfo = readJson(ctx.path(part.dir, 'deb', 'deb.json'));
          const depends = dependsPackages(debInfo.depends as string[]);
          const include = kind === 'slim' ? depends : [...new Set([...depends, ...FULL_PACKAGES])].sort();
          const epoch = debInfo.sourceDateEpoch as number;
          const t0 = Date.now();
          const root = await ensureRootfs(ctx, { cacheDir: o.cacheDir, suite: o.suite, mirror: o.mirror, debArch: arch, include });
          ctx.log(`root ${root} ready in ${seconds(Date.now() - t0)}`);
          const t1 = Date.now();
          mkdirSync(ctx.path(D), { recursive: true });
          const a = await imageArchive(root, {
            arch,
            epoch,
            out: ctx.path(archive),
            tag: `pyston-build-base/${o.suite}-${kind}:${arch}`,
            env: [DEFAULT_PATH, 'LANG=C.UTF-8'],
            cmd: ['bash'],
          });
          ctx.log(`wrote ${archive}: image ${a.imageId}, ${mb(a.bytes)} in ${seconds(Date.now() - t1)}${a.skipped.length ? `; left out ${a.skipped.length} device nodes or sockets` : ''}`);
          writeFileAtomic(ctx.path(baseJson), json({ kind, arch, platform: platformString(platform), imageId: a.imageId, diffId: a.diffId, bytes: a.bytes, include, root, skipped: a.skipped }));
        },
      });

      const imageId = `docker:image:${name}`;
      const imageJson = `${D}/image-${name}.json`;
      const dockerfile = join(o.packageRoot, kind === 'full' ? 'Dockerfile' : 'Dockerfile.slim');
      const tag = platformTag(version, kind, arch);
      tasks.push({
        id: imageId,
        title: `build the ${kind} image for ${platformString(platform)} from ${part.deb}, make it reproducible, and push it as ${o.repository}:${tag}`,
        // 2: normalized (normalize.ts).
        version: 2,
        deps: [baseId, o.publish],
        inputs: { files: [dockerfile], config: { ...registryConfig, tag, kind, arch, daemon: o.daemon } },
        outputs: [imageJson],
        packages: ['docker.io'],
        ...(binfmt.length ? { binfmt } : {}),
        async run(ctx) {
          const base = readJson(ctx.path(baseJson));
          const dist = ctx.path(o.dist);
          const buildInfo = readFileSync(join(dist, 'build-info.json'));
          const epoch = (JSON.parse(buildInfo.toString('utf8')) as { sourceDateEpoch: number }).sourceDateEpoch;
          const { creds, secrets } = await credentials();
          // The registry answers, and takes these credentials, before minutes go into a build.
          await new RegistryClient({ registry: o.registry, repository: o.repository, credentials: creds }).headManifest(tag);
          const lease = await engineFor(ctx);
          try {
            const { docker } = lease.engine;
            const baseTag = `pyston-build-base/${o.suite}-${kind}:${arch}`;
            const present = await docker
              .getImage(base.imageId as string)
              .inspect()
              .then(() => true)
              .catch(() => false);
            if (!present) {
              const t = Date.now();
              await loadBaseImage(docker, ctx.path(archive), { arch, imageId: base.imageId as string });
              ctx.log(`loaded the base ${base.imageId} in ${seconds(Date.now() - t)}`);
            }
            // The build names the base by a tag of exactly that image.
            await docker.getImage(base.imageId as string).tag({ repo: baseTag.split(':')[0]!, tag: arch });
            const t = Date.now();
            const built = await buildImage(
              docker,
              {
                dockerfile,
                files: [join(dist, part.deb)],
                buildArgs: {
                  BASE: baseTag,
                  DEB: part.deb,
                  PREFIX: n.prefix,
                  SOURCE: part.release.flavor.sourceUrl,
                  VERSION: version,
                  REVISION: o.source.commit ?? o.source.sha256 ?? o.source.version ?? '',
                  CREATED: new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z'),
                  BUILD_INFO_SHA256: sha256(buildInfo),
                },
                platform,
                tag: `pyston-build/${n.name}:${tag}`,
                epoch,
              },
              (l) => ctx.log(l),
            );
            const buildSeconds = (Date.now() - t) / 1000;
            ctx.log(`built ${built.imageId} (${mb(built.size)}) in ${buildSeconds.toFixed(1)} s`);
            // The engine's image carries the build's times: squash and rewrite it (normalize.ts), then push that.
            const t2 = Date.now();
            const norm = await normalizeImage(docker, {
              imageId: built.imageId,
              baseDiffIds: [base.diffId as string],
              baseRoot: base.root as string,
              epoch,
              tag: `pyston-build/${n.name}:${tag}`,
              workDir: ctx.path(D, `tmp-${name}`),
              log: (l) => ctx.log(l),
            });
            ctx.log(`normalized in ${seconds(Date.now() - t2)}`);
            const pushed = await pushImage(docker, { image: norm.imageId, registry: o.registry, repository: o.repository, tag, ...(creds ? { credentials: creds } : {}), secrets }, (l) => ctx.log(l));
            ctx.log(`pushed ${o.registry}/${o.repository}:${tag} as ${pushed.digest}`);
            const record: ImageRecord = {
              kind,
              arch,
              platform: platformString(platform),
              tag,
              imageId: norm.imageId,
              builtImageId: built.imageId,
              digest: pushed.digest,
              base: base.imageId as string,
              buildSeconds,
            };
            writeFileAtomic(ctx.path(imageJson), json(record));
          } finally {
            await lease.release();
          }
        },
      });

      const checkId = `docker:check:${name}`;
      const checkOut = `${D}/check-${name}.json`;
      checks.push(checkId);
      tasks.push({
        id: checkId,
        title: `pull the ${kind} ${platformString(platform)} image back by digest and check it with no network${binfmt.length ? ' (under qemu)' : ''}: probes, pip, venv${kind === 'full' ? ', a C extension' : ''}`,
        version: 1,
        deps: [imageId],
        inputs: { files: [probe, ...(kind === 'full' ? cext : [])], config: { probeArgs: o.probeArgs, prefix: n.prefix } },
        outputs: [checkOut],
        packages: ['docker.io'],
        ...(binfmt.length ? { binfmt } : {}),
        async run(ctx) {
          const rec = readJson(ctx.path(imageJson)) as unknown as ImageRecord;
          const { creds, secrets } = await credentials();
          const lease = await engineFor(ctx);
          try {
            const { docker } = lease.engine;
            // What is checked is what the registry serves: the local copies go first.
            for (const ref of [`${o.registry}/${o.repository}:${rec.tag}`, `pyston-build/${n.name}:${rec.tag}`, rec.imageId]) {
              await docker
                .getImage(ref)
                .remove({ force: true })
                .catch(() => undefined);
            }
            const t = Date.now();
            const pulled = await pullByDigest(docker, { registry: o.registry, repository: o.repository, digest: rec.digest, platform, ...(creds ? { credentials: creds } : {}), secrets }, (l) =>
              ctx.log(l),
            );
            ctx.log(`pulled ${rec.digest} in ${seconds(Date.now() - t)}: ${mb(pulled.Size)}`);
            const image = `${o.registry}/${o.repository}@${rec.digest}`;
            const lines: string[] = [];
            const run = async (what: string, cmd: readonly string[], files?: Record<string, Buffer>): Promise<string> => {
              const t0 = Date.now();
              const r = await runInImage(docker, { image, cmd, platform, ...(files ? { files } : {}) });
              for (const l of r.output.split('\n')) if (l.trim()) ctx.log(`  ${l.trimEnd()}`);
              ctx.log(`${what}: exit ${r.status} in ${seconds(Date.now() - t0)}`);
              if (r.status !== 0)
                throw new ImageError(`the ${kind} ${platformString(platform)} image failed: ${what} exited with ${r.status}: ${r.output.trim().split('\n').pop() ?? ''}`, `see ${ctx.logPath}`);
              return r.output.trim();
            };
            const where = await run('python, python3 and pip', ['sh', '-c', 'for c in python python3 pip; do readlink -f "$(command -v $c)"; done; python -c "import sys; print(sys.prefix)"']);
            const [py, py3, pip, prefix] = where.split('\n').map((l) => l.trim());
            if (prefix !== n.prefix || !py?.startsWith(`${n.prefix}/bin/`) || !py3?.startsWith(`${n.prefix}/bin/`) || !pip?.startsWith(`${n.prefix}/bin/`))
              throw new ImageError(`in the ${kind} ${platformString(platform)} image, python/python3/pip are not the interpreter in ${n.prefix}: ${where.replace(/\n/g, ', ')}`, `see ${ctx.logPath}`);
            lines.push(`python: ${py}`, `pip: ${pip}`);
            const probed = await run('the probes', ['python3', '/tmp/probe.py', ...o.probeArgs], { '/tmp/probe.py': readFileSync(probe) });
            const verdict =
              probed
                .split('\n')
                .filter((l) => l.startsWith('probe:'))
                .pop() ?? 'probe: no result';
            if (!verdict.startsWith('probe: OK')) throw new ImageError(`the ${kind} ${platformString(platform)} image failed its probes: ${verdict}`, `see ${ctx.logPath}`);
            lines.push(verdict);
            lines.push(`pip --version: ${(await run('pip --version', ['pip', '--version'])).split('\n').pop()}`);
            lines.push(
              `venv: ${(
                await run('a venv', ['sh', '-c', 'python -m venv /tmp/venv && /tmp/venv/bin/python -c "import sys, ssl, sqlite3; print(sys.prefix, ssl.OPENSSL_VERSION, sqlite3.sqlite_version)"'])
              )
                .split('\n')
                .pop()}`,
            );
            if (kind === 'full') {
              const files = Object.fromEntries(cext.map((f) => [`/tmp/cext/${f.split('/').pop()}`, readFileSync(f)]));
              const out = await run(
                'a C extension built with pip',
                ['sh', '-c', 'cd /tmp && python -m pip install --no-index --no-build-isolation ./cext && python -c "import pbcext; print(\'cext:\', pbcext.add(2, 3))"'],
                files,
              );
              const got = out.split('\n').pop() ?? '';
              if (got !== 'cext: 5') throw new ImageError(`the full ${platformString(platform)} image built the C extension, but it returned ${JSON.stringify(got)}`, `see ${ctx.logPath}`);
              lines.push(got);
            }
            writeFileAtomic(ctx.path(checkOut), json({ kind, arch, platform: platformString(platform), digest: rec.digest, size: pulled.Size, checks: lines }));
          } finally {
            await lease.release();
          }
        },
      });
    }
  }

  const publishOut = `${D}/images.json`;
  tasks.push({
    id: 'docker:publish',
    title: `push the multi-platform indexes (${IMAGE_KINDS.flatMap((k) => indexTags(version, k)).join(', ')}) to ${o.registry}/${o.repository}`,
    version: 1,
    deps: checks,
    inputs: { config: { ...registryConfig, tags: IMAGE_KINDS.map((k) => indexTags(version, k)) } },
    outputs: [publishOut],
    async run(ctx) {
      const checked = o.parts.flatMap((p) =>
        IMAGE_KINDS.map((kind) => readJson(ctx.path(D, `check-${kind}-${p.names.debArch}.json`)) as { kind: ImageKind; arch: string; digest: string; size: number; platform: string }),
      );
      for (const p of o.parts) {
        const full = checked.find((c) => c.arch === p.names.debArch && c.kind === 'full')!;
        const slim = checked.find((c) => c.arch === p.names.debArch && c.kind === 'slim')!;
        if (!(slim.size < full.size))
          throw new TaskFailure(
            `the slim ${slim.platform} image (${mb(slim.size)}) is not smaller than the full one (${mb(full.size)})`,
            "the slim base must hold only the .deb's dependencies: see build/docker/base-*.json",
          );
      }
      const { creds } = await credentials();
      const client = new RegistryClient({ registry: o.registry, repository: o.repository, credentials: creds });
      const indexes: Record<string, string> = {};
      const epoch = (readJson(ctx.path(o.dist, 'build-info.json')) as { sourceDateEpoch: number }).sourceDateEpoch;
      for (const kind of IMAGE_KINDS) {
        const entries: IndexEntry[] = [];
        for (const c of checked.filter((x) => x.kind === kind)) {
          const head = await client.headManifest(c.digest);
          if (!head) throw new TaskFailure(`the registry no longer has ${o.repository}@${c.digest} (${c.kind} ${c.platform})`, 'rerun with --force docker:image:' + `${c.kind}-${c.arch}`);
          entries.push({ digest: head.digest, size: head.size, mediaType: head.mediaType, platform: archPlatform(c.arch as Arch) });
        }
        const annotations = { 'org.opencontainers.image.version': version, 'org.opencontainers.image.created': new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z') };
        for (const tag of indexTags(version, kind)) {
          indexes[tag] = await client.pushIndex(tag, entries, annotations);
          ctx.log(`${o.registry}/${o.repository}:${tag} -> ${indexes[tag]} (${entries.map((e) => platformString(e.platform)).join(', ')}), read back and compared`);
        }
      }
      const images = checked.map((c) => ({ kind: c.kind, platform: c.platform, digest: c.digest, size: c.size }));
      writeFileAtomic(ctx.path(publishOut), json({ registry: o.registry, repository: o.repository, indexes, images }));
    },
  });
  return { tasks, root: 'docker:publish' };
}
