import { defineConfig } from 'vitest/config';

/**
 * `npm run test:edge`: the Worker bundle in the real Workers runtime (workerd via Miniflare)
 * against a real Postgres. Separate from `npm test` because it builds the bundle first.
 */
export default defineConfig({
  test: {
    include: ['test/edge/**/*.workerd.ts'],
    globalSetup: ['test/helpers/global-setup.ts', 'test/edge/edge-global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});
