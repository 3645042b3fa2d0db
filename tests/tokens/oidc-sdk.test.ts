/**
 * The Auth0 emulator's Authentication API driven by a real Auth0 SDK, `@auth0/auth0-server-js` (openid-client
 * underneath), over HTTPS: discovery, /authorize with PKCE, the sign-in page, the Organization picker, membership,
 * the code exchange, refresh with rotation (the post-login Action runs again), /userinfo, revocation and logout.
 * The Next.js SDK (`@auth0/nextjs-auth0`) is driven through the reference app in tests/tokens/nextjs-app.test.ts.
 */
import { readFileSync } from 'node:fs'
import {
  OrganizationValidationError,
  ServerClient,
  type StateData,
  type StateStore,
  type TransactionData,
  type TransactionStore,
} from '@auth0/auth0-server-js'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Auth0Emulator, startAuth0Emulator } from '../../emulators/auth0.ts'
import { DEFAULT_API, DEFAULT_WEB_APP } from '../../emulators/auth0-oidc.ts'
import { ACTION_FILE } from '../../scripts/build-action.ts'
import { DEFAULT_CLAIM_NAMESPACE } from '../../src/core/claims.ts'
import { Browser, decodeJwt, signInThroughPages } from './oidc-support.ts'
import { acmeOrganization } from './support.ts'

const NS = DEFAULT_CLAIM_NAMESPACE
const CALLBACK = 'http://localhost:3999/auth/callback'
const ACME = acmeOrganization({ contentTags: ['docs', 'reports'], entitlements: ['sso'] })
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

function client(options: { audience?: string; scope?: string; organization?: string } = {}) {
  const state = new MemoryStateStore()
  const sdk = new ServerClient({
    domain: auth0.domain,
    clientId: DEFAULT_WEB_APP.clientId,
    clientSecret: DEFAULT_WEB_APP.clientSecret,
    authorizationParams: {
      redirect_uri: CALLBACK,
      scope: options.scope ?? 'openid profile email offline_access',
      ...(options.audience ? { audience: options.audience } : {}),
    },
    ...(options.organization ? { organization: options.organization } : {}),
    transactionStore: new MemoryStore<TransactionData>() as TransactionStore,
    stateStore: state,
  })
  return { sdk, state }
}

async function signIn(
  sdk: ServerClient,
  email: string,
  pick?: string,
  browser = new Browser(),
): Promise<{ callback: URL; pages: string[] }> {
  const authorizeUrl = await sdk.startInteractiveLogin()
  return signInThroughPages(browser, authorizeUrl, { email, password: auth0.oidc.password, pick }, CALLBACK)
}

beforeAll(async () => {
  auth0 = await startAuth0Emulator({
    organizations: [ACME, { id: 'org_globex456', name: 'globex', display_name: 'Globex', metadata: {} }],
  })
  auth0.actions.install({ name: 'access-claims', code: readFileSync(ACTION_FILE, 'utf8') })
})
afterAll(() => auth0.close())
beforeEach(() => {
  auth0.putOrganization(ACME)
  auth0.oidc.setOrgNameClaim(false)
})

