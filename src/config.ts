/**
 * BuildConfig: defaults <- config file <- environment (Makefile names) <- flags.
 *
 * Every key is declared once in {@link SCHEMA} with its type, default,
 * environment name (if any) and one line of documentation. Anything else is
 * an error that names the bad key or value and the valid choices.
 */
import { readFileSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { errorMessage, PbError } from './graph/errors.js';
import { ARCH_NAMES } from './debian/arch.js';

/** A bad config file, key or value. Exit code 2. */
export class ConfigError extends PbError {}

type Spec =
  | { readonly type: 'string'; readonly default: string; readonly env?: string; readonly doc: string }
  | { readonly type: 'int'; readonly default: number; readonly min: number; readonly max: number; readonly env?: string; readonly doc: string }
  | { readonly type: 'bool'; readonly default: boolean; readonly env?: string; readonly envInverts?: boolean; readonly doc: string }
  | {
      readonly type: 'enum';
      readonly default: string;
      readonly choices: readonly string[];
      readonly env?: string;
      /** Env text -> choice, for Makefile-style switches (USE_BOLT=0). Other text must be a choice. */
      readonly envMap?: Readonly<Record<string, string>>;
      /** A second Makefile name for the same key (NOBOLT=1), read before `env`. */
      readonly altEnv?: { readonly name: string; readonly map: Readonly<Record<string, string>> };
      /**
       * A list of choices: `a,b` as text, or a TOML array. Kept as the
       * comma-joined text with duplicates dropped, in the order given.
       */
      readonly list?: true;
      readonly doc: string;
    };

/** The config keys. Later issues add theirs here. */
export const SCHEMA = {
  cc: { type: 'enum', default: 'gcc', choices: ['clang', 'gcc'], doc: 'C compiler for interpreter builds: gcc (default: measured fastest, see README) or clang from the LLVM toolchain.' },
  toolchain: {
    type: 'enum',
    default: 'system',
    choices: ['system'],
    env: 'PYSTON_USE_SYS_BINS',
    envMap: { '1': 'system' },
    doc: "Where LLVM comes from. 'system' = installed packages, as Pyston's PYSTON_USE_SYS_BINS=1 (the only choice until the graph builds LLVM itself).",
  },
  arch: {
    type: 'enum',
    default: 'host',
    choices: ['host', ...ARCH_NAMES],
    list: true,
    doc: "Architectures the interpreters and packages are built for, dpkg's names; 'host' = the build machine's. A list (amd64,arm64, or a TOML array) builds each, and `package` publishes them together under one SHA256SUMS. On amd64, arm64 is cross-built (CPython 3.11+, cc = gcc; see README 'arm64').",
  },
  'llvm.version': { type: 'int', default: 19, min: 11, max: 99, doc: 'LLVM major version of the system toolchain.' },
  'llvm.bin': { type: 'string', default: '', doc: 'Directory to look for LLVM tools in first (default: <tool>-N on PATH, then /usr/lib/llvm-N/bin).' },
  pgo: { type: 'bool', default: true, env: 'NOPGO', envInverts: true, doc: 'Profile-guided optimization for opt builds (NOPGO=1 turns it off).' },
  lto: { type: 'bool', default: true, env: 'NOLTO', envInverts: true, doc: 'Link-time optimization for opt builds (NOLTO=1 turns it off).' },
  'pgo.partial_training': {
    type: 'bool',
    default: false,
    doc: 'gcc: -fprofile-partial-training in the profile-using build: functions the training never ran are optimized as without a profile (for speed), not for size. Off by default; README "One config change, side by side" has its measurement (bench/ab.js).',
  },
  'lto.parallel': {
    type: 'bool',
    default: true,
    doc: "gcc: the LTO link in parallel, its jobs under the global -j (-flto=jobserver; configure's -flto-partition=none removed). false keeps configure's serial link.",
  },
  'release.reuse_profiles': {
    type: 'bool',
    default: true,
    doc: "release (and releaseshared) use opt's (optshared's) PGO profile and, when the functions match, its BOLT profile, instead of training again. false trains their own.",
  },
  'pgo.task': {
    type: 'string',
    default: 'runtime',
    env: 'PROFILE_TASK',
    doc: "Training workload: 'runtime' (runtime/train), 'regrtest' (CPython's -m test --pgo) or a command run with the instrumented python as its first word.",
  },
  'pgo.tolerate_failure': { type: 'bool', default: false, doc: 'Keep going when the training workload exits non-zero (it is reported either way).' },
  source: { type: 'string', default: '', doc: 'Source to build: a checkout directory or a source archive (default: the project directory if it is a checkout, else the embedded CPython 3.11.2).' },
  'source.pin': { type: 'string', default: 'submodules/cpython-3.11.2.json', doc: 'Pin of the embedded default source, relative to pyston-build.' },
  'cache.dir': { type: 'string', default: '', env: 'PYSTON_BUILD_CACHE', doc: 'Download and profile cache (default: $XDG_CACHE_HOME/pyston-build or ~/.cache/pyston-build).' },
  'configure.extra': { type: 'string', default: '', env: 'CONFIGURE_EXTRA_FLAGS', doc: 'Extra arguments for configure, split on whitespace.' },
  bolt: {
    type: 'enum',
    default: 'required',
    choices: ['required', 'auto', 'off'],
    env: 'USE_BOLT',
    envMap: { '0': 'off', '1': 'required' },
    altEnv: { name: 'NOBOLT', map: { '1': 'off', '0': 'required' } },
    doc: "BOLT for opt builds on x86_64 and arm64: 'required' (a BOLT failure fails the build), 'auto' (fall back to the un-BOLTed binary, with a warning) or 'off'. USE_BOLT=0 or NOBOLT=1 turn it off.",
  },
  'bolt.timeout': {
    type: 'int',
    default: 3600,
    min: 1,
    max: 86400,
    doc: 'Seconds any one llvm-bolt, merge-fdata, BOLT training or check run may take before it is stopped as hung (a failure under the bolt policy).',
  },
  'bolt.min_coverage': { type: 'int', default: 20, min: 0, max: 100, doc: 'Lowest share (percent) of functions with a non-empty BOLT profile; below it the BOLT step fails.' },
  'bolt.apply_flags': { type: 'string', default: '', doc: 'llvm-bolt flags for the optimizing run, replacing the built-in set (see src/bolt/pipeline.ts), split on whitespace.' },
  'bolt.instrument_flags': { type: 'string', default: '', doc: 'Extra llvm-bolt flags for the instrumenting run, split on whitespace.' },
  'bolt.skip_funcs': { type: 'string', default: 'default', doc: "Functions BOLT leaves alone, comma-separated; 'default' = the built-in list (see src/bolt/skip.ts), 'none' = none." },
  'package.name': {
    type: 'string',
    default: '',
    doc: "Package and command name of release builds: the .deb's Package, /usr/lib/<name>, /usr/bin/<name>3 (default: 'pyston' for a Pyston tree, 'cpython' otherwise).",
  },
  'package.prefix': {
    type: 'string',
    default: '',
    env: 'RELEASE_PREFIX',
    doc: 'Install prefix of the release variant and its packages (default: /usr/lib/<name>). Must not be where the system Python lives.',
  },
  'package.version': { type: 'string', default: '', doc: "The .deb's Version, Debian syntax (default: <source version>-1)." },
  'package.maintainer': { type: 'string', default: 'pyston-build <pyston-build@example.org>', doc: "The .deb's Maintainer, 'Name <email>' (set your own: the default names no one)." },
  'package.suite': { type: 'string', default: 'bookworm', doc: 'Debian suite of the minimal root the packages are test-installed into (debootstrap --variant=minbase).' },
  'package.mirror': { type: 'string', default: '', doc: "Debian mirror for that root (default: the first 'deb' URI of this machine's apt sources)." },
  'package.wheels': {
    type: 'enum',
    default: 'auto',
    choices: ['auto', 'on', 'off'],
    doc: "Whether `package` also builds, verifies and publishes the wheels (into build/dist/<name>-<version>/wheelhouse): 'auto' = when the tree has a wheel project (a Pyston tree's pyston_lite) or wheels.project is set.",
  },
  'docker.registry': {
    type: 'string',
    default: '',
    doc: 'Registry the `docker` target pushes to, host[:port] (e.g. 127.0.0.1:5000); required by `docker`. Credentials: PB_REGISTRY_USER and PB_REGISTRY_PASSWORD (or PB_REGISTRY_PASSWORD_FILE), or the docker config file.',
  },
  'docker.repository': { type: 'string', default: '', doc: "Repository in that registry (default: package.name, e.g. 'cpython'); tags are <version> and latest (full), <version>-slim and slim." },
  'docker.daemon': {
    type: 'enum',
    default: 'auto',
    choices: ['auto', 'external'],
    doc: "Docker engine: DOCKER_HOST or the default socket; when none answers, 'auto' starts a private dockerd for the run (root only) and 'external' fails.",
  },
  'wheels.project': {
    type: 'string',
    default: '',
    doc: "The extension module `wheels` builds: '' = the tree's own (a Pyston tree's pyston/pyston_lite and its autoload package), or a wheel project JSON file (see README, Wheels).",
  },
  'wheels.pythons': {
    type: 'string',
    default: '',
    doc: "Interpreters to build wheels for, comma-separated tags: cp38 (a Pyston tree's stock CPython 3.8), cp39 (the pinned CPython 3.9.2), cp311 (the pinned 3.11.2 or the tree's own). '' = cp38,cp39 for a Pyston tree, the tree's own version otherwise.",
  },
  'submodules.mirror': {
    type: 'string',
    default: '',
    doc: "Mirror for submodule URLs, as git's url.BASE.insteadOf=https://: every https:// URL becomes BASE followed by the rest of the URL (https://github.com/LuaJIT/LuaJIT.git -> BASEgithub.com/LuaJIT/LuaJIT.git). A relative BASE is relative to the project root; '' = upstream.",
  },
  'submodules.rewrite': {
    type: 'string',
    default: '',
    doc: 'More submodule URL rewrites, FROM=TO separated by spaces: a URL starting with FROM gets TO instead (the longest FROM, mirror included, wins). A relative local TO is relative to the project root.',
  },
  'submodules.force': {
    type: 'bool',
    default: false,
    doc: 'Let the submodule sync overwrite a submodule that has uncommitted changes or is at another commit (it is otherwise reported and left alone).',
  },
} as const satisfies Record<string, Spec>;

export type ConfigKey = keyof typeof SCHEMA;
type ValueOf<S> = S extends { type: 'int' } ? number : S extends { type: 'bool' } ? boolean : string;
export type BuildConfig = { readonly [K in ConfigKey]: ValueOf<(typeof SCHEMA)[K]> };

export const CONFIG_FILE = 'pyston-build.toml';

const KEYS = Object.keys(SCHEMA).sort() as ConfigKey[];

/** Own keys of SCHEMA only: `toString`, `__proto__` or `constructor` are not config keys. */
function isConfigKey(k: string): k is ConfigKey {
  return Object.hasOwn(SCHEMA, k);
}

function validKeysHint(): string {
  return `valid keys: ${KEYS.join(', ')}`;
}

/** Parse one value from text (env or `--set`). */
function parseText(key: ConfigKey, text: string, where: string): string | number | boolean {
  const spec = SCHEMA[key] as Spec;
  switch (spec.type) {
    case 'string':
      return checkValue(key, text, where);
    case 'int': {
      if (!/^-?\d+$/.test(text.trim())) throw new ConfigError(`${where}: ${key} must be an integer, got '${text}'`, `use a whole number between ${spec.min} and ${spec.max}`);
      return checkValue(key, Number(text.trim()), where);
    }
    case 'bool': {
      const t = text.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(t)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(t)) return false;
      throw new ConfigError(`${where}: ${key} must be a boolean, got '${text}'`, 'use 1/0, true/false, yes/no or on/off');
    }
    case 'enum':
      return checkValue(key, text, where);
  }
}

