/**
 * deb822(5) paragraphs, the format of apt's `.sources` files and of dpkg's
 * status file: `Field: value` lines, a value continued on lines that start
 * with white space, paragraphs separated by blank lines, and lines starting
 * with `#` ignored.
 */

/**
 * One paragraph, by field name in lower case (field names are
 * case-insensitive). A value is the text after the colon, trimmed; a
 * multi-line value keeps its continuation lines as written (leading space
 * included), joined by `\n`, so `${Name}: ${value}` writes it back.
 */
export type Paragraph = ReadonlyMap<string, string>;

/**
 * The paragraphs of `text`. `only` (lower-case names) keeps just those
 * fields, and the paragraphs that have one of them: the dpkg status file is
 * read on every command, and most of its lines are descriptions no caller
 * wants.
 */
export function parseDeb822(text: string, only?: ReadonlySet<string>): Paragraph[] {
  const body = /^#/m.test(text) ? text.replace(/^#.*(\n|$)/gm, '') : text;
  // One anchored expression per wanted field is what V8 runs fastest; all fields take one general expression.
  const wanted = only && [...only].map((f) => [f, new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(.*(?:\n[ \t].*)*)`, 'mi')] as const);
  const out: Paragraph[] = [];
  // Splitting on a plain "\n\n" is much faster; lines of only white space (never in dpkg's files) need the expression.
  const paragraphs = /\n[ \t\r]+\n/.test(body) ? body.split(/\n(?:[ \t\r]*\n)+/) : body.split('\n\n');
  for (const para of paragraphs) {
    const p = new Map<string, string>();
    if (wanted) {
      for (const [f, re] of wanted) {
        const m = re.exec(para);
        if (m) p.set(f, value(m[1]!));
      }
    } else {
      for (const m of para.matchAll(FIELD)) p.set(m[1]!.toLowerCase(), value(m[2]!));
    }
    if (p.size > 0) out.push(p);
  }
  return out;
}

const FIELD = /^([^\s:]+):(.*(?:\n[ \t].*)*)/gm;

/** The first line trimmed, continuation lines as written but for trailing white space. */
function value(raw: string): string {
  if (!raw.includes('\n')) return raw.trim();
  const [first, ...rest] = raw.split('\n');
  return [first!.trim(), ...rest.map((l) => l.trimEnd())].join('\n');
}

/** A white-space separated list field (Types, URIs, Suites, Components), empty when absent. */
export function words(p: Paragraph, field: string): string[] {
  return (p.get(field) ?? '').split(/\s+/).filter((w) => w !== '');
}
