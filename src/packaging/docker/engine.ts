/**
 * The docker engine the image tasks talk to, through dockerode.
 *
 * `openEngine` pings the engine named by `DOCKER_HOST` (default
 * `unix:///var/run/docker.sock`). If it answers, that engine is used and
 * never stopped. If none answers, `docker.daemon` decides:
 * - `external`: fail, naming the socket;
 * - `auto`: as root, start a private `dockerd` for the run under
 *   `stateDir` (socket, data root, exec root, pid file, log), and stop it in
 *   `close()`; not as root, fail.
 *
 * A private daemon leaves things behind that a plain recursive delete must
 * not walk into: its data root is bind-mounted onto itself while it runs,
 * and an nsfs mount can stay at `exec/netns/default` after it stopped
 * (measured earlier on this machine; the tests' builds and runs with
 * `--network none` leave none). Every mount under its directories is
 * unmounted once no daemon runs there. A run
 * killed with SIGKILL leaves all of it plus a stale pid file and socket;
 * the next `openEngine` on the same `stateDir` stops a daemon still alive
 * there, unmounts, and starts afresh. The data root (the layer cache
 * between runs) is kept unless `keepData` is false.
 *
 * Interrupts: the graph engine does not stop processes it did not spawn, so
 * the caller passes its task's `ctx.signal` as `signal`: when it aborts,
 * the private daemon is stopped and cleaned up as by `close()`. If the
 * process exits without either (an uncaught error), an exit hook sends the
 * daemon SIGTERM so it does not outlive us; the mounts it leaves are
 * cleaned up by the next run. The caller still calls `close()` in a
 * `finally`.
 *
 * dockerode is imported on first use, so nothing loads it on a run that
 * builds no image.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type Dockerode from 'dockerode';
import { PbError } from '../../graph/errors.js';
import { asFsError } from '../../graph/fserror.js';
import { unmountUnder } from '../../graph/mounts.js';
import { which } from '../../graph/tools.js';

/** `docker.daemon` in config. */
export type DaemonMode = 'auto' | 'external';

export interface OpenEngineOptions {
  readonly daemon: DaemonMode;
  /** Environment to read `DOCKER_HOST` and `PATH` from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where a private daemon lives, e.g. `<build>/docker`. */
  readonly stateDir: string;
  /** Progress lines (a task passes `ctx.log`). */
  readonly log?: (line: string) => void;
  /** Keep `stateDir/data` (the layer cache) when a private daemon is closed. Default true. */
  readonly keepData?: boolean;
  /** Aborting it stops a private daemon, as `close()` does (a task passes `ctx.signal`). */
  readonly signal?: AbortSignal;
  /** How long a private daemon may take to answer. Default 30 s. */
  readonly startTimeoutMs?: number;
}

export interface DockerEngine {
  readonly docker: Dockerode;
  /** The engine's address as a `DOCKER_HOST` value: `unix:///path` or `tcp://host:port`. */
  readonly socket: string;
  /** Whether the daemon was started by this run (and is stopped by `close()`). */
  readonly private: boolean;
  /** Stop a private daemon and remove its leftovers; nothing for an external one. Idempotent. */
  close(): Promise<void>;
}

/** What to do after the ping: use the engine that answered, start a private one, or fail. */
export type EngineAction = 'use' | 'start' | 'fail-external' | 'fail-not-root';

export function decideEngine(answered: boolean, daemon: DaemonMode, isRoot: boolean): EngineAction {
  if (answered) return 'use';
  if (daemon === 'external') return 'fail-external';
  return isRoot ? 'start' : 'fail-not-root';
}

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** Where `DOCKER_HOST` points: a unix socket or `tcp://host:port` (no TLS). */
export interface DockerHost {
  /** As given (normalized), for messages. */
  readonly url: string;
  readonly modem: Dockerode.DockerOptions;
}

export function parseDockerHost(value: string | undefined): DockerHost {
  const url = value && value.trim() !== '' ? value.trim() : DEFAULT_DOCKER_HOST;
  if (url.startsWith('unix://')) {
    const path = url.slice('unix://'.length);
    if (path.startsWith('/')) return { url, modem: { socketPath: path } };
  } else if (url.startsWith('tcp://')) {
    const m = /^tcp:\/\/([^:/]+|\[[0-9a-fA-F:]+\]):(\d+)\/?$/.exec(url);
    if (m) return { url, modem: { protocol: 'http', host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) } };
  }
  throw new PbError(`DOCKER_HOST=${url} is not a form pyston-build supports`, 'set DOCKER_HOST to unix:///path/to/docker.sock or tcp://host:port, or unset it for the default socket');
}