/** Control characters other than tab, refused in every string value. */
function controlChar(s: string): string | undefined {
  return [...s].find((c) => {
    const n = c.charCodeAt(0);
    return (n < 0x20 && n !== 0x09) || n === 0x7f;
  });
}

/** Check a typed value (from the TOML file or parsed text). */
function checkValue(key: ConfigKey, v: unknown, where: string): string | number | boolean {
  const spec = SCHEMA[key] as Spec;
  switch (spec.type) {
    case 'string':
      if (typeof v !== 'string') throw new ConfigError(`${where}: ${key} must be a string, got ${JSON.stringify(v)}`, `quote it: ${key} = "..."`);
      // A newline or other control character would reach a command line or a generated file.
      if (controlChar(v) !== undefined)
        throw new ConfigError(`${where}: ${key} contains a control character (${JSON.stringify(controlChar(v))})`, 'write the value on one line, without control characters (a tab is allowed)');
      return v;
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v))
        throw new ConfigError(`${where}: ${key} must be an integer, got ${JSON.stringify(v)}`, `use a whole number between ${spec.min} and ${spec.max}`);
      if (v < spec.min || v > spec.max) throw new ConfigError(`${where}: ${key} = ${v} is out of range`, `use a whole number between ${spec.min} and ${spec.max}`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new ConfigError(`${where}: ${key} must be true or false, got ${JSON.stringify(v)}`, `write ${key} = true or ${key} = false`);
      return v;
    case 'enum': {
      if (spec.list) return choiceList(key, spec.choices, v, where);
      if (typeof v !== 'string' || !spec.choices.includes(v)) throw new ConfigError(`${where}: invalid value ${JSON.stringify(v)} for ${key}`, `valid choices: ${spec.choices.join(', ')}`);
      return v;
    }
  }
}

