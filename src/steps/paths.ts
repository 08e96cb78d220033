/**
 * Where pyston-build's own files are (runtime/, submodules/), whether it runs
 * bundled (dist/cli.js) or from src/ (tests), and where its caches go.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The directory holding pyston-build's package.json. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'pyston-build') {
      cached = dir;
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find pyston-build package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** `config cache.dir`, else `$XDG_CACHE_HOME/pyston-build`, else `~/.cache/pyston-build`. */
export function cacheDir(configured: string, env: NodeJS.ProcessEnv): string {
  if (configured) return resolve(configured);
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'pyston-build');
  return join(env.HOME ?? homedir(), '.cache', 'pyston-build');
}
