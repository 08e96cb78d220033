import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyState, loadState, saveState, writeFileAtomic } from '../../src/graph/state.js';
import { tmpProject } from '../helpers.js';

describe('state file', () => {
  it('round-trips and leaves no temp file', () => {
    const dir = tmpProject();
    const path = join(dir, 'state.json');
    const s = emptyState();
    s.tasks.x = { status: 'ok', key: 'k', outputs: { o: '2' }, durationMs: 5 };
    saveState(path, s);
    expect(loadState(path)).toEqual({ state: s });
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('a missing file is a first build, not a problem', () => {
    expect(loadState(join(tmpProject(), 'none.json')).problem).toBeUndefined();
  });

  it.each([
    ['truncated', (t: string) => t.slice(0, t.length - 10), /corrupt \(checksum mismatch\)/],
    ['bit flip', (t: string) => t.replace('"ok"', '"OK"'), /corrupt \(checksum mismatch\)/],
    ['garbage', () => '\u0000\u0001garbage', /corrupt \(no header\)/],
    ['empty', () => '', /corrupt \(no header\)/],
    ['other format', (t: string) => t.replace('pyston-build-state 2 ', 'pyston-build-state 99 '), /has format 99, this pyston-build uses 2/],
  ])('detects a %s file in one line and starts from scratch', (_name, mangle, why) => {
    const dir = tmpProject();
    const path = join(dir, 'state.json');
    const s = emptyState();
    s.tasks.x = { status: 'ok', key: 'k', outputs: {}, durationMs: 1 };
    saveState(path, s);
    writeFileSync(path, mangle(readFileSync(path, 'utf8')));
    const r = loadState(path);
    expect(r.state).toEqual(emptyState());
    expect(r.problem).toMatch(why);
    expect(r.problem).not.toContain('\n');
  });

  it('a write to an unwritable place fails with a clear message and leaves nothing behind', () => {
    const dir = tmpProject();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(() => writeFileAtomic(join(file, 'state.json'), 'data')).toThrow(/cannot write .*a-file\/state\.json/);
    expect(readdirSync(dir)).toEqual(['a-file']);
  });
});
