/**
 * bin/codecache.js: bundles run through V8's code cache. Real node, real
 * esbuild (bin/build.js), a real ESM package reached through import().
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from '../../bin/build.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Inside the repository, so the bundle's packages resolve from its node_modules (as dist/ does).
const dir = join(repo, 'dist', `.test-codecache-${process.pid}`);
const entry = join(dir, 'entry.cjs');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(): string {
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'run-bundle.js'), entry, 'x', 'y'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}
const caches = (): string[] => readdirSync(dir).filter((n) => n.endsWith('.v8cache'));

describe('the code cache', () => {
  it('is written by the first run, used by the next, replaced when damaged or when the bundle changes; import() works throughout', async () => {
    await bundle(join(repo, 'tests', 'fixtures', 'codecache', 'entry.ts'), entry);
    expect(readFileSync(entry, 'utf8')).toContain('__pyston_build_import("smol-toml")');
    expect(run()).toBe('{"answer":42} x y\n');
    const [cache] = caches();
    expect(cache).toMatch(/^entry\.cjs\.\d+-\d+-\d+\.v8cache$/);
    const first = statSync(join(dir, cache!));
    expect(first.size).toBeGreaterThan(0);

    // Accepted: not written again.
    expect(run()).toBe('{"answer":42} x y\n');
    expect(statSync(join(dir, cache!)).mtimeMs).toBe(first.mtimeMs);

    // Damaged: V8 rejects it, the run is unaffected, and a good one replaces it.
    writeFileSync(join(dir, cache!), Buffer.alloc(first.size, 7));
    expect(run()).toBe('{"answer":42} x y\n');
    expect(readFileSync(join(dir, cache!)).equals(Buffer.alloc(first.size, 7))).toBe(false);

    // A rebuilt bundle is a new file: a new cache, the old one removed.
    await bundle(join(repo, 'tests', 'fixtures', 'codecache', 'entry.ts'), entry);
    expect(run()).toBe('{"answer":42} x y\n');
    expect(caches()).toHaveLength(1);
    expect(caches()[0]).not.toBe(cache);
  });
});
