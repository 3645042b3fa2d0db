/**
 * A cold instance connects to the Auth0 tenant once: the token, the read and the write share one keep-alive TCP +
 * TLS connection (each extra one costs a handshake, two round trips to the tenant in production). Counted at the
 * emulator, with the real SDK. And its token request overlaps the policy query rather than following it.
 */
import { afterEach, beforeEach, expect, it } from 'vitest'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { startLocalStack } from '../../emulators/stack.ts'
import type { OrganizationId } from '../../src/core/auth0-rules.ts'
import { connectAuth0 } from '../../src/gateways/auth0.ts'
import { planDocuments, policyDocument, roleDocuments } from '../support/policies.ts'

const ORG = 'org_conn01' as OrganizationId
let auth0: Auth0Emulator
beforeEach(async () => {
  auth0 = await startAuth0Emulator({ organizations: [{ id: ORG, name: 'conn', metadata: { crmAccount: 'C-1' } }] })
})
afterEach(async () => {
  await auth0.close()
})

it('the token, the read and the write of a cold instance go over one connection', async () => {
  const organizations = connectAuth0({
    domain: auth0.domain,
    clientId: DEFAULT_CLIENT.clientId,
    clientSecret: DEFAULT_CLIENT.clientSecret,
    timeoutSeconds: 10,
    budgetSeconds: 90,
  }).forInvocation(Date.now() + 60_000)

  const metadata = await organizations.readMetadata(ORG)
  await organizations.replaceMetadata(ORG, { ...metadata, plan: 'pro' })

  expect(auth0.requests.map((request) => `${request.method} ${request.path} ${request.status}`)).toEqual([
    'POST /oauth/token 200',
    `GET /api/v2/organizations/${ORG} 200`,
    `PATCH /api/v2/organizations/${ORG} 200`,
  ])
  expect(auth0.connectionCount()).toBe(1)
})

it("a cold instance's token request does not wait for the policy query, and still shares the one connection", async () => {
  const stack = await startLocalStack({
    documents: [...roleDocuments(), ...planDocuments()],
    auth0: { organizations: [{ id: ORG, name: 'conn', metadata: { crmAccount: 'C-1' } }] },
  })
  try {
    await stack.sanity.createOrReplace(policyDocument({ _id: 'policy-conn', auth0OrganizationId: ORG }))
    const QUERY_DELAY_MS = 500
    stack.lake.injectFault({ path: /\/data\/query\//, delayMs: QUERY_DELAY_MS })
    const [invocation] = await stack.deliver()

    expect(invocation?.error).toBeUndefined()
    const query = stack.lake.requests.find((request) => request.path.includes('/data/query/'))
    const token = stack.auth0.requests.find((request) => request.path === '/oauth/token')
    if (!query || !token) throw new Error('expected a policy query and a token request')
    // Sent before the query was answered: the two overlap instead of adding their round trips.
    expect(token.at).toBeLessThan(Date.parse(query.at) + QUERY_DELAY_MS)
    expect(stack.auth0.requests.map((request) => `${request.method} ${request.path} ${request.status}`)).toEqual([
      'POST /oauth/token 200',
      `GET /api/v2/organizations/${ORG} 200`,
      `PATCH /api/v2/organizations/${ORG} 200`,
    ])
    expect(stack.auth0.connectionCount()).toBe(1)
  } finally {
    await stack.close()
  }
})
