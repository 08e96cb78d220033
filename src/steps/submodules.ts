/**
 * Submodule sync: the submodules a build needs, checked out at the commits
 * their gitlinks pin, in a git checkout of the source tree.
 *
 * One task per submodule, `submodules:<path>`, so they fetch in parallel
 * under the engine's `-j`. Each runs real `git` with argument arrays:
 *
 *   - at its pin with a clean tree: nothing to do (the task checks and
 *     writes its stamp);
 *   - not initialised (an empty directory, as a fresh clone leaves it): a
 *     git directory in the superproject's `modules/<name>`, as
 *     `git submodule update` makes it, a fetch of the pinned commit and a
 *     checkout of it;
 *   - dirty, at another commit, or holding files but no checkout: reported
 *     in one warning line and left alone, unless `submodules.force = true`,
 *     which overwrites it (the files it throws away are listed in the log).
 *     A checkout that this step itself moved to an earlier pin (recorded in
 *     the submodule's config, {@link SYNCED_KEY}) is not "at another commit": a
 *     new pin moves it on.
 *
 * Fetching is shallow where the remote allows it: `git fetch --depth 1 URL
 * COMMIT`. A server that does not serve commits by id (the v0 protocol
 * without `uploadpack.allowReachableSHA1InWant`) refuses; then the task says
 * so in its log and fetches the full history. A bundle is read whole (git
 * ignores a depth for bundles). After the sync the task verifies HEAD and a
 * clean tree.
 *
 * URLs are rewritten the way git's `url.<base>.insteadOf` does it:
 * `submodules.mirror = BASE` maps `https://` onto BASE, and
 * `submodules.rewrite = "FROM=TO ..."` adds any other prefix; the longest
 * matching prefix wins. A relative BASE or TO is relative to the project
 * root. The submodule's own `origin` keeps the upstream URL.
 *
 * Up to date: the key is the gitlink commit, the upstream URL, the URL the
 * commit is fetched from and the `submodules.*` settings; the output is a
 * stamp, `build/submodules/<path>.json`. So a submodule at its pin costs
 * nothing on a second run, and a new pin, mirror or URL runs the task
 * again. Edits made to a submodule after its sync do not rerun it (they are
 * the user's; the builds that read the submodule key on its contents):
 * `--force 'submodules:*'` checks again, and with `submodules.force = true`
 * overwrites them.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { PbError, TaskFailure, errorMessage, tailFile, writeFileAtomic, type Task, type TaskContext } from '../graph/index.js';
import { gitDirOf, readGitlinks, readGitmodules } from './gitfiles.js';

/** The submodule's config key that records the commit this step last checked out there. */
export const SYNCED_KEY = 'pyston-build.synced';

/** One URL rewrite, as git's `url.<to>.insteadOf = <from>`. */
export interface RewriteRule {
  readonly from: string;
  readonly to: string;
}

/** A URL with no scheme and no `host:` part is a local path, as git reads it. */
function localPathOf(url: string): string | undefined {
  if (url.startsWith('file://')) return url.slice('file://'.length);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) return undefined;
  const colon = url.indexOf(':');
  if (colon > 0 && !url.slice(0, colon).includes('/')) return undefined; // scp-like host:path
  return url;
}

/** A rule's target: a relative local path is relative to the project root (a trailing slash kept). */
function anchor(to: string, root: string): string {
  const local = localPathOf(to);
  if (local === undefined || to.startsWith('file://') || isAbsolute(local)) return to;
  const abs = resolve(root, local);
  return /[/\\]$/.test(to) ? `${abs}/` : abs;
}

/**
 * The rewrite rules of the settings: `mirror` (BASE for `https://`) and
 * `rewrite` (whitespace-separated `FROM=TO`). Throws a one-line error
 * naming a malformed rule.
 */
export function rewriteRules(mirror: string, rewrite: string, root: string): RewriteRule[] {
  const rules: RewriteRule[] = [];
  for (const item of rewrite.split(/\s+/).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) {
      throw new PbError(`submodules.rewrite: '${item}' is not a FROM=TO rule`, 'write rules as FROM=TO separated by spaces, e.g. https://github.com/=/srv/mirror/github.com/');
    }
    rules.push({ from: item.slice(0, eq), to: anchor(item.slice(eq + 1), root) });
  }
  if (mirror) rules.push({ from: 'https://', to: anchor(mirror, root) });
  return rules;
}

/** `url` rewritten by the longest matching `from` (the first such rule on a tie), as git does. */
export function rewriteUrl(url: string, rules: readonly RewriteRule[]): string {
  let best: RewriteRule | undefined;
  for (const r of rules) if (url.startsWith(r.from) && (!best || r.from.length > best.from.length)) best = r;
  return best ? best.to + url.slice(best.from.length) : url;
}

