/**
 * `bolt.skip_funcs`: which functions BOLT leaves alone (`-skip-funcs`).
 *
 * The lists themselves are the flavor's (src/flavors/: CPython's regex
 * matcher, the eval loop in PIC code, Pyston's AOT loops), each entry with
 * its reason; this module only applies the config value to them.
 */

/** `bolt.skip_funcs`: 'default' (the given defaults), 'none', or a comma-separated list. */
export function skipFuncsFromConfig(value: string, defaults: readonly string[]): string[] {
  const v = value.trim();
  if (v === 'default') return [...defaults];
  if (v === 'none' || v === '') return [];
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
