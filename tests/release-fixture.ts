/** A release that was never built, for tests that run one package task on a tree they stage themselves. */
import { join } from 'node:path';
import type { Task } from '../src/graph/index.js';
import type { Flavor } from '../src/flavors/index.js';
import type { ReleaseNames } from '../src/packaging/release.js';
import { packageTasks } from '../src/packaging/tasks.js';
import type { Release } from '../src/steps/release.js';
import { REPO } from './helpers.js';

/**
 * The package tasks of a release that was never built (a release variant
 * of `flavor` at `version`, named by `names`), for running one package task
 * on a tree a test stages itself.
 */
export function packageTasksOf(flavor: Flavor, version: string, names: ReleaseNames): Task[] {
  const release: Release = {
    variant: 'release',
    flavor,
    arch: 'amd64',
    version,
    last: 'release:probe',
    prefix: names.prefix,
    installRoot: 'build/release_install',
    installDir: `build/release_install${names.prefix}`,
    buildDirs: ['build/release_build'],
    srcDir: '/nonexistent',
    python: 'build/release_env/bin/python',
    report: 'build/release_report.json',
    shared: false,
  };
  return packageTasks({
    id: 'package',
    release,
    names,
    root: '/nonexistent',
    source: {},
    maintainer: 'T <t@example.org>',
    suite: 'bookworm',
    mirror: '',
    cacheDir: '/nonexistent',
    toolchain: [],
    strip: { name: 'llvm-strip' },
    runtimeDir: join(REPO, 'runtime'),
  }).tasks;
}
