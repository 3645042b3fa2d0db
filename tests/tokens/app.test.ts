/**
 * The app helper (`sanity-auth0-access-sync/app`) against tokens from the Auth0 emulator's login: the real Action
 * for good tokens, small hand-written Actions for validly signed tokens with bad claims, and forged tokens.
 */
import { execFileSync } from 'node:child_process'
import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT } from 'jose'
// The package's own name, resolved through package.json "exports", exactly as an app imports it.
import {
  type AccessDecision,
  createAccessVerifier,
  DEFAULT_CLAIM_NAMESPACE,
  gatedContentQuery,
} from 'sanity-auth0-access-sync/app'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Auth0Emulator, startAuth0Emulator } from '../../emulators/auth0.ts'
import { ACTION_FILE } from '../../scripts/build-action.ts'
import { acmeOrganization } from './support.ts'

const NS = DEFAULT_CLAIM_NAMESPACE
const AUDIENCE = 'https://api.acme.example/'
const REPO = new URL('../..', import.meta.url).pathname
let auth0: Auth0Emulator
let installed = 0

beforeAll(async () => {
  auth0 = await startAuth0Emulator({
    organizations: [
      acmeOrganization({ contentTags: ['docs', 'reports'], entitlements: ['sso'] }, { crmAccount: 'ACME-0042' }),
    ],
  })
})
afterAll(() => auth0.close())
afterEach(() => auth0.actions.unbindAll('post-login'))

const verifier = () => createAccessVerifier({ domain: auth0.domain, audience: AUDIENCE })
const realAction = () =>
  auth0.actions.install({ name: `access-claims-${installed++}`, code: readFileSync(ACTION_FILE, 'utf8') })
/** A post-login Action that sets these claims verbatim on the access token (validly signed, bad content). */
const actionSetting = (claims: Record<string, unknown>) =>
  auth0.actions.install({
    name: `custom-${installed++}`,
    code: `exports.onExecutePostLogin = async (event, api) => {
      for (const [name, value] of Object.entries(${JSON.stringify(claims)})) api.accessToken.setCustomClaim(name, value)
    }`,
  })
const accessToken = async (options: Parameters<Auth0Emulator['login']>[0] = {}) =>
  (await auth0.login({ organization: 'org_acme123', audience: AUDIENCE, ...options })).accessToken

function expectDeny(decision: AccessDecision, reason: string) {
  expect(decision).toMatchObject({ allow: false, reason })
  expect(JSON.stringify(decision)).not.toMatch(/docs|reports|editor/)
}

describe('allow', () => {
  it('a token from a login through the real Action: typed claims and a parameterised gated query', async () => {
    realAction()
    const decision = await verifier().verify(await accessToken())
    expect(decision).toEqual({
      allow: true,
      claims: { plan: 'pro', role: 'editor', contentTags: ['docs', 'reports'], entitlements: ['sso'] },
      subject: 'auth0|emulator-user',
      organizationId: 'org_acme123',
    })
    if (!decision.allow) throw new Error('unreachable')
    const { query, params } = gatedContentQuery(decision.claims)
    expect(params).toMatchObject({ contentTags: ['docs', 'reports'], role: 'editor', plan: 'pro' })
    expect(query).not.toMatch(/docs|reports|editor|"pro"/)
  })

  it('an ID token, with the client ID as audience', async () => {
    realAction()
    const { idToken } = await auth0.login({ organization: 'org_acme123', clientId: 'portal' })
    const decision = await createAccessVerifier({ domain: auth0.domain, audience: 'portal' }).verify(idToken)
    expect(decision).toMatchObject({ allow: true, claims: { plan: 'pro' } })
  })

  it('claim values are never part of the query text, whatever they hold', () => {
    const hostile = { plan: '" || true || "', role: '*]{...}', contentTags: ['") || _type != ("'], entitlements: [] }
    const { query, params } = gatedContentQuery(hostile)
    expect(query).toBe(gatedContentQuery({ plan: 'a', role: 'b', contentTags: [], entitlements: [] }).query)
    expect(params.contentTags).toEqual(hostile.contentTags)
  })
})

