import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { FUNCTION_BUNDLES_DIR } from '../../sanity.blueprint.ts'
import { buildFunctions, REPO_ROOT } from '../../scripts/build-functions.ts'

// Builds the functions' bundles once, before any test file runs: `sanity functions test` and the packing test run
// what the blueprint ships (dist/functions/), so `npm test` works from a fresh clone. A build that fails does not
// stop unrelated tests: the stale bundles are removed, so the tests that need them fail, and say why.
export default async function setup(): Promise<void> {
  try {
    await buildFunctions()
  } catch (error) {
    rmSync(join(REPO_ROOT, FUNCTION_BUNDLES_DIR), { recursive: true, force: true })
    console.error(`npm run build:functions failed; the tests that run the bundles will fail:\n${String(error)}`)
  }
}
