import { defineConfig } from 'vitest/config';

// One fork per test file, so a tfjs backend initialised by one file cannot leak into another.
export default defineConfig({
  test: {
    environment: 'node',
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
