/**
 * A burst against Auth0's write limit: invocations that wait out a 429 plan again from what the Content Lake and
 * Auth0 hold after the wait, so the ones queued for one Organization coalesce into one write of its latest state
 * instead of each writing the state it planned before the wait. An invocation whose revision was published over
 * leaves the Organization to the later revision's invocation. Proven by counting requests at the emulator (the
 * write bucket holds one request and refills slowly, so the later invocations must wait) and by the sync status
 * each invocation recorded. Real SDKs, real handler. Runs under each row of ./limits.ts: the plan's tenant-wide and
 * per-endpoint buckets and its reading of x-ratelimit-reset (and Retry-After) on top of the tight bucket each test sets.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Auth0EmulatorOptions } from '../../emulators/auth0.ts'
import type { MutationChange } from '../../emulators/content-lake.ts'
import { type LocalStack, startLocalStack } from '../../emulators/stack.ts'
import { statusDocumentId } from '../../src/status.ts'
import { planDocuments, policyDocument, roleDocuments } from '../support/policies.ts'
import { LIMITS_MATRIX, type LimitsRow, limitsOptions, NO_LIMITS } from './limits.ts'

const ORG = 'org_burst01'
const POLICY = 'policy-burst'
const FOREIGN = { crmAccount: 'CRM-7' }

/**
 * A stack whose tenant has ORG (with its own key) and `others`, under the row's plan with these buckets on top (the
 * plan's alone when omitted). Under a plan, the tight buckets refill per second too, as the plan's do.
 */
async function restart(rateLimits?: Auth0EmulatorOptions['rateLimits'], others: string[] = []) {
  const planned = row.preset !== undefined
  const tight =
    rateLimits && planned
      ? Object.fromEntries(
          Object.entries(rateLimits).map(([name, bucket]) => [name, bucket && { ...bucket, perSecond: true }]),
        )
      : rateLimits
  await running?.close()
  running = stack = await startLocalStack({
    documents: [...roleDocuments(), ...planDocuments()],
    auth0: {
      organizations: [
        { id: ORG, name: 'burst', metadata: { ...FOREIGN } },
        ...others.map((id) => ({ id, name: id, metadata: {} })),
      ],
      ...limitsOptions(row),
      ...(tight || planned ? { rateLimits: tight, timeScale: 2, scaledReset: true } : {}),
    },
  })
}

let stack: LocalStack
let running: LocalStack | undefined
let row: LimitsRow = NO_LIMITS

const okWrites = () =>
  stack.auth0.filterRequests({ method: 'PATCH', path: `/api/v2/organizations/${ORG}` }).filter((r) => r.status === 200)
const limitedWrites = () => stack.auth0.filterRequests({ method: 'PATCH' }).filter((r) => r.status === 429)
/** Any request refused for a rate limit: under a tenant-wide plan the read may be the one that waits. */
const limited = () => stack.auth0.requests.filter((r) => r.status === 429)
/** Requests that got through (the plan's refusals are retries, not requests the test counts). */
const sent = (filter: { method: string; path: string }) =>
  stack.auth0.filterRequests(filter).filter((r) => r.status !== 429)

/** Publishes the policy with this plan (and Organization); returns the published revision. */
async function publish(plan: string, organizationId = ORG): Promise<string> {
  const published = await stack.sanity.createOrReplace(
    policyDocument({ _id: POLICY, auth0OrganizationId: organizationId, plan }),
  )
  return published._rev
}

/** The policy revisions that recorded a sync status, oldest first, with their outcome and Organizations. */
function recordedAttempts() {
  const status = stack.lake.getDocument(statusDocumentId(POLICY)) as {
    history?: Array<{ policyRevision?: string; outcome?: string; organizations?: Array<{ organizationId: string }> }>
  } | null
  return (status?.history ?? [])
    .map((attempt) => ({
      revision: attempt.policyRevision,
      outcome: attempt.outcome,
      organizations: attempt.organizations?.map((organization) => organization.organizationId),
    }))
    .reverse()
}