describe('discovery and keys', () => {
  it('serves the fields the SDKs read and a JWKS with the current and the next key', async () => {
    const discovery = await (await fetch(`${auth0.issuer}.well-known/openid-configuration`)).json()
    expect(discovery).toMatchObject({
      issuer: auth0.issuer,
      authorization_endpoint: `${auth0.issuer}authorize`,
      token_endpoint: `${auth0.issuer}oauth/token`,
      userinfo_endpoint: `${auth0.issuer}userinfo`,
      end_session_endpoint: `${auth0.issuer}oidc/logout`,
      revocation_endpoint: `${auth0.issuer}oauth/revoke`,
      jwks_uri: `${auth0.issuer}.well-known/jwks.json`,
      code_challenge_methods_supported: expect.arrayContaining(['S256']),
    })
    const { keys } = (await (await fetch(`${auth0.issuer}.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
    expect(keys).toHaveLength(2)
    expect(new Set(keys.map((key) => key.kid)).size).toBe(2)
  })
})

describe('sign-in with @auth0/auth0-server-js', () => {
  it('Alice signs in to Acme: PKCE code flow, Auth0 token shapes and lifetimes, the Action ran', async () => {
    const { sdk } = client({ audience: DEFAULT_API.identifier, organization: 'org_acme123' })
    const { callback, pages } = await signIn(sdk, 'alice@acme.test')
    expect(pages[0]).toContain('Sign in to acme')
    const authorize = auth0.filterRequests({ path: '/authorize' }).at(-1)
    expect(authorize?.query).toMatchObject({ code_challenge_method: 'S256', organization: 'org_acme123' })
    expect(authorize?.query.code_challenge).toMatch(/^[\w-]{43}$/)
    await sdk.completeInteractiveLogin(callback)
    const user = await sdk.getUser()
    expect(user).toMatchObject({ sub: 'auth0|alice', email: 'alice@acme.test', org_id: 'org_acme123' })
    expect(user).not.toHaveProperty('org_name')
    const { accessToken } = await sdk.getAccessToken()
    const access = decodeJwt(accessToken)
    expect(access.aud).toEqual([DEFAULT_API.identifier, `${auth0.issuer}userinfo`])
    expect(access).toMatchObject({ org_id: 'org_acme123', azp: DEFAULT_WEB_APP.clientId })
    expect(access).not.toHaveProperty('org_name')
    expect(access[`${NS}contentTags`]).toEqual(['docs', 'reports'])
    expect((access.exp as number) - (access.iat as number)).toBe(86_400)
    const session = (await sdk.getSession()) as { idToken: string }
    const id = decodeJwt(session.idToken)
    expect((id.exp as number) - (id.iat as number)).toBe(36_000)
    expect(id.aud).toBe(DEFAULT_WEB_APP.clientId)
    // The nonce comes back exactly when the SDK sent one (openid-client sends none when it uses PKCE).
    expect(id.nonce).toBe(authorize?.query.nonce)
  })

  it('a wrong PKCE verifier and a replayed code are refused at /oauth/token', async () => {
    const { sdk } = client({ organization: 'org_acme123' })
    const { callback } = await signIn(sdk, 'alice@acme.test')
    const exchange = (code: string, verifier: string) =>
      fetch(`${auth0.issuer}oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: DEFAULT_WEB_APP.clientId,
          client_secret: DEFAULT_WEB_APP.clientSecret,
          code,
          redirect_uri: CALLBACK,
          code_verifier: verifier,
        }),
      })
    const code = callback.searchParams.get('code') as string
    const wrong = await exchange(code, 'x'.repeat(43))
    expect(wrong.status).toBe(403)
    expect(await wrong.json()).toEqual({ error: 'invalid_grant', error_description: 'Failed to verify code verifier' })
    const replay = await exchange(code, 'x'.repeat(43))
    expect(await replay.json()).toMatchObject({
      error: 'invalid_grant',
      error_description: 'Invalid authorization code',
    })
  })

  it('Bob (not a member) cannot sign in to Acme: access_denied at the callback, the SDK keeps no session', async () => {
    const { sdk, state } = client({ organization: 'org_acme123' })
    const { callback } = await signIn(sdk, 'bob@globex.test')
    expect(callback.searchParams.get('error')).toBe('access_denied')
    expect(callback.searchParams.get('error_description')).toBe(
      'user auth0|bob is not part of the org_acme123 organization',
    )
    await expect(sdk.completeInteractiveLogin(callback)).rejects.toThrow()
    expect(state.data.size).toBe(0)
  })

  it('memberships are data: removed from Acme, Alice is refused; added back, she signs in', async () => {
    auth0.oidc.removeMember('org_acme123', 'auth0|alice')
    try {
      const refused = await signIn(client({ organization: 'org_acme123' }).sdk, 'alice@acme.test')
      expect(refused.callback.searchParams.get('error')).toBe('access_denied')
    } finally {
      auth0.oidc.addMember('org_acme123', 'auth0|alice')
    }
    const { callback } = await signIn(client({ organization: 'org_acme123' }).sdk, 'alice@acme.test')
    expect(callback.searchParams.get('code')).toBeTruthy()
  })

  it('the Organization picker: no organization asked, the user picks one of theirs', async () => {
    const { sdk } = client()
    const { callback, pages } = await signIn(sdk, 'carol@example.test', 'org_globex456')
    expect(pages[1]).toContain('Select your organization')
    expect(pages[1]).toContain('>acme</button>')
    expect(pages[1]).toContain('Globex')
    await sdk.completeInteractiveLogin(callback)
    expect(await sdk.getUser()).toMatchObject({ sub: 'auth0|carol', org_id: 'org_globex456' })
  })

  it('org_name only with the tenant setting on; the SDK checks the organization it asked for', async () => {
    auth0.oidc.setOrgNameClaim(true)
    const { sdk } = client({ organization: 'acme' })
    const { callback } = await signIn(sdk, 'alice@acme.test')
    await sdk.completeInteractiveLogin(callback)
    expect(await sdk.getUser()).toMatchObject({ org_id: 'org_acme123', org_name: 'acme' })

    auth0.oidc.setOrgNameClaim(false)
    const byName = client({ organization: 'acme' })
    const second = await signIn(byName.sdk, 'alice@acme.test')
    // Asked by name, the SDK wants org_name back (auth0/auth0-auth-js #211); without the setting Auth0 sends none.
    await expect(byName.sdk.completeInteractiveLogin(second.callback)).rejects.toBeInstanceOf(
      OrganizationValidationError,
    )
  })

  it('no audience: an opaque access token that only /userinfo reads', async () => {
    const { sdk } = client({ organization: 'org_acme123' })
    const { callback } = await signIn(sdk, 'alice@acme.test')
    await sdk.completeInteractiveLogin(callback)
    const { accessToken } = await sdk.getAccessToken()
    expect(accessToken.split('.')).toHaveLength(5)
    const info = await fetch(`${auth0.issuer}userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })
    expect(await info.json()).toMatchObject({ sub: 'auth0|alice', email: 'alice@acme.test' })
  })
})

describe('the sign-in page and /authorize refusals, as Auth0 answers them', () => {
  const authorize = (params: Record<string, string>) =>
    new URL(
      `${auth0.issuer}authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: DEFAULT_WEB_APP.clientId,
        redirect_uri: CALLBACK,
        scope: 'openid',
        organization: 'org_acme123',
        state: 'st',
        ...params,
      })}`,
    )

  it('a callback URL the application does not allow: an error page, no redirect', async () => {
    const response = await fetch(authorize({ redirect_uri: 'https://evil.example/cb' }), { redirect: 'manual' })
    expect(response.status).toBe(400)
    expect(await response.text()).toContain('Callback URL mismatch')
  })

  it('an unknown audience: access_denied "Service not found" at the callback', async () => {
    const response = await fetch(authorize({ audience: 'https://nope.example/' }), { redirect: 'manual' })
    const location = new URL(response.headers.get('location') ?? '')
    expect(location.searchParams.get('error')).toBe('access_denied')
    expect(location.searchParams.get('error_description')).toBe('Service not found: https://nope.example/')
    expect(location.searchParams.get('state')).toBe('st')
  })

  it('a wrong password is refused on the page; prompt=login asks again despite the session', async () => {
    const browser = new Browser()
    await expect(
      signInThroughPages(browser, authorize({}), { email: 'alice@acme.test', password: 'wrong' }, CALLBACK),
    ).rejects.toThrow('sign-in page answered 400: Wrong email or password.')
    const { callback } = await signInThroughPages(
      browser,
      authorize({}),
      { email: 'alice@acme.test', password: auth0.oidc.password },
      CALLBACK,
    )
    expect(callback.searchParams.get('code')).toBeTruthy()
    const again = await signInThroughPages(
      browser,
      authorize({ prompt: 'login' }),
      { email: 'alice@acme.test', password: auth0.oidc.password },
      CALLBACK,
    )
    expect(again.pages).toHaveLength(1)
    expect(again.pages[0]).toContain('name="password"')
  })
})

describe('refresh', () => {
  it('the Action runs on refresh: a revoke in the metadata reaches the next token; rotation refuses a reused token', async () => {
    const { sdk, state } = client({ audience: DEFAULT_API.identifier, organization: 'org_acme123' })
    const { callback } = await signIn(sdk, 'alice@acme.test')
    await sdk.completeInteractiveLogin(callback)
    const first = (await sdk.getSession()) as StateData
    expect(decodeJwt((await sdk.getAccessToken()).accessToken)[`${NS}plan`]).toBe('pro')

    // Access revoked: the sync leaves the Organization without our keys.
    auth0.putOrganization({ ...ACME, metadata: { crmAccount: 'ACME-0042' } })
    const expire = () => {
      for (const stored of state.data.values()) for (const set of stored.tokenSets) set.expiresAt = 0
    }
    expire()
    const refreshed = await sdk.getAccessToken()
    expect(decodeJwt(refreshed.accessToken)).not.toHaveProperty(`${NS}plan`)
    const rotated = (await sdk.getSession()) as StateData
    expect(rotated.refreshToken).toBeTruthy()
    expect(rotated.refreshToken).not.toBe(first.refreshToken)

    // The first refresh token again: reuse is detected and the whole family is revoked.
    const reuse = await fetch(`${auth0.issuer}oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: DEFAULT_WEB_APP.clientId,
        client_secret: DEFAULT_WEB_APP.clientSecret,
        refresh_token: first.refreshToken as string,
      }),
    })
    expect(reuse.status).toBe(403)
    expect(await reuse.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Unknown or invalid refresh token.',
    })
    expire()
    await expect(sdk.getAccessToken()).rejects.toThrow()
  })
})

describe('logout', () => {
  it('ends the emulator session: the next prompt=none sign-in is login_required', async () => {
    const browser = new Browser()
    const { sdk } = client({ organization: 'org_acme123' })
    const { callback } = await signIn(sdk, 'alice@acme.test', undefined, browser)
    await sdk.completeInteractiveLogin(callback)
    // Signed in at the emulator: a second sign-in needs no password (its SSO session).
    const again = await browser.follow(
      await client({ organization: 'org_acme123' }).sdk.startInteractiveLogin(),
      CALLBACK,
    )
    expect(again.url.searchParams.get('code')).toBeTruthy()

    const logoutUrl = await sdk.logout({ returnTo: 'http://localhost:3999/' })
    const out = await browser.follow(logoutUrl, 'http://localhost:3999/')
    expect(out.url.toString()).toMatch(/^http:\/\/localhost:3999\//)
    expect(await sdk.getSession()).toBeUndefined()
    const silent = await client({ organization: 'org_acme123' }).sdk.startInteractiveLogin({
      authorizationParams: { prompt: 'none' },
    })
    const result = await browser.follow(silent, CALLBACK)
    expect(result.url.searchParams.get('error')).toBe('login_required')
  })
})
