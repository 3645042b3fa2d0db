/**
 * The real `sanity functions test` CLI with environments: one emulated project with a production and a staging
 * dataset (staging a copy: the same `org_…` IDs), one Auth0 emulator tenant each. The blueprint the CLI reads is
 * built from an environment file (ACCESS_SYNC_ENV), and the CLI runs the function with the resource's `env` over
 * its own (@sanity/runtime-cli utils/functions/invoke/local.js: `env: {...process.env, ...resource.env}`), so the
 * function knows which dataset it was deployed for. A function deployed for production, handed a staging event
 * (`--dataset staging`), refuses before it reads or sends anything; the staging environment's function reaches
 * the staging tenant and nothing of production's.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Auth0Emulator, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { emulatorEnv, repoRoot, runSanityCli } from '../../emulators/sanity-cli.ts'

const fixtures = 'functions/sync-access-policy/fixtures'
const fixture = (name: string) => JSON.parse(readFileSync(join(repoRoot, fixtures, name), 'utf8'))

let production: Auth0Emulator
let staging: Auth0Emulator
let lake: ContentLakeEmulator
let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'functions-test-env-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeEach(async () => {
  const seed = fixture('dataset.json')
  ;[production, staging, lake] = await Promise.all([
    startAuth0Emulator({ organizations: fixture('organizations.json') }),
    startAuth0Emulator({ organizations: fixture('organizations.json') }),
    startContentLakeEmulator({ projectId: 'demo-project', datasets: { production: seed, staging: seed } }),
  ])
})
afterEach(async () => {
  await Promise.all([production.close(), staging.close(), lake.close()])
})

/**
 * `sanity functions test sync-access-policy --dataset <invoked>` with the blueprint of environment `deployed` (its
 * file names its dataset) and that environment's Auth0 tenant.
 */
async function functionsTest(deployed: 'production' | 'staging', invoked: string) {
  const tenant = deployed === 'production' ? production : staging
  const file = join(dir, `.env.${deployed}`)
  writeFileSync(file, `SANITY_PROJECT_ID=${lake.projectId}\nSANITY_DATASET=${deployed}\n`)
  const args = ['--file', `${fixtures}/policy-acme.json`, '--project-id', lake.projectId, '--dataset', invoked]
  const result = await runSanityCli(['functions', 'test', 'sync-access-policy', ...args], {
    env: { ...(await emulatorEnv(tenant, lake)), ACCESS_SYNC_ENV: file },
  })
  // The CLI wraps its error at 80 columns, continuing each line with " ›   ".
  return { ...result, output: result.output.replaceAll('\n ›   ', '') }
}

const writes = () => lake.requests.filter((request) => request.method !== 'GET' && request.path.includes('/data/'))

describe('sanity functions test with two environments', () => {
  it('a function deployed for production, invoked for staging, refuses: 0 Auth0 requests, 0 Content Lake writes', async () => {
    const { code, output } = await functionsTest('production', 'staging')
    expect(code).not.toBe(0)
    expect(output).toContain('Wrong dataset')
    expect(output).toContain('"demo-project.staging"')
    expect(output).toContain('"demo-project.production"')
    expect(production.requests).toHaveLength(0)
    expect(staging.requests).toHaveLength(0)
    expect(writes()).toEqual([])
  })

  it('the staging environment’s function syncs the staging policy to the staging tenant; production’s gets 0 requests', async () => {
    const { code, output } = await functionsTest('staging', 'staging')
    expect(output).toContain('policy policy-acme@r-acme-1: synced')
    expect(code).toBe(0)
    expect(staging.getOrganization('org_acme123')?.metadata).toMatchObject({ sanityPolicyId: 'policy-acme' })
    expect(production.requests).toHaveLength(0)
    expect(production.getOrganization('org_acme123')?.metadata).toEqual({
      crmAccount: 'ACME-0042',
      supportTier: 'gold',
    })
    // It read staging, and recorded its status there.
    expect(lake.requests.some((request) => request.path.endsWith('/data/query/staging'))).toBe(true)
    expect(lake.requests.some((request) => request.path.includes('/production'))).toBe(false)
  })
})