async function until(condition: () => boolean) {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 10_000) throw new Error('condition not met within 10 s')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe.each(LIMITS_MATRIX)('under $name', (limits) => {
  // One write at once, the next one a real second later: every write after the first waits on the limit.
  beforeEach(() => {
    row = limits
    return restart({ write: { capacity: 1, refillPerMinute: 30 } })
  })
  afterEach(async () => {
    await running?.close()
    running = undefined
  })

  describe('a burst of publishes against the write limit', () => {
    it('an invocation published over while it waited on the limit hands over: one write, of the latest state', async () => {
      const free = await publish('free')
      await stack.deliver() // takes the bucket's only write
      expect(okWrites()).toHaveLength(1)

      await publish('team')
      const first = stack.deliver()
      await until(() => limited().length > 0) // the 'team' invocation now waits on the limit…
      const pro = await publish('pro') // …while the policy moves on, and the 'pro' invocation queues behind it
      const second = stack.deliver()
      const invocations = [...(await first), ...(await second)]

      expect(invocations).toHaveLength(2)
      expect(invocations.map((invocation) => invocation.error)).toEqual([undefined, undefined])
      // One write for the two publishes made during the wait, and it is the latest: 'team' was never written.
      expect(okWrites()).toHaveLength(2)
      expect(okWrites().map((request) => (request.body as { metadata: { plan: string } }).metadata.plan)).toEqual([
        'free',
        'pro',
      ])
      expect(stack.metadata(ORG)).toMatchObject({ ...FOREIGN, plan: 'pro' })
      // The 'team' invocation recorded nothing: the 'pro' one owns the Organization and its status says synced.
      expect(recordedAttempts()).toEqual([
        { revision: free, outcome: 'synced', organizations: [ORG] },
        { revision: pro, outcome: 'synced', organizations: [ORG] },
      ])
    })

    it('an invocation published over while its read waited on the limit hands over without reading again', async () => {
      await restart({ read: { capacity: 1, refillPerMinute: 30 } })
      const okReads = () =>
        stack.auth0
          .filterRequests({ method: 'GET', path: `/api/v2/organizations/${ORG}` })
          .filter((r) => r.status === 200)
      const free = await publish('free')
      await stack.deliver() // takes the bucket's only read
      await publish('team')
      const first = stack.deliver()
      await until(() => stack.auth0.filterRequests({ method: 'GET' }).some((request) => request.status === 429))
      const pro = await publish('pro')
      const invocations = [...(await first), ...(await stack.deliver())]

      expect(invocations.map((invocation) => invocation.error)).toEqual([undefined, undefined])
      // Two reads went through: the 'free' invocation's and the 'pro' one's. The 'team' one never read again.
      expect(okReads()).toHaveLength(2)
      expect(stack.metadata(ORG)).toMatchObject({ ...FOREIGN, plan: 'pro' })
      expect(recordedAttempts().map(({ revision }) => revision)).toEqual([free, pro])
    })

    it('a write that may have reached Auth0 before the 429 is never handed over: it is re-planned and sent', async () => {
      await restart()
      await publish('free')
      await stack.deliver()
      const team = await publish('team')
      // The first attempt ends in a 503 (Auth0 may or may not have applied it), the second in a 429.
      stack.auth0.injectFault({ method: 'PATCH', status: 503 })
      stack.auth0.injectFault({ method: 'PATCH', status: 429, headers: { 'retry-after': '1' } })
      const first = stack.deliver()
      await until(() => limitedWrites().length > 0)
      await publish('pro') // during the wait; its event is delivered once the 'team' invocation is done
      const invocations = [...(await first), ...(await stack.deliver())]

      expect(invocations.map((invocation) => invocation.error)).toEqual([undefined, undefined])
      // The 'team' invocation wrote the latest state itself, as its status says; the 'pro' one found it in place.
      expect(okWrites().map((request) => (request.body as { metadata: { plan: string } }).metadata.plan)).toEqual([
        'free',
        'pro',
      ])
      expect(recordedAttempts().map(({ revision, outcome }) => [revision === team, outcome])).toEqual([
        [false, 'synced'],
        [true, 'synced'],
        [false, 'unchanged'],
      ])
    })

    it("an invocation published over before it starts costs one query and one Doc API read, and the repair step's backlog query sent with them: no Auth0 request, no status write", async () => {
      const free = await publish('free')
      await stack.deliver()
      const changes: MutationChange[] = []
      stack.lake.onMutation((change) => {
        if (change.id === POLICY) changes.push(change)
      })
      await publish('team')
      const pro = await publish('pro')
      await stack.lake.settled()
      stack.auth0.clearRequests()
      stack.lake.clearRequests()
      const [team] = changes
      if (!team) throw new Error('no change recorded for the team publish')
      const invocation = await stack.redeliver(team)

      expect(invocation?.error).toBeUndefined()
      expect(stack.auth0.requests).toEqual([])
      // The Doc API read tells a later revision from a query that has not caught up (queries lag commits). The repair
      // step (on by default, src/sync/repair-step.ts) sends its backlog query with the event's: nothing behind, so
      // that query and nothing else.
      const requests = stack.lake.requests.map((request) => ({ path: request.path, tag: request.query.tag }))
      expect(requests).toHaveLength(3)
      expect(requests).toEqual(
        expect.arrayContaining([
          { path: expect.stringMatching(/^\/v[\d-]+\/data\/query\//), tag: 'auth0-access-sync' },
          { path: expect.stringMatching(/^\/v[\d-]+\/data\/doc\/[^/]+\/policy-/), tag: 'auth0-access-sync.latest' },
          { path: expect.stringMatching(/^\/v[\d-]+\/data\/query\//), tag: 'auth0-access-sync.repair-step' },
        ]),
      )
      await stack.deliver() // both events, as the runtime delivers them: 'team' hands over again, 'pro' syncs
      expect(recordedAttempts().map(({ revision }) => revision)).toEqual([free, pro])
      expect(stack.metadata(ORG)).toMatchObject({ ...FOREIGN, plan: 'pro' })
    })

    it('an invocation published over before it starts hands over the Organization it names, and still revokes the one it left', async () => {
      const OTHER = 'org_burst02'
      await restart(undefined, [OTHER])
      await publish('free')
      await stack.deliver()
      const moved = await publish('free', OTHER) // moves the policy to OTHER…
      const later = await publish('pro', OTHER) // …and is published over before its event is delivered
      const invocations = await stack.deliver() // in commit order: the move's event, then the later one's

      expect(invocations.map((invocation) => invocation.error)).toEqual([undefined, undefined])
      expect(stack.metadata(ORG)).toEqual(FOREIGN)
      expect(stack.metadata(OTHER)).toMatchObject({ plan: 'pro' })
      // One write to OTHER, by the later invocation; the move's invocation revoked ORG and left OTHER to it.
      expect(sent({ method: 'PATCH', path: `/api/v2/organizations/${OTHER}` })).toHaveLength(1)
      expect(sent({ method: 'GET', path: `/api/v2/organizations/${OTHER}` })).toHaveLength(1)
      expect(recordedAttempts().slice(1)).toEqual([
        { revision: moved, outcome: 'revoked', organizations: [ORG] },
        { revision: later, outcome: 'synced', organizations: [OTHER] },
      ])
    })

    it('five invocations queued for one Organization make one write between them', async () => {
      await publish('free')
      await stack.deliver()
      const plans = ['team', 'pro', 'enterprise', 'team', 'pro']
      const deliveries: Promise<unknown[]>[] = []
      for (const plan of plans) {
        await publish(plan)
        deliveries.push(stack.deliver())
      }
      const invocations = (await Promise.all(deliveries)).flat() as Array<{ error: unknown }>

      expect(invocations).toHaveLength(plans.length)
      expect(invocations.map((invocation) => invocation.error)).toEqual(plans.map(() => undefined))
      // They did queue on a limit: the write limit, or (under a plan's tenant-wide bucket) the reads before it.
      expect(limited().length).toBeGreaterThan(0)
      expect(okWrites()).toHaveLength(2)
      expect(stack.metadata(ORG)).toMatchObject({ ...FOREIGN, plan: 'pro' })
    })
  })
})
