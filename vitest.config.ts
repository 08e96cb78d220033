import { defineConfig } from 'vitest/config';

// Fast tests (tests/unit) and real-process tests (tests/integration) run in one
// command; `npx vitest run tests/unit` stays quick while iterating.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Removes the temp projects of a file whose tests all passed (tests/setup.ts).
    setupFiles: ['tests/setup.ts'],
    pool: 'forks',
    // Integration tests sample the process table and count concurrent jobs:
    // run test files one at a time so they do not disturb each other.
    fileParallelism: false,
    reporters: ['default'],
  },
});
