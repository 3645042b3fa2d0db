/**
 * The token request under the product's limits, not the SDK's fixed 10 s: a slow, 5xx or rate-limited
 * /oauth/token is retried within the per-attempt timeout (AUTH0_TIMEOUT_SECONDS) and the invocation's deadline, and
 * when the time runs out the failure says the token endpoint was slow or limiting, never a missing scope. Real SDK,
 * real HTTPS, the emulator's fault injection on /oauth/token; both credentials (a retry signs a new assertion).
 */

import { ManagementError } from 'auth0/management'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type LocalStack, startLocalStack } from '../../emulators/stack.ts'
import type { Auth0Config } from '../../src/config.ts'
import type { OrganizationId } from '../../src/core/auth0-rules.ts'
import { SyncError } from '../../src/core/errors.ts'
import {
  classifyToken,
  connectAuth0,
  DeadlineError,
  fetchManagementGrant,
  type RetryObserver,
} from '../../src/gateways/auth0.ts'
import { organization } from '../reconcile/support.ts'
import { policyDocument, roleDocuments } from '../support/policies.ts'
import { keyOnlySyncClient, rsaKeyPair } from './support.ts'

const keys = rsaKeyPair()
const ORG = 'org_acme123' as OrganizationId
let auth0: Auth0Emulator

beforeAll(async () => {
  auth0 = await startAuth0Emulator({
    clients: [DEFAULT_CLIENT, keyOnlySyncClient([keys])],
    organizations: [organization(ORG, { crm: 'A' })],
  })
})
afterAll(() => auth0.close())

const credentials = {
  'a private key': {
    clientId: 'pkjwt-sync-client',
    clientAssertionSigningKey: keys.privatePem,
    clientAssertionSigningAlg: 'RS256',
  },
  'a client secret': { clientId: DEFAULT_CLIENT.clientId, clientSecret: DEFAULT_CLIENT.clientSecret },
} as const

function setup(credential: keyof typeof credentials, timeoutSeconds = 1) {
  auth0.clearFaults()
  auth0.clearRequests()
  const config = { domain: auth0.domain, ...credentials[credential], timeoutSeconds, budgetSeconds: 90 } as Auth0Config
  const waits: Array<{ status: number | undefined; delayMs: number }> = []
  const observer: RetryObserver = (wait) => waits.push({ status: wait.status, delayMs: wait.delayMs })
  const tokenRequests = () => auth0.count({ path: '/oauth/token' })
  return { config, connection: connectAuth0(config), observer, waits, tokenRequests }
}

async function failure(promise: Promise<unknown>): Promise<SyncError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(SyncError)
    return error as SyncError
  }
  throw new Error('expected the call to fail')
}

describe.each(Object.keys(credentials) as Array<keyof typeof credentials>)('with %s', (credential) => {
  it('a token request slower than AUTH0_TIMEOUT_SECONDS is cut at that timeout and sent again', async () => {
    const { connection, observer, waits, tokenRequests } = setup(credential)
    // 1.5 s: past the 1 s per-attempt timeout, well within the SDK's own 10 s.
    auth0.injectFault({ path: '/oauth/token', delayMs: 1_500 })
    const metadata = await connection.forInvocation(Date.now() + 20_000, observer).readMetadata(ORG)
    expect(metadata).toEqual({ crm: 'A' })
    expect(tokenRequests()).toBe(2)
    expect(waits).toEqual([{ status: undefined, delayMs: expect.any(Number) }])
  })

  it.each([429, 503])('a token request answered %i is retried within the budget', async (status) => {
    const { connection, observer, waits, tokenRequests } = setup(credential)
    // A wait hint of 300 ms (X-RateLimit-Reset to the millisecond, as a time-scaled emulator sends it).
    const reset = ((Date.now() + 300) / 1000).toFixed(3)
    auth0.injectFault({ path: '/oauth/token', status, headers: { 'x-ratelimit-reset': reset } })
    expect(await connection.forInvocation(Date.now() + 20_000, observer).readMetadata(ORG)).toEqual({ crm: 'A' })
    expect(tokenRequests()).toBe(2)
    expect(waits.map((wait) => wait.status)).toEqual([status])
    // The endpoint's wait hint is honoured although the SDK's error keeps no headers.
    expect(waits[0]?.delayMs).toBeGreaterThanOrEqual(150)
  })
})

