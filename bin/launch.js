// Runs one of the bundles bin/build.js makes (dist/<name>.cjs), rebuilding
// the bundles first when a source file is newer (so a fresh checkout or an
// edit just works), then exits with what its main() returns.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadWithCodeCache } from './codecache.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function newest(dir) {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

/** Is dist/<name>.cjs older than the sources it is bundled from? */
function stale(dist) {
  let built;
  try {
    built = statSync(dist).mtimeMs;
  } catch {
    return true;
  }
  try {
    return newest(join(root, 'src')) > built || newest(join(root, 'examples')) > built || statSync(join(root, 'package.json')).mtimeMs > built;
  } catch {
    return false; // no sources next to us: an installed copy
  }
}

export async function runBundle(name) {
  const dist = join(root, 'dist', `${name}.cjs`);
  if (stale(dist)) {
    try {
      await (await import('./build.js')).build();
    } catch (e) {
      process.stderr.write(
        `error: cannot bundle pyston-build from src/: ${String(e?.message ?? e).split('\n')[0]}\nhint: run 'npm install' in ${root}, then fix the errors that 'npm run typecheck' shows\n`,
      );
      process.exit(2);
    }
  }
  const { main } = loadWithCodeCache(dist);
  process.exit(await main(process.argv.slice(2)));
}
