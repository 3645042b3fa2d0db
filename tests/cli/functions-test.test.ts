/**
 * The real `sanity functions test` CLI — it bundles the function, applies the blueprint's filter and projection
 * with groq-js and runs the handler in a child process — against both emulators (see emulatorEnv: only
 * configuration differs from production).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Auth0Emulator, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { type CliResult, emulatorEnv, projectArgs, repoRoot, runSanityCli } from '../../emulators/sanity-cli.ts'

const root = repoRoot
const fixtures = 'functions/sync-access-policy/fixtures'
const fixture = (name: string) => JSON.parse(readFileSync(`${root}/${fixtures}/${name}`, 'utf8'))
const dataset: Array<{ _id: string; _type: string }> = fixture('dataset.json')
const roles = dataset.filter((doc) => doc._type === 'role')
const acme = fixture('policy-acme.json')
const acmeForeign = { crmAccount: 'ACME-0042', supportTier: 'gold' }

let auth0: Auth0Emulator
let lake: ContentLakeEmulator

beforeEach(async () => {
  auth0 = await startAuth0Emulator({ organizations: fixture('organizations.json') })
  lake = await startContentLakeEmulator({ projectId: 'demo-project', dataset: 'production', documents: roles })
})
afterEach(async () => {
  await Promise.all([auth0.close(), lake.close()])
})

async function sanityFunctionsTest(...args: string[]): Promise<CliResult> {
  return runSanityCli(['functions', 'test', 'sync-access-policy', ...args, ...projectArgs(lake)], {
    env: await emulatorEnv(auth0, lake),
  })
}

describe('sanity functions test sync-access-policy', () => {
  it('--file with a published active policy syncs its metadata to Auth0', async () => {
    lake.seed(dataset)
    const { code, output } = await sanityFunctionsTest('--file', `${fixtures}/policy-acme.json`)
    expect(output).toContain('policy policy-acme@r-acme-1: synced')
    expect(code).toBe(0)
    expect(auth0.getOrganization('org_acme123')?.metadata).toMatchObject({
      ...acmeForeign,
      plan: 'pro',
      role: 'editor',
      contentTags: '["docs","reports","webinars"]',
      sanityPolicyId: 'policy-acme',
    })
    expect(lake.requests.some((request) => request.host.startsWith('demo-project.api.lake.test'))).toBe(true)
  })
  it('--file of a policy that is no longer published revokes the owned keys and keeps the rest', async () => {
    auth0.putOrganization({
      id: 'org_acme123',
      name: 'acme',
      metadata: { ...acmeForeign, plan: 'pro', role: 'editor', contentTags: '[]', sanityPolicyId: 'policy-acme' },
    })
    // Another policy is published: in a dataset with none, the mass-revoke guard refuses (tests/integration/revoke-guard.test.ts).
    lake.seed([{ ...acme, _id: 'policy-other', auth0OrganizationId: 'org_globex456' }])
    const { code, output } = await sanityFunctionsTest('--event', 'delete', '--file', `${fixtures}/policy-acme.json`)
    expect(output).toContain('org_acme123: revoked')
    expect(code).toBe(0)
    expect(auth0.getOrganization('org_acme123')?.metadata).toEqual(acmeForeign)
  })

  it('--file-before/--file-after moving the policy to another organization revokes the old one', async () => {
    const moved = { ...acme, auth0OrganizationId: 'org_globex456', _rev: 'r-acme-3' }
    lake.seed([moved])
    auth0.putOrganization({
      id: 'org_acme123',
      name: 'acme',
      metadata: { ...acmeForeign, plan: 'pro', role: 'editor', contentTags: '[]', sanityPolicyId: 'policy-acme' },
    })
    const after = `${root}.tls/moved-policy.json`
    writeFileSync(after, JSON.stringify(moved))
    const { code, output } = await sanityFunctionsTest(
      '--event',
      'update',
      '--file-before',
      `${fixtures}/policy-acme.json`,
      '--file-after',
      '.tls/moved-policy.json',
    )
    expect(output).toContain('policy policy-acme@r-acme-3: synced')
    expect(code).toBe(0)
    expect(auth0.getOrganization('org_acme123')?.metadata).toEqual(acmeForeign)
    expect(auth0.getOrganization('org_globex456')?.metadata).toMatchObject({ crmAccount: 'GLX-0007', plan: 'pro' })
  })

  it('the blueprint filter drops documents of other types before the function runs', async () => {
    const { code, output } = await sanityFunctionsTest('--data', JSON.stringify(roles[0]))
    expect(code).toBe(0)
    expect(output).toContain('returned an empty result. Skipping invoke.')
    expect(auth0.requests).toHaveLength(0)
  })

  it('an invalid organization ID fails the invocation, names the field, and reaches no org API', async () => {
    const { code, output } = await sanityFunctionsTest(
      '--data',
      JSON.stringify({ ...acme, auth0OrganizationId: 'acme/../x' }),
    )
    expect(code).not.toBe(0)
    expect(output).toContain('auth0OrganizationId:')
    expect(auth0.count({ path: /organizations/ })).toBe(0)
  })
})

describe('sanity functions test without a Sanity project', () => {
  it('fails with what to pass, without a stack trace, and sends nothing to Auth0', async () => {
    const { HTTP_PROXY: _, HTTPS_PROXY: __, SANITY_INTERNAL_ENV: ___, ...auth0Only } = await emulatorEnv(auth0, lake)
    // No --project-id, no --dataset, and the CLI's own hosts stay on runSanityCli's closed port.
    const { code, output: wrapped } = await runSanityCli(
      ['functions', 'test', 'sync-access-policy', '--file', `${fixtures}/policy-acme.json`],
      { env: auth0Only },
    )
    // The CLI wraps its error at 80 columns, continuing each line with " ›   ".
    const output = wrapped.replaceAll('\n ›   ', '')
    expect(code).not.toBe(0)
    expect(output).toContain('SyncError: Configuration: the function was given no usable Sanity project')
    // The CLI takes the project from SANITY_PROJECT_ID (set here for the blueprint's scope), never the dataset.
    expect(output).toMatch(/no (projectId; no )?dataset/)
    expect(output).toContain('--project-id <id> --dataset <name>')
    expect(output).toContain('npm run functions:test -- --file <policy.json>')
    expect(output).not.toContain('Configuration must contain')
    expect(output).not.toMatch(/^[\s›]*at /m)
    expect(auth0.requests).toHaveLength(0)
    expect(lake.requests).toHaveLength(0)
  })
})

describe('sanity blueprints doctor', () => {
  it('accepts sanity.blueprint.ts as a valid manifest (the online checks cannot pass here)', async () => {
    // runSanityCli points the "Host online" check at a closed loopback port: no request leaves the machine.
    const env = { SANITY_PROJECT_ID: 'demo-project', SANITY_DATASET: 'production' }
    const { output } = await runSanityCli(['blueprints', 'doctor'], { env, timeoutMs: 60_000 })
    expect(output).toMatch(/✔\S* Manifest valid/)
    expect(output).toContain('./sanity.blueprint.ts')
  })
})
