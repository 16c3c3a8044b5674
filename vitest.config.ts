import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Guards: one visible line when ../shared is absent; nothing left in the temporary directory; no process warnings.
    globalSetup: ['test/helpers/global-setup.ts', 'test/global-setup.ts'],
    setupFiles: ['test/setup-warnings.ts'],
  },
});
