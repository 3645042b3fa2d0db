import { fileURLToPath } from 'node:url'
import type { NextConfig } from 'next'

const root = fileURLToPath(new URL('../..', import.meta.url))

const config: NextConfig = {
  // The app helper is this repository's own package (`sanity-auth0-access-sync/app`, TypeScript source).
  turbopack: { root },
  outputFileTracingRoot: root,
  // Build output outside the example, so the repository's tsc and biome never see generated files.
  distDir: process.env.NEXT_DIST_DIR ?? '../../node_modules/.cache/examples-nextjs',
  // No AGENTS.md written into the example on every start.
  agentRules: false,
  experimental: { agentUpgrade: false },
}

export default config
