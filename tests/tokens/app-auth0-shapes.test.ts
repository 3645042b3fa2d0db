/**
 * The app helper against tokens shaped as Auth0 issues them, from a real sign-in (`@auth0/auth0-server-js` through
 * the emulator's pages): `aud` an array, no `org_name`, an opaque token when no audience was asked for, a signing key
 * rotated mid-session; and `applyLivePolicy`, which narrows a token's claims to the policy published now.
 */
import { readFileSync } from 'node:fs'
import {
  ServerClient,
  type StateData,
  type StateStore,
  type TransactionData,
  type TransactionStore,
} from '@auth0/auth0-server-js'
import { decodeProtectedHeader } from 'jose'
import { type AccessDecision, applyLivePolicy, createAccessVerifier } from 'sanity-auth0-access-sync/app'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth0Emulator, startAuth0Emulator } from '../../emulators/auth0.ts'
import { DEFAULT_API, DEFAULT_WEB_APP } from '../../emulators/auth0-oidc.ts'
import { ACTION_FILE } from '../../scripts/build-action.ts'
import { Browser, decodeJwt, signInThroughPages } from './oidc-support.ts'
import { acmeOrganization } from './support.ts'

const CALLBACK = 'http://localhost:3999/auth/callback'
let auth0: Auth0Emulator

class MemoryStore<T> {
  readonly data = new Map<string, T>()
  async set(id: string, value: T) {
    this.data.set(id, structuredClone(value))
  }
  async get(id: string) {
    return this.data.get(id)
  }
  async delete(id: string) {
    this.data.delete(id)
  }
}
class MemoryStateStore extends MemoryStore<StateData> implements StateStore {
  async deleteByLogoutToken() {}
}

/** Alice signs in to Acme through the emulator's pages; returns the SDK (for refreshes) and its store. */
async function aliceSignsIn(audience: string | undefined) {
  const state = new MemoryStateStore()
  const sdk = new ServerClient({
    domain: auth0.domain,
    clientId: DEFAULT_WEB_APP.clientId,
    clientSecret: DEFAULT_WEB_APP.clientSecret,
    authorizationParams: {
      redirect_uri: CALLBACK,
      scope: 'openid profile email offline_access',
      ...(audience ? { audience } : {}),
    },
    organization: 'org_acme123',
    transactionStore: new MemoryStore<TransactionData>() as TransactionStore,
    stateStore: state,
  })
  const credentials = { email: 'alice@acme.test', password: auth0.oidc.password }
  const { callback } = await signInThroughPages(new Browser(), await sdk.startInteractiveLogin(), credentials, CALLBACK)
  await sdk.completeInteractiveLogin(callback)
  const refresh = async () => {
    for (const stored of state.data.values()) for (const set of stored.tokenSets) set.expiresAt = 0
    return (await sdk.getAccessToken()).accessToken
  }
  return { accessToken: (await sdk.getAccessToken()).accessToken, refresh }
}

const verifier = () => createAccessVerifier({ domain: auth0.domain, audience: DEFAULT_API.identifier })

beforeAll(async () => {
  auth0 = await startAuth0Emulator({
    organizations: [acmeOrganization({ contentTags: ['docs', 'reports'], entitlements: ['sso'] })],
  })
  auth0.actions.install({ name: 'access-claims', code: readFileSync(ACTION_FILE, 'utf8') })
})
afterAll(() => auth0.close())

