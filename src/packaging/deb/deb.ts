/**
 * A binary .deb from a staged tree, written by our own code (deb(5)): an ar
 * archive of `debian-binary` ("2.0\n"), `control.tar.gz` (control,
 * md5sums) and `data.tar.gz` (the tree). dpkg-deb is only used to check it.
 *
 * The same staged tree and mtime give the same bytes: the tar writer sorts
 * entries and sets owner root:root, modes are normalised when the tree is
 * walked, and gzip writes no timestamp.
 */
import { arArchive } from './ar.js';
import { controlFile, md5sums, type ControlFields } from './control.js';
import { gzipDeterministic, tarArchive, walkTree, type TarEntry } from '../tar.js';

export interface DebInput {
  /** The staged tree: its contents become the package's / (usr/...). */
  readonly stageDir: string;
  /** Control fields; Installed-Size is computed from the tree. */
  readonly control: Omit<ControlFields, 'installedBytes'>;
  /** Every archive member's mtime (SOURCE_DATE_EPOCH). */
  readonly mtime: number;
  /** Maintainer scripts (deb-postinst(5), deb-prerm(5)), shipped 0755 in control.tar.gz. */
  readonly scripts?: Readonly<Partial<Record<'postinst' | 'prerm' | 'postrm' | 'preinst', string>>>;
}

export interface Deb {
  readonly bytes: Buffer;
  readonly control: string;
  readonly files: number;
  readonly installedBytes: number;
}

export function buildDeb(input: DebInput): Deb {
  // walkTree gives the './' directory entry itself.
  const data: TarEntry[] = walkTree(input.stageDir, './');
  const files = data.filter((e): e is Extract<TarEntry, { type: 'file' }> => e.type === 'file');
  // Installed-Size counts what lands on disk: file bytes, plus a block's worth
  // for each directory and link, as dpkg-gencontrol estimates it.
  const installedBytes = files.reduce((n, f) => n + f.data.length, 0) + (data.length - files.length) * 1024;
  const control = controlFile({ ...input.control, installedBytes });
  const controlTar = tarArchive(
    [
      { type: 'dir', path: './', mode: 0o755 },
      { type: 'file', path: './control', mode: 0o644, data: Buffer.from(control) },
      { type: 'file', path: './md5sums', mode: 0o644, data: Buffer.from(md5sums(files.map((f) => ({ path: f.path, data: f.data })))) },
      ...Object.entries(input.scripts ?? {}).map(([name, text]): TarEntry => ({ type: 'file', path: `./${name}`, mode: 0o755, data: Buffer.from(text) })),
    ],
    input.mtime,
  );
  const bytes = arArchive(
    [
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      { name: 'control.tar.gz', data: gzipDeterministic(controlTar) },
      { name: 'data.tar.gz', data: gzipDeterministic(tarArchive(data, input.mtime)) },
    ],
    input.mtime,
  );
  return { bytes, control, files: files.length, installedBytes };
}

/** The .deb's file name, as dpkg-name writes it (the epoch left out). */
export function debFileName(pkg: string, version: string, arch: string): string {
  return `${pkg}_${version.replace(/^\d+:/, '')}_${arch}.deb`;
}