describe('when the time runs out (a private key)', () => {
  const credential = 'a private key'
  it('rate limited until the deadline: auth0-unavailable, retryable, naming the token endpoint, never a scope', async () => {
    const { connection, tokenRequests } = setup(credential)
    auth0.injectFault({
      path: '/oauth/token',
      status: 429,
      times: Number.POSITIVE_INFINITY,
      headers: { 'retry-after': '1' },
    })
    const error = await failure(connection.forInvocation(Date.now() + 2_500).replaceMetadata(ORG, { crm: 'B' }))
    expect(error).toMatchObject({ reason: 'auth0-unavailable', retryable: true, organizationId: ORG })
    expect(error.message).toContain(
      "Auth0's token endpoint (/oauth/token) answered 429 (rate limited) before updating Organization org_acme123",
    )
    expect(error.message).not.toMatch(/scope|grant|credentials/i)
    expect(error.message).toContain('it asked to wait 1.0 s, more than this invocation has left')
    expect(tokenRequests()).toBe(2)
    expect(auth0.count({ method: 'PATCH' })).toBe(0)
  })

  it('a token endpoint that never answers: each attempt cut at the timeout, then out of time, said so', async () => {
    const { connection, tokenRequests } = setup(credential)
    auth0.injectFault({ path: '/oauth/token', hang: true, times: Number.POSITIVE_INFINITY })
    const error = await failure(connection.forInvocation(Date.now() + 2_500).readMetadata(ORG))
    // Under the SDK's own 10 s timeout there would be one request and no time left for a second.
    expect(tokenRequests()).toBeGreaterThanOrEqual(2)
    expect(error).toBeInstanceOf(DeadlineError)
    expect(error).toMatchObject({ reason: 'auth0-unavailable', retryable: true })
    expect(error.message).toMatch(
      /token endpoint \(\/oauth\/token\) did not answer in time before reading Organization org_acme123, \d attempts/,
    )
    expect(error.message).toContain('no time left in this invocation for another attempt')
    expect(error.message).not.toMatch(/scope|grant/i)
  })
})

it('doctor: a rate-limited token endpoint is reported as such, not as wrong credentials or a scope', async () => {
  const { config } = setup('a private key')
  auth0.injectFault({ path: '/oauth/token', status: 429 })
  const error = await failure(fetchManagementGrant(config))
  expect(error).toMatchObject({ reason: 'auth0-unavailable', retryable: true })
  expect(error.message).toContain(
    "Auth0's token endpoint (/oauth/token) answered 429 (rate limited) when asking for a token",
  )
  expect((await fetchManagementGrant(config)).scopes).toEqual(['read:organizations', 'update:organizations'])
})

describe('the sync function (SYNC_TIME_BUDGET_SECONDS, AUTH0_TIMEOUT_SECONDS)', () => {
  let stack: LocalStack
  beforeAll(async () => {
    stack = await startLocalStack({
      documents: roleDocuments(),
      auth0: { clients: [keyOnlySyncClient([keys])], organizations: [organization(ORG)] },
    })
    Object.assign(process.env, {
      AUTH0_CLIENT_ASSERTION_SIGNING_KEY: keys.privatePem,
      AUTH0_TIMEOUT_SECONDS: '1',
      SYNC_TIME_BUDGET_SECONDS: '5',
    })
  })
  afterAll(async () => {
    for (const name of ['AUTH0_CLIENT_ASSERTION_SIGNING_KEY', 'AUTH0_TIMEOUT_SECONDS', 'SYNC_TIME_BUDGET_SECONDS'])
      delete process.env[name]
    await stack.close()
  })

  it('a rate-limited /oauth/token for the whole budget fails the invocation as auth0-unavailable, retryable', async () => {
    stack.auth0.injectFault({ path: '/oauth/token', status: 429, times: Number.POSITIVE_INFINITY })
    await stack.sanity.createOrReplace(policyDocument())
    const [invocation] = await stack.deliver()
    expect(invocation?.error).toMatchObject({ reason: 'auth0-unavailable', retryable: true })
    expect((invocation?.error as Error | undefined)?.message).toContain(
      "Auth0's token endpoint (/oauth/token) answered 429 (rate limited)",
    )
    expect(stack.auth0.count({ method: 'PATCH' })).toBe(0)
  })

  it('a slow /oauth/token, once: the invocation retries it and syncs', async () => {
    stack.auth0.clearFaults()
    stack.auth0.injectFault({ path: '/oauth/token', delayMs: 1_500 })
    await stack.sanity.createOrReplace(policyDocument({ plan: 'enterprise' }))
    const [invocation] = await stack.deliver()
    expect(invocation?.error).toBeUndefined()
    expect(stack.metadata(ORG)).toMatchObject({ plan: 'enterprise' })
  })
})

it("the SDK's own token timeout (its 408, whose message ManagementError extends with the status) is a timeout, not an answer", () => {
  // What auth0 7.1.0's TokenProvider throws when its fetch is aborted (wrapper/token-provider), built the same way.
  const timedOut = new ManagementError({ message: 'ManagementClient: token request timed out', statusCode: 408 })
  expect(timedOut.message).not.toBe('ManagementClient: token request timed out')
  expect(classifyToken(timedOut, undefined)).toEqual({ kind: 'timeout' })
})