export interface SubmoduleOptions {
  /** The checkout whose submodules are synced (absolute). */
  readonly checkout: string;
  /** The project root: stamps go to its build/, and relative rule targets are relative to it. */
  readonly root: string;
  /** The submodules to sync, by path (as `.gitmodules` and the index name them). */
  readonly paths: readonly string[];
  /** `submodules.mirror`: BASE for every `https://` URL; '' = none. */
  readonly mirror: string;
  /** `submodules.rewrite`: whitespace-separated FROM=TO rules. */
  readonly rewrite: string;
  /** `submodules.force`: overwrite a dirty submodule, or one at another commit. */
  readonly force: boolean;
}

export interface SubmoduleTasks {
  readonly tasks: Task[];
  /** The ids of the sync tasks: what a task reading the submodules depends on. */
  readonly ids: string[];
}

/** What one task syncs, known when the graph is built. */
interface Sub {
  readonly path: string;
  readonly name: string;
  readonly url: string;
  readonly commit: string;
  /** The URL the commit is fetched from (after the rewrite rules). */
  readonly fetchUrl: string;
}

/** Why a wanted submodule cannot be synced, found when the graph is built and reported when its task runs. */
type Plan = { readonly path: string } & ({ readonly kind: 'sync'; readonly sub: Sub } | { readonly kind: 'plain' } | { readonly kind: 'broken'; readonly error: PbError });

export const stampPath = (path: string): string => `build/submodules/${path}.json`;

/**
 * The sync tasks for `paths` in `checkout`. Nothing runs here: the
 * checkout's `.gitmodules` and index are read as files. No paths: no tasks.
 * A checkout that is not a git checkout gets tasks that check the
 * directories are not empty (there is nothing to fetch them with).
 */
export function submoduleTasks(o: SubmoduleOptions): SubmoduleTasks {
  if (o.paths.length === 0) return { tasks: [], ids: [] };
  const plans = planSubs(o);
  const config = { 'submodules.mirror': o.mirror, 'submodules.rewrite': o.rewrite, 'submodules.force': o.force };
  const tasks = plans.map((p): Task => {
    const path = p.path;
    const stamp = stampPath(path);
    const upstream: Record<string, string> =
      p.kind === 'sync' ? { name: p.sub.name, commit: p.sub.commit, url: p.sub.url, fetch: p.sub.fetchUrl } : p.kind === 'plain' ? { checkout: 'not a git checkout' } : { error: p.error.message };
    return {
      id: `submodules:${path}`,
      title: p.kind === 'sync' ? `sync ${path} at ${p.sub.commit.slice(0, 12)}` : `check ${path}`,
      deps: [],
      inputs: { tools: [{ name: 'git', package: 'git' }], config, upstream },
      outputs: [stamp],
      run: async (ctx) => {
        if (p.kind === 'broken') throw new TaskFailure(p.error.message, p.error.hint);
        const result = p.kind === 'plain' ? checkPlain(o.checkout, path) : await syncOne(ctx, o, p.sub);
        writeFileAtomic(ctx.path(stamp), JSON.stringify({ path, ...upstream, result }, null, 2) + '\n');
      },
    };
  });
  return { tasks, ids: tasks.map((t) => t.id) };
}

function planSubs(o: SubmoduleOptions): Plan[] {
  let rules: RewriteRule[];
  let modules: ReturnType<typeof readGitmodules>;
  let links: Map<string, string>;
  try {
    rules = rewriteRules(o.mirror, o.rewrite, o.root);
    const gitDir = gitDirOf(o.checkout);
    if (gitDir === undefined) return o.paths.map((path) => ({ path, kind: 'plain' }));
    modules = readGitmodules(o.checkout);
    links = readGitlinks(gitDir);
  } catch (e) {
    const error = e instanceof PbError ? e : new PbError(errorMessage(e));
    return o.paths.map((path) => ({ path, kind: 'broken', error }));
  }
  return o.paths.map((path): Plan => {
    const m = modules.find((x) => x.path === path);
    const commit = links.get(path);
    if (!m || !commit) {
      const missing = !m ? `${join(o.checkout, '.gitmodules')} declares no submodule at ${path}` : `the index of ${o.checkout} has no gitlink at ${path}`;
      return { path, kind: 'broken', error: new PbError(`submodule ${path}: ${missing}`, 'build from a checkout that has this submodule (git submodule status lists them)') };
    }
    return { path, kind: 'sync', sub: { path, name: m.name, url: m.url, commit, fetchUrl: rewriteUrl(m.url, rules) } };
  });
}

