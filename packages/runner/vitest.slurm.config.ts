import { defineConfig } from 'vitest/config';

// The SLURM executor on a real cluster (npm run test:slurm): slow, and it needs root to start one.
export default defineConfig({
  test: {
    environment: 'node',
    pool: 'forks',
    include: ['test/**/*.slurm.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
