/**
 * The fault matrix: every fault injected once and on repeat, on the read and on the write, through the real
 * `auth0` SDK and `@sanity/client` against the emulators. Once → the right Auth0 state; on repeat → a loud,
 * specific failure with nothing half-written, inside the time budget. The whole matrix runs under each row of
 * ./limits.ts: every plan's rate limits and every reading of x-ratelimit-reset, on top of the injected faults.
 */
import { createClient } from '@sanity/client'
import { describe, expect, it, vi } from 'vitest'
import {
  type Auth0ClientConfig,
  type Auth0Emulator,
  DEFAULT_CLIENT,
  type FaultSpec,
  startAuth0Emulator,
} from '../../emulators/auth0.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import type { OrganizationId } from '../../src/core/auth0-rules.ts'
import { connectAuth0 } from '../../src/gateways/auth0.ts'
import { createPolicyStore } from '../../src/gateways/sanity.ts'
import { type SyncReport, syncPolicyEvent } from '../../src/sync.ts'
import { policyDocument, roleDocuments } from '../support/policies.ts'
import { LIMITS_MATRIX, type LimitsRow, limitsOptions } from './limits.ts'

const ORG = 'org_acme123' as OrganizationId
const ORG_PATH = `/api/v2/organizations/${ORG}`
const foreign = { crmAccount: 'ACME-0042' }
const event = { _id: 'policy-acme', operation: 'update', auth0OrganizationId: ORG }

interface Bed {
  auth0: Auth0Emulator
  lake: ContentLakeEmulator
  sync(options?: { budgetSeconds?: number }): Promise<SyncReport>
}
type OnFinished = (fn: () => Promise<void>) => void

/** Fresh emulators per test (tests here run concurrently), closed when that test finishes. */
async function start(
  row: LimitsRow,
  onTestFinished: OnFinished,
  client: Auth0ClientConfig = DEFAULT_CLIENT,
  organizations = [ORG],
): Promise<Bed> {
  const auth0 = await startAuth0Emulator({
    ...limitsOptions(row),
    clients: [client],
    organizations: organizations.map((id) => ({ id, name: id, metadata: { ...foreign } })),
  })
  const lake = await startContentLakeEmulator({ documents: [...roleDocuments(), policyDocument()] })
  const policies = createPolicyStore(createClient(lake.clientConfig))
  // One connection per bed, like the function's module scope: its token survives between invocations.
  const connection = connectAuth0({ domain: auth0.domain, ...client, timeoutSeconds: 1, budgetSeconds: 8 })
  const bed: Bed = {
    auth0,
    lake,
    sync: async ({ budgetSeconds = 8 } = {}) => {
      const organizations = connection.forInvocation(Date.now() + budgetSeconds * 1000)
      return syncPolicyEvent(event, { policies, organizations })
    },
  }
  onTestFinished(async () => {
    await Promise.all([auth0.close(), lake.close()])
  })
  return bed
}

const granted = (bed: Bed) =>
  expect(bed.auth0.getOrganization(ORG)?.metadata).toMatchObject({ ...foreign, plan: 'pro' })
const untouched = (bed: Bed) => expect(bed.auth0.getOrganization(ORG)?.metadata).toEqual(foreign)
/** Requests the product sent for the Organization, not counting those the plan's own limits refused. */
const attempts = (bed: Bed, method: string) =>
  bed.auth0
    .filterRequests({ method, path: ORG_PATH })
    .filter((request) => !(request.status === 429 && request.fault === undefined)).length

const resetIn = (seconds: number) => String(Math.ceil(Date.now() / 1000) + seconds)
const transient: Array<[string, () => FaultSpec]> = [
  ['429 with Retry-After', () => ({ status: 429, headers: { 'retry-after': '1' } })],
  ['429 with only X-RateLimit-Reset', () => ({ status: 429, headers: { 'x-ratelimit-reset': resetIn(1) } })],
  ['429 with the plan’s own headers', () => ({ status: 429 })],
  ['500', () => ({ status: 500 })],
  ['502', () => ({ status: 502 })],
  ['503', () => ({ status: 503 })],
  ['504', () => ({ status: 504 })],
  ['connection reset', () => ({ reset: true })],
  ['request timeout', () => ({ hang: true })],
]

