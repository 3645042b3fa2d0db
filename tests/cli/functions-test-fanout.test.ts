/**
 * The real `sanity functions test` on the fan-out functions (their bundles, their blueprint filters and projections
 * in delta mode) against both emulators, with the fixtures beside each function.
 */
import { readFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Auth0Emulator, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { type CliResult, emulatorEnv, projectArgs, repoRoot, runSanityCli } from '../../emulators/sanity-cli.ts'

const read = (path: string) => JSON.parse(readFileSync(`${repoRoot}${path}`, 'utf8'))
const dataset: Array<{ _id: string; _type: string }> = read('functions/sync-access-policy/fixtures/dataset.json')
const published = dataset.filter((doc) => !doc._id.startsWith('drafts.'))
const acmeForeign = { crmAccount: 'ACME-0042', supportTier: 'gold' }
const synced = {
  ...acmeForeign,
  plan: 'pro',
  role: 'editor',
  contentTags: '["docs","reports","webinars"]',
  entitlements: '["audit-log","sso"]',
  sanityPolicyId: 'policy-acme',
  sanityPolicyRev: 'r-acme-1',
  sanityPolicyUpdatedAt: '2026-02-01T10:00:00Z',
}

let auth0: Auth0Emulator
let lake: ContentLakeEmulator
beforeEach(async () => {
  auth0 = await startAuth0Emulator({
    organizations: read('functions/sync-access-policy/fixtures/organizations.json'),
  })
  auth0.putOrganization({ id: 'org_acme123', name: 'acme', metadata: synced })
  lake = await startContentLakeEmulator({ projectId: 'demo-project', dataset: 'production', documents: published })
})
afterEach(async () => {
  await Promise.all([auth0.close(), lake.close()])
})

async function functionsTest(name: string, before: string, after: string): Promise<CliResult> {
  const fixtures = `functions/${name}/fixtures`
  return runSanityCli(
    [
      'functions',
      'test',
      name,
      '--event',
      'update',
      '--file-before',
      `${fixtures}/${before}`,
      '--file-after',
      `${fixtures}/${after}`,
      ...projectArgs(lake),
    ],
    { env: await emulatorEnv(auth0, lake) },
  )
}

describe('sanity functions test fan-out-role', () => {
  it('a slug change re-syncs the organization of every active policy using the role', async () => {
    lake.seed([read('functions/fan-out-role/fixtures/role-editor-slug-author.json')])
    const { code, output } = await functionsTest('fan-out-role', 'role-editor.json', 'role-editor-slug-author.json')
    expect(output).toContain('fan-out role role-editor: done; 1 organizations targeted, 1 handled, 1 written, 0 left')
    expect(code).toBe(0)
    expect(auth0.getOrganization('org_acme123')?.metadata).toEqual({ ...synced, role: 'author' })
    expect(lake.getDocument('accessFanOutStatus.role-editor')).toMatchObject({ phase: 'done', written: 1 })
  })

  it('a title-only edit is dropped by the filter: no invocation, no Auth0 request', async () => {
    const { code, output } = await functionsTest('fan-out-role', 'role-editor.json', 'role-editor-title-only.json')
    expect(code).toBe(0)
    expect(output).toContain('returned an empty result. Skipping invoke.')
    expect(auth0.requests).toHaveLength(0)
  })
})

describe('sanity functions test fan-out-plan', () => {
  it('an entitlements edit reaches every organization on the plan, foreign keys kept', async () => {
    lake.seed([read('functions/fan-out-plan/fixtures/plan-pro-with-scim.json')])
    const { code, output } = await functionsTest('fan-out-plan', 'plan-pro.json', 'plan-pro-with-scim.json')
    expect(output).toContain('fan-out plan plan-pro: done; 1 organizations targeted, 1 handled, 1 written, 0 left')
    expect(code).toBe(0)
    expect(auth0.getOrganization('org_acme123')?.metadata).toEqual({
      ...synced,
      entitlements: '["audit-log","scim","sso"]',
    })
  })

  it('a title or description edit is dropped by the filter', async () => {
    const { code, output } = await functionsTest('fan-out-plan', 'plan-pro.json', 'plan-pro-title-only.json')
    expect(code).toBe(0)
    expect(output).toContain('returned an empty result. Skipping invoke.')
    expect(auth0.requests).toHaveLength(0)
  })
})
