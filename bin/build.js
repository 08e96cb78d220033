// Bundles src/ into dist/cli.js with esbuild (our own code only; packages stay external).
// Runs on `npm install` (prepare) and, when src/ is newer than dist/, from bin/pyston-build.js.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { renameSync, rmSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function build() {
  const { build: esbuild } = await import('esbuild');
  const out = join(root, 'dist', 'cli.js');
  const tmp = join(root, 'dist', `cli.js.tmp-${process.pid}`);
  try {
    await esbuild({
      entryPoints: [join(root, 'src', 'cli.ts')],
      outfile: tmp,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      logLevel: 'error',
    });
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await build();
}
