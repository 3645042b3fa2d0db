/**
 * The committed Auth0 Action file, run as Auth0 runs it (CommonJS, Auth0-shaped event and api, claims dropped by
 * Auth0's rules), for good and bad Organization metadata. Nothing here imports the Action's source: the file
 * under test is auth0/actions/access-claims.js itself.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type PostLoginEventInput, type PostLoginResult, runPostLogin } from '../../emulators/auth0-action-runtime.ts'
import { ACTION_FILE, buildAction } from '../../scripts/build-action.ts'
import { ACTION_CODE_LIMIT } from '../../src/core/action-deploy.ts'
import { DEFAULT_CLAIM_NAMESPACE } from '../../src/core/claims.ts'
import { encodeGrant } from '../../src/core/metadata.ts'

const code = readFileSync(ACTION_FILE, 'utf8')
const NS = 'https://claims.acme.example/'

const owned = encodeGrant({
  policyId: 'policy-acme',
  rev: 'r1',
  updatedAt: '2026-02-01T10:00:00Z',
  plan: 'pro',
  role: 'editor',
  contentTags: ['reports', 'docs'],
  entitlements: [],
})

function login(
  metadata: Record<string, string> | undefined,
  secrets: Record<string, string> = { CLAIM_NAMESPACE: NS },
): Promise<PostLoginResult> {
  const input: PostLoginEventInput = {
    user: { user_id: 'auth0|alice', email: 'alice@acme.example' },
    client: { client_id: 'app-client', name: 'Acme portal' },
    organization: metadata && { id: 'org_acme123', name: 'acme', metadata },
    audience: 'https://api.acme.example/',
    secrets,
    tenantId: 'emulator',
  }
  return runPostLogin({ code, filename: ACTION_FILE }, input)
}

/** No claim at all on either token, and exactly one log line naming the reason. */
function expectNoClaims(result: PostLoginResult, reason: string) {
  expect(result.idTokenClaims).toEqual({})
  expect(result.accessTokenClaims).toEqual({})
  expect(result.dropped).toEqual([])
  expect(result.logs).toHaveLength(1)
  expect(result.logs[0]).toContain(`no access claims (${reason})`)
}

