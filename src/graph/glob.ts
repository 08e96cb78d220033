/**
 * The one glob-to-regular-expression translation. Its callers want slightly
 * different globs, so each difference is an option:
 *
 * | caller                          | `*` crosses `/` | `**` spans dirs | `?`      | `[...]` | wildcard matches a leading `.` |
 * |---------------------------------|-----------------|-----------------|----------|---------|--------------------------------|
 * | `!` entries of inputs/outputs   | no              | yes             | wildcard | literal | yes                            |
 * | `--force` patterns (task ids)   | yes             | (same as `*`)   | literal  | literal | yes                            |
 * | ld.so.conf `include` (elf/)     | no              | no              | wildcard | class   | no (glob(3))                   |
 *
 * A pattern always matches the whole string. Characters that are not
 * wildcards match themselves.
 */

export interface GlobOptions {
  /** `*` matches any run of characters, `/` included (task ids); else it stops at `/`. Default false. */
  readonly starCrossesSlash?: boolean;
  /**
   * `**` matches any run of characters, `/` included, and swallows a `/`
   * right after it. Default false (`**` is two `*`). The translation is
   * textual: `a/**\/b` becomes `a/.*b`, which also matches `a/xb`.
   */
  readonly globstar?: boolean;
  /** `?` matches one character (not `/` unless `starCrossesSlash`). Default true; false makes it literal. */
  readonly question?: boolean;
  /** `[abc]`, `[a-z]`, `[!abc]` are character classes, as in glob(3). Default false: `[` is literal. */
  readonly brackets?: boolean;
  /**
   * A leading `.` of the string, or of any path component after a `/` in
   * the pattern, must be matched by a literal `.` in the pattern, as in
   * glob(3). Default false (wildcards match dot files).
   */
  readonly noDotFiles?: boolean;
}

/** The presets of the callers above, so that each states its semantics by name. */
export const GLOB_EXCLUDE: GlobOptions = { globstar: true };
export const GLOB_TASK_ID: GlobOptions = { starCrossesSlash: true, question: false };
export const GLOB_FILE_NAME: GlobOptions = { brackets: true, noDotFiles: true };

const SPECIAL = /[.*+?^${}()|[\]\\]/g;

function literal(c: string): string {
  return c.replace(SPECIAL, '\\$&');
}

/** The regular expression for one glob pattern. */
export function globRegExp(pattern: string, opts: GlobOptions = {}): RegExp {
  const any = opts.starCrossesSlash ? '.' : '[^/]';
  const question = opts.question ?? true;
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    if (opts.noDotFiles && (i === 0 || pattern[i - 1] === '/') && pattern[i] !== '.') re += '(?!\\.)';
    const c = pattern[i]!;
    if (c === '*' && opts.globstar && pattern[i + 1] === '*') {
      // `**/` is any number of whole directories (none included): `**/test` matches `test` and `a/test`, never `a/idle_test`.
      i++;
      if (pattern[i + 1] === '/') {
        re += '(?:.*/)?';
        i++;
      } else re += '.*';
    } else if (c === '*') re += `${any}*`;
    else if (c === '?' && question) re += any;
    else if (c === '[' && opts.brackets) {
      // As in glob(3), a `]` right after `[` or `[!` is part of the set.
      const close = pattern.indexOf(']', pattern[i + 1] === '!' ? i + 3 : i + 2);
      if (close < 0) re += '\\[';
      else {
        re += charClass(pattern.slice(i + 1, close));
        i = close;
      }
    } else re += literal(c);
  }
  return new RegExp(`^${re}$`);
}

/** A set (what is between `[` and `]`) as a JavaScript class: `\` and `]` literal, ranges kept; a reversed range matches nothing. */
function charClass(set: string): string {
  const negated = set.startsWith('!');
  const cls = `[${negated ? '^' : ''}${(negated ? set.slice(1) : set).replace(/[\\\]]/g, '\\$&')}]`;
  try {
    new RegExp(cls);
    return cls;
  } catch {
    return '(?!)';
  }
}

/** Whether a string matches any of `patterns`. */
export function globMatcher(patterns: readonly string[], opts: GlobOptions = {}): (s: string) => boolean {
  const res = patterns.map((p) => globRegExp(p, opts));
  return (s) => res.some((r) => r.test(s));
}
