#!/usr/bin/env node
// The pyston-build command. Runs the bundled dist/cli.js, rebuilding it first
// when a file under src/ is newer (so a fresh checkout or an edit just works).
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist', 'cli.cjs');

function newest(dir) {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

let stale;
try {
  const built = statSync(dist).mtimeMs;
  try {
    stale = newest(join(root, 'src')) > built || statSync(join(root, 'package.json')).mtimeMs > built;
  } catch {
    stale = false; // no sources next to us: an installed copy
  }
} catch {
  stale = true;
}
if (stale) {
  try {
    await (await import('./build.js')).build();
  } catch (e) {
    process.stderr.write(`error: cannot bundle pyston-build from src/: ${String(e?.message ?? e).split('\n')[0]}\nhint: run 'npm install' in ${root}, then fix the errors that 'npm run typecheck' shows\n`);
    process.exit(2);
  }
}
const { main } = createRequire(import.meta.url)(dist);
process.exit(await main(process.argv.slice(2)));