/** A list-valued enum (`amd64,arm64` or a TOML array of strings): each item a choice, duplicates dropped, joined by commas. */
function choiceList(key: ConfigKey, choices: readonly string[], v: unknown, where: string): string {
  const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',').map((x) => x.trim()) : undefined;
  const hint = `valid choices: ${choices.join(', ')}, or several separated by commas (${key} = "${choices[choices.length - 2] ?? choices[0]},${choices[choices.length - 1]}")`;
  if (!items || items.length === 0) throw new ConfigError(`${where}: invalid value ${JSON.stringify(v)} for ${key}`, hint);
  for (const item of items) {
    if (typeof item !== 'string' || !choices.includes(item))
      throw new ConfigError(`${where}: invalid value ${JSON.stringify(item)} ${items.length > 1 ? `in ${key} (${JSON.stringify(v)})` : `for ${key}`}`, hint);
  }
  return [...new Set(items as string[])].join(',');
}

/** A Makefile-style env switch: mapped text (USE_BOLT=0), or one of the key's choices. */
function fromEnv(key: ConfigKey, name: string, map: Readonly<Record<string, string>>, text: string): string {
  const t = text.trim();
  if (Object.hasOwn(map, t)) return map[t]!;
  const spec = SCHEMA[key] as Spec;
  if (spec.type === 'enum' && spec.choices.includes(t)) return t;
  throw new ConfigError(`environment variable ${name}: invalid value '${text}' for ${key}`, `use ${[...Object.keys(map), ...(spec.type === 'enum' ? spec.choices : [])].join(', ')}`);
}