describe('the Action file', () => {
  it('is what the build makes from the current sources (run `npm run build:action` when this fails)', async () => {
    expect(await buildAction(), 'auth0/actions/access-claims.js is stale: run `npm run build:action`').toBe(code)
  })

  it('meets Auth0 rules: CommonJS exports.onExecutePostLogin, no dependencies, under 100 kB', () => {
    expect(Buffer.byteLength(code)).toBeLessThan(ACTION_CODE_LIMIT)
    expect(code).toMatch(/^\s*exports\.onExecutePostLogin = async \(event, api\) =>/m)
    expect(code).not.toMatch(/\brequire\s*\(/)
    expect(code).not.toMatch(/^\s*(import|export)\s/m)
  })
})

describe('claims from our metadata', () => {
  it('sets plan, role, contentTags and entitlements on both tokens, and nothing else', async () => {
    const result = await login({ ...owned, crmAccount: 'ACME-0042', supportTier: 'gold' })
    const expected = {
      [`${NS}plan`]: 'pro',
      [`${NS}role`]: 'editor',
      [`${NS}contentTags`]: ['docs', 'reports'],
      [`${NS}entitlements`]: [],
    }
    expect(result.idTokenClaims).toEqual(expected)
    expect(result.accessTokenClaims).toEqual(expected)
    expect(result.dropped).toEqual([])
    expect(JSON.stringify(result)).not.toMatch(/ACME-0042|gold|crmAccount|supportTier|sanityPolicy/)
    expect(result.logs).toEqual([])
  })

  it('decodes entitlements with the contentTags codec when the metadata has them', async () => {
    const result = await login({ ...owned, entitlements: '["api","sso"]' })
    expect(result.accessTokenClaims[`${NS}entitlements`]).toEqual(['api', 'sso'])
  })

  it('uses the documented default namespace when CLAIM_NAMESPACE is not set', async () => {
    const result = await login(owned, {})
    expect(Object.keys(result.idTokenClaims).sort()).toEqual(
      ['contentTags', 'entitlements', 'plan', 'role'].map((name) => `${DEFAULT_CLAIM_NAMESPACE}${name}`),
    )
  })

  it('keeps Unicode tags intact', async () => {
    const tags = ['café', 'naïve résumé', '東京', '🚀 launch', 'ﬁ ligature', 'e\u0301 combining']
    const result = await login({ ...owned, contentTags: JSON.stringify(tags) })
    expect(result.idTokenClaims[`${NS}contentTags`]).toEqual(tags)
    expect(result.accessTokenClaims[`${NS}contentTags`]).toEqual(tags)
  })
})

describe('fails closed: no access claims, one log line', () => {
  it('contentTags that is not JSON', async () => {
    expectNoClaims(await login({ ...owned, contentTags: '[docs, reports' }), 'malformed')
  })
  it('contentTags that is JSON but not an array', async () => {
    expectNoClaims(await login({ ...owned, contentTags: '{"0":"docs"}' }), 'malformed')
  })
  it('contentTags that holds non-strings', async () => {
    expectNoClaims(await login({ ...owned, contentTags: '["docs",42,null]' }), 'malformed')
  })
  it('entitlements that are not a JSON array of strings', async () => {
    expectNoClaims(await login({ ...owned, entitlements: '"sso"' }), 'malformed')
  })
  it('a marker without the access keys', async () => {
    expectNoClaims(await login({ sanityPolicyId: 'policy-acme', sanityPolicyRev: 'r1' }), 'malformed')
  })
  it('an empty plan', async () => {
    expectNoClaims(await login({ ...owned, plan: '' }), 'malformed')
  })
  it('access keys without our marker (someone else wrote them)', async () => {
    const { sanityPolicyId: _, ...unmarked } = owned
    expectNoClaims(await login(unmarked), 'no-marker')
  })
  it('25 foreign keys and nothing of ours', async () => {
    const foreign = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`foreign${i}`, `value${i}`]))
    const result = await login(foreign)
    expectNoClaims(result, 'no-marker')
    expect(JSON.stringify(result)).not.toContain('value')
  })
  it('25 foreign keys on top of ours (31 keys, beyond Auth0 limit)', async () => {
    const foreign = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`foreign${i}`, `value${i}`]))
    expectNoClaims(await login({ ...owned, ...foreign }), 'oversized')
  })
  it('a value longer than 255 characters', async () => {
    expectNoClaims(await login({ ...owned, contentTags: JSON.stringify(['x'.repeat(300)]) }), 'oversized')
  })
  it('a non-string metadata value', async () => {
    expectNoClaims(await login({ ...owned, plan: 42 as unknown as string }), 'oversized')
  })
  it('no event.organization', async () => {
    expectNoClaims(await login(undefined), 'no-organization')
  })
  it.each([
    ['http, not https', 'http://claims.acme.example/'],
    ['no trailing slash', 'https://claims.acme.example'],
    ['not a URL', 'claims'],
    ['an auth0.com namespace', 'https://acme.auth0.com/'],
    ['a webtask.io namespace', 'https://webtask.io/'],
    ['a query string', 'https://claims.acme.example/?x=1'],
  ])('an invalid CLAIM_NAMESPACE: %s', async (_, namespace) => {
    expectNoClaims(await login(owned, { CLAIM_NAMESPACE: namespace }), 'invalid-namespace')
  })
})

describe('never throws', () => {
  it.each([
    ['event without anything', {}, 1],
    ['metadata null', { organization: { id: 'org_x', metadata: null } }, 1],
    ['metadata an array', { organization: { id: 'org_x', metadata: ['a'] } }, 1],
    ['organization a string', { organization: 'org_x' }, 1],
    [
      'secrets null (default namespace, claims set, nothing logged)',
      { organization: { id: 'org_x', metadata: owned }, secrets: null },
      0,
    ],
  ])('%s', async (_, event, logLines) => {
    const { loadPostLoginAction } = await import('../../emulators/auth0-action-runtime.ts')
    const lines: string[] = []
    const onExecutePostLogin = loadPostLoginAction(code, ACTION_FILE, {
      ...console,
      log: (line: string) => lines.push(line),
    })
    const api = { idToken: { setCustomClaim() {} }, accessToken: { setCustomClaim() {} } }
    await expect(Promise.resolve(onExecutePostLogin(event, api))).resolves.toBeUndefined()
    expect(lines).toHaveLength(logLines)
  })

  it('an api whose setCustomClaim throws', async () => {
    const { loadPostLoginAction } = await import('../../emulators/auth0-action-runtime.ts')
    const lines: string[] = []
    const onExecutePostLogin = loadPostLoginAction(code, ACTION_FILE, { ...console, log: (l: string) => lines.push(l) })
    const boom = {
      setCustomClaim() {
        throw new Error('boom')
      },
    }
    const event = { organization: { id: 'org_x', metadata: owned } }
    await expect(Promise.resolve(onExecutePostLogin(event, { idToken: boom, accessToken: boom }))).resolves.toBe(
      undefined,
    )
    expect(lines).toEqual(['access-claims: no access claims (error): Error'])
  })
})
