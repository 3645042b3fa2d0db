import { defineConfig } from 'vitest/config'

/**
 * Files whose assertions ride on real time (a bucket refilling per second, a query lag window, Retry-After in whole
 * seconds): they run last, one at a time, with nothing else on the 2 cores.
 */
const ALONE = [
  'tests/emulators/auth0-plans.test.ts',
  'tests/platform/query-lag.test.ts',
  'tests/reliability/faults.test.ts',
]

export default defineConfig({
  test: {
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
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['tests/**/*.test.{ts,tsx}'], exclude: ALONE, sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: 'timed', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
})
