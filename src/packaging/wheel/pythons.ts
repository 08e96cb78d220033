/**
 * What the wheels are built from and for: the wheel project, and each
 * interpreter of `wheels.pythons` as the plain build of a tree pyston-build
 * builds itself.
 *
 *   cp38 on a Pyston tree    its `stockunopt` variant: the tree's own CPython
 *                            3.8.12 (--disable-pyston), plain
 *   the tree's own version   a CPython tree's `unopt` variant
 *   cp39, cp311              a pinned CPython (submodules/cpython-3.9.2.json,
 *                            cpython-3.11.2.json), built plain as the
 *                            variant `cp39` / `cp311` (build/cp39_build, ...)
 *
 * Wheels need only a plain build of each interpreter: an extension compiles
 * against its headers and sysconfig, which do not change with the
 * interpreter's own optimizations.
 */
import { resolve } from 'node:path';
import { UsageError, type Task } from '../../graph/index.js';
import type { BuildConfig } from '../../config.js';
import { CPYTHON } from '../../flavors/index.js';
import { loadPin, pinnedSourceTasks, type SourceTasks } from '../../steps/source.js';
import { packageRoot } from '../../steps/paths.js';
import { CPYTHON_BUILD_DEPS } from '../../debian/apt.js';
import type { Arch } from '../../debian/arch.js';
import type { Toolchain } from '../../llvm/toolchain.js';
import { findVariant, type VariantDef } from '../../variants/table.js';
import { variantTasks, type BoltOptions, type VariantTasks } from '../../variants/tasks.js';
import { loadProjectFile, pystonLiteProject, type WheelProject } from './project.js';
import type { WheelInterpreter } from './tasks.js';

/** Interpreters pyston-build can build from a pin of its own, by tag. */
export const WHEEL_PINS: Readonly<Record<string, string>> = {
  cp39: 'submodules/cpython-3.9.2.json',
  cp311: 'submodules/cpython-3.11.2.json',
};

/** `cp39` -> [3, 9]; anything else is a one-line error. */
export function wheelTagMinor(tag: string): [number, number] {
  const m = /^cp3(\d{1,2})$/.exec(tag);
  if (!m) throw new UsageError(`wheels.pythons: '${tag}' is not a CPython tag such as cp38 or cp39`, 'list tags separated by commas, e.g. --set wheels.pythons=cp38,cp39');
  return [3, Number(m[1])];
}

/** The project: wheels.project's file, or a Pyston tree's pyston_lite (made by the source's tasks). */
export function wheelProject(setting: string, root: string, s: SourceTasks): { project: WheelProject; deps: string[] } {
  if (setting) return { project: loadProjectFile(resolve(root, setting)), deps: [] };
  if (s.flavor.name === 'pyston') return { project: pystonLiteProject(s.srcDir, s.flavorVersion), deps: [...s.deps] };
  throw new UsageError(
    `a ${s.flavor.title} tree has no wheel project of its own (pyston_lite is part of a Pyston tree)`,
    'build a Pyston checkout, or set wheels.project to a wheel project JSON file (README, Wheels)',
  );
}

export interface InterpreterParts {
  readonly src: SourceTasks;
  readonly variant: (def: VariantDef) => VariantTasks;
  readonly root: string;
  readonly cache: string;
  readonly arch: Arch;
  readonly toolchain: Toolchain;
  readonly systemKeys: () => Readonly<Record<string, string>>;
  readonly bolt: BoltOptions;
  readonly config: BuildConfig;
}

/** One interpreter of wheels.pythons: its plain build's tasks, and the interpreter. */
export function wheelInterpreter(tag: string, x: InterpreterParts): { interpreter: WheelInterpreter; tasks: readonly Task[] } {
  const minor = wheelTagMinor(tag);
  const s = x.src;
  const own = s.version.split('.').slice(0, 2).join('.') === minor.join('.');
  let v: VariantTasks | undefined;
  if (own && s.flavor.stockConfigureArgs !== undefined) v = x.variant(findVariant('stockunopt')!);
  else if (own && s.flavor.name === 'cpython') v = x.variant(findVariant('unopt')!);
  else if (WHEEL_PINS[tag]) {
    const pinPath = resolve(packageRoot(), WHEEL_PINS[tag]);
    const source = pinnedSourceTasks(loadPin(pinPath), x.root, x.cache, tag);
    const def: VariantDef = { name: tag, kind: 'unopt', shared: false, stock: false, pgo: false, lto: false, bolt: false, packaged: false };
    v = variantTasks({
      variant: def,
      flavor: CPYTHON,
      arch: x.arch,
      source,
      toolchain: x.toolchain,
      root: x.root,
      pgo: false,
      lto: false,
      configureExtra: [],
      profileTask: x.config['pgo.task'],
      tolerateTrainingFailure: false,
      systemKeys: x.systemKeys,
      buildPackages: CPYTHON_BUILD_DEPS,
      bolt: x.bolt,
      releasePrefix: '/usr',
    });
    v = { ...v, tasks: [...source.tasks, ...v.tasks] };
  } else {
    const known = [...(s.flavor.stockConfigureArgs !== undefined || s.flavor.name === 'cpython' ? [`cp${s.version.split('.').slice(0, 2).join('')} (this tree)`] : []), ...Object.keys(WHEEL_PINS)];
    throw new UsageError(`wheels.pythons: pyston-build cannot build ${tag} here`, `choose from: ${[...new Set(known)].join(', ')}`);
  }
  const stock = own && s.flavor.stockConfigureArgs !== undefined;
  return { interpreter: { tag, minor, release: v.release, headerMacros: stock ? s.flavor.stockHeaderMacros : {} }, tasks: v.tasks };
}
