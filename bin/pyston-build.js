#!/usr/bin/env node
// The pyston-build command. Runs the bundled dist/cli.cjs, rebuilding it first
// when a file under src/ is newer (so a fresh checkout or an edit just works).
import { runBundle } from './launch.js';

await runBundle('cli');
