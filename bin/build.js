// Bundles src/ into dist/cli.cjs (and the demo example into dist/demo.cjs) with esbuild (our own code only; packages stay external).
// Runs on `npm install` (prepare) and, when src/ is newer than dist/, from bin/pyston-build.js.
// CommonJS loads measurably faster than an ESM bundle on Node 20, which a no-op build feels.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundle one TypeScript entry into one CommonJS file, written atomically. */
export async function bundle(entry, outfile) {
  const { build: esbuild } = await import('esbuild');
  mkdirSync(dirname(outfile), { recursive: true });
  const tmp = `${outfile}.tmp-${process.pid}`;
  try {
    await esbuild({
      entryPoints: [entry],
      outfile: tmp,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      // import.meta.url has no CommonJS spelling: provide it.
      define: { 'import.meta.url': '__pyston_build_url' },
      banner: {
        js: [
          'const __pyston_build_url = require("node:url").pathToFileURL(__filename).href;',
          // import() of a package, through the loader's function when bin/codecache.js runs the bundle (see there).
          'const __pyston_build_import = globalThis.__pystonBuildImport ?? ((s) => import(s));',
        ].join('\n'),
      },
      sourcemap: 'inline',
      logLevel: 'error',
    });
    // A script compiled by vm.Script (bin/codecache.js) cannot run import() on Node 20 without
    // --experimental-vm-modules: every import("package") of ours goes through the banner's function.
    const code = readFileSync(tmp, 'utf8');
    writeFileSync(tmp, code.replace(/(?<![\w$.])import\((?=["'])/g, '__pyston_build_import('));
    renameSync(tmp, outfile);
  } finally {
    rmSync(tmp, { force: true });
  }
}

export const CLI_BUNDLE = join(root, 'dist', 'cli.cjs');

export const DEMO_BUNDLE = join(root, 'dist', 'demo.cjs');

export async function build() {
  await bundle(join(root, 'src', 'cli.ts'), CLI_BUNDLE);
  // The example graph's command (examples/demo): the same CLI, its own graph.
  await bundle(join(root, 'examples', 'demo', 'cli.ts'), DEMO_BUNDLE);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await build();
}
