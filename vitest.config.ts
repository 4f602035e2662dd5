import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/redis-server.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores on CI: a few forks keep Redis and the sandboxes from starving each other.
    pool: 'forks',
    maxWorkers: 2,
  },
});
