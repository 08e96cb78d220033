/**
 * The `ar` archive a .deb is made of (deb(5)): the magic `!<arch>\n`, then
 * per member a 60-byte header and the data, padded with `\n` to an even
 * length. Written the way dpkg-deb 1.21 writes it (checked with od on one
 * of its .debs): uid and gid 0, mode 100644, and names of at most 15
 * characters without GNU ar's `/` terminator. The mtime is the caller's
 * (SOURCE_DATE_EPOCH), so two builds from the same input give the same bytes.
 */

export class ArError extends Error {}

export interface ArMember {
  /** At most 15 bytes, printable ASCII, no `/` or space. */
  readonly name: string;
  readonly data: Buffer;
}

const MAGIC = Buffer.from('!<arch>\n', 'latin1');

function field(value: string, width: number, what: string): string {
  if (value.length > width) throw new ArError(`ar ${what} '${value}' is longer than ${width} bytes`);
  return value.padEnd(width, ' ');
}

/** Build an ar archive from members, in the order given. */
export function arArchive(members: readonly ArMember[], mtime: number): Buffer {
  if (!Number.isInteger(mtime) || mtime < 0) throw new ArError(`ar mtime must be a non-negative whole number of seconds, got ${mtime}`);
  const parts: Buffer[] = [MAGIC];
  const seen = new Set<string>();
  for (const m of members) {
    if (!/^[\x21-\x7e]{1,15}$/.test(m.name) || m.name.includes('/')) throw new ArError(`ar member name '${m.name}' must be 1 to 15 printable characters without '/' or spaces`);
    if (seen.has(m.name)) throw new ArError(`ar member '${m.name}' appears twice`);
    seen.add(m.name);
    const header =
      field(m.name, 16, 'member name') +
      field(String(mtime), 12, 'mtime') +
      field('0', 6, 'uid') +
      field('0', 6, 'gid') +
      field('100644', 8, 'mode') +
      field(String(m.data.length), 10, 'size') +
      '`\n';
    parts.push(Buffer.from(header, 'latin1'), m.data);
    if (m.data.length % 2 === 1) parts.push(Buffer.from('\n', 'latin1'));
  }
  return Buffer.concat(parts);
}
