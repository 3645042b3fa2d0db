/**
 * The real `sanity functions test` CLI — it bundles the function, applies the blueprint's filter and projection
 * with groq-js and runs the handler in a child process — against both emulators. The CLI builds its Sanity
 * client with the project hostname (`<projectId>.<apiHost>`), so the Content Lake emulator is reached as an
 * HTTP proxy: only configuration differs from production.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { type CliResult, repoRoot, runSanityCli } from '../support/sanity-cli.ts'

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

function sanityFunctionsTest(...args: string[]): Promise<CliResult> {
  return runSanityCli(
    ['functions', 'test', 'sync-access-policy', ...args, '--project-id', 'demo-project', '--dataset', 'production'],
    {
      env: {
        AUTH0_DOMAIN: auth0.domain,
        AUTH0_CLIENT_ID: DEFAULT_CLIENT.clientId,
        AUTH0_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret,
        // The CLI's client calls <projectId>.<apiHost>: route it, through HTTP_PROXY, to the Content Lake emulator.
        SANITY_INTERNAL_ENV: 'http://api.lake.test',
        HTTP_PROXY: lake.url,
        HTTPS_PROXY: lake.url,
        NO_PROXY: 'localhost,127.0.0.1',
        // The function's bundle uses Node's global fetch (see scripts/build-functions.ts), which honours the proxy
        // variables only when asked.
        NODE_USE_ENV_PROXY: '1',
      },
    },
  )
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

describe('sanity blueprints doctor', () => {
  it('accepts sanity.blueprint.ts as a valid manifest (the online checks cannot pass here)', async () => {
    // runSanityCli points the "Host online" check at a closed loopback port: no request leaves the machine.
    const { output } = await runSanityCli(['blueprints', 'doctor'], { timeoutMs: 60_000 })
    expect(output).toMatch(/✔\S* Manifest valid/)
    expect(output).toContain('./sanity.blueprint.ts')
  })
})
