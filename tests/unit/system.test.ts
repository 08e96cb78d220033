import { describe, expect, it } from 'vitest';
import { dropMakefileWords, missingProfileByFile, profileWarnings } from '../../src/variants/tasks.js';

describe('profile warnings', () => {
  it('counts clang -Wprofile-instr-* and gcc -Wmissing-profile warnings by kind', () => {
    const log =
      'a.c:1: warning: no profile data [-Wprofile-instr-unprofiled]\nb.c: warning: x [-Wprofile-instr-out-of-date]\nc.c: warning: y [-Wprofile-instr-unprofiled]\nd.c: warning: z [-Wunused]\n' +
      "../src/Python/ceval.c:12:1: warning: profile for function 'f' not found in profile data [-Wmissing-profile]\n";
    expect(profileWarnings(log)).toEqual({ 'profile-instr-unprofiled': 2, 'profile-instr-out-of-date': 1, 'missing-profile': 1 });
  });

  it("counts gcc's missing profiles per source file, by base name", () => {
    const log = [
      "../../src/Python-3.11.2/Python/ceval.c:12:1: warning: profile for function 'a' not found in profile data [-Wmissing-profile]",
      "/p/src/Python/ceval.c:40:1: warning: profile for function 'b' not found in profile data [-Wmissing-profile]",
      "Modules/expat/xmlparse.c:7:3: warning: profile for function 'c' not found in profile data [-Wmissing-profile]",
      'Python/ceval.c:9:1: warning: unused variable [-Wunused-variable]',
    ].join('\n');
    expect(missingProfileByFile(log)).toEqual({ ceval: 2, xmlparse: 1 });
    expect(missingProfileByFile('')).toEqual({});
  });
});

describe('dropMakefileWords', () => {
  it('removes whole words only, with the space before them, and counts them', () => {
    const mk = 'CONFIGURE_LDFLAGS_NODIST= -flto -fuse-linker-plugin -ffat-lto-objects -flto-partition=none -g\nX=-flto-partition=none-ish\nY=\t-flto-partition=none\n';
    const r = dropMakefileWords(mk, ['-flto-partition=none']);
    expect(r.removed).toBe(2);
    expect(r.text).toBe('CONFIGURE_LDFLAGS_NODIST= -flto -fuse-linker-plugin -ffat-lto-objects -g\nX=-flto-partition=none-ish\nY=\n');
    expect(dropMakefileWords('A=b\n', ['-x'])).toEqual({ text: 'A=b\n', removed: 0 });
  });
});