describe("Auth0's token shapes", () => {
  it('`aud` an array ([API, /userinfo]) and no org_name: allowed, with the Organization from org_id', async () => {
    const { accessToken } = await aliceSignsIn(DEFAULT_API.identifier)
    const payload = decodeJwt(accessToken)
    expect(Array.isArray(payload.aud)).toBe(true)
    expect(payload).not.toHaveProperty('org_name')
    expect(await verifier().verify(accessToken)).toEqual({
      allow: true,
      claims: { plan: 'pro', role: 'editor', contentTags: ['docs', 'reports'], entitlements: ['sso'] },
      subject: 'auth0|alice',
      organizationId: 'org_acme123',
    })
  })

  it('an opaque access token (no audience requested): denied with a reason that says to request an audience', async () => {
    const { accessToken } = await aliceSignsIn(undefined)
    const decision = await verifier().verify(accessToken)
    expect(decision).toMatchObject({ allow: false, reason: 'opaque-token' })
    expect(decision.allow === false && decision.message).toMatch(/request an audience/)
  })

  it('a key rotated mid-session: the refreshed token (new key) verifies without refetching; the old one until revoked', async () => {
    const session = await aliceSignsIn(DEFAULT_API.identifier)
    const app = verifier()
    const jwksFetches = () => auth0.count({ method: 'GET', path: '/.well-known/jwks.json' })
    const before = jwksFetches()
    expect(await app.verify(session.accessToken)).toMatchObject({ allow: true })
    expect(jwksFetches()).toBe(before + 1)

    await auth0.oidc.rotateSigningKey()
    const refreshed = await session.refresh()
    expect(decodeProtectedHeader(refreshed).kid).not.toBe(decodeProtectedHeader(session.accessToken).kid)
    expect(await app.verify(refreshed)).toMatchObject({ allow: true })
    // The new key was published as "next" before the rotation: the cached JWKS already had it.
    expect(jwksFetches()).toBe(before + 1)
    expect(await app.verify(session.accessToken)).toMatchObject({ allow: true })

    auth0.oidc.revokePreviousSigningKey()
    // An app that fetches the JWKS now (a new instance, or after jose's cache expired) no longer finds the old key.
    expect(await verifier().verify(session.accessToken)).toMatchObject({ allow: false, reason: 'unknown-key' })
    expect(await verifier().verify(refreshed)).toMatchObject({ allow: true })
  })
})

describe('applyLivePolicy: the token narrowed to the policy published now', () => {
  const allowed: AccessDecision = {
    allow: true,
    claims: { plan: 'pro', role: 'editor', contentTags: ['docs', 'reports'], entitlements: ['sso', 'audit-log'] },
    subject: 'auth0|alice',
    organizationId: 'org_acme123',
  }
  const live = (row: Record<string, unknown>) => ({
    ok: true as const,
    rows: [
      { plan: 'pro', role: 'editor', contentTags: ['docs', 'reports'], entitlements: ['sso', 'audit-log'], ...row },
    ],
  })

  it('the same policy: the token stands', () => {
    expect(applyLivePolicy(allowed, live({}))).toEqual(allowed)
  })
  it('a tag removed since sign-in is gone at once; a tag added waits for the next token', () => {
    const decision = applyLivePolicy(allowed, live({ contentTags: ['docs', 'webinars'], entitlements: ['sso'] }))
    expect(decision).toMatchObject({ allow: true, claims: { contentTags: ['docs'], entitlements: ['sso'] } })
  })
  it('no active published policy (archived, paused, deleted): policy-revoked', () => {
    expect(applyLivePolicy(allowed, { ok: true, rows: [] })).toMatchObject({ allow: false, reason: 'policy-revoked' })
  })
  it('plan or role changed: policy-changed (refresh or sign in again)', () => {
    expect(applyLivePolicy(allowed, live({ role: 'viewer' }))).toMatchObject({ allow: false, reason: 'policy-changed' })
    expect(applyLivePolicy(allowed, live({ plan: 'team' }))).toMatchObject({ allow: false, reason: 'policy-changed' })
  })
  it('fails closed: the read failed, two active policies, or a token without org_id', () => {
    expect(applyLivePolicy(allowed, { ok: false })).toMatchObject({ allow: false, reason: 'policy-unavailable' })
    const two = { ok: true as const, rows: [...live({}).rows, ...live({}).rows] }
    expect(applyLivePolicy(allowed, two)).toMatchObject({ allow: false, reason: 'policy-unavailable' })
    expect(applyLivePolicy({ ...allowed, organizationId: undefined }, live({}))).toMatchObject({
      allow: false,
      reason: 'no-organization',
    })
  })
  it('a denied token stays denied whatever the policy says', () => {
    const denied: AccessDecision = { allow: false, reason: 'expired', message: 'the token has expired' }
    expect(applyLivePolicy(denied, live({}))).toBe(denied)
  })
})
