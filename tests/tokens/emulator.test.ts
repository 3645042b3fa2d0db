/**
 * The Auth0 emulator's Actions endpoints and login, driven by the real `auth0` SDK and `jose` over HTTPS.
 */
import { readFileSync } from 'node:fs'
import { ManagementClient } from 'auth0'
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { DEPLOY_CLIENT } from '../../emulators/auth0-actions.ts'
import { ACTION_FILE } from '../../scripts/build-action.ts'
import { DEFAULT_CLAIM_NAMESPACE } from '../../src/core/claims.ts'
import { acmeOrganization } from './support.ts'

const BUILD_MS = 200
let auth0: Auth0Emulator
const sdk = (client: { clientId: string; clientSecret: string }) =>
  new ManagementClient({
    domain: auth0.domain,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    maxRetries: 0,
  })
const postLogin = [{ id: 'post-login' as const, version: 'v3' }]

beforeAll(async () => {
  auth0 = await startAuth0Emulator({
    clients: [
      DEFAULT_CLIENT,
      DEPLOY_CLIENT,
      { clientId: 'reader', clientSecret: 'reader-secret', scopes: ['read:actions'] },
    ],
    actionBuildDelayMs: BUILD_MS,
    organizations: [acmeOrganization({ contentTags: ['docs'], entitlements: [] }, { crmAccount: 'ACME-0042' })],
  })
})
afterAll(() => auth0.close())

describe('Actions endpoints', () => {
  it('a draft is pending, then built; deploying it early is refused with Auth0 message', async () => {
    const client = sdk(DEPLOY_CLIENT)
    const created = await client.actions.create({ name: 'early', supported_triggers: postLogin, code: 'exports.x = 1' })
    expect(created.status).toBe('pending')
    await expect(client.actions.deploy(created.id as string)).rejects.toMatchObject({
      statusCode: 400,
      body: { message: "A draft must be in the 'built' state before it can be deployed." },
    })
    await new Promise((resolve) => setTimeout(resolve, BUILD_MS + 20))
    expect((await client.actions.get(created.id as string)).status).toBe('built')
    const version = await client.actions.deploy(created.id as string)
    // Auth0 answers a deploy with `deployed: false` (terraform-provider-auth0 TestAccAction.yaml).
    expect(version).toMatchObject({ deployed: false, number: 1 })
    expect((await client.actions.get(created.id as string)).all_changes_deployed).toBe(true)
  })

  it('secret values never leave; a PATCH with secrets replaces them, without keeps them', async () => {
    const client = sdk(DEPLOY_CLIENT)
    const created = await client.actions.create({
      name: 'secretive',
      supported_triggers: postLogin,
      code: '',
      secrets: [
        { name: 'A', value: 'a-value' },
        { name: 'B', value: 'b-value' },
      ],
    })
    expect(JSON.stringify(created)).not.toContain('-value')
    const kept = await client.actions.update(created.id as string, { code: 'exports.y = 2' })
    expect(kept.secrets?.map((secret) => secret.name)).toEqual(['A', 'B'])
    const replaced = await client.actions.update(created.id as string, { secrets: [{ name: 'C', value: 'c' }] })
    expect(replaced.secrets?.map((secret) => secret.name)).toEqual(['C'])
    expect(replaced.status).toBe('pending')
  })

  it('the bindings PATCH replaces the ordered list', async () => {
    const first = auth0.actions.install({ name: 'first', code: 'exports.onExecutePostLogin = async () => {}' })
    auth0.actions.install({ name: 'second', code: 'exports.onExecutePostLogin = async () => {}' })
    const client = sdk(DEPLOY_CLIENT)
    const page = await client.actions.triggers.bindings.list('post-login')
    expect(page.data.map((binding) => binding.action?.name)).toEqual(['first', 'second'])
    const second = page.data[1]?.id as string
    await client.actions.triggers.bindings.updateMany('post-login', {
      bindings: [{ ref: { type: 'binding_id', value: second } }, { ref: { type: 'action_id', value: first } }],
    })
    expect(auth0.actions.bindings('post-login').map((binding) => (binding.action as { name: string }).name)).toEqual([
      'second',
      'first',
    ])
    await client.actions.triggers.bindings.updateMany('post-login', { bindings: [] })
    expect(auth0.actions.bound('post-login')).toEqual([])
  })

  it('checks scopes: the function client cannot touch Actions, a read-only client cannot create', async () => {
    await expect(sdk(DEFAULT_CLIENT).actions.list()).rejects.toMatchObject({ statusCode: 403 })
    await expect(
      sdk({ clientId: 'reader', clientSecret: 'reader-secret' }).actions.create({
        name: 'nope',
        supported_triggers: postLogin,
      }),
    ).rejects.toMatchObject({
      statusCode: 403,
      body: { message: 'Insufficient scope, expected any of: create:actions' },
    })
    await expect(sdk(DEPLOY_CLIENT).organizations.list()).rejects.toMatchObject({ statusCode: 403 })
  })
})

