/**
 * The docker engine (src/packaging/docker/engine.ts) with a real dockerd
 * (Debian's docker.io), as root, as on CI: a private daemon started,
 * used, stopped and cleaned up; an image built from scratch and run with
 * no network; a run killed earlier (its daemon dead or still alive)
 * cleaned up before a fresh start; a daemon that exits at once or never
 * answers; an interrupted build and a process exiting without close();
 * an engine given by DOCKER_HOST (unix or tcp) used and left running; no
 * engine at all with docker.daemon = "external", "auto" as nobody, no
 * dockerd on PATH.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { PbError } from '../../src/graph/errors.js';
import { mountsUnder, unmountUnder } from '../../src/graph/mounts.js';
import { dockerdArgs, openEngine, privateLayout, type DockerEngine, type OpenEngineOptions } from '../../src/packaging/docker/engine.js';
import { startPrivateDockerd, type PrivateDockerd } from '../docker-helpers.js';
import type { Task } from '../../src/graph/index.js';
import { build, graphOf, processesWith, REPO, tmpProject as tmpDir, until } from '../helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** A temp directory removed after the file's tests (after the daemons in it were stopped). */
function tmpProject(prefix: string): string {
  const dir = tmpDir(prefix);
  cleanups.unshift(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function started(): Promise<PrivateDockerd> {
  const d = await startPrivateDockerd();
  cleanups.push(d.cleanup);
  return d;
}

/** Environment in which no engine answers at DOCKER_HOST. */
function noEngineEnv(dir: string): Record<string, string | undefined> {
  return { PATH: process.env.PATH, DOCKER_HOST: `unix://${dir}/none.sock` };
}

/** The error openEngine throws; should it open an engine instead, that engine is closed (and returned, failing the test). */
async function openError(opts: OpenEngineOptions): Promise<unknown> {
  try {
    const e = await openEngine(opts);
    await e.close();
    return e;
  } catch (x) {
    return x;
  }
}

function pidOf(stateDir: string): number {
  return Number(readFileSync(privateLayout(stateDir).pidFile, 'utf8').trim());
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** What a stopped private daemon may leave under its state directory: the data root and the log only. */
function expectNothingLeft(stateDir: string, pid: number): void {
  const l = privateLayout(stateDir);
  expect(isAlive(pid)).toBe(false);
  expect([...processesWith(l.dir).values()]).toEqual([]);
  expect(mountsUnder(l.dir)).toEqual([]);
  expect(existsSync(l.socket)).toBe(false);
  expect(existsSync(l.pidFile)).toBe(false);
  expect(existsSync(l.exec)).toBe(false);
}

/** A dockerd not started by openEngine, as a killed earlier run or another tool leaves one; killed and unmounted after the tests. */
function spawnDockerd(dir: string, extraArgs: string[] = []): number {
  const l = privateLayout(dir);
  mkdirSync(dir, { recursive: true });
  const fd = openSync(l.log, 'a');
  const child = spawn('dockerd', [...dockerdArgs(l), ...extraArgs], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  const pid = child.pid!;
  cleanups.push(async () => {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await until(() => !isAlive(pid), 'dockerd to go');
    unmountUnder(dir);
  });
  return pid;
}

async function drain(docker: Dockerode, stream: NodeJS.ReadableStream): Promise<unknown[]> {
  return new Promise((res, rej) => docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) => (err ? rej(err) : res(out))));
}

describe('a private dockerd', () => {
  it('auto starts a private daemon as root; close() stops it and leaves only the data root', async () => {
    const top = tmpProject('pb-dengine-');
    const dir = join(top, 'docker');
    const lines: string[] = [];
    const e = await openEngine({ daemon: 'auto', env: noEngineEnv(top), stateDir: dir, log: (l) => lines.push(l) });
    cleanups.push(() => e.close());
    expect(e.private).toBe(true);
    expect(e.socket).toBe(`unix://${join(dir, 'docker.sock')}`);
    expect(lines[0]).toBe(`no docker daemon answers at unix://${top}/none.sock: starting a private one in ${dir}`);
    const v = await e.docker.version();
    const [major, minor] = v.ApiVersion.split('.').map(Number);
    expect(major! * 1000 + minor!).toBeGreaterThanOrEqual(1041);
    const pid = pidOf(dir);
    expect(isAlive(pid)).toBe(true);
    // While it runs, its data root is bind-mounted onto itself.
    expect(mountsUnder(dir)).not.toEqual([]);
    expect(lines.some((l) => /^private docker daemon started in [\d.]+ s \(pid \d+, /.test(l))).toBe(true);
    await e.close();
    await e.close();
    expectNothingLeft(dir, pid);
    expect(existsSync(join(dir, 'data'))).toBe(true);
    expect(existsSync(join(dir, 'dockerd.log'))).toBe(true);
  });

  it('a state directory too deep for a unix socket: the socket and exec root go to a short directory, removed by close()', async () => {
    const top = tmpProject('pb-dengine-');
    const dir = join(top, 'x'.repeat(80), 'docker');
    const l = privateLayout(dir);
    expect(l.runDir).not.toBe(dir);
    const lines: string[] = [];
    const e = await openEngine({ daemon: 'auto', env: noEngineEnv(top), stateDir: dir, log: (x) => lines.push(x) });
    cleanups.push(() => e.close());
    expect(e.socket).toBe(`unix://${l.socket}`);
    expect(lines).toContain(`the docker socket and exec root are in ${l.runDir}: ${dir} is too long for a unix socket path`);
    expect((await e.docker.ping()).toString()).toBe('OK');
    const pid = pidOf(dir);
    await e.close();
    expectNothingLeft(dir, pid);
    expect(existsSync(l.runDir)).toBe(false);
    expect(mountsUnder(l.runDir)).toEqual([]);
  });

  it('builds an image FROM scratch with no network and runs it', async () => {
    const { engine } = await started();
    const docker = engine.docker;
    const ctx = tmpProject('pb-dengine-ctx-');
    writeFileSync(join(ctx, 'hello.c'), '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n');
    const cc = spawnSync('gcc', ['-static', '-Os', '-o', join(ctx, 'hello'), join(ctx, 'hello.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY hello /hello\nCMD ["/hello"]\n');
    const out = await drain(docker, await docker.buildImage({ context: ctx, src: ['Dockerfile', 'hello'] }, { t: 'pb-test-hello:1', networkmode: 'none' }));
    expect(out.some((o) => typeof o === 'object' && o !== null && 'error' in o)).toBe(false);
    const c = await docker.createContainer({ Image: 'pb-test-hello:1', HostConfig: { NetworkMode: 'none' } });
    await c.start();
    const status = await c.wait();
    expect(status.StatusCode).toBe(0);
    const logs = await c.logs({ stdout: true, stderr: true, follow: false });
    // Without a TTY each chunk has an 8-byte header: stream, 0, 0, 0, length (big endian).
    const text = demux(Buffer.isBuffer(logs) ? logs : Buffer.from(String(logs)));
    expect(text).toBe('hello\n');
    const info = await c.inspect();
    expect(info.HostConfig.NetworkMode).toBe('none');
    await c.remove();
  });

  it('after a killed run (dockerd SIGKILLed, pid file and mounts left) cleans up and starts afresh', async () => {
    const top = tmpProject('pb-dengine-');
    const dir = join(top, 'docker');
    const first = await openEngine({ daemon: 'auto', env: noEngineEnv(top), stateDir: dir });
    const pid1 = pidOf(dir);
    process.kill(pid1, 'SIGKILL');
    await until(() => !isAlive(pid1), 'the killed dockerd to go');
    const l = privateLayout(dir);
    expect(existsSync(l.pidFile)).toBe(true);
    expect(mountsUnder(dir)).not.toEqual([]);
    const lines: string[] = [];
    const second = await openEngine({ daemon: 'auto', env: noEngineEnv(top), stateDir: dir, log: (x) => lines.push(x) });
    cleanups.push(() => second.close());
    const pid2 = pidOf(dir);
    expect(pid2).not.toBe(pid1);
    expect((await second.docker.ping()).toString()).toBe('OK');
    // The first engine's close() must not touch the daemon that replaced it.
    await first.close();
    expect(isAlive(pid2)).toBe(true);
    await second.close();
    expectNothingLeft(dir, pid2);
  });

  it('stops a daemon an earlier run left alive on its socket, saying so, and starts its own', async () => {
    const top = tmpProject('pb-dengine-');
    const dir = join(top, 'docker');
    const l = privateLayout(dir);
    const orphanPid = spawnDockerd(dir);
    await until(() => existsSync(l.socket) && existsSync(l.pidFile), 'the orphan dockerd to listen');
    const lines: string[] = [];
    const e = await openEngine({ daemon: 'auto', env: noEngineEnv(top), stateDir: dir, log: (x) => lines.push(x) });
    cleanups.push(() => e.close());
    expect(isAlive(orphanPid)).toBe(false);
    expect(lines.filter((x) => x.startsWith('stopping the docker daemon of an earlier run'))).toEqual([
      `stopping the docker daemon of an earlier run (pid ${orphanPid}) on ${l.socket}, to start afresh`,
    ]);
    const pid = pidOf(dir);
    expect(pid).not.toBe(orphanPid);
    await e.close();
    expectNothingLeft(dir, pid);
  });
});

describe('a private dockerd that does not come up', () => {
  it('exits at once (its data root is a file): one line with the last line of its log; nothing left', async () => {
    const top = tmpProject('pb-dengine-');
    const dir = join(top, 'docker');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'data'), 'not a directory\n');
    const err = await openError({ daemon: 'auto', env: noEngineEnv(top), stateDir: dir });
    expect(err).toBeInstanceOf(PbError);
    const e = err as PbError;
    const log = readFileSync(join(dir, 'dockerd.log'), 'utf8').trim().split('\n');
    expect(e.message).toBe(`the private docker daemon exited with status 1: ${log[log.length - 1]!.trim()}`);
    expect(e.hint).toBe(`see ${join(dir, 'dockerd.log')}`);
    expect([...processesWith(dir).values()]).toEqual([]);
    expect(mountsUnder(dir)).toEqual([]);
    expect(existsSync(join(dir, 'docker.sock'))).toBe(false);
    expect(existsSync(join(dir, 'exec'))).toBe(false);
  });

  it('does not answer in time (stopped with SIGSTOP): it is killed and cleaned up, and the error names the socket', async () => {
    const top = tmpProject('pb-dengine-');
    const dir = join(top, 'docker');
    const opening = openError({ daemon: 'auto', env: noEngineEnv(top), stateDir: dir, startTimeoutMs: 2000 });
    // It takes a few hundred ms to answer: stop it before it does.
    let pid = 0;
    await until(() => {
      for (const [p, cmd] of processesWith(dir)) if (/^\S*dockerd /.test(cmd)) pid = p;
      return pid !== 0;
    }, 'dockerd to start');
    process.kill(pid, 'SIGSTOP');
    const err = await opening;
    expect(err).toBeInstanceOf(PbError);
    expect((err as PbError).message).toMatch(new RegExp(`^the private docker daemon did not answer on ${join(dir, 'docker.sock')} within 2 s: `));
    expect((err as PbError).message).not.toContain('\n');
    expect(isAlive(pid)).toBe(false);
    expect([...processesWith(dir).values()]).toEqual([]);
    expect(mountsUnder(dir)).toEqual([]);
    expect(existsSync(join(dir, 'docker.pid'))).toBe(false);
    expect(existsSync(join(dir, 'exec'))).toBe(false);
  });
});

describe('interrupted', () => {
  it('a task given ctx.signal: interrupting the build stops its private daemon and cleans up', async () => {
    const project = tmpProject('pb-dengine-');
    const dir = join(project, 'build/docker');
    let pid = 0;
    const task: Task = {
      id: 'image',
      deps: [],
      inputs: {},
      outputs: [],
      async run(ctx) {
        const e = await openEngine({ daemon: 'auto', env: noEngineEnv(project), stateDir: dir, signal: ctx.signal, log: ctx.log });
        try {
          pid = pidOf(dir);
          // Long-running engine work: the events stream ends when the daemon goes.
          const events = await e.docker.getEvents();
          await new Promise((res) => {
            events.on('end', res);
            events.on('close', res);
            events.on('error', res);
          });
        } finally {
          await e.close();
        }
      },
    };
    const stop = new AbortController();
    const running = build(graphOf([task]), project, { stop: stop.signal });
    await until(() => pid !== 0, 'the private daemon to start');
    stop.abort('SIGINT');
    const { summary } = await running;
    expect(summary.interrupted).toBeTruthy();
    expectNothingLeft(dir, pid);
    expect(existsSync(join(dir, 'data'))).toBe(true);
  });

  it('a process that exits without close() does not leave its daemon running', async () => {
    const project = tmpProject('pb-dengine-');
    const dir = join(project, 'docker');
    const script = join(project, 'open-and-exit.mts');
    writeFileSync(
      script,
      `import { openEngine } from ${JSON.stringify(join(REPO, 'src/packaging/docker/engine.ts'))};\n` +
        `await openEngine({ daemon: 'auto', env: ${JSON.stringify(noEngineEnv(project))}, stateDir: ${JSON.stringify(dir)} });\n` +
        'process.exit(3);\n',
    );
    const r = spawnSync(join(REPO, 'node_modules/.bin/tsx'), [script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(3);
    const pid = pidOf(dir);
    await until(() => !isAlive(pid), 'the daemon to stop after its process exited');
    // Its leftovers (pid file, mounts) are for the next openEngine, which removes them.
    const e = await openEngine({ daemon: 'auto', env: noEngineEnv(project), stateDir: dir });
    const pid2 = pidOf(dir);
    await e.close();
    expectNothingLeft(dir, pid2);
  });
});

describe('an engine that is not ours', () => {
  it('DOCKER_HOST pointing at a running daemon is used as external; close() leaves it running', async () => {
    const d = await started();
    const pid = pidOf(d.dir);
    const other = tmpProject('pb-dengine-');
    const e: DockerEngine = await openEngine({ daemon: 'external', env: { PATH: process.env.PATH, DOCKER_HOST: d.engine.socket }, stateDir: join(other, 'docker') });
    expect(e.private).toBe(false);
    expect(e.socket).toBe(d.engine.socket);
    expect((await e.docker.version()).ApiVersion).toBe((await d.engine.docker.version()).ApiVersion);
    await e.close();
    expect(isAlive(pid)).toBe(true);
    expect((await d.engine.docker.ping()).toString()).toBe('OK');
    expect(existsSync(join(other, 'docker'))).toBe(false);
  });

  it('DOCKER_HOST=tcp://127.0.0.1:PORT is used as external', async () => {
    const top = tmpProject('pb-dengine-');
    const port = await freePort();
    const pid = spawnDockerd(join(top, 'docker'), ['--host', `tcp://127.0.0.1:${port}`, '--tls=false']);
    const env = { DOCKER_HOST: `tcp://127.0.0.1:${port}` };
    let e: DockerEngine | undefined;
    for (let i = 0; i < 300 && e === undefined; i++) {
      e = await openEngine({ daemon: 'external', env, stateDir: join(top, 'unused') }).catch(() => undefined);
      if (e === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(e?.private).toBe(false);
    expect(e!.socket).toBe(`tcp://127.0.0.1:${port}`);
    expect((await e!.docker.version()).ApiVersion).toMatch(/^1\.\d+$/);
    await e!.close();
    expect(isAlive(pid)).toBe(true);
  });

  it('external with nothing at DOCKER_HOST fails in one line naming the socket', async () => {
    const err = await openError({ daemon: 'external', env: { DOCKER_HOST: 'unix:///nonexistent.sock' }, stateDir: join(tmpProject('pb-dengine-'), 'docker') });
    expect(err).toBeInstanceOf(PbError);
    const e = err as PbError;
    expect(e.message).toBe('no docker daemon answers at unix:///nonexistent.sock');
    expect(e.hint).toMatch(/start a docker daemon or set DOCKER_HOST.*docker\.daemon = "auto"/);
    expect(e.hint).not.toContain('\n');
  });

  it('auto as a user other than root (nobody, through setpriv) fails in one line and starts nothing', async () => {
    const top = tmpProject('pb-dengine-');
    chmodSync(top, 0o755);
    const script = join(top, 'open.mts');
    const opts = { daemon: 'auto', env: noEngineEnv(top), stateDir: join(top, 'docker') };
    writeFileSync(
      script,
      `import { openEngine } from ${JSON.stringify(join(REPO, 'src/packaging/docker/engine.ts'))};\n` +
        `try { await openEngine(${JSON.stringify(opts)}); console.log('opened'); } catch (e) { console.log(JSON.stringify([e.constructor.name, e.message, e.hint])); }\n`,
    );
    chmodSync(script, 0o644);
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', join(REPO, 'node_modules/.bin/tsx'), script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual([
      'PbError',
      `no docker daemon answers at unix://${top}/none.sock, and only root can start a private one (docker.daemon = "auto")`,
      'start a docker daemon or set DOCKER_HOST to one, or run pyston-build as root',
    ]);
    expect(existsSync(join(top, 'docker'))).toBe(false);
  });

  it('auto without a dockerd on PATH fails in one line with the package to install', async () => {
    const top = tmpProject('pb-dengine-');
    const err = await openError({ daemon: 'auto', env: { PATH: join(top, 'empty-bin'), DOCKER_HOST: `unix://${top}/none.sock` }, stateDir: join(top, 'docker') });
    expect(err).toBeInstanceOf(PbError);
    expect((err as PbError).message).not.toContain('\n');
    expect((err as PbError).message).toContain('dockerd was not found on PATH');
    expect((err as PbError).hint).toContain('apt-get install docker.io');
    expect(existsSync(join(top, 'docker', 'docker.pid'))).toBe(false);
  });
});

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => res(port));
    });
  });
}

function demux(buf: Buffer): string {
  let text = '';
  for (let i = 0; i + 8 <= buf.length; ) {
    const n = buf.readUInt32BE(i + 4);
    text += buf.subarray(i + 8, i + 8 + n).toString('utf8');
    i += 8 + n;
  }
  return text;
}
