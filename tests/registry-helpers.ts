/**
 * A real registry for tests: Debian's `docker-registry` (distribution 2.8) on
 * 127.0.0.1, a free port, a temp storage dir, optionally with htpasswd auth
 * (Basic challenges) or token auth (Bearer challenges, with a small token
 * server here whose key and certificate `openssl req` makes).
 * `.ci/run` installs `docker-registry`; the htpasswd file's bcrypt hash comes
 * from python3.11's `crypt` (libxcrypt's `$2b$`), so apache2-utils is not needed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate, randomUUID, sign } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
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
  /** With `token`: each request the token server got (scope, and whether the credentials were right). */
  readonly tokenRequests: { scope: string; authorized: boolean }[];
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

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/**
 * A token server for the registry's `auth: token` mode: it checks basic auth
 * against one user and signs a JWT (RS256, the certificate in `x5c`) granting
 * what the scope asks for. The registry verifies it against `certPath`.
 */
async function startTokenServer(
  dir: string,
  user: string,
  password: string,
  service: string,
  issuer: string,
  requests: TestRegistry['tokenRequests'],
): Promise<{ server: Server; realm: string; certPath: string }> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=pb-test-token'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  const key = readFileSync(keyPath, 'utf8');
  const x5c = new X509Certificate(readFileSync(certPath)).raw.toString('base64');
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    const scope = url.searchParams.get('scope') ?? '';
    const authorized = req.headers.authorization === expected;
    requests.push({ scope, authorized });
    if (!authorized) {
      res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const [type, name, actions] = scope.split(':');
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [x5c] }));
    const claims = b64url(
      JSON.stringify({ iss: issuer, sub: user, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access: scope ? [{ type, name, actions: (actions ?? '').split(',') }] : [] }),
    );
    const signature = b64url(sign('sha256', Buffer.from(`${header}.${claims}`), key));
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${signature}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { server, realm: `http://127.0.0.1:${port}/token`, certPath };
}

export async function startRegistry(opts: { htpasswd?: { user: string; password: string }; token?: { user: string; password: string } } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-registry-'));
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  let auth = '';
  let tokenServer: Server | undefined;
  const tokenRequests: TestRegistry['tokenRequests'] = [];
  if (opts.htpasswd) {
    writeFileSync(join(dir, 'htpasswd'), htpasswdLine(opts.htpasswd.user, opts.htpasswd.password));
    auth = ['auth:', '  htpasswd:', '    realm: pb-test', `    path: ${join(dir, 'htpasswd')}`, ''].join('\n');
  } else if (opts.token) {
    const t = await startTokenServer(dir, opts.token.user, opts.token.password, 'pb-test-registry', 'pb-test-issuer', tokenRequests);
    tokenServer = t.server;
    auth = ['auth:', '  token:', `    realm: ${t.realm}`, '    service: pb-test-registry', '    issuer: pb-test-issuer', `    rootcertbundle: ${t.certPath}`, ''].join('\n');
  }
  const config = ['version: 0.1', 'log:', '  level: info', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, 'http:', `  addr: ${addr}`, auth].join('\n');
  writeFileSync(join(dir, 'config.yml'), config);
  const logPath = join(dir, 'registry.log');
  const logStream = createWriteStream(logPath);
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let spawnError: Error | undefined;
  child.on('error', (e) => (spawnError = e));
  child.stdout!.pipe(logStream, { end: false });
  child.stderr!.pipe(logStream, { end: false });
  const stop = async (): Promise<void> => {
    if (spawnError === undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited(child);
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => logStream.end(resolve));
    if (tokenServer) await new Promise<void>((resolve) => tokenServer!.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  const log = (): string => readFileSync(logPath, 'utf8');
  // Ready when GET /v2/ answers at all (200, or 401 with auth).
  for (let i = 0; ; i++) {
    if (spawnError) {
      await stop();
      throw new Error(`cannot run docker-registry (${spawnError.message}): apt-get install -y docker-registry`);
    }
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
  return { addr, port, dir, pid: child.pid!, log, tokenRequests, stop };
}