function flatten(obj: Record<string, unknown>, prefix: string, out: Map<string, unknown>): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) flatten(v as Record<string, unknown>, key, out);
    else out.set(key, v);
  }
}

/** The config file's path as the user sees it: relative to the current directory, absolute when that is gone. */
function shownPath(path: string): string {
  try {
    return relative(process.cwd(), path) || path;
  } catch {
    return path;
  }
}

export interface ConfigSources {
  /** Project root: the config file is looked up here. */
  readonly root: string;
  /** An explicit config file (`--config`); must exist. */
  readonly file?: string;
  readonly env: NodeJS.ProcessEnv;
  /** `--set key=value` pairs, in order. */
  readonly sets: readonly string[];
}

export interface LoadedConfig {
  readonly config: BuildConfig;
  /** The config file that was read, if any. */
  readonly file: string | undefined;
}

export async function loadConfig(src: ConfigSources): Promise<LoadedConfig> {
  const values = new Map<ConfigKey, string | number | boolean>();
  for (const k of KEYS) values.set(k, SCHEMA[k].default);

  const path = src.file ? resolve(src.root, src.file) : resolve(src.root, CONFIG_FILE);
  let text: string | undefined;
  try {
    // A FIFO or a device would block the read (or never end): only a regular file is read.
    const st = statSync(path);
    if (!st.isFile() && !st.isDirectory())
      throw new ConfigError(`cannot read config file ${path}: it is not a regular file`, `${src.file ? 'pass a regular file to --config' : `replace ${CONFIG_FILE} with a regular file`}`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (src.file || code !== 'ENOENT') {
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : errorMessage(e);
      const hint = src.file ? 'check the --config path' : code === 'EISDIR' ? `${CONFIG_FILE} must be a file: move the directory away` : `make ${path} readable, or remove it to use the defaults`;
      throw new ConfigError(`cannot read config file ${path}: ${why}`, hint);
    }
  }
  const shown = shownPath(path);
  if (text !== undefined) {
    const { parse, TomlError } = await import('smol-toml');
    let doc: Record<string, unknown>;
    try {
      doc = parse(text) as Record<string, unknown>;
    } catch (e) {
      const where = e instanceof TomlError ? `${shown}:${e.line}:${e.column}` : shown;
      const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
      throw new ConfigError(`${where}: invalid TOML: ${msg}`, 'fix the syntax; see README.md for the config format');
    }
    const flat = new Map<string, unknown>();
    flatten(doc, '', flat);
    for (const [k, v] of flat) {
      if (!isConfigKey(k)) throw new ConfigError(`${shown}: unknown config key '${k}'`, validKeysHint());
      values.set(k, checkValue(k, v, shown));
    }
  }

  for (const k of KEYS) {
    const spec = SCHEMA[k] as Spec;
    if (spec.type === 'enum' && spec.altEnv && src.env[spec.altEnv.name] !== undefined) values.set(k, fromEnv(k, spec.altEnv.name, spec.altEnv.map, src.env[spec.altEnv.name]!));
    const name = spec.env;
    if (name && src.env[name] !== undefined) {
      if (spec.type === 'enum' && spec.envMap) {
        values.set(k, fromEnv(k, name, spec.envMap, src.env[name]!));
        continue;
      }
      const v = parseText(k, src.env[name]!, `environment variable ${name}`);
      values.set(k, spec.type === 'bool' && spec.envInverts ? !v : v);
    }
  }

  for (const s of src.sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set expects KEY=VALUE, got '${s}'`, `for example: --set package.name=fastpy; ${validKeysHint()}`);
    const k = s.slice(0, eq);
    if (!isConfigKey(k)) throw new ConfigError(`--set: unknown config key '${k}'`, validKeysHint());
    values.set(k, parseText(k, s.slice(eq + 1), `--set ${k}`));
  }

  return { config: Object.fromEntries(values) as unknown as BuildConfig, file: text !== undefined ? path : undefined };
}

/** `key = value  # doc` lines for `--help` and the README. */
export function describeConfig(): string[] {
  return KEYS.map((k) => {
    const s = SCHEMA[k] as Spec;
    return `${k} (${s.type === 'enum' ? `${s.choices.join('|')}${s.list ? ', a comma-separated list' : ''}` : s.type}, default ${JSON.stringify(s.default)}${s.env ? `, env ${s.env}` : ''}): ${s.doc}`;
  });
}
