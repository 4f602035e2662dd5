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
    // The AWS SDK warns once per process that releases after January 2027 need Node 22; the README
    // says so, and the tests need not repeat it in every fork.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
