/**
 * The whole chain on one machine, as the demo's second act plays it: deploy the Action with the deploy command's
 * core, publish a policy (the real function syncs it), sign a user in (the emulator runs the deployed Action),
 * ask the example app for content (it verifies the token and queries the Content Lake emulator), archive the
 * policy, sign in again.
 */
import { readFileSync } from 'node:fs'
import { createClient } from '@sanity/client'
import { createAccessVerifier } from 'sanity-auth0-access-sync/app'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deployAction } from '../../cli/deploy-action.ts'
import { DEFAULT_CLIENT } from '../../emulators/auth0.ts'
import { DEPLOY_CLIENT } from '../../emulators/auth0-actions.ts'
import { type LocalStack, startLocalStack } from '../../emulators/stack.ts'
import { type ExampleApp, startExampleApp } from '../../examples/app/server.ts'
import { ACTION_NAME, ACTION_RUNTIME } from '../../src/core/action-deploy.ts'
import { connectActions } from '../../src/gateways/auth0-actions.ts'

const json = (path: string) => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'))
const NS = 'https://claims.acme.example/'
const AUDIENCE = 'https://portal.acme.example/api'
const policy = json('../../functions/sync-access-policy/fixtures/policy-acme.json')
const content: Array<{ _id: string; _type: string }> = json('../../examples/app/content.json')
let bed: LocalStack
let app: ExampleApp

beforeAll(async () => {
  const dataset: Array<{ _id: string; _type: string }> = json(
    '../../functions/sync-access-policy/fixtures/dataset.json',
  )
  bed = await startLocalStack({
    documents: [...dataset.filter((doc) => doc._type === 'role'), ...content],
    auth0: {
      clients: [DEFAULT_CLIENT, DEPLOY_CLIENT],
      organizations: json('../../functions/sync-access-policy/fixtures/organizations.json'),
      actionBuildDelayMs: 100,
    },
  })
  const verifier = createAccessVerifier({ domain: bed.auth0.domain, audience: AUDIENCE, namespace: NS })
  app = await startExampleApp({
    verifier,
    sanity: createClient({ ...bed.lake.clientConfig, perspective: 'published' }),
  })
  const gateway = connectActions({ domain: bed.auth0.domain, ...DEPLOY_CLIENT })
  const code = readFileSync(new URL('../../auth0/actions/access-claims.js', import.meta.url), 'utf8')
  const desired = { name: ACTION_NAME, code, runtime: ACTION_RUNTIME, namespace: NS, updateSecrets: false }
  const io = { log: () => {}, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), now: Date.now }
  await deployAction(gateway, desired, { dryRun: false, maxWaitMs: 5000, pollMs: 30 }, io)
})
afterAll(async () => {
  await app?.close()
  await bed?.close()
})

async function deliver() {
  for (const invocation of await bed.deliver()) if (invocation.error) throw invocation.error
}
const signIn = () => bed.auth0.login({ organization: 'org_acme123', userId: 'auth0|alice', audience: AUDIENCE })
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString())
async function getContent(token?: string) {
  const response = await fetch(`${app.url}/content`, token ? { headers: { authorization: `Bearer ${token}` } } : {})
  const body = (await response.json()) as {
    reason?: string
    content: Array<{ _id: string }>
    onboarding: Array<{ _id: string }>
  }
  return {
    status: response.status,
    reason: body.reason,
    content: body.content.map((d) => d._id),
    onboarding: body.onboarding.map((d) => d._id),
  }
}

describe('publish → login → app → archive → login', () => {
  it('after the publish, the token carries the claims and the app serves only what they allow', async () => {
    await bed.sanity.createOrReplace(policy)
    await deliver()
    const { accessToken, idToken } = await signIn()
    for (const token of [accessToken, idToken]) {
      expect(claimsOf(token)).toMatchObject({
        [`${NS}plan`]: 'pro',
        [`${NS}role`]: 'editor',
        [`${NS}contentTags`]: ['docs', 'reports', 'webinars'],
        [`${NS}entitlements`]: [],
      })
      expect(JSON.stringify(claimsOf(token))).not.toMatch(/crmAccount|ACME-0042|gold|internalNotes/)
    }
    expect(await getContent(accessToken)).toEqual({
      status: 200,
      reason: undefined,
      content: ['article-docs-setup', 'article-reports-q1', 'article-webinar-ai'],
      onboarding: ['onboarding-editors', 'onboarding-pro', 'onboarding-welcome'],
    })
  })

  it('no token, no content (401)', async () => {
    expect(await getContent()).toMatchObject({ status: 401, reason: 'missing-token', content: [], onboarding: [] })
  })

  it('after the archive, a new login has no claims and the app serves no gated content (403)', async () => {
    await bed.sanity.patch(policy._id).set({ status: 'archived' }).commit()
    await deliver()
    const { accessToken, actionLogs } = await signIn()
    expect(Object.keys(claimsOf(accessToken)).filter((name) => name.startsWith(NS))).toEqual([])
    expect(actionLogs).toEqual([expect.stringContaining('no access claims (no-marker) for org_acme123')])
    expect(await getContent(accessToken)).toEqual({
      status: 403,
      reason: 'no-access-claims',
      content: [],
      onboarding: [],
    })
  })
})
