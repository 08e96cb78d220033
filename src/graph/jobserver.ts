/**
 * The engine is a GNU make jobserver *server*.
 *
 * One FIFO holds `jobs - 1` tokens. The engine has one implicit slot, like a
 * top-level `make -jN`; every further task it runs at the same time takes a
 * token from the FIFO, and every jobserver client it starts (make, ninja)
 * takes tokens for its own extra jobs from the same FIFO. So the engine's
 * tasks and all their sub-builds together never run more than `jobs` jobs.
 *
 * Node cannot create a FIFO (no mkfifo binding), so the `mkfifo` command
 * makes it. The engine opens it non-blocking and polls for a token: a
 * blocking read would stall the event loop. Children get a separate,
 * blocking open of the same FIFO as fds 3 and 4 (`--jobserver-auth=3,4`,
 * make >= 4.2), or open it by path (`--jobserver-auth=fifo:PATH`, make >= 4.4,
 * ninja >= 1.13).
 *
 * A child killed by a signal cannot give back the tokens it held, so when no
 * task is running the engine drains the FIFO and refills it to exactly
 * `jobs - 1` tokens ({@link Jobserver.reconcile}).
 */
import { closeSync, constants, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PbError, errorMessage } from './errors.js';

export type Token = { readonly implicit: true } | { readonly implicit: false; readonly byte: number };

const TOKEN = 0x2b; // '+', the byte GNU make itself uses
const POLL_MS = 5;

export class Jobserver {
  private implicitFree = true;
  private readonly one = Buffer.alloc(1);
  private closed = false;

  private constructor(
    readonly path: string,
    readonly jobs: number,
    /** The engine's own non-blocking read/write descriptor. */
    private readonly fd: number,
    /** A blocking read/write descriptor that children inherit as fds 3 and 4. */
    readonly childFd: number,
  ) {}

  static create(dir: string, jobs: number): Jobserver {
    const path = join(dir, `jobserver-${process.pid}.fifo`);
    rmSync(path, { force: true });
    try {
      execFileSync('mkfifo', ['-m', '600', path], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      throw new PbError(`cannot create the jobserver FIFO ${path}: ${errorMessage(e)}`, 'mkfifo comes with coreutils: apt-get install coreutils');
    }
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    const childFd = openSync(path, constants.O_RDWR);
    const js = new Jobserver(path, jobs, fd, childFd);
    js.fill(jobs - 1);
    return js;
  }

  private fill(n: number): void {
    if (n > 0) writeSync(this.fd, Buffer.alloc(n, TOKEN));
  }

  /** Take one token without waiting, if one is free. */
  tryAcquire(): Token | undefined {
    if (this.implicitFree) {
      this.implicitFree = false;
      return { implicit: true };
    }
    try {
      if (readSync(this.fd, this.one, 0, 1, null) === 1) return { implicit: false, byte: this.one[0]! };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
    return undefined;
  }

  /** Wait for a token. Rejects if `signal` aborts first. */
  async acquire(signal?: AbortSignal): Promise<Token> {
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      const t = this.tryAcquire();
      if (t) return t;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Give a token back. Every acquired token must be released exactly once. */
  release(token: Token): void {
    if (this.closed) return;
    if (token.implicit) this.implicitFree = true;
    else writeSync(this.fd, Buffer.from([token.byte]));
  }

  /**
   * Call only when no task (and so no client) is running: restore exactly
   * `jobs - 1` tokens, whatever killed clients took with them.
   */
  reconcile(): number {
    let had = 0;
    const chunk = Buffer.alloc(4096);
    for (;;) {
      try {
        const n = readSync(this.fd, chunk, 0, chunk.length, null);
        if (n <= 0) break;
        had += n;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw e;
      }
    }
    this.fill(this.jobs - 1);
    return this.jobs - 1 - had;
  }

  /** `MAKEFLAGS` for a client, in the form it understands. */
  makeflags(form: 'pipe' | 'fifo'): string {
    const auth = form === 'pipe' ? '3,4' : `fifo:${this.path}`;
    return ` -j${this.jobs} --jobserver-auth=${auth}`;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    closeSync(this.childFd);
    rmSync(this.path, { force: true });
  }
}
