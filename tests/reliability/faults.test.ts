/**
 * The fault matrix: every fault injected once and on repeat, on the read and on the write, through the real
 * `auth0` SDK and `@sanity/client` against the emulators. Once → the right Auth0 state; on repeat → a loud,
 * specific failure with nothing half-written, inside the time budget. The whole matrix runs under each row of
 * ./limits.ts: every plan's rate limits and every reading of x-ratelimit-reset, on top of the injected faults.
 *
 * And under each way the platform may hand the event over (emulators/blueprint-runner.ts, PlatformModel.redelivery;
 * none is documented): `once` (a failed delivery is delivered again), `duplicate` (every delivery is delivered again
 * when it ends, whatever its outcome), `lost` (never delivered: the next invocation's repair step, on by default,
 * syncs the policy and records its status). Each claim is checked on the delivery that meets the fault, and the
 * second delivery must keep it: a success is not undone and not written twice, a failure fails again the same way
 * with nothing written. The redelivery modes run without rate limits (the plans' rows with the platform's own
 * `none`): what they add is a second invocation, not a new reading of the limits. The concurrent copy racing the
 * first is tests/reliability/ordering.test.ts's subject.
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
import { readBacklog } from '../../src/gateways/backlog.ts'
import { createPolicyStore } from '../../src/gateways/sanity.ts'
import { recordSyncStatus } from '../../src/gateways/status.ts'
import { statusDocumentId, statusReportOf } from '../../src/status.ts'
import { type SyncReport, syncPolicyEvent } from '../../src/sync/event.ts'
import { runRepairStep } from '../../src/sync/repair-step.ts'
import { policyDocument, roleDocuments } from '../support/policies.ts'
import { LIMITS_MATRIX, type LimitsRow, limitsOptions, NO_LIMITS } from './limits.ts'

const ORG = 'org_acme123' as OrganizationId
const ORG_PATH = `/api/v2/organizations/${ORG}`
const foreign = { crmAccount: 'ACME-0042' }
const event = { _id: 'policy-acme', operation: 'update', auth0OrganizationId: ORG }

/** How the platform hands the event over (see the module comment). */
type Delivery = 'none' | 'once' | 'duplicate' | 'lost'

interface Bed {
  auth0: Auth0Emulator
  lake: ContentLakeEmulator
  /** Delivers the event as `delivery` says; the report of the delivery that met the fault (in `lost`: the repair's). */
  sync(options?: { budgetSeconds?: number }): Promise<SyncReport>
  /** The second delivery's report (`once` after a failure, `duplicate` always), if there was one. */
  again: SyncReport | undefined
  /** The client the first delivery's instance authenticates as; the second delivery's is `${clientId}-again`. */
  clientId: string
  /** Where the second delivery's requests begin in Auth0's request log. */
  secondFrom: number | undefined
}
type OnFinished = (fn: () => Promise<void>) => void

