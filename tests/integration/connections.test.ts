/**
 * A cold instance connects to the Auth0 tenant once: the token, the read and the write share one keep-alive TCP +
 * TLS connection (each extra one costs a handshake, two round trips to the tenant in production). Counted at the
 * emulator, with the real SDK.
 */
import { afterEach, beforeEach, expect, it } from 'vitest'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import type { OrganizationId } from '../../src/core/auth0-rules.ts'
import { connectAuth0 } from '../../src/gateways/auth0.ts'

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