const PING_TIMEOUT_MS = 3000;
const STOP_GRACE_MS = 15_000;
/** sun_path is 108 bytes with its NUL. */
const MAX_SOCKET_PATH = 107;
/** The longest socket the daemon makes under its exec root (its containerd's). */
const LONGEST_EXEC_SOCKET = '/exec/containerd/containerd.sock.ttrpc';

async function loadDockerode(): Promise<typeof Dockerode> {
  return (await import('dockerode')).default;
}

async function answers(Docker: typeof Dockerode, modem: Dockerode.DockerOptions): Promise<boolean> {
  try {
    await new Docker({ ...modem, timeout: PING_TIMEOUT_MS }).ping();
    return true;
  } catch {
    return false;
  }
}

export async function openEngine(opts: OpenEngineOptions): Promise<DockerEngine> {
  const host = parseDockerHost(opts.env.DOCKER_HOST);
  const Docker = await loadDockerode();
  const answered = await answers(Docker, host.modem);
  const isRoot = process.getuid?.() === 0;
  switch (decideEngine(answered, opts.daemon, isRoot)) {
    case 'use':
      opts.log?.(`using the docker engine at ${host.url}`);
      return { docker: new Docker(host.modem), socket: host.url, private: false, close: async () => {} };
    case 'fail-external':
      throw new PbError(`no docker daemon answers at ${host.url}`, 'start a docker daemon or set DOCKER_HOST to one, or set docker.daemon = "auto" to let pyston-build start a private one (as root)');
    case 'fail-not-root':
      throw new PbError(
        `no docker daemon answers at ${host.url}, and only root can start a private one (docker.daemon = "auto")`,
        'start a docker daemon or set DOCKER_HOST to one, or run pyston-build as root',
      );
    case 'start':
      opts.log?.(`no docker daemon answers at ${host.url}: starting a private one in ${resolve(opts.stateDir)}`);
      return startPrivate(Docker, opts);
  }
}

/** Where a private daemon's files go. */
export interface PrivateLayout {
  readonly dir: string;
  readonly data: string;
  readonly pidFile: string;
  readonly log: string;
  /** Holds the socket and the exec root: `dir`, or a short directory when `dir` is too long. */
  readonly runDir: string;
  readonly socket: string;
  readonly exec: string;
}

export function privateLayout(stateDir: string): PrivateLayout {
  const dir = resolve(stateDir);
  // A unix socket path must fit in 108 bytes, and the daemon's own
  // containerd puts its sockets under the exec root. For a deep build
  // directory both go to a short directory named after a digest of `dir`,
  // so that a later run on the same `dir` finds what an earlier one left.
  const fits = Buffer.byteLength(dir + LONGEST_EXEC_SOCKET) <= MAX_SOCKET_PATH;
  const runDir = fits ? dir : join(existsSync('/run') ? '/run' : '/tmp', `pyston-build-docker-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`);
  return { dir, data: join(dir, 'data'), pidFile: join(dir, 'docker.pid'), log: join(dir, 'dockerd.log'), runDir, socket: join(runDir, 'docker.sock'), exec: join(runDir, 'exec') };
}

