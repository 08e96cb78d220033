/** For tests that need a docker engine: a private dockerd on a temp socket (root, as on CI). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEngine, type DockerEngine } from '../src/packaging/docker/engine.js';

export interface PrivateDockerd {
  readonly engine: DockerEngine;
  /** The daemon's state directory (socket, data, exec root, log). */
  readonly dir: string;
  /** Progress lines openEngine logged. */
  readonly lines: string[];
  /** Stop the daemon and remove everything it made, its layer cache included. */
  cleanup(): Promise<void>;
}

/**
 * Start a private daemon in a fresh temp directory. `DOCKER_HOST` points at
 * a socket nobody serves, so a daemon already running on the machine is
 * never used by accident.
 */
export async function startPrivateDockerd(): Promise<PrivateDockerd> {
  const top = mkdtempSync(join(tmpdir(), 'pb-dockerd-'));
  const dir = join(top, 'docker');
  const lines: string[] = [];
  const engine = await openEngine({ daemon: 'auto', env: { PATH: process.env.PATH, DOCKER_HOST: `unix://${top}/none.sock` }, stateDir: dir, keepData: false, log: (l) => lines.push(l) });
  return {
    engine,
    dir,
    lines,
    async cleanup() {
      await engine.close();
      rmSync(top, { recursive: true, force: true });
    },
  };
}
