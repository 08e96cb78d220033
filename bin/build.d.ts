// Types of bin/build.js for the TypeScript tests that bundle with it.
/** Bundle one TypeScript entry into one CommonJS file, written atomically. */
export function bundle(entry: string, outfile: string): Promise<void>;
export const CLI_BUNDLE: string;
export const DEMO_BUNDLE: string;
export function build(): Promise<void>;
