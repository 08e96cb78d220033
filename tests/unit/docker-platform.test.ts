/** The platform of a base image (src/packaging/docker/base.ts): OCI names from the architecture table, and the check of what the engine reports. */
import { describe, expect, it } from 'vitest';
import { archPlatform, checkImagePlatform, platformString, BaseImageError } from '../../src/packaging/docker/base.js';

describe('base image platform', () => {
  it('names each architecture as the OCI image index does', () => {
    expect(['amd64', 'arm64', 'ppc64el', 's390x', 'riscv64'].map((a) => platformString(archPlatform(a as 'amd64')))).toEqual([
      'linux/amd64',
      'linux/arm64/v8',
      'linux/ppc64le',
      'linux/s390x',
      'linux/riscv64',
    ]);
  });

  it('accepts the expected platform and reports any other in one line', () => {
    expect(checkImagePlatform({ Id: 'sha256:a', Os: 'linux', Architecture: 'arm64', Variant: 'v8' }, archPlatform('arm64'))).toBeUndefined();
    expect(checkImagePlatform({ Id: 'sha256:a', Os: 'linux', Architecture: 'amd64' }, archPlatform('amd64'))).toBeUndefined();
    const wrong = checkImagePlatform({ Id: 'sha256:a', Os: 'linux', Architecture: 'amd64' }, archPlatform('arm64'));
    expect(wrong).toBeInstanceOf(BaseImageError);
    expect(wrong?.message).toBe('image sha256:a is linux/amd64, expected linux/arm64/v8');
    expect(wrong?.hint).toMatch(/imageArchive for arm64/);
    // No variant is not taken for v8: the index would name what the image says.
    expect(checkImagePlatform({ Id: 'sha256:a', Os: 'linux', Architecture: 'arm64' }, archPlatform('arm64'))?.message).toBe('image sha256:a is linux/arm64, expected linux/arm64/v8');
    expect(checkImagePlatform({ Id: 'sha256:a', Os: 'windows', Architecture: 'amd64' }, archPlatform('amd64'))?.message).toBe('image sha256:a is windows/amd64, expected linux/amd64');
  });
});
