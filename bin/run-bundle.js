#!/usr/bin/env node
// Runs a self-starting bundle (bench/noop.js's bundles) the way
// bin/pyston-build.js runs dist/cli.cjs: through V8's code cache
// (codecache.js). `node bin/run-bundle.js BUNDLE ARGS...`; the bundle sees
// ARGS as process.argv.slice(2).
import { resolve } from 'node:path';
import { loadWithCodeCache } from './codecache.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node bin/run-bundle.js BUNDLE [ARGS...]\n');
  process.exit(2);
}
process.argv.splice(1, 1);
process.argv[1] = resolve(file);
loadWithCodeCache(process.argv[1]);
