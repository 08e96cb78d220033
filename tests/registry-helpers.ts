/**
 * A real registry for tests: Debian's `docker-registry` (distribution 2.8) on
 * 127.0.0.1, a free port, a temp storage dir, optionally with htpasswd auth.
 * `.ci/run` installs `docker-registry`; the htpasswd file's bcrypt hash comes
 * from python3.11's `crypt` (libxcrypt's `$2b$`), so apache2-utils is not needed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  readonly addr: string;
  readonly port: number;
  readonly dir: string;
  readonly pid: number;
  /** The registry's own log (stdout and stderr). */
  log(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A bcrypt `user:hash` line for the registry's htpasswd auth. */
export function htpasswdLine(user: string, password: string): string {
  const r = spawnSync('python3.11', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.stdin.read(), crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))'], {
    input: password,
    encoding: 'utf8',
  });
  const hash = r.stdout.trim();
  if (r.status !== 0 || !hash.startsWith('$2')) throw new Error(`bcrypt via python3.11 failed: ${r.stderr}`);
  return `${user}:${hash}\n`;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

export async function startRegistry(opts: { htpasswd?: { user: string; password: string } } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-registry-'));
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  let auth = '';
  if (opts.htpasswd) {
    writeFileSync(join(dir, 'htpasswd'), htpasswdLine(opts.htpasswd.user, opts.htpasswd.password));
    auth = ['auth:', '  htpasswd:', '    realm: pb-test', `    path: ${join(dir, 'htpasswd')}`, ''].join('\n');
  }
  const config = [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    'http:',
    `  addr: ${addr}`,
    auth,
  ].join('\n');
  writeFileSync(join(dir, 'config.yml'), config);
  const logPath = join(dir, 'registry.log');
  const logStream = createWriteStream(logPath);
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(logStream, { end: false });
  child.stderr!.pipe(logStream, { end: false });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited(child);
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => logStream.end(resolve));
    rmSync(dir, { recursive: true, force: true });
  };
  const log = (): string => readFileSync(logPath, 'utf8');
  // Ready when GET /v2/ answers at all (200, or 401 with auth).
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) {
      const text = log();
      await stop();
      throw new Error(`docker-registry exited with ${child.exitCode}: ${text}`);
    }
    try {
      const res = await fetch(`http://${addr}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not listening yet
    }
    if (i > 200) {
      await stop();
      throw new Error(`docker-registry on ${addr} did not answer GET /v2/`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { addr, port, dir, pid: child.pid!, log, stop };
}
