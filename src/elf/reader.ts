/**
 * A small ELF reader: enough to check a binary without running a tool on it.
 *
 * Reads the header, the program headers (segments such as PT_GNU_STACK), the
 * section headers with their names, the notes (SHT_NOTE sections) and the
 * dynamic section (DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH). ELF64 and
 * ELF32, little- and big-endian. Field layouts are from the System V ABI's
 * ELF chapter (gABI) and `elf.h`.
 *
 * A file that is not ELF, or is cut short, throws `ElfError` with what was
 * wrong; callers turn it into a one-line task failure.
 */
import { readFileSync } from 'node:fs';

export class ElfError extends Error {}

export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_GNU_STACK = 0x6474e551;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;
const SHT_NOTE = 7;
const SHT_DYNAMIC = 6;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

/** e_machine values this project meets, by dpkg-ish name. */
export const MACHINES: Readonly<Record<number, string>> = { 3: 'i386', 62: 'x86_64', 40: 'arm', 183: 'aarch64', 243: 'riscv64' };

export interface Segment {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
  readonly memsz: number;
}

export interface Section {
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
}

export interface Note {
  /** The section the note came from. */
  readonly section: string;
  readonly owner: string;
  readonly type: number;
  readonly desc: Buffer;
}

export interface ElfFile {
  readonly path: string;
  readonly class: 32 | 64;
  readonly littleEndian: boolean;
  /** ET_EXEC = 2, ET_DYN = 3. */
  readonly fileType: number;
  readonly machine: number;
  readonly segments: readonly Segment[];
  readonly sections: readonly Section[];
  readonly notes: readonly Note[];
  readonly needed: readonly string[];
  readonly soname: string | undefined;
  readonly rpath: string | undefined;
  readonly runpath: string | undefined;
}

class Reader {
  constructor(
    readonly buf: Buffer,
    readonly is64: boolean,
    readonly le: boolean,
    readonly path: string,
  ) {}
  check(off: number, len: number, what: string): void {
    if (off < 0 || len < 0 || off + len > this.buf.length) throw new ElfError(`${this.path}: truncated ELF file (${what} at offset ${off} runs past the end)`);
  }
  u16(off: number): number {
    this.check(off, 2, 'field');
    return this.le ? this.buf.readUInt16LE(off) : this.buf.readUInt16BE(off);
  }
  u32(off: number): number {
    this.check(off, 4, 'field');
    return this.le ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off);
  }
  /** A 64-bit field as a number (file offsets and sizes of real binaries fit). */
  u64(off: number): number {
    this.check(off, 8, 'field');
    return Number(this.le ? this.buf.readBigUInt64LE(off) : this.buf.readBigUInt64BE(off));
  }
  word(off: number): number {
    return this.is64 ? this.u64(off) : this.u32(off);
  }
  cstr(off: number): string {
    this.check(off, 1, 'string');
    const end = this.buf.indexOf(0, off);
    return this.buf.toString('utf8', off, end < 0 ? this.buf.length : end);
  }
}

export function isElf(buf: Buffer): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

export function readElf(path: string): ElfFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new ElfError(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseElf(buf, path);
}

