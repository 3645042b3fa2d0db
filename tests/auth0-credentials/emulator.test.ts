/**
 * The Auth0 emulator's token endpoint verifies Private Key JWT client assertions as Auth0 documents them, and
 * refuses a bad one with Auth0's `invalid_client` body. Assertions are signed here with `jose`, so each claim can
 * be got wrong on purpose; the SDK's own assertions are exercised in end-to-end.test.ts.
 */
import { randomUUID } from 'node:crypto'
import { importPKCS8, type JWTPayload, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type KeyPair, keyOnlySyncClient, rsaKeyPair } from './support.ts'

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
let auth0: Auth0Emulator
let key: KeyPair
let next: KeyPair
let stranger: KeyPair
const client = () => keyOnlySyncClient([key, next])

beforeAll(async () => {
  ;[key, next, stranger] = [rsaKeyPair(), rsaKeyPair(), rsaKeyPair()]
  auth0 = await startAuth0Emulator({
    clients: [DEFAULT_CLIENT, client(), { ...keyOnlySyncClient([key], 'PS256'), clientId: 'pkjwt-ps256' }],
  })
})
afterAll(() => auth0.close())

async function assertion(
  options: { signer?: KeyPair; alg?: string; claims?: JWTPayload; kid?: string; lifetime?: number } = {},
): Promise<string> {
  const alg = options.alg ?? 'RS256'
  const now = Math.floor(Date.now() / 1000)
  const signingKey = await importPKCS8((options.signer ?? key).privatePem, alg)
  return new SignJWT({
    iss: client().clientId,
    sub: client().clientId,
    aud: `https://${auth0.domain}/`,
    iat: now,
    exp: now + (options.lifetime ?? 60),
    jti: randomUUID(),
    ...options.claims,
  })
    .setProtectedHeader({ alg, ...(options.kid ? { kid: options.kid } : {}) })
    .sign(signingKey)
}

async function ask(form: Record<string, string>) {
  const response = await fetch(`${auth0.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      audience: `https://${auth0.domain}/api/v2/`,
      ...form,
    }),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

const withAssertion = (signed: string, extra: Record<string, string> = {}) =>
  ask({ client_assertion_type: JWT_BEARER, client_assertion: signed, ...extra })

describe('Private Key JWT at /oauth/token', () => {
  it('issues a token for a valid assertion (RS256), with or without client_id, by either credential', async () => {
    const first = await withAssertion(await assertion())
    expect(first.status).toBe(200)
    expect(first.body).toMatchObject({ token_type: 'Bearer', scope: 'read:organizations update:organizations' })
    expect((await withAssertion(await assertion(), { client_id: client().clientId })).status).toBe(200)
    // Auth0 lets an application hold two credentials, which is how a key is rotated without downtime.
    expect((await withAssertion(await assertion({ signer: next }))).status).toBe(200)
    expect((await withAssertion(await assertion({ signer: next, kid: 'kid-1' }))).status).toBe(200)
    const logged = auth0.filterRequests({ path: '/oauth/token' }).at(-1)
    expect(logged?.clientId).toBe(client().clientId)
    expect(JSON.stringify(logged?.body)).not.toContain('eyJ')
  })

  it('verifies PS256 for a credential registered with PS256, and refuses RS256 for it', async () => {
    const claims = { iss: 'pkjwt-ps256', sub: 'pkjwt-ps256' }
    expect((await withAssertion(await assertion({ alg: 'PS256', claims }))).status).toBe(200)
    const refused = await withAssertion(await assertion({ alg: 'RS256', claims }))
    expect(refused.status).toBe(401)
    expect(refused.body.error).toBe('invalid_client')
  })

  it.each([
    ['a key the application does not hold', { signer: 'stranger' }, /signature/i],
    ['a kid that names the other credential', { kid: 'kid-1' }, /signature/i],
    ['another audience', { claims: { aud: 'https://other-tenant.eu.auth0.com/' } }, /'aud'/],
    ['the token endpoint as audience', { claims: { aud: 'AUTH0/oauth/token' } }, /'aud'/],
    [
      'an expired assertion',
      { claims: { iat: Math.floor(Date.now() / 1000) - 200, exp: Math.floor(Date.now() / 1000) - 60 } },
      /expired/,
    ],
    ['a lifetime over 5 minutes', { lifetime: 600 }, /no more than 5 minutes after 'iat'/],
    ['sub other than iss', { claims: { sub: 'someone-else' } }, /'sub'/],
    ['no jti', { claims: { jti: undefined } }, /'jti'/],
    ['an unknown client', { claims: { iss: 'nobody', sub: 'nobody' } }, /Private Key JWT/],
  ] as const)('refuses %s: 401 invalid_client', async (_, options, description) => {
    const claims =
      'claims' in options && options.claims && 'aud' in options.claims
        ? { ...options.claims, aud: options.claims.aud.replace('AUTH0', `https://${auth0.domain}`) }
        : 'claims' in options
          ? options.claims
          : undefined
    const signed = await assertion({
      ...('signer' in options ? { signer: stranger } : {}),
      ...('kid' in options ? { kid: options.kid } : {}),
      ...('lifetime' in options ? { lifetime: options.lifetime } : {}),
      ...(claims ? { claims } : {}),
    })
    const refused = await withAssertion(signed)
    expect(refused.status).toBe(401)
    expect(Object.keys(refused.body).sort()).toEqual(['error', 'error_description'])
    expect(refused.body.error).toBe('invalid_client')
    expect(String(refused.body.error_description)).toMatch(description)
  })

  it('refuses a replayed assertion (the same jti twice)', async () => {
    const signed = await assertion()
    expect((await withAssertion(signed)).status).toBe(200)
    const replayed = await withAssertion(signed)
    expect(replayed).toEqual({
      status: 401,
      body: { error: 'invalid_client', error_description: expect.stringMatching(/'jti'.*already been used/) },
    })
  })

  it('a Private Key JWT application accepts no secret; a secret application still gets its token', async () => {
    const secret = await ask({ client_id: client().clientId, client_secret: 'anything' })
    expect(secret).toEqual({ status: 401, body: { error: 'access_denied', error_description: 'Unauthorized' } })
    const both = await withAssertion(await assertion(), { client_secret: 'anything' })
    expect(both.status).toBe(400)
    const wrongType = await ask({ client_assertion_type: 'urn:other', client_assertion: await assertion() })
    expect(wrongType).toMatchObject({ status: 400, body: { error: 'invalid_request' } })
    const legacy = await ask({ client_id: DEFAULT_CLIENT.clientId, client_secret: DEFAULT_CLIENT.clientSecret })
    expect(legacy.status).toBe(200)
  })
})
