/**
 * A Release: what a variant's tasks produce, as a typed value. Packaging,
 * wheels and images take a Release (never task ids or hard-coded paths), so
 * they can take one of any variant, flavor or architecture.
 *
 * DESIGN.md has variants/ return the Release; the type lives here, in
 * steps/, so that packaging/ (and later wheels and images) can take it
 * without importing a sibling factory folder.
 *
 * The build report (`build/<variant>_report.json`) is written by the
 * variant's probe task and read back through {@link readBuildReport}, which
 * checks its shape: a report that does not parse is an error naming the
 * file, never a silent default.
 */
import { readFileSync } from 'node:fs';
import type { Arch } from '../debian/arch.js';
import type { Flavor } from '../flavors/index.js';
import { PbError, TaskFailure, errorMessage } from '../graph/index.js';

export interface Release {
  /** The variant's name (`opt`, `releaseshared`, ...). */
  readonly variant: string;
  readonly flavor: Flavor;
  readonly arch: Arch;
  /** Upstream version of the source, e.g. 3.11.2. */
  readonly version: string;
  /** The variant's last task: everything below is ready after it. */
  readonly last: string;
  /** The configured prefix (absolute: where the interpreter expects to live). */
  readonly prefix: string;
  /** The directory `make install` wrote, relative to the root (for a DESTDIR install, the DESTDIR). */
  readonly installRoot: string;
  /** The tree under `installRoot` that holds bin/ and lib/, relative to the root. */
  readonly installDir: string;
  /** The build directories whose paths may leak into files (the final and the instrumented build), relative to the root. */
  readonly buildDirs: readonly string[];
  /** Absolute source directory. */
  readonly srcDir: string;
  /** The venv python, relative to the root. */
  readonly python: string;
  /** The build report, relative to the root. */
  readonly report: string;
  readonly shared: boolean;
  /** A cross build's build python (absolute): configure recorded it in the installed sysconfig data and Makefile. */
  readonly buildPython?: string;
}

/** Which optimizations ran, with their evidence. Written by the variant's probe task. */
export interface BuildReport {
  readonly variant: string;
  /** Absent in reports written before flavors existed. */
  readonly flavor?: string;
  readonly arch?: string;
  readonly compiler: string;
  readonly pgo: { readonly enabled: boolean; readonly summary?: unknown };
  readonly lto: boolean;
  readonly profileWarnings: unknown;
  /** The BOLT report (src/bolt/pipeline.ts) with `enabled: true`, or why BOLT did not run. */
  readonly bolt: { readonly enabled: boolean; readonly bolted?: boolean; readonly reason?: string; readonly [k: string]: unknown };
  /** A JIT variant's AOT traces (src/aot/chain.ts): whether clang PGO applied to them, and the trace summary. */
  readonly aot?: unknown;
  readonly configure: Readonly<Record<string, unknown>>;
  readonly configureArgs: readonly string[];
  readonly probe: string;
}

/** Read and check a build report. */
export function readBuildReport(path: string): BuildReport {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TaskFailure(`cannot read the build report ${path}: ${errorMessage(e)}`, 'rebuild the variant (pyston-build --force "<variant>:probe" <variant>)');
  }
  const r = v as Partial<BuildReport> | null;
  const ok =
    r !== null &&
    typeof r === 'object' &&
    typeof r.variant === 'string' &&
    typeof r.compiler === 'string' &&
    typeof r.lto === 'boolean' &&
    typeof r.pgo === 'object' &&
    r.pgo !== null &&
    typeof r.pgo.enabled === 'boolean' &&
    typeof r.bolt === 'object' &&
    r.bolt !== null &&
    typeof r.bolt.enabled === 'boolean' &&
    Array.isArray(r.configureArgs) &&
    typeof r.probe === 'string';
  if (!ok) throw new PbError(`the build report ${path} does not have the expected fields`, 'rebuild the variant: its probe task writes the report', 1);
  return r as BuildReport;
}

/** True when BOLT ran and its output was installed. */
export function wasBolted(r: BuildReport): boolean {
  return r.bolt.enabled && r.bolt.bolted === true;
}