/** A submodule directory of a tree that is not a git checkout: used as it is, if it has files. */
function checkPlain(checkout: string, path: string): string {
  const dir = join(checkout, path);
  if (!existsSync(dir) || readdirSync(dir).length === 0) {
    throw new TaskFailure(
      `submodule ${path}: ${dir} is empty, and ${checkout} is not a git checkout to fetch it into`,
      `clone the source with git (git clone --recurse-submodules), or put ${path}'s files there`,
    );
  }
  return 'not a git checkout: used as it is';
}

const short = (commit: string): string => commit.slice(0, 12);

/** Run git and return what it printed (stdout and stderr, trimmed). */
async function git(ctx: TaskContext, cwd: string, args: readonly string[]): Promise<string> {
  const r = await ctx.exec('git', args, { cwd, jobserver: false, capture: true });
  return (r.output ?? '').trim();
}

/** Like {@link git}, but a non-zero exit is `undefined` instead of a failure. */
async function gitMaybe(ctx: TaskContext, cwd: string, args: readonly string[]): Promise<string | undefined> {
  try {
    return await git(ctx, cwd, args);
  } catch (e) {
    if (e instanceof TaskFailure && e.reason.kind === 'exit') return undefined;
    throw e;
  }
}

/** The last `fatal:`/`error:` line git wrote to the task log, for a one-line message. */
function gitComplaint(ctx: TaskContext): string {
  const lines = tailFile(ctx.logPath, 20);
  return [...lines].reverse().find((l) => /^(fatal|error):/.test(l)) ?? lines[lines.length - 1] ?? 'no output';
}

/** Uncommitted changes and untracked files of a submodule checkout, one `git status --porcelain` line each. */
async function changesOf(ctx: TaskContext, dir: string): Promise<string[]> {
  return (await git(ctx, dir, ['status', '--porcelain', '--untracked-files=normal'])).split('\n').filter(Boolean);
}

/** Writes to the superproject's config, one at a time (git locks the file and fails a second writer). */
let configQueue: Promise<unknown> = Promise.resolve();
function serialized<T>(f: () => Promise<T>): Promise<T> {
  const next = configQueue.then(f, f);
  configQueue = next.catch(() => undefined);
  return next;
}

async function syncOne(ctx: TaskContext, o: SubmoduleOptions, s: Sub): Promise<string> {
  const dir = join(o.checkout, s.path);
  const leave = (problem: string): string => {
    ctx.warn(`submodule ${s.path} ${problem}; left alone (submodules.force = true overwrites it)`);
    return `left alone: ${problem}`;
  };
  let overwrite = false;
  let fresh = false;
  if (existsSync(join(dir, '.git'))) {
    const head = await gitMaybe(ctx, dir, ['rev-parse', '--verify', '-q', 'HEAD^{commit}']);
    const changes = await changesOf(ctx, dir);
    if (head === s.commit && changes.length === 0) {
      ctx.log(`${s.path} is at its pin ${s.commit} with a clean tree`);
      await register(ctx, o.checkout, s);
      return 'at its pin';
    }
    const synced = head === undefined ? undefined : await git(ctx, dir, ['config', '--default', '', '--get', SYNCED_KEY]);
    const problem =
      changes.length > 0
        ? `has ${changes.length} uncommitted change${changes.length === 1 ? '' : 's'} (${changes[0]!.trim()}${changes.length > 1 ? ', ...' : ''})`
        : head !== undefined && head !== synced
          ? `is at ${short(head)}, not at its pin ${short(s.commit)}`
          : undefined;
    if (problem && !o.force) return leave(problem);
    if (problem) {
      ctx.warn(`submodule ${s.path} ${problem}; overwritten (submodules.force = true; the log lists what was there)`);
      overwrite = true;
    }
  } else {
    const present = existsSync(dir) ? readdirSync(dir) : [];
    if (present.length > 0 && !o.force) return leave(`holds ${present.length} file${present.length === 1 ? '' : 's'} but no git checkout`);
    overwrite = present.length > 0;
    await initModule(ctx, o.checkout, dir, s);
    fresh = true;
  }
  await fetchCommit(ctx, dir, s);
  // A fresh checkout is forced: the directory is empty (or submodules.force), and a git directory
  // left by `git submodule deinit` has an index that lists files the directory no longer has.
  await git(ctx, dir, ['checkout', '-q', ...(overwrite || fresh ? ['--force'] : []), '--detach', s.commit]);
  if (overwrite) await git(ctx, dir, ['clean', '-ffdq']);
  await git(ctx, dir, ['config', SYNCED_KEY, s.commit]);
  const head = await git(ctx, dir, ['rev-parse', 'HEAD']);
  const changes = await changesOf(ctx, dir);
  if (head !== s.commit || changes.length > 0) {
    throw new TaskFailure(
      `submodule ${s.path}: after the sync it is at ${short(head)}${changes.length ? ` with ${changes.length} changed files` : ''}, not at its pin ${short(s.commit)} with a clean tree`,
      `see the log; git -C ${dir} status says what is there`,
    );
  }
  await register(ctx, o.checkout, s);
  ctx.log(`${s.path} checked out at its pin ${s.commit}`);
  return overwrite ? 'overwritten and synced' : 'synced';
}

