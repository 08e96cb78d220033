import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { debSrcEntry, hasDebSrc, installedVersions } from '../../src/steps/system.js';
import { profileWarnings } from '../../src/variants/tasks.js';
import { tmpProject, write } from '../helpers.js';

describe('Debian packages', () => {
  it('reads installed versions from a dpkg status file, ignoring removed packages', () => {
    const dir = tmpProject();
    write(dir, 'status', [
      'Package: libssl-dev\nStatus: install ok installed\nVersion: 3.0.15-1~deb12u1\n',
      'Package: zlib1g-dev\nStatus: deinstall ok config-files\nVersion: 1:1.2.13\n',
      'Package: other\nStatus: install ok installed\nVersion: 1\n',
    ].join('\n'));
    const v = installedVersions(['libssl-dev', 'zlib1g-dev', 'absent'], join(dir, 'status'));
    expect([...v]).toEqual([['libssl-dev', '3.0.15-1~deb12u1']]);
  });

  it('derives a deb-src entry from the machine\'s own deb822 sources, naming no host itself', () => {
    const apt = tmpProject();
    write(apt, 'sources.list.d/debian.sources', 'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n\nTypes: deb\nURIs: http://mirror.example/security\nSuites: bookworm-security\nComponents: main\n');
    expect(hasDebSrc(apt)).toBe(false);
    expect(debSrcEntry('bookworm', apt)).toBe('Types: deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n');
    expect(debSrcEntry('trixie', apt)).toBeUndefined();
    write(apt, 'sources.list.d/src.sources', 'Types: deb-src\nURIs: x\n');
    expect(hasDebSrc(apt)).toBe(true);
  });

  it('falls back to a classic sources.list line', () => {
    const apt = tmpProject();
    write(apt, 'sources.list', 'deb http://mirror.example/debian bookworm main\n');
    expect(debSrcEntry('bookworm', apt)).toBe('deb-src http://mirror.example/debian bookworm main\n');
  });
});

describe('profile warnings', () => {
  it('counts clang -Wprofile-instr-* warnings by kind', () => {
    const log = 'a.c:1: warning: no profile data [-Wprofile-instr-unprofiled]\nb.c: warning: x [-Wprofile-instr-out-of-date]\nc.c: warning: y [-Wprofile-instr-unprofiled]\nd.c: warning: z [-Wunused]\n';
    expect(profileWarnings(log)).toEqual({ 'profile-instr-unprofiled': 2, 'profile-instr-out-of-date': 1 });
  });
});