export function parseElf(buf: Buffer, path = '<buffer>'): ElfFile {
  if (!isElf(buf)) throw new ElfError(`${path}: not an ELF file`);
  if (buf.length < 52) throw new ElfError(`${path}: truncated ELF header`);
  const cls = buf[4];
  const data = buf[5];
  if (cls !== 1 && cls !== 2) throw new ElfError(`${path}: bad ELF class ${cls}`);
  if (data !== 1 && data !== 2) throw new ElfError(`${path}: bad ELF data encoding ${data}`);
  const is64 = cls === 2;
  const r = new Reader(buf, is64, data === 1, path);
  const fileType = r.u16(16);
  const machine = r.u16(18);
  const phoff = is64 ? r.u64(32) : r.u32(28);
  const shoff = is64 ? r.u64(40) : r.u32(32);
  const base = is64 ? 52 : 40;
  const phentsize = r.u16(base + 2);
  const phnum = r.u16(base + 4);
  const shentsize = r.u16(base + 6);
  const shnum = r.u16(base + 8);
  const shstrndx = r.u16(base + 10);

  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    r.check(o, phentsize, 'program header');
    segments.push(
      is64
        ? { type: r.u32(o), flags: r.u32(o + 4), offset: r.u64(o + 8), vaddr: r.u64(o + 16), filesz: r.u64(o + 32), memsz: r.u64(o + 40) }
        : { type: r.u32(o), offset: r.u32(o + 4), vaddr: r.u32(o + 8), filesz: r.u32(o + 16), memsz: r.u32(o + 20), flags: r.u32(o + 24) },
    );
  }

  const raw: Omit<Section, 'name'>[] = [];
  const nameOffsets: number[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    r.check(o, shentsize, 'section header');
    nameOffsets.push(r.u32(o));
    raw.push({
      type: r.u32(o + 4),
      flags: r.word(o + 8),
      addr: is64 ? r.u64(o + 16) : r.u32(o + 12),
      offset: is64 ? r.u64(o + 24) : r.u32(o + 16),
      size: is64 ? r.u64(o + 32) : r.u32(o + 20),
      link: is64 ? r.u32(o + 40) : r.u32(o + 24),
    });
  }
  const strtab = shnum > 0 && shstrndx < shnum ? raw[shstrndx]! : undefined;
  const sections: Section[] = raw.map((s, i) => ({ ...s, name: strtab ? r.cstr(strtab.offset + nameOffsets[i]!) : '' }));

  const notes: Note[] = [];
  for (const s of sections) {
    if (s.type !== SHT_NOTE) continue;
    r.check(s.offset, s.size, `section ${s.name}`);
    let o = s.offset;
    const end = s.offset + s.size;
    while (o + 12 <= end) {
      const namesz = r.u32(o);
      const descsz = r.u32(o + 4);
      const type = r.u32(o + 8);
      const nameOff = o + 12;
      const descOff = nameOff + align4(namesz);
      if (descOff + descsz > end) throw new ElfError(`${path}: malformed note in ${s.name}`);
      const owner = buf.toString('utf8', nameOff, nameOff + Math.max(0, namesz - 1));
      notes.push({ section: s.name, owner, type, desc: Buffer.from(buf.subarray(descOff, descOff + descsz)) });
      o = descOff + align4(descsz);
    }
  }

  const dyn = readDynamic(r, sections, segments);
  return { path, class: is64 ? 64 : 32, littleEndian: data === 1, fileType, machine, segments, sections, notes, ...dyn };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function readDynamic(r: Reader, sections: readonly Section[], segments: readonly Segment[]): Pick<ElfFile, 'needed' | 'soname' | 'rpath' | 'runpath'> {
  const none = { needed: [], soname: undefined, rpath: undefined, runpath: undefined };
  const dynSec = sections.find((s) => s.type === SHT_DYNAMIC);
  const dynSeg = segments.find((s) => s.type === PT_DYNAMIC);
  const off = dynSec?.offset ?? dynSeg?.offset;
  const size = dynSec?.size ?? dynSeg?.filesz;
  if (off === undefined || size === undefined) return none;
  const entsize = r.is64 ? 16 : 8;
  const entries: [number, number][] = [];
  for (let o = off; o + entsize <= off + size; o += entsize) {
    const tag = r.word(o);
    if (tag === DT_NULL) break;
    entries.push([tag, r.word(o + entsize / 2)]);
  }
  // The string table: the section the dynamic section links to, else DT_STRTAB mapped through PT_LOAD.
  let strOff: number | undefined = dynSec ? sections[dynSec.link]?.offset : undefined;
  if (strOff === undefined) {
    const addr = entries.find(([t]) => t === DT_STRTAB)?.[1];
    const seg = addr === undefined ? undefined : segments.find((s) => s.type === PT_LOAD && addr >= s.vaddr && addr < s.vaddr + s.filesz);
    if (seg && addr !== undefined) strOff = seg.offset + (addr - seg.vaddr);
  }
  if (strOff === undefined) return none;
  const str = (v: number): string => r.cstr(strOff! + v);
  const one = (tag: number): string | undefined => {
    const e = entries.find(([t]) => t === tag);
    return e ? str(e[1]) : undefined;
  };
  return {
    needed: entries.filter(([t]) => t === DT_NEEDED).map(([, v]) => str(v)),
    soname: one(DT_SONAME),
    rpath: one(DT_RPATH),
    runpath: one(DT_RUNPATH),
  };
}

/** The PT_GNU_STACK segment's verdict: missing (the loader may make the stack executable), executable, or fine. */
export function stackPolicy(elf: ElfFile): 'missing' | 'executable' | 'ok' {
  const s = elf.segments.find((seg) => seg.type === PT_GNU_STACK);
  if (!s) return 'missing';
  return s.flags & PF_X ? 'executable' : 'ok';
}

export function hasSection(elf: ElfFile, name: string): boolean {
  return elf.sections.some((s) => s.name === name);
}
