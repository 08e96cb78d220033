/**
 * Functions BOLT must leave alone (`-skip-funcs`), each with the reason.
 *
 * Names are as BOLT prints them: a local symbol gets `/N`, and GCC's LTO
 * renames file-local functions with `.lto_priv.N`, so both spellings are
 * listed where a function can be either. A name that is not in the binary
 * costs nothing.
 *
 * Where the list comes from: CPython 3.12+'s BOLT_COMMON_FLAGS skip the eval
 * loop and the regex matcher; python-build-standalone adds hash functions
 * (sha256_update, PyBlake2_*) that BOLT broke. Those hash functions live in
 * extension modules in 3.11, not in the BOLTed interpreter, so they are not
 * listed here.
 */

export interface SkipEntry {
  readonly names: readonly string[];
  readonly why: string;
}

export const SKIP_LIST: readonly SkipEntry[] = [
  {
    names: ['sre_ucs1_match/1', 'sre_ucs2_match/1', 'sre_ucs4_match/1', 'sre_ucs1_match.lto_priv.0/1', 'sre_ucs2_match.lto_priv.0/1', 'sre_ucs4_match.lto_priv.0/1'],
    why:
      'The regex matcher dispatches through computed gotos. On a GCC build linked with --emit-relocs, llvm-bolt 19 cannot instrument it ("BOLT-ERROR: unable to get new address" for sre_ucs1_match/1, NOTES.md). CPython 3.12+ skips it for the same reason under LLVM 19.',
  },
];

/** The eval loop: see {@link evalLoopSkip}. */
export const EVAL_LOOP = ['_PyEval_EvalFrameDefault', '_PyEval_EvalFrameDefault.lto_priv.0'];

/**
 * The eval loop is a computed-goto interpreter. CPython 3.12+ skips it
 * because in position-independent code its dispatch table holds relative
 * offsets that BOLT does not rewrite when it moves the blocks. pyston-build
 * links the BOLTed executable with -no-pie (see src/variants.ts), where the
 * table holds absolute addresses that BOLT relocates (the build keeps the
 * relocations with --emit-relocs), so the eval loop is BOLTed there; a
 * shared libpython is PIC, and keeps the skip.
 */
export function evalLoopSkip(pic: boolean): readonly string[] {
  return pic ? EVAL_LOOP : [];
}

export function defaultSkipFuncs(pic: boolean): string[] {
  return [...SKIP_LIST.flatMap((e) => e.names), ...evalLoopSkip(pic)];
}

/** `bolt.skip_funcs`: 'default', 'none', or a comma-separated list. */
export function skipFuncsFromConfig(value: string, pic: boolean): string[] {
  const v = value.trim();
  if (v === 'default') return defaultSkipFuncs(pic);
  if (v === 'none' || v === '') return [];
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}
