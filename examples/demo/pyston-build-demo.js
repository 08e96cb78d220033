#!/usr/bin/env node
// The demo example's command: pyston-build's CLI on the example graph
// (examples/demo/graph.ts). Runs the bundled dist/demo.cjs, rebuilt first
// when a source file is newer.
import { runBundle } from '../../bin/launch.js';

await runBundle('demo');
