/** The docker engine's pure decisions: which engine to use, DOCKER_HOST, where a private daemon's sockets go. */
import { describe, expect, it } from 'vitest';
import { PbError } from '../../src/graph/errors.js';
import { decideEngine, dockerdArgs, parseDockerHost, privateLayout } from '../../src/packaging/docker/engine.js';

describe('decideEngine', () => {
  it('uses an engine that answers, whatever docker.daemon says and whoever runs', () => {
    for (const daemon of ['auto', 'external'] as const) for (const root of [true, false]) expect(decideEngine(true, daemon, root)).toBe('use');
  });
  it('with no engine: external fails; auto starts one as root and fails otherwise', () => {
    expect(decideEngine(false, 'external', true)).toBe('fail-external');
    expect(decideEngine(false, 'external', false)).toBe('fail-external');
    expect(decideEngine(false, 'auto', true)).toBe('start');
    expect(decideEngine(false, 'auto', false)).toBe('fail-not-root');
  });
});

describe('parseDockerHost', () => {
  it('defaults to the standard socket when unset or empty', () => {
    expect(parseDockerHost(undefined)).toEqual({ url: 'unix:///var/run/docker.sock', modem: { socketPath: '/var/run/docker.sock' } });
    expect(parseDockerHost('')).toEqual(parseDockerHost(undefined));
  });
  it('reads unix:///path and tcp://host:port', () => {
    expect(parseDockerHost('unix:///tmp/x/docker.sock').modem).toEqual({ socketPath: '/tmp/x/docker.sock' });
    expect(parseDockerHost('tcp://127.0.0.1:2375').modem).toEqual({ protocol: 'http', host: '127.0.0.1', port: 2375 });
    expect(parseDockerHost('tcp://[::1]:2375').modem).toEqual({ protocol: 'http', host: '::1', port: 2375 });
  });
  it('rejects other forms in one line', () => {
    for (const bad of ['ssh://me@host', 'unix://relative.sock', 'tcp://host', '/var/run/docker.sock']) {
      const e = (() => {
        try {
          parseDockerHost(bad);
        } catch (x) {
          return x;
        }
      })();
      expect(e, bad).toBeInstanceOf(PbError);
      expect((e as PbError).message).toBe(`DOCKER_HOST=${bad} is not a form pyston-build supports`);
    }
  });
});

describe('privateLayout', () => {
  it('keeps everything under a short state directory', () => {
    const l = privateLayout('/b/build/docker');
    expect(l).toMatchObject({ runDir: '/b/build/docker', socket: '/b/build/docker/docker.sock', exec: '/b/build/docker/exec', data: '/b/build/docker/data', pidFile: '/b/build/docker/docker.pid' });
    expect(dockerdArgs(l)).toEqual([
      '--host',
      'unix:///b/build/docker/docker.sock',
      '--data-root',
      '/b/build/docker/data',
      '--exec-root',
      '/b/build/docker/exec',
      '--pidfile',
      '/b/build/docker/docker.pid',
      '--storage-driver',
      'overlay2',
      '--iptables=false',
      '--bridge=none',
    ]);
  });
  it('moves the socket and exec root of a deep state directory to a short one, the same for the same directory', () => {
    const deep = `/${'x'.repeat(80)}/build/docker`;
    const l = privateLayout(deep);
    expect(l.data).toBe(`${deep}/data`);
    expect(l.runDir).toMatch(/^\/(run|tmp)\/pyston-build-docker-[0-9a-f]{16}$/);
    expect(Buffer.byteLength(`${l.exec}/containerd/containerd.sock.ttrpc`)).toBeLessThanOrEqual(107);
    expect(privateLayout(deep).runDir).toBe(l.runDir);
    expect(privateLayout(`${deep}2`).runDir).not.toBe(l.runDir);
  });
});