// The cases mostly wait (retries, budgets): more of them at once keeps the matrix's wall time near one row's.
vi.setConfig({ maxConcurrency: 24 })

describe.concurrent.each(LIMITS_MATRIX)('under $name', (row) => {
  describe.concurrent.each(['GET', 'PATCH'])('transient faults on %s', (method) => {
    it.for(transient)('%s once: retried, then synced', async ([_name, fault], { onTestFinished }) => {
      const bed = await start(row, onTestFinished)
      bed.auth0.injectFault({ method, path: ORG_PATH, times: 1, ...fault() })
      const report = await bed.sync()
      expect(report.error).toBeUndefined()
      expect(report.outcome).toBe('synced')
      expect(attempts(bed, method)).toBe(2)
      granted(bed)
    })

    it.for(transient)(
      '%s on repeat: fails loudly, retryable, nothing written',
      async ([_name, fault], { onTestFinished }) => {
        const bed = await start(row, onTestFinished)
        bed.auth0.injectFault({ method, path: ORG_PATH, times: Infinity, ...fault() })
        const report = await bed.sync({ budgetSeconds: 6 })
        expect(report.outcome).toBe('failed')
        expect(report.error).toMatchObject({ reason: 'auth0-unavailable', retryable: true, organizationId: ORG })
        expect(report.error?.message).toContain(`${method === 'GET' ? 'reading' : 'updating'} Organization ${ORG}`)
        // A reset already past did not make it run out of time; the message does not blame a zero wait.
        expect(report.error?.message).not.toMatch(/asked to wait 0\.0 s/)
        expect(attempts(bed, method)).toBeGreaterThanOrEqual(2)
        // A 429 is retried until the deadline, not for a fixed number of attempts (src/core/retry.ts).
        expect(attempts(bed, method)).toBeLessThanOrEqual(_name.startsWith('429') ? 12 : 4)
        if (method === 'GET') expect(attempts(bed, 'PATCH')).toBe(0)
        untouched(bed)
      },
    )
  })

  describe.concurrent('a revoked token (401)', () => {
    it.for(['GET', 'PATCH'])('on %s once: one fresh token, then synced', async (method, { onTestFinished }) => {
      const bed = await start(row, onTestFinished)
      await bed.sync() // warm: token cached
      bed.auth0.putOrganization({ id: ORG, name: ORG, metadata: { ...foreign } })
      bed.auth0.clearRequests()
      bed.auth0.injectFault({ method, path: ORG_PATH, status: 401, times: 1 })
      const report = await bed.sync()
      expect(report.error).toBeUndefined()
      expect(bed.auth0.count({ path: '/oauth/token' })).toBe(1)
      granted(bed)
    })

    it('revoked for real (emulator invalidates every issued token): carries on with a fresh one', async ({
      onTestFinished,
    }) => {
      const bed = await start(row, onTestFinished)
      const organizations = connectAuth0({
        domain: bed.auth0.domain,
        ...DEFAULT_CLIENT,
        timeoutSeconds: 1,
        budgetSeconds: 8,
      }).forInvocation(Date.now() + 8000)
      await organizations.readMetadata(ORG)
      bed.auth0.revokeTokens()
      expect(await organizations.readMetadata(ORG)).toEqual(foreign)
      expect(bed.auth0.count({ path: '/oauth/token' })).toBe(2)
    })

    it.for(['GET', 'PATCH'])(
      'on %s every time: fails as a credentials problem after one refresh',
      async (method, { onTestFinished }) => {
        const bed = await start(row, onTestFinished)
        bed.auth0.injectFault({ method, path: ORG_PATH, status: 401, times: Infinity })
        const report = await bed.sync()
        expect(report.error).toMatchObject({ reason: 'auth0-credentials', retryable: false })
        expect(report.error?.message).toMatch(/AUTH0_CLIENT_ID \/ AUTH0_CLIENT_SECRET/)
        expect(attempts(bed, method)).toBe(2)
        untouched(bed)
      },
    )

    it('wrong client secret: fails at the token endpoint as a credentials problem', async ({ onTestFinished }) => {
      const bed = await start(row, onTestFinished)
      const organizations = connectAuth0({
        domain: bed.auth0.domain,
        clientId: DEFAULT_CLIENT.clientId,
        clientSecret: 'wrong-secret',
        timeoutSeconds: 1,
        budgetSeconds: 8,
      }).forInvocation(Date.now() + 8000)
      await expect(organizations.readMetadata(ORG)).rejects.toMatchObject({ reason: 'auth0-credentials' })
      expect(bed.auth0.count({ path: ORG_PATH })).toBe(0)
    })
  })

  describe.concurrent('permanent faults: no retry', () => {
    it.for([
      ['read:organizations', ['update:organizations'], 'GET'],
      ['update:organizations', ['read:organizations'], 'PATCH'],
    ] as const)('403 missing %s: fails naming the scope', async ([scope, scopes, method], { onTestFinished }) => {
      const bed = await start(row, onTestFinished, { ...DEFAULT_CLIENT, scopes: [...scopes] })
      const report = await bed.sync()
      expect(report.error).toMatchObject({ reason: 'auth0-forbidden', retryable: false })
      expect(report.error?.message).toContain(`grant the scope ${scope}`)
      expect(attempts(bed, method)).toBe(1)
      untouched(bed)
    })

    it('404 unknown organization: fails naming the organization, one request', async ({ onTestFinished }) => {
      const bed = await start(row, onTestFinished, DEFAULT_CLIENT, [])
      const report = await bed.sync()
      expect(report.error).toMatchObject({ reason: 'organization-not-found', organizationId: ORG, retryable: false })
      expect(report.error?.message).toContain(`Auth0 has no Organization ${ORG}`)
      expect(attempts(bed, 'GET')).toBe(1)
    })

    it.for(['GET', 'PATCH'])(
      '400 on %s: fails with Auth0’s message, one request',
      async (method, { onTestFinished }) => {
        const bed = await start(row, onTestFinished)
        bed.auth0.injectFault({ method, path: ORG_PATH, status: 400, times: Infinity })
        const report = await bed.sync()
        expect(report.error).toMatchObject({ reason: 'auth0-rejected', retryable: false })
        expect(attempts(bed, method)).toBe(1)
        untouched(bed)
      },
    )
  })

  describe.concurrent('time budget', () => {
    it('a rate limit asking for longer than the invocation has left fails at once, saying so', async ({
      onTestFinished,
    }) => {
      const bed = await start(row, onTestFinished)
      bed.auth0.injectFault({ method: 'PATCH', path: ORG_PATH, status: 429, headers: { 'retry-after': '60' } })
      const report = await bed.sync({ budgetSeconds: 5 })
      expect(report.error).toMatchObject({ reason: 'auth0-unavailable', retryable: true })
      expect(report.error?.message).toMatch(/asked to wait 60\.0 s, more than this invocation has left/)
      expect(attempts(bed, 'PATCH')).toBe(1)
    })
  })

  describe.concurrent('Content Lake faults', () => {
    it.for([
      ['503 once (the client retries it)', { status: 503, times: 1 }, undefined],
      ['503 on repeat', { status: 503, times: Infinity }, 'content-lake-unavailable'],
      ['500 once (not retried by the client)', { status: 500, times: 1 }, 'content-lake-unavailable'],
      ['connection reset once (GET, retried)', { reset: true, times: 1 }, undefined],
    ] as const)('%s', async ([_name, fault, reason], { onTestFinished }) => {
      const bed = await start(row, onTestFinished)
      bed.lake.injectFault({ path: '/data/query/', ...fault })
      const report = await bed.sync()
      if (reason) {
        expect(report.error).toMatchObject({ reason, retryable: true })
        expect(bed.auth0.count({ path: /organizations/ })).toBe(0)
        untouched(bed)
      } else {
        expect(report.error).toBeUndefined()
        granted(bed)
      }
    })
  })
})
