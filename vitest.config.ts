import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.{ts,tsx}'],
    globalSetup: ['tests/setup/global.ts', 'tests/setup/functions.ts'],
    // Child processes (the default pool) read NODE_EXTRA_CA_CERTS at start-up, which the global setup sets.
    pool: 'forks',
    // Two files at a time on 2 cores (vitest's default is one fewer than the cores): many files wait on time (rate-limit
    // hints in whole seconds, query lag, browser pages), so two overlap those waits.
    maxWorkers: 2,
    testTimeout: 30_000,
    // Function logs are shown for failing tests only.
    silent: 'passed-only',
    hookTimeout: 60_000,
  },
})
