/** The docker target's graph and settings: tasks per architecture and kind, what they wait for, and the one-line refusals. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { PbError } from '../../src/graph/errors.js';
import { buildGraph, checkTargets } from '../../src/targets.js';
import { checkDockerSettings, dependsPackages, FULL_PACKAGES, indexTags, platformTag } from '../../src/packaging/docker/tasks.js';
import { cli, tmpProject } from '../helpers.js';

describe('docker target graph', () => {
  it('amd64,arm64: a base, an image and a check per architecture and kind, then one publish after every check', async () => {
    const root = tmpProject();
    const { config } = await loadConfig({ root, env: {}, sets: ['arch=amd64,arm64', 'docker.registry=127.0.0.1:5000'] });
    const g = buildGraph(config, root, process.env, { targets: ['docker'] });
    expect(g.targets.get('docker')!.roots).toEqual(['docker:publish']);
    const ids = [...g.tasks.keys()].filter((id) => id.startsWith('docker:'));
    expect(ids.sort()).toEqual(['publish', ...['full-amd64', 'slim-amd64', 'full-arm64', 'slim-arm64'].flatMap((n) => [`base:${n}`, `image:${n}`, `check:${n}`])].map((s) => `docker:${s}`).sort());
    // The base is made from the chain's .deb (its Depends); the image from the published release.
    expect(g.tasks.get('docker:base:slim-amd64')!.deps).toEqual(['package:deb']);
    expect(g.tasks.get('docker:base:full-arm64')!.deps).toEqual(['package-arm64:deb']);
    expect(g.tasks.get('docker:image:full-arm64')!.deps).toEqual(['docker:base:full-arm64', 'package:publish']);
    expect(g.tasks.get('docker:check:slim-arm64')!.deps).toEqual(['docker:image:slim-arm64']);
    expect([...g.tasks.get('docker:publish')!.deps].sort()).toEqual(['docker:check:full-amd64', 'docker:check:full-arm64', 'docker:check:slim-amd64', 'docker:check:slim-arm64']);
    // Only arm64's tasks run programs through qemu; the engine's package is declared for setup and doctor.
    expect(g.tasks.get('docker:check:full-arm64')!.binfmt).toEqual(['qemu-aarch64']);
    expect(g.tasks.get('docker:base:full-arm64')!.binfmt).toEqual(['qemu-aarch64']);
    expect(g.tasks.get('docker:check:full-amd64')!.binfmt).toBeUndefined();
    expect(g.tasks.get('docker:image:full-amd64')!.packages).toEqual(['docker.io']);
    // The full base adds the toolchain; the slim one does not.
    expect((g.tasks.get('docker:base:full-amd64')!.inputs.config as { extra: string[] }).extra).toContain('build-essential');
    expect((g.tasks.get('docker:base:slim-amd64')!.inputs.config as { extra?: string[] }).extra).toBeUndefined();
    // The repository defaults to the package name; the per-platform tags and the registry are in the image task's key.
    expect(g.tasks.get('docker:image:slim-arm64')!.inputs.config).toMatchObject({ registry: '127.0.0.1:5000', repository: 'cpython', tag: '3.11.2-slim-arm64' });
    // No credential variable is ever part of a key.
    for (const id of ids) expect(JSON.stringify(g.tasks.get(id)!.inputs)).not.toMatch(/PB_REGISTRY/);
  });

  it('amd64 alone has no arm64 tasks', async () => {
    const root = tmpProject();
    const { config } = await loadConfig({ root, env: {}, sets: ['docker.registry=localhost:5000', 'docker.repository=team/py'] });
    const g = buildGraph(config, root, process.env, { targets: ['docker'] });
    expect([...g.tasks.keys()].filter((id) => id.startsWith('docker:') && id.endsWith('arm64'))).toEqual([]);
    expect(g.tasks.get('docker:image:full-amd64')!.inputs.config).toMatchObject({ repository: 'team/py', tag: '3.11.2-amd64' });
  });

  it('tags, the Depends names and the full set', () => {
    expect(platformTag('3.11.2', 'full', 'arm64')).toBe('3.11.2-arm64');
    expect(platformTag('2.3.5', 'slim', 'amd64')).toBe('2.3.5-slim-amd64');
    expect(indexTags('3.11.2', 'full')).toEqual(['3.11.2', 'latest']);
    expect(indexTags('3.11.2', 'slim')).toEqual(['3.11.2-slim', 'slim']);
    expect(dependsPackages(['libc6 (>= 2.36)', 'libssl3 (>= 3.0.0)', 'libdb5.3 | libdb-dev', 'zlib1g:any (>= 1:1.2)', 'libc6'])).toEqual(['libc6', 'libdb5.3', 'libssl3', 'zlib1g']);
    expect(FULL_PACKAGES).toEqual(expect.arrayContaining(['build-essential', 'libssl-dev', 'libffi-dev']));
  });

  it('bad registry and repository settings are one line each, before anything builds', async () => {
    const err = (f: () => void): PbError => {
      try {
        f();
      } catch (e) {
        return e as PbError;
      }
      throw new Error('no error');
    };
    expect(err(() => checkDockerSettings('', 'cpython')).message).toBe('the docker target pushes to a registry, and docker.registry is not set');
    expect(err(() => checkDockerSettings('', 'cpython')).hint).toMatch(/--set docker.registry=127.0.0.1:5000/);
    expect(err(() => checkDockerSettings('http://127.0.0.1:5000', 'cpython')).message).toBe('docker.registry "http://127.0.0.1:5000" is not host[:port]');
    expect(err(() => checkDockerSettings('127.0.0.1:5000/path', 'cpython')).message).toMatch(/is not host\[:port\]$/);
    expect(err(() => checkDockerSettings('127.0.0.1:5000', 'CPython')).message).toBe('docker.repository "CPython" is not a repository name');
    expect(err(() => checkDockerSettings('127.0.0.1:5000', 'a//b')).message).toMatch(/is not a repository name/);
    expect(() => checkDockerSettings('registry.example.org', 'team/cpython')).not.toThrow();
    expect(() => checkDockerSettings('[::1]:5000', 'x')).not.toThrow();
    // Through the graph: checkTargets refuses before anything runs.
    const root = tmpProject();
    const { config } = await loadConfig({ root, env: {}, sets: [] });
    const g = buildGraph(config, root, process.env, { targets: ['docker'] });
    expect(() => checkTargets(config, root, process.env, g, ['docker'])).toThrow(/docker.registry is not set/);
    const { config: c2 } = await loadConfig({ root, env: {}, sets: ['docker.daemon=sometimes'] }).then(
      (r) => r,
      (e: PbError) => ({ config: e }),
    );
    expect((c2 as unknown as PbError).message).toMatch(/docker.daemon/);
  });

  it('the CLI refuses a docker run without a registry in one line, without a stack trace, and builds nothing', () => {
    const root = tmpProject();
    const r = cli(['-C', root, 'docker']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/docker.registry is not set/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).not.toMatch(/\[start\]/);
  });
});
