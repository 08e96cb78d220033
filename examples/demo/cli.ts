/**
 * The demo's command: pyston-build's own CLI (every option, exit code and
 * renderer) with the example graph passed through its graph seam. Bundled
 * into dist/demo.cjs; run it with examples/demo/pyston-build-demo.js.
 */
import { main as pystonBuildMain } from '../../src/cli.js';
import { demoGraph } from './graph.js';

export function main(argv: readonly string[]): Promise<number> {
  return pystonBuildMain(argv, { makeGraph: (_config, _root, env) => demoGraph(env) });
}
