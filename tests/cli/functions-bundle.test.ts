/**
 * One artifact, and it is the one tested. `sanity functions build` packs each function with the code
 * `sanity blueprints deploy` uses (the CLI's prepareAsset) from the blueprint's `src`; `sanity functions test`
 * (functions-test.test.ts) runs the same folder. Both must hold the bundle of the current source, and nothing else.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { runSanityCli } from '../../emulators/sanity-cli.ts'
import { FUNCTION_BUNDLES_DIR } from '../../sanity.blueprint.ts'
import {
  BUNDLE_PACKAGE_JSON,
  buildFunction,
  FUNCTION_SIZE_LIMIT,
  functionResources,
} from '../../scripts/build-functions.ts'
import { readZip } from '../../scripts/zip.ts'

const outDir = mkdtempSync(join(tmpdir(), 'function-zips-'))
afterAll(() => rmSync(outDir, { recursive: true, force: true }))

describe('function bundles', () => {
  it('every function in the blueprint ships its bundle, with nothing for the CLI to install', () => {
    const resources = functionResources()
    expect(resources.map((resource) => resource.name)).toContain('sync-access-policy')
    for (const resource of resources) {
      expect(resource).toMatchObject({ src: `./${FUNCTION_BUNDLES_DIR}/${resource.name}`, autoResolveDeps: false })
    }
  })

  it('sanity functions build packs exactly the bundle of the current source: index.js and package.json, ≤ 2 MB', async () => {
    // The blueprint builds for one environment: its project and dataset scope the functions, the bundles are the same.
    const env = { SANITY_PROJECT_ID: 'demo-project', SANITY_DATASET: 'production' }
    const { code, output } = await runSanityCli(['functions', 'build', '--out-dir', outDir], { env, timeoutMs: 60_000 })
    expect(output).toContain('Build complete')
    expect(code).toBe(0)
    for (const resource of functionResources()) {
      const fresh = await buildFunction(resource)
      const zip = readFileSync(join(outDir, `${resource.name}.zip`))
      const entries = readZip(zip).map(({ name, size, crc }) => ({ name, size, crc }))
      expect(entries.map((entry) => entry.name).sort(), resource.name).toEqual(['index.js', 'package.json'])
      const index = entries.find((entry) => entry.name === 'index.js')
      // Same bytes as a build of the source as it is now: the folder the CLI packs (and tests) is not stale.
      expect(index, resource.name).toEqual({
        name: 'index.js',
        size: Buffer.byteLength(fresh.code),
        crc: crc32(fresh.code),
      })
      expect(entries.find((entry) => entry.name === 'package.json')?.crc).toBe(crc32(BUNDLE_PACKAGE_JSON))
      expect(index?.size).toBeLessThanOrEqual(FUNCTION_SIZE_LIMIT)
      // Only Node's own modules stay imports: the runtime installs nothing.
      expect(
        fresh.imports.filter((path) => !path.startsWith('node:')),
        resource.name,
      ).toEqual([])
    }
  })
})
