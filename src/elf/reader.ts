/**
 * A small ELF reader: enough to check a binary without running a tool on it.
 *
 * Reads the header, the program headers (segments such as PT_GNU_STACK), the
 * section headers with their names, the notes (SHT_NOTE sections), the
 * dynamic section (DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH) and the
 * symbol versioning GNU adds on top (.gnu.version_r, .gnu.version) with the
 * undefined symbols of .dynsym: what a binary needs from the system, which is
 * what a glibc floor check and a Depends line are computed from. ELF64 and
 * ELF32, little- and big-endian. Field layouts are from the System V ABI's
 * ELF chapter (gABI), the LSB's "Symbol Versioning" section and `elf.h`.
 *
 * A file that is not ELF, or is cut short, throws `ElfError` with what was
 * wrong; callers turn it into a one-line task failure.
 */
import { readFileSync } from 'node:fs';

export class ElfError extends Error {}

export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_GNU_STACK = 0x6474e551;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;
const SHT_NOTE = 7;
const SHT_DYNAMIC = 6;
const SHT_DYNSYM = 11;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;
const SHN_UNDEF = 0;
const STB_WEAK = 2;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

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
  /** PT_INTERP: the program loader an executable names (/lib/ld-linux-aarch64.so.1), or undefined. */
  readonly interpreter: string | undefined;
  /** The versions needed from each library (.gnu.version_r), in file order. */
  readonly versionNeeds: readonly VersionNeed[];
  /** The undefined symbols of .dynsym: what the loader must find elsewhere. */
  readonly imports: readonly ImportedSymbol[];
}

export interface VersionNeed {
  /** The library the versions are needed from, as DT_NEEDED names it: `libc.so.6`. */
  readonly file: string;
  /** Version names such as `GLIBC_2.34`, in file order. */
  readonly versions: readonly string[];
}