/** Fresh emulators per test (tests here run concurrently), closed when that test finishes. */
async function start(
  row: LimitsRow,
  delivery: Delivery,
  onTestFinished: OnFinished,
  client: Auth0ClientConfig = DEFAULT_CLIENT,
  organizations = [ORG],
): Promise<Bed> {
  // The second delivery runs in another instance, with its own token: told apart by its client (same scopes).
  const again = { ...client, clientId: `${client.clientId}-again` }
  const auth0 = await startAuth0Emulator({
    ...limitsOptions(row),
    clients: [client, again],
    organizations: organizations.map((id) => ({ id, name: id, metadata: { ...foreign } })),
  })
  const lake = await startContentLakeEmulator({ documents: [...roleDocuments(), policyDocument()] })
  const sanity = createClient(lake.clientConfig)
  const policies = createPolicyStore(sanity)
  // One connection per instance, like the function's module scope: its token survives between invocations.
  const connect = (credentials: Auth0ClientConfig) =>
    connectAuth0({ domain: auth0.domain, ...credentials, timeoutSeconds: 1, budgetSeconds: 8 })
  const [first, second] = [connect(client), connect(again)]
  const invoke = (connection: typeof first, budgetSeconds: number, data: unknown = event) =>
    syncPolicyEvent(data, { policies, organizations: connection.forInvocation(Date.now() + budgetSeconds * 1000) })
  const bed: Bed = {
    auth0,
    lake,
    again: undefined,
    clientId: client.clientId,
    secondFrom: undefined,
    sync: async ({ budgetSeconds = 8 } = {}) => {
      bed.again = undefined
      bed.secondFrom = undefined
      if (delivery === 'lost') {
        // Never delivered (so no status for it: a warm-up's is removed). The next invocation, another policy's
        // event, runs the repair step after its own.
        await sanity.delete(statusDocumentId('policy-acme'))
        let repaired: SyncReport | undefined
        const result = await runRepairStep(
          {
            backlog: () => readBacklog(sanity, 'policy-other', 50),
            sync: async (data) => {
              repaired = await invoke(first, budgetSeconds, data)
              return repaired
            },
            record: (data, status) => recordSyncStatus(sanity, data, status, { log: () => {} }),
            statusOf: statusReportOf,
            log: () => {},
          },
          { limit: 3, startBefore: Date.now() + 60_000 },
        )
        expect(result.attempted).toBe(1)
        return repaired as SyncReport
      }
      const report = await invoke(first, budgetSeconds)
      if (delivery === 'duplicate' || (delivery === 'once' && report.error)) {
        bed.secondFrom = auth0.filterRequests().length
        bed.again = await invoke(second, budgetSeconds)
      }
      return report
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
/**
 * Requests a delivery sent for the Organization (`first`: the first, or the repair; `second`: the second delivery),
 * not counting those the plan's own limits refused. The deliveries run one after the other, so the request log splits
 * where the second began (a faulted request carries no client: it was answered before its token was read).
 */
const attempts = (bed: Bed, method: string, which: 'first' | 'second' = 'first') => {
  const log = bed.auth0.filterRequests()
  const split = bed.secondFrom ?? log.length
  return (which === 'first' ? log.slice(0, split) : log.slice(split))
    .filter((request) => request.method === method && request.path === ORG_PATH)
    .filter((request) => !(request.status === 429 && request.fault === undefined)).length
}
const again = (bed: Bed, method: string) => attempts(bed, method, 'second')

/**
 * What the second delivery did, given the first's report, and checks the policy's state after both. After a success:
 * it found nothing to write (one read, no write). After a failure: it failed the same way with nothing written when
 * the fault persists, and synced when the fault was a one-off. None when the mode has none. In `lost`, the policy's
 * status records the repair's outcome (a failure there is what the next invocation's repair step picks up).
 */
function secondDelivery(bed: Bed, delivery: Delivery, first: SyncReport, fault: 'persists' | 'cleared') {
  if (delivery === 'lost') {
    const status = bed.lake.getDocument(statusDocumentId('policy-acme'))
    expect(status).toMatchObject({ outcome: first.outcome, ...(first.error ? { reason: first.error.reason } : {}) })
    return
  }
  if (delivery === 'none' || (delivery === 'once' && !first.error)) {
    expect(bed.again).toBeUndefined()
    expect(again(bed, 'GET') + again(bed, 'PATCH')).toBe(0)
    return
  }
  if (!first.error) {
    expect(bed.again).toMatchObject({ outcome: 'unchanged', error: undefined })
    expect([again(bed, 'GET'), again(bed, 'PATCH')]).toEqual([1, 0])
    granted(bed)
  } else if (fault === 'persists') {
    expect(bed.again?.outcome).toBe('failed')
    expect(bed.again?.error).toMatchObject({ reason: first.error.reason, retryable: first.error.retryable })
  } else {
    expect(bed.again).toMatchObject({ outcome: 'synced', error: undefined })
    granted(bed)
  }
}

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

/**
 * Under a redelivery mode, one fault of each kind the gateway tells apart (a 429, a 5xx, a reset, a timeout): the
 * mode adds a second invocation (or the repair's), whose handling does not depend on which 5xx or which 429 header it
 * was; every fault is classified under `none`. The on-repeat cases wait out a budget per delivery, so the whole list
 * again under three modes would add about 20 s to the suite's serial tail.
 */
const REDELIVERY_FAULTS = new Set(['429 with Retry-After', '503', 'connection reset', 'request timeout'])
const transientFor = (delivery: Delivery) =>
  delivery === 'none' ? transient : transient.filter(([name]) => REDELIVERY_FAULTS.has(name))

// The cases mostly wait (retries, budgets): more of them at once keeps the matrix's wall time near one row's.
vi.setConfig({ maxConcurrency: 24 })

/** Every rate-limit row with the platform's own delivery; each other delivery without limits. */
const CASES: readonly { row: LimitsRow; delivery: Delivery }[] = [
  ...LIMITS_MATRIX.map((row) => ({ row, delivery: 'none' as const })),
  ...(['once', 'duplicate', 'lost'] as const).map((delivery) => ({ row: NO_LIMITS, delivery })),
]

describe.concurrent.each(CASES)('under $row.name, delivery $delivery', ({ row, delivery }) => {
  describe.concurrent.each(['GET', 'PATCH'])('transient faults on %s', (method) => {
    it.for(transientFor(delivery))('%s once: retried, then synced', async ([_name, fault], { onTestFinished }) => {
      const bed = await start(row, delivery, onTestFinished)
      bed.auth0.injectFault({ method, path: ORG_PATH, times: 1, ...fault() })
      const report = await bed.sync()
      expect(report.error).toBeUndefined()
      expect(report.outcome).toBe('synced')
      expect(attempts(bed, method)).toBe(2)
      granted(bed)
      secondDelivery(bed, delivery, report, 'cleared')
    })

    it.for(transientFor(delivery))(
      '%s on repeat: fails loudly, retryable, nothing written',
      async ([_name, fault], { onTestFinished }) => {
        const bed = await start(row, delivery, onTestFinished)
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
        secondDelivery(bed, delivery, report, 'persists')
      },
    )
  })

  describe.concurrent('a revoked token (401)', () => {
    it.for(['GET', 'PATCH'])('on %s once: one fresh token, then synced', async (method, { onTestFinished }) => {
      const bed = await start(row, delivery, onTestFinished)
      await bed.sync() // warm: token cached
      bed.auth0.putOrganization({ id: ORG, name: ORG, metadata: { ...foreign } })
      bed.auth0.clearRequests()
      bed.auth0.injectFault({ method, path: ORG_PATH, status: 401, times: 1 })
      const report = await bed.sync()
      expect(report.error).toBeUndefined()
      const tokens = bed.auth0.filterRequests({ path: '/oauth/token' })
      expect(tokens.filter(({ clientId }) => clientId === bed.clientId).length).toBe(1)
      granted(bed)
      secondDelivery(bed, delivery, report, 'cleared')
    })

    // Not a delivery: the gateway alone, once.
    it.runIf(delivery === 'none')(
      'revoked for real (emulator invalidates every issued token): carries on with a fresh one',
      async ({ onTestFinished }) => {
        const bed = await start(row, delivery, onTestFinished)
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
      },
    )

    it.for(['GET', 'PATCH'])(
      'on %s every time: fails as a credentials problem after one refresh',
      async (method, { onTestFinished }) => {
        const bed = await start(row, delivery, onTestFinished)
        bed.auth0.injectFault({ method, path: ORG_PATH, status: 401, times: Infinity })
        const report = await bed.sync()
        expect(report.error).toMatchObject({ reason: 'auth0-credentials', retryable: false })
        expect(report.error?.message).toMatch(/AUTH0_CLIENT_ID \/ AUTH0_CLIENT_SECRET/)
        expect(attempts(bed, method)).toBe(2)
        untouched(bed)
        secondDelivery(bed, delivery, report, 'persists')
      },
    )

    it.runIf(delivery === 'none')(
      'wrong client secret: fails at the token endpoint as a credentials problem',
      async ({ onTestFinished }) => {
        const bed = await start(row, delivery, onTestFinished)
        const organizations = connectAuth0({
          domain: bed.auth0.domain,
          clientId: DEFAULT_CLIENT.clientId,
          clientSecret: 'wrong-secret',
          timeoutSeconds: 1,
          budgetSeconds: 8,
        }).forInvocation(Date.now() + 8000)
        await expect(organizations.readMetadata(ORG)).rejects.toMatchObject({ reason: 'auth0-credentials' })
        expect(bed.auth0.count({ path: ORG_PATH })).toBe(0)
      },
    )
  })

  describe.concurrent('permanent faults: no retry', () => {
    it.for([
      ['read:organizations', ['update:organizations'], 'GET'],
      ['update:organizations', ['read:organizations'], 'PATCH'],
    ] as const)('403 missing %s: fails naming the scope', async ([scope, scopes, method], { onTestFinished }) => {
      const bed = await start(row, delivery, onTestFinished, { ...DEFAULT_CLIENT, scopes: [...scopes] })
      const report = await bed.sync()
      expect(report.error).toMatchObject({ reason: 'auth0-forbidden', retryable: false })
      expect(report.error?.message).toContain(`grant the scope ${scope}`)
      expect(attempts(bed, method)).toBe(1)
      untouched(bed)
      secondDelivery(bed, delivery, report, 'persists')
    })

    it('404 unknown organization: fails naming the organization, one request', async ({ onTestFinished }) => {
      const bed = await start(row, delivery, onTestFinished, DEFAULT_CLIENT, [])
      const report = await bed.sync()
      expect(report.error).toMatchObject({ reason: 'organization-not-found', organizationId: ORG, retryable: false })
      expect(report.error?.message).toContain(`Auth0 has no Organization ${ORG}`)
      expect(attempts(bed, 'GET')).toBe(1)
      secondDelivery(bed, delivery, report, 'persists')
    })

    it.for(['GET', 'PATCH'])(
      '400 on %s: fails with Auth0’s message, one request',
      async (method, { onTestFinished }) => {
        const bed = await start(row, delivery, onTestFinished)
        bed.auth0.injectFault({ method, path: ORG_PATH, status: 400, times: Infinity })
        const report = await bed.sync()
        expect(report.error).toMatchObject({ reason: 'auth0-rejected', retryable: false })
        expect(attempts(bed, method)).toBe(1)
        untouched(bed)
        secondDelivery(bed, delivery, report, 'persists')
      },
    )
  })

  describe.concurrent('time budget', () => {
    it('a rate limit asking for longer than the invocation has left fails at once, saying so', async ({
      onTestFinished,
    }) => {
      const bed = await start(row, delivery, onTestFinished)
      bed.auth0.injectFault({ method: 'PATCH', path: ORG_PATH, status: 429, headers: { 'retry-after': '60' } })
      const report = await bed.sync({ budgetSeconds: 5 })
      expect(report.error).toMatchObject({ reason: 'auth0-unavailable', retryable: true })
      expect(report.error?.message).toMatch(/asked to wait 60\.0 s, more than this invocation has left/)
      expect(attempts(bed, 'PATCH')).toBe(1)
      // A one-off 429: a second delivery syncs.
      secondDelivery(bed, delivery, report, 'cleared')
    })
  })

  // Not in `lost`: there the fault would meet the repair step's backlog query first, which leaves the policy for the
  // next invocation (logged, never failing it); the claim here is about the sync's own reads.
  describe.skipIf(delivery === 'lost').concurrent('Content Lake faults', () => {
    it.for([
      ['503 once (the client retries it)', { status: 503, times: 1 }, undefined],
      ['503 on repeat', { status: 503, times: Infinity }, 'content-lake-unavailable'],
      ['500 once (not retried by the client)', { status: 500, times: 1 }, 'content-lake-unavailable'],
      ['connection reset once (GET, retried)', { reset: true, times: 1 }, undefined],
    ] as const)('%s', async ([_name, fault, reason], { onTestFinished }) => {
      const bed = await start(row, delivery, onTestFinished)
      bed.lake.injectFault({ path: '/data/query/', ...fault })
      const report = await bed.sync()
      if (reason) {
        expect(report.error).toMatchObject({ reason, retryable: true })
        expect(attempts(bed, 'GET') + attempts(bed, 'PATCH')).toBe(0)
        if (!bed.again) untouched(bed)
      } else {
        expect(report.error).toBeUndefined()
        granted(bed)
      }
      secondDelivery(bed, delivery, report, fault.times === 1 ? 'cleared' : 'persists')
    })
  })
})