/**
 * A git directory for the submodule where `git submodule update` puts it
 * (the superproject's `modules/<name>`, as `git rev-parse --git-path`
 * says), with relative links both ways, so the checkout can be moved.
 */
async function initModule(ctx: TaskContext, checkout: string, dir: string, s: Sub): Promise<void> {
  const modDir = resolve(checkout, await git(ctx, checkout, ['rev-parse', '--git-path', `modules/${s.name}`]));
  mkdirSync(dirname(modDir), { recursive: true });
  mkdirSync(dir, { recursive: true });
  await git(ctx, checkout, ['init', '-q', '--bare', modDir]);
  const set = (k: string, v: string): Promise<string> => git(ctx, checkout, ['--git-dir', modDir, 'config', k, v]);
  await set('core.bare', 'false');
  await set('core.worktree', relative(modDir, dir));
  await set('remote.origin.url', s.url);
  await set('remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*');
  writeFileSync(join(dir, '.git'), `gitdir: ${relative(dir, modDir)}\n`);
  ctx.log(`initialised ${s.path}: git directory ${modDir}`);
}

/** Fetch `s.commit` into the submodule unless it has it: shallow by id, else the full history. */
async function fetchCommit(ctx: TaskContext, dir: string, s: Sub): Promise<void> {
  const has = async (): Promise<boolean> => (await gitMaybe(ctx, dir, ['cat-file', '-e', `${s.commit}^{commit}`])) !== undefined;
  if (await has()) return;
  const from = s.fetchUrl;
  const local = localPathOf(from);
  const rewritten = from === s.url ? '' : ` (the mirror of ${s.url})`;
  if (local !== undefined && !existsSync(local)) {
    throw new TaskFailure(`submodule ${s.path}: ${from}${rewritten} does not exist`, 'check submodules.mirror and submodules.rewrite: the mirror must hold every URL they map');
  }
  // Git refuses local transports for submodules unless allowed; these fetches name the mirror explicitly.
  const allow = local !== undefined ? ['-c', 'protocol.file.allow=always'] : [];
  const bundle = local !== undefined && statSync(local).isFile();
  if (bundle) {
    ctx.log(`${from} is a bundle: git reads it whole (no shallow fetch)`);
    await gitMaybe(ctx, dir, [...allow, 'fetch', '--no-tags', from, s.commit]);
  } else if ((await gitMaybe(ctx, dir, [...allow, 'fetch', '--depth', '1', '--no-tags', from, s.commit])) === undefined) {
    ctx.log(`${from} did not serve ${s.commit} by id for a shallow fetch (${gitComplaint(ctx)}); fetching its full history`);
  }
  if (await has()) return;
  const shallow = (await git(ctx, dir, ['rev-parse', '--is-shallow-repository'])) === 'true';
  try {
    await git(ctx, dir, [...allow, 'fetch', '--no-tags', ...(shallow ? ['--unshallow'] : []), from, '+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*']);
  } catch (e) {
    if (!(e instanceof TaskFailure) || e.reason.kind !== 'exit') throw e;
    throw new TaskFailure(
      `submodule ${s.path}: cannot fetch ${from}${rewritten}: ${gitComplaint(ctx)}`,
      'check the URL and the network, or map it onto a mirror (submodules.mirror, submodules.rewrite)',
    );
  }
  if (!(await has())) {
    throw new TaskFailure(`submodule ${s.path}: ${from}${rewritten} has no commit ${s.commit}`, 'the superproject pins a commit the remote lacks: update the mirror, or fix the gitlink');
  }
}

/** Register the submodule in the superproject's config (url, active) as `git submodule init` does, unless it is. */
async function register(ctx: TaskContext, checkout: string, s: Sub): Promise<void> {
  await serialized(async () => {
    const url = await git(ctx, checkout, ['config', '--default', '', '--get', `submodule.${s.name}.url`]);
    if (url !== '') return;
    await git(ctx, checkout, ['config', `submodule.${s.name}.url`, s.url]);
    await git(ctx, checkout, ['config', `submodule.${s.name}.active`, 'true']);
  });
}