export interface ImportedSymbol {
  readonly name: string;
  /** The version the symbol was bound to at link time (`GLIBC_2.14`); absent for an unversioned reference. */
  readonly version?: string;
  /** STB_WEAK: the program runs (with a null address) when no library defines it. */
  readonly weak: boolean;
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
  const interp = segments.find((g) => g.type === PT_INTERP);
  let interpreter: string | undefined;
  if (interp) {
    r.check(interp.offset, interp.filesz, 'PT_INTERP');
    interpreter = r.cstr(interp.offset);
  }
  const { versionNeeds, versionNames } = readVersionNeeds(r, sections);
  const imports = readImports(r, sections, versionNames);
  return { path, class: is64 ? 64 : 32, littleEndian: data === 1, fileType, machine, segments, sections, notes, ...dyn, interpreter, versionNeeds, imports };
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

/**
 * SHT_GNU_verneed: a chain of Elf_Verneed records (vn_version u16, vn_cnt u16,
 * vn_file u32, vn_aux u32, vn_next u32), each with a chain of Elf_Vernaux
 * records (vna_hash u32, vna_flags u16, vna_other u16, vna_name u32,
 * vna_next u32). The layouts are the same in ELF32 and ELF64; offsets are
 * relative to the record they are read from, and names are in the string
 * table the section links to. Also returns vna_other -> name, the index the
 * .gnu.version entries refer to.
 */
function readVersionNeeds(r: Reader, sections: readonly Section[]): { versionNeeds: VersionNeed[]; versionNames: Map<number, string> } {
  const versionNeeds: VersionNeed[] = [];
  const versionNames = new Map<number, string>();
  const sec = sections.find((s) => s.type === SHT_GNU_VERNEED);
  const strtab = sec ? sections[sec.link] : undefined;
  if (!sec || !strtab) return { versionNeeds, versionNames };
  r.check(sec.offset, sec.size, `section ${sec.name}`);
  const end = sec.offset + sec.size;
  const str = (v: number): string => r.cstr(strtab.offset + v);
  // A malformed chain could loop; no real file has more records than bytes.
  let budget = sec.size;
  let o = sec.offset;
  for (;;) {
    if (o + 16 > end || budget-- <= 0) throw new ElfError(`${r.path}: malformed ${sec.name || 'SHT_GNU_verneed'} section`);
    const cnt = r.u16(o + 2);
    const versions: string[] = [];
    let a = o + r.u32(o + 8);
    for (let i = 0; i < cnt; i++) {
      if (a + 16 > end) throw new ElfError(`${r.path}: malformed ${sec.name || 'SHT_GNU_verneed'} section`);
      const name = str(r.u32(a + 8));
      versions.push(name);
      versionNames.set(r.u16(a + 6), name);
      a += r.u32(a + 12);
    }
    versionNeeds.push({ file: str(r.u32(o + 4)), versions });
    const next = r.u32(o + 12);
    if (next === 0) break;
    o += next;
  }
  return { versionNeeds, versionNames };
}

/**
 * The undefined symbols of .dynsym (st_shndx == SHN_UNDEF, name not empty;
 * entry 0 is the gABI's all-zero null symbol). Elf64_Sym is name u32, info u8,
 * other u8, shndx u16, value u64, size u64; Elf32_Sym is name u32, value u32,
 * size u32, info u8, other u8, shndx u16. The version of symbol i is entry i
 * of .gnu.version (u16; the low 15 bits index the version, 0 is local and 1
 * global, both meaning "unversioned"; bit 15 is the hidden flag).
 *
 * Only section headers are read: a binary stripped of them (sstrip) has no
 * imports here, as readelf shows none either.
 */
function readImports(r: Reader, sections: readonly Section[], versionNames: ReadonlyMap<number, string>): ImportedSymbol[] {
  const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
  const strtab = dynsym ? sections[dynsym.link] : undefined;
  if (!dynsym || !strtab) return [];
  r.check(dynsym.offset, dynsym.size, `section ${dynsym.name}`);
  const versym = sections.find((s) => s.type === SHT_GNU_VERSYM);
  if (versym) r.check(versym.offset, versym.size, `section ${versym.name}`);
  const entsize = r.is64 ? 24 : 16;
  const count = Math.floor(dynsym.size / entsize);
  const imports: ImportedSymbol[] = [];
  for (let i = 1; i < count; i++) {
    const o = dynsym.offset + i * entsize;
    const info = r.buf[o + (r.is64 ? 4 : 12)]!;
    const shndx = r.u16(o + (r.is64 ? 6 : 14));
    const nameOff = r.u32(o);
    if (shndx !== SHN_UNDEF || nameOff === 0) continue;
    const name = r.cstr(strtab.offset + nameOff);
    if (name === '') continue;
    const index = versym && (i + 1) * 2 <= versym.size ? r.u16(versym.offset + i * 2) & 0x7fff : 0;
    const version = index > 1 ? versionNames.get(index) : undefined;
    const weak = info >> 4 === STB_WEAK;
    imports.push(version === undefined ? { name, weak } : { name, version, weak });
  }
  return imports;
}

/**
 * The highest `GLIBC_x.y[.z]` version the files need, as the file names it
 * (`GLIBC_2.34`), compared number by number (2.34 > 2.4), or undefined when
 * none needs one. That is the oldest glibc they all load on. GLIBC_PRIVATE
 * is not a release and is left out.
 */
export function maxGlibcVersion(...elves: readonly ElfFile[]): string | undefined {
  let best: { name: string; parts: number[] } | undefined;
  for (const elf of elves) {
    for (const need of elf.versionNeeds) {
      for (const v of need.versions) {
        const m = /^GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$/.exec(v);
        if (!m) continue;
        const parts = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
        if (!best || compareParts(parts, best.parts) > 0) best = { name: v, parts };
      }
    }
  }
  return best?.name;
}

/** Compares two versions number by number (2.34 > 2.4; a missing part is 0). */
export function compareParts(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The PT_GNU_STACK segment's verdict: missing (the loader may make the stack executable), executable, or fine. */
export function stackPolicy(elf: ElfFile): 'missing' | 'executable' | 'ok' {
  const s = elf.segments.find((seg) => seg.type === PT_GNU_STACK);
  if (!s) return 'missing';
  return s.flags & PF_X ? 'executable' : 'ok';
}

/** A shared library: ET_DYN without a loader (PT_INTERP), unlike a PIE executable. */
export function isSharedLibrary(elf: ElfFile): boolean {
  return elf.fileType === 3 && !elf.segments.some((s) => s.type === PT_INTERP);
}

export function hasSection(elf: ElfFile, name: string): boolean {
  return elf.sections.some((s) => s.name === name);
}

/** A function symbol of .symtab: its name and size in bytes (STT_FUNC, defined). */
export interface FunctionSymbol {
  readonly name: string;
  readonly size: number;
}

/**
 * The defined functions of a file's .symtab (falling back to .dynsym when
 * the file is stripped), sorted by name then size. Addresses are left out:
 * a BOLT profile names a function and offsets inside it, so two files with
 * the same table have profiles that fit each other.
 */
export function functionTable(path: string): FunctionSymbol[] {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new ElfError(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const elf = parseElf(buf, path);
  const r = new Reader(buf, elf.class === 64, elf.littleEndian, path);
  const tab = elf.sections.find((s) => s.name === '.symtab') ?? elf.sections.find((s) => s.name === '.dynsym');
  if (!tab) return [];
  const strtab = elf.sections[tab.link];
  if (!strtab) throw new ElfError(`${path}: ${tab.name} names no string table`);
  const entry = elf.class === 64 ? 24 : 16;
  r.check(tab.offset, tab.size, tab.name);
  const out: FunctionSymbol[] = [];
  for (let off = tab.offset; off + entry <= tab.offset + tab.size; off += entry) {
    const info = elf.class === 64 ? buf[off + 4]! : buf[off + 12]!;
    const shndx = elf.class === 64 ? r.u16(off + 6) : r.u16(off + 14);
    if ((info & 0xf) !== 2 || shndx === 0) continue; // STT_FUNC, defined
    const size = elf.class === 64 ? r.u64(off + 16) : r.u32(off + 8);
    out.push({ name: r.cstr(strtab.offset + r.u32(off)), size });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.size - b.size));
}
