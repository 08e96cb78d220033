/** Reading staged trees: every file below a directory, in sorted order, a file's first bytes, and the ELF files. */
import { closeSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { isElf, readElf, type ElfFile } from '../elf/reader.js';

/** Paths of the regular files (and with `links`, the symlinks) below dir, depth first, sorted by name. */
export function* listFiles(dir: string, opts: { links?: boolean } = {}): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) yield* listFiles(p, opts);
    else if (st.isFile() || (opts.links && st.isSymbolicLink())) yield p;
  }
}

/** The first n bytes of a file (fewer if it is shorter), without reading the rest. */
export function readHead(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** Every ELF file below dir (regular files only), read. */
export function listElves(dir: string): ElfFile[] {
  const out: ElfFile[] = [];
  for (const f of listFiles(dir)) if (isElf(readHead(f, 4))) out.push(readElf(f));
  return out;
}
