import { describe, expect, it } from 'vitest';
import { profileWarnings } from '../../src/variants/tasks.js';

describe('profile warnings', () => {
  it('counts clang -Wprofile-instr-* warnings by kind', () => {
    const log =
      'a.c:1: warning: no profile data [-Wprofile-instr-unprofiled]\nb.c: warning: x [-Wprofile-instr-out-of-date]\nc.c: warning: y [-Wprofile-instr-unprofiled]\nd.c: warning: z [-Wunused]\n';
    expect(profileWarnings(log)).toEqual({ 'profile-instr-unprofiled': 2, 'profile-instr-out-of-date': 1 });
  });
});
