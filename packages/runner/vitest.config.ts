import { configDefaults, defineConfig } from 'vitest/config';

// One fork per test file, so a tfjs backend initialised by one file cannot leak into another.
export default defineConfig({
  test: {
    environment: 'node',
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    // The real-cluster tests have their own script: npm run test:slurm (vitest.slurm.config.ts).
    exclude: [...configDefaults.exclude, 'test/**/*.slurm.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