describe('login', () => {
  it('issues RS256 tokens that verify against the JWKS the tenant serves', async () => {
    const jwks = createRemoteJWKSet(new URL(`${auth0.issuer}.well-known/jwks.json`))
    const { idToken, accessToken } = await auth0.login({ organization: 'org_acme123', clientId: 'portal' })
    expect(decodeProtectedHeader(accessToken).alg).toBe('RS256')
    const access = await jwtVerify(accessToken, jwks, { issuer: auth0.issuer, audience: 'https://api.example.com/' })
    expect(access.payload).toMatchObject({ org_id: 'org_acme123', azp: 'portal' })
    const id = await jwtVerify(idToken, jwks, { issuer: auth0.issuer, audience: 'portal' })
    expect(id.payload.sub).toBe('auth0|emulator-user')
    const discovery = await (await fetch(`${auth0.issuer}.well-known/openid-configuration`)).json()
    expect(discovery).toMatchObject({ issuer: auth0.issuer, jwks_uri: `${auth0.issuer}.well-known/jwks.json` })
  })

  it('runs the real Action file bound to post-login: claims from the metadata, foreign keys left out', async () => {
    const id = auth0.actions.install({ name: 'access-claims', code: readFileSync(ACTION_FILE, 'utf8') })
    try {
      const { accessToken, actionLogs } = await auth0.login({ organization: 'org_acme123' })
      const payload = JSON.parse(Buffer.from(accessToken.split('.')[1] as string, 'base64url').toString())
      expect(payload[`${DEFAULT_CLAIM_NAMESPACE}contentTags`]).toEqual(['docs'])
      expect(payload[`${DEFAULT_CLAIM_NAMESPACE}plan`]).toBe('pro')
      expect(JSON.stringify(payload)).not.toContain('ACME-0042')
      expect(actionLogs).toEqual([])
      const without = await auth0.login()
      expect(without.actionLogs).toEqual([
        'access-claims: no access claims (no-organization) for unknown organization: the login is not for an Organization',
      ])
      expect(without.accessToken.split('.')[1]).not.toContain('contentTags')
    } finally {
      await sdk(DEPLOY_CLIENT).actions.triggers.bindings.updateMany('post-login', { bindings: [] })
      expect(id).toBeTruthy()
    }
  })

  it('a throwing Action fails the login, as in Auth0', async () => {
    auth0.actions.install({
      name: 'thrower',
      code: 'exports.onExecutePostLogin = async () => { throw new Error("x") }',
    })
    try {
      await expect(auth0.login({ organization: 'org_acme123' })).rejects.toThrow(/"thrower" threw/)
    } finally {
      await sdk(DEPLOY_CLIENT).actions.triggers.bindings.updateMany('post-login', { bindings: [] })
    }
  })
})