describe('deny, with a reason', () => {
  it('no token / no bearer header', async () => {
    expectDeny(await verifier().verify(undefined), 'missing-token')
    expectDeny(await verifier().verifyAuthorization('Basic abc'), 'missing-token')
  })
  it('not a JWT', async () => {
    expectDeny(await verifier().verify('not.a.jwt'), 'malformed-token')
  })
  it('expired', async () => {
    realAction()
    expectDeny(await verifier().verify(await accessToken({ expiresInSeconds: -60 })), 'expired')
  })
  it('wrong audience', async () => {
    realAction()
    expectDeny(await verifier().verify(await accessToken({ audience: 'https://other-api.example/' })), 'wrong-audience')
  })
  it('wrong issuer (same keys, another tenant name)', async () => {
    realAction()
    const { createRemoteJWKSet } = await import('jose')
    const jwks = createRemoteJWKSet(new URL(`${auth0.issuer}.well-known/jwks.json`))
    const other = createAccessVerifier({ domain: 'acme.eu.auth0.com', audience: AUDIENCE, jwks })
    expectDeny(await other.verify(await accessToken()), 'wrong-issuer')
  })
  it('alg: none', async () => {
    realAction()
    const [, payload] = (await accessToken()).split('.')
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')
    expectDeny(await verifier().verify(`${header}.${payload}.`), 'algorithm-not-allowed')
  })
  it('HS256 signed with the public key (algorithm confusion)', async () => {
    realAction()
    const [, payload] = (await accessToken()).split('.')
    const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString())
    const { keys } = (await (await fetch(`${auth0.issuer}.well-known/jwks.json`)).json()) as {
      keys: Array<JsonWebKey & { kid: string }>
    }
    const jwk = keys[0] as JsonWebKey & { kid: string }
    const publicPem = createPublicKey({ key: { ...jwk }, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString()
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: jwk.kid })
      .sign(new TextEncoder().encode(publicPem))
    expectDeny(await verifier().verify(forged), 'algorithm-not-allowed')
  })
  it('a tampered signature', async () => {
    realAction()
    const token = await accessToken()
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const bytes = Buffer.from(signature, 'base64url')
    bytes[10] = (bytes[10] as number) ^ 0xff
    expectDeny(await verifier().verify(`${header}.${payload}.${bytes.toString('base64url')}`), 'bad-signature')
  })
  it('a tampered payload (contentTags widened)', async () => {
    realAction()
    const [header, payload, signature] = (await accessToken()).split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
    claims[`${NS}contentTags`] = ['everything']
    const widened = Buffer.from(JSON.stringify(claims)).toString('base64url')
    expectDeny(await verifier().verify(`${header}.${widened}.${signature}`), 'bad-signature')
  })
  it('signed by a key the tenant does not publish', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const forged = await new SignJWT({ [`${NS}plan`]: 'pro' })
      .setProtectedHeader({ alg: 'RS256', kid: 'attacker' })
      .setIssuer(auth0.issuer)
      .setAudience(AUDIENCE)
      .setSubject('auth0|mallory')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey)
    expectDeny(await verifier().verify(forged), 'unknown-key')
  })
  it('no access claims (a login without an Organization: the Action gave none)', async () => {
    realAction()
    expectDeny(await verifier().verify((await auth0.login({ audience: AUDIENCE })).accessToken), 'no-access-claims')
  })
  it('claims under another namespace than the app expects', async () => {
    realAction()
    const token = await accessToken()
    const elsewhere = createAccessVerifier({
      domain: auth0.domain,
      audience: AUDIENCE,
      namespace: 'https://x.example/',
    })
    expectDeny(await elsewhere.verify(token), 'no-access-claims')
  })
  it.each([
    ['plan a number', { plan: 42 }],
    ['role missing', { role: undefined }],
    ['role empty', { role: '' }],
    ['contentTags a string', { contentTags: 'docs' }],
    ['contentTags with a number', { contentTags: ['docs', 7] }],
    ['entitlements an object', { entitlements: { sso: true } }],
    ['plan longer than 255', { plan: 'p'.repeat(256) }],
  ])('claims of the wrong type: %s', async (_, override) => {
    const good: Record<string, unknown> = { plan: 'pro', role: 'editor', contentTags: ['docs'], entitlements: [] }
    const claims = { ...good, ...override }
    actionSetting(
      Object.fromEntries(
        Object.entries(claims)
          .filter(([, value]) => value !== undefined)
          .map(([name, value]) => [`${NS}${name}`, value]),
      ),
    )
    expectDeny(await verifier().verify(await accessToken()), 'invalid-claims')
  })
  it('huge arrays: 200 tags', async () => {
    const tags = Array.from({ length: 200 }, (_, i) => `t${i}`)
    actionSetting({
      [`${NS}plan`]: 'pro',
      [`${NS}role`]: 'editor',
      [`${NS}contentTags`]: tags,
      [`${NS}entitlements`]: [],
    })
    expectDeny(await verifier().verify(await accessToken()), 'invalid-claims')
  })
  it('huge arrays: 100 000 tags (refused before verifying)', async () => {
    const code = `exports.onExecutePostLogin = async (event, api) => {
      api.accessToken.setCustomClaim('${NS}contentTags', Array.from({ length: 100000 }, (_, i) => 't' + i))
    }`
    auth0.actions.install({ name: `huge-${installed++}`, code })
    expectDeny(await verifier().verify(await accessToken()), 'token-too-large')
  })
})

describe('the package export', () => {
  it('resolves for an app that installs this repo as a dependency (symlinked node_modules)', () => {
    const consumer = mkdtempSync(join(tmpdir(), 'access-app-'))
    try {
      mkdirSync(join(consumer, 'node_modules'))
      symlinkSync(REPO, join(consumer, 'node_modules', 'sanity-auth0-access-sync'), 'dir')
      writeFileSync(join(consumer, 'package.json'), '{"type":"module"}')
      writeFileSync(
        join(consumer, 'app.js'),
        `import { createAccessVerifier, gatedContentQuery } from 'sanity-auth0-access-sync/app'
console.log(typeof createAccessVerifier, gatedContentQuery({ plan: 'pro', role: 'r', contentTags: ['a'], entitlements: [] }).params.plan)`,
      )
      const out = execFileSync(process.execPath, ['app.js'], { cwd: consumer, encoding: 'utf8' })
      expect(out.trim()).toBe('function pro')
    } finally {
      rmSync(consumer, { recursive: true, force: true })
    }
  })
})