export function dockerdArgs(l: PrivateLayout): string[] {
  return ['--host', `unix://${l.socket}`, '--data-root', l.data, '--exec-root', l.exec, '--pidfile', l.pidFile, '--storage-driver', 'overlay2', '--iptables=false', '--bridge=none'];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is dead for our purposes.
  try {
    return !/^\S+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The pid in `file` if that process is alive and its name is `comm`. */
function livePid(file: string, comm: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return undefined;
  try {
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== comm) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, wait up to `graceMs`, then SIGKILL and wait for it to go. */
async function stopPid(pid: number, graceMs: number): Promise<void> {
  const signal = (s: NodeJS.Signals): void => {
    try {
      process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  // A stopped daemon (SIGSTOP, a debugger) handles the SIGTERM only once it runs again.
  signal('SIGCONT');
  const end = Date.now() + graceMs;
  while (alive(pid) && Date.now() < end) await sleep(50);
  if (!alive(pid)) return;
  signal('SIGKILL');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
}

/**
 * Stop a daemon (and its containerd) still running from an earlier run on
 * this layout, then remove what a daemon leaves: mounts under the state
 * and run directories, the exec root, socket and pid file.
 */
async function removeLeftovers(l: PrivateLayout, log: (line: string) => void): Promise<void> {
  const old = livePid(l.pidFile, 'dockerd');
  if (old !== undefined) {
    log(`stopping the docker daemon of an earlier run (pid ${old}) on ${l.socket}, to start afresh`);
    await stopPid(old, STOP_GRACE_MS);
  }
  const containerd = livePid(join(l.exec, 'containerd', 'containerd.pid'), 'containerd');
  if (containerd !== undefined) await stopPid(containerd, 5000);
  // Nothing of this daemon runs any more: every mount under its directories is stale.
  unmountUnder(l.dir);
  if (l.runDir !== l.dir) unmountUnder(l.runDir);
  rmSync(l.exec, { recursive: true, force: true });
  rmSync(l.socket, { force: true });
  rmSync(l.pidFile, { force: true });
  if (l.runDir !== l.dir) rmSync(l.runDir, { recursive: true, force: true });
}

/** The daemon finds containerd and runc on PATH; Debian puts runc in /usr/sbin, which a user's PATH may lack. */
function daemonPath(pathEnv: string | undefined): string {
  const dirs = [...(pathEnv ?? '').split(':'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].filter(Boolean);
  return [...new Set(dirs)].join(':');
}

function lastLine(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    return lines[lines.length - 1]!.trim();
  } catch {
    return '(no log)';
  }
}

async function startPrivate(Docker: typeof Dockerode, opts: OpenEngineOptions): Promise<DockerEngine> {
  opts.signal?.throwIfAborted();
  const log = opts.log ?? (() => {});
  const pathEnv = opts.env.PATH ?? process.env.PATH;
  const dockerd = which('dockerd', pathEnv);
  if (!dockerd) throw new PbError('no docker daemon answers, and dockerd was not found on PATH to start a private one', 'install it: apt-get install docker.io (or run pyston-build setup)');
  const l = privateLayout(opts.stateDir);
  let fd: number;
  try {
    mkdirSync(l.dir, { recursive: true });
    await removeLeftovers(l, log);
    mkdirSync(l.runDir, { recursive: true, mode: 0o700 });
    // This run's log only: the last line of a failed start must be this start's.
    fd = openSync(l.log, 'w');
  } catch (e) {
    throw asFsError(e);
  }
  if (l.runDir !== l.dir) log(`the docker socket and exec root are in ${l.runDir}: ${l.dir} is too long for a unix socket path`);

  const started = Date.now();
  let child: ChildProcess;
  try {
    // Its own process group: the terminal's Ctrl-C reaches us, and we stop it in order.
    child = spawn(dockerd, dockerdArgs(l), { detached: true, stdio: ['ignore', fd, fd], env: { PATH: daemonPath(pathEnv) } });
  } finally {
    closeSync(fd);
  }
  let exited: string | undefined;
  child.on('exit', (code, sig) => {
    exited = sig ? `killed by ${sig}` : `exited with status ${code}`;
  });
  child.on('error', (e) => {
    exited = e.message;
  });
  child.unref();
  const pid = child.pid;
  // Should we exit without close() (an uncaught error), the daemon must not outlive us.
  const onExit = (): void => {
    if (pid !== undefined && exited === undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone
      }
    }
  };
  process.on('exit', onExit);

  const docker = new Docker({ socketPath: l.socket });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      process.off('exit', onExit);
      opts.signal?.removeEventListener('abort', onAbort);
      const t0 = Date.now();
      if (pid !== undefined && exited === undefined) await stopPid(pid, STOP_GRACE_MS);
      // Ours died early and a later openEngine started another daemon here: that one is not ours to stop.
      const other = livePid(l.pidFile, 'dockerd');
      if (other !== undefined && other !== pid) return;
      await removeLeftovers(l, log);
      if (opts.keepData === false) {
        unmountUnder(l.data);
        rmSync(l.data, { recursive: true, force: true });
      }
      log(`private docker daemon stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    })();
    return closing;
  };
  const onAbort = (): void => void close().catch(() => {});
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (exited === undefined && (await answers(Docker, { socketPath: l.socket }))) break;
    if (opts.signal?.aborted) {
      await close();
      throw opts.signal.reason;
    }
    const failed = exited !== undefined ? `the private docker daemon ${exited}` : Date.now() > end ? `the private docker daemon did not answer on ${l.socket} within ${timeoutMs / 1000} s` : undefined;
    if (failed !== undefined) {
      const last = lastLine(l.log);
      await close();
      throw new PbError(`${failed}: ${last}`, `see ${l.log}`);
    }
    await sleep(100);
  }
  log(`private docker daemon started in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${pid}, ${l.socket})`);
  return { docker, socket: `unix://${l.socket}`, private: true, close };
}
