/**
 * Ordering and concurrency: random sequences of publish / update / delete / organization moves for several
 * policies and organizations, with their events delivered late, duplicated, reordered and concurrently (two
 * invocations racing on Auth0's read-then-replace, some while the documents are still changing). After every
 * event has been delivered at least once, Auth0 must hold exactly what the latest published documents imply,
 * and no key the project does not own may be lost. Real SDKs against the emulators. One outcome is allowed on the way:
 * when a sequence deletes every policy, a late event of another policy than the one whose keys an Organization holds
 * cannot prove the deletion, so the empty-read guard refuses that revoke and the invocation fails visibly; the test
 * then runs what the refusal names (`reconcile --apply --allow-mass-revoke`) and checks that Auth0 converges.
 *
 * ORDERING_RUNS (default 1000) sets the number of sequences; RACE_RUNS how many are replayed with the post-write
 * re-check turned off, to measure how often the race bites without it: a measurement, not a claim, so `npm test`
 * replays 30 (enough to see the replay run) and RACE_RUNS=300 measures. The property also runs under
 * each plan row of ./limits.ts (time-scaled ×30), where invocations race each other for the plan's buckets as well:
 * ORDERING_PLAN_RUNS sequences each (default 20), or a sixth of that with Retry-After, whose whole real seconds time
 * scaling cannot shorten (a sequence then takes about a second).
 */
import { createClient } from '@sanity/client'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { projectEvent } from '../../emulators/functions-runtime.ts'
import { SYNC_FUNCTION } from '../../sanity.blueprint.ts'
import { REVOKE_GUARD_DEFAULTS } from '../../src/core/revoke-guard.ts'
import { type Auth0Connection, connectAuth0 } from '../../src/gateways/auth0.ts'
import { createPolicyReader, createPolicyStore } from '../../src/gateways/sanity.ts'
import { syncPolicyEvent } from '../../src/sync/event.ts'
import { reconcileTenant } from '../../src/sync/reconcile.ts'
import { roleDocuments } from '../support/policies.ts'
import { LIMITS_MATRIX, type LimitsRow, limitsOptions } from './limits.ts'

const ORGS = ['org_one', 'org_two', 'org_three'] as const
const POLICIES = ['policy-1', 'policy-2', 'policy-3'] as const
const ROLE_SLUGS: Record<string, string> = { 'role-editor': 'editor', 'role-viewer': 'viewer' }
const foreignOf = (org: string): Record<string, string> =>
  JSON.parse(`{"crm":"${org}-crm","__proto__":"x-${org}","billing":"net-30"}`)

type Command =
  | {
      kind: 'publish'
      policy: string
      org: string | null
      plan: string | null
      tags: string[]
      status: string
      role: string
    }
  | { kind: 'delete'; policy: string }
/** What happens next: a mutation, a delivery of pending event #i (kept for a duplicate or not), or a race. */
type Step =
  | { kind: 'mutate' }
  | { kind: 'deliver'; pick: number; duplicate: boolean }
  | { kind: 'race'; pick: number; other: number }
  | { kind: 'mutate-during-delivery'; pick: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('publish' as const),
      policy: fc.constantFrom(...POLICIES),
      org: fc.constantFrom<string | null>(...ORGS, null),
      plan: fc.constantFrom<string | null>('free', 'pro', 'team', null),
      tags: fc.subarray(['docs', 'reports', 'üñí', 'webinars']),
      status: fc.constantFrom('active', 'active', 'archived'),
      role: fc.constantFrom('role-editor', 'role-viewer'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), policy: fc.constantFrom(...POLICIES) }) },
)
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'mutate' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat(), duplicate: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('race' as const), pick: fc.nat(), other: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('mutate-during-delivery' as const), pick: fc.nat() }) },
)
const scenario = fc.record({
  commands: fc.array(command, { minLength: 1, maxLength: 7 }),
  steps: fc.array(step, { maxLength: 14 }),
  finalOrder: fc.array(fc.nat(), { maxLength: 20 }),
})
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never

let auth0: Auth0Emulator
let lake: ContentLakeEmulator
let connection: Auth0Connection
const editor = () => createClient({ ...lake.clientConfig, perspective: 'raw' })
/** Emulators for one row of the matrix: a plan's limits, time-scaled so its refills take ms, not seconds. */
async function startBed(row: LimitsRow) {
  const scaled = row.preset ? { timeScale: 30, scaledReset: true } : {}
  auth0 = await startAuth0Emulator({ ...limitsOptions(row), ...scaled })
  lake = await startContentLakeEmulator({ documents: roleDocuments() })
  connection = connectAuth0({ domain: auth0.domain, ...DEFAULT_CLIENT, timeoutSeconds: 5, budgetSeconds: 30 })
}

interface Stats {
  runs: number
  deliveries: number
  races: number
  resynced: number
  wrong: number
  /** Sequences that ended with every policy deleted and a revoke the empty-read guard refused, visibly. */
  refusedOnEmptyRead: number
}

/**
 * How the platform hands an event over (emulators/blueprint-runner.ts, PlatformModel.redelivery; no redelivery is
 * documented, so each is tested): once, again after a failure, or every event twice at the same time.
 */
type Redelivery = 'none' | 'once' | 'duplicate'

/** Plays one scenario; returns whether Auth0 ended right. */
async function play(
  run: Scenario,
  verifyRounds: number | undefined,
  stats: Stats,
  redelivery: Redelivery = 'none',
): Promise<string | undefined> {
  const client = editor()
  await client.delete({ query: '*[_type == "accessPolicy"]' })
  await lake.settled()
  for (const org of ORGS) auth0.putOrganization({ id: org, name: org, metadata: foreignOf(org) })

  const pending: unknown[] = []
  const unsubscribe = lake.onMutation(async (change) => {
    const data = await projectEvent(SYNC_FUNCTION, change, lake.documents())
    if (data !== undefined) pending.push(data)
  })
  const deps = { policies: createPolicyStore(createClient(lake.clientConfig)), verifyRounds }
  const invoke = async (data: unknown) => {
    stats.deliveries++
    const report = await syncPolicyEvent(data, {
      ...deps,
      organizations: connection.forInvocation(Date.now() + 30_000),
    })
    if (report.rounds > 1) stats.resynced++
    return report
  }
  let refused = false
  const deliver = async (data: unknown) => {
    const reports = await Promise.all(redelivery === 'duplicate' ? [invoke(data), invoke(data)] : [invoke(data)])
    for (const report of reports) {
      const error = report.error && redelivery === 'once' ? (await invoke(data)).error : report.error
      // The guard's designed outcome when the read shows no policy at all and the event does not prove the deletion
      // (a late event of another policy than the one whose keys the Organization holds): nothing revoked, the
      // invocation failed visibly. Only legitimate when the dataset really has no published policy left.
      if (error?.reason === 'untrusted-read' && publishedPolicies() === 0) {
        refused = true
        continue
      }
      if (error) throw error
    }
  }
  const take = (pick: number, keep = false) => {
    const index = pick % pending.length
    const [data] = keep ? [pending[index]] : pending.splice(index, 1)
    return data
  }
  const commands = [...run.commands]
  const mutate = async () => {
    const next = commands.shift()
    if (!next) return
    if (next.kind === 'delete') await client.delete(next.policy)
    else {
      const { policy, org, plan, tags, status, role } = next
      const existing = lake.getDocument(policy)
      await client.createOrReplace({
        _id: policy,
        _type: 'accessPolicy',
        ...(existing ? { _createdAt: existing._createdAt } : {}),
        title: `${policy} ${status}`,
        ...(org ? { auth0OrganizationId: org } : {}),
        ...(plan ? { plan } : {}),
        allowedContentTags: tags,
        role: { _type: 'reference', _ref: role },
        status,
        internalNotes: 'never leaves Sanity',
      })
    }
    await lake.settled()
  }

  try {
    for (const s of run.steps) {
      if (s.kind === 'mutate' || pending.length === 0) await mutate()
      else if (s.kind === 'deliver') await deliver(take(s.pick, s.duplicate))
      else if (s.kind === 'race') {
        stats.races++
        await Promise.all([deliver(take(s.pick)), pending.length > 0 ? deliver(take(s.other, true)) : undefined])
      } else {
        stats.races++
        const first = take(s.pick)
        // Network latency on the first write: the invocation that read the older state lands its write last.
        auth0.injectFault({ method: 'PATCH', delayMs: 25, times: 1 })
        await Promise.all([deliver(first), mutate().then(() => (pending.length > 0 ? deliver(take(0)) : undefined))])
      }
    }
    while (commands.length > 0) await mutate()
    // Every event still queued is delivered at least once, in a scrambled order, pairs racing.
    for (const pick of run.finalOrder) {
      if (pending.length < 2) break
      stats.races++
      await Promise.all([deliver(take(pick)), deliver(take(pick + 1))])
    }
    while (pending.length > 0) await deliver(take(0))
  } finally {
    unsubscribe()
    auth0.clearFaults()
  }
  stats.runs++
  if (refused) {
    // What the refusal's message tells the operator to run: the repair path, with the override.
    stats.refusedOnEmptyRead++
    const result = await reconcileTenant(
      {
        policies: createPolicyReader(createClient(lake.clientConfig)),
        organizations: connection.forInvocation(Date.now() + 30_000),
      },
      { apply: true, revokeGuard: { settings: { ...REVOKE_GUARD_DEFAULTS, allowMassRevoke: true } } },
    )
    if (result.summary.counts.failed > 0)
      return `the repair with --allow-mass-revoke failed: ${JSON.stringify(result.entries)}`
  }
  return compare()
}

const publishedPolicies = () =>
  lake.documents().filter((doc) => doc._type === 'accessPolicy' && !doc._id.startsWith('drafts.')).length

/** The expected state, restated independently of the planner: the oldest active policy owns each organization. */
function compare(): string | undefined {
  const docs = lake.documents().filter((doc) => doc._type === 'accessPolicy' && !doc._id.startsWith('drafts.'))
  for (const org of ORGS) {
    const [owner] = docs
      .filter((doc) => doc.status === 'active' && doc.auth0OrganizationId === org)
      .sort((a, b) => (a._createdAt < b._createdAt ? -1 : a._createdAt > b._createdAt ? 1 : a._id < b._id ? -1 : 1))
    const actual = auth0.getOrganization(org)?.metadata ?? {}
    const foreign = foreignOf(org)
    for (const key of Object.keys(foreign)) {
      if (Object.getOwnPropertyDescriptor(actual, key)?.value !== foreign[key]) return `${org} lost foreign key ${key}`
    }
    const expected = owner
      ? {
          plan: (owner.plan as string | undefined) ?? 'free',
          role: ROLE_SLUGS[(owner.role as { _ref: string })._ref],
          contentTags: JSON.stringify([...new Set(owner.allowedContentTags as string[])].sort()),
          sanityPolicyId: owner._id,
        }
      : { plan: undefined, role: undefined, contentTags: undefined, sanityPolicyId: undefined }
    const got = {
      plan: actual.plan,
      role: actual.role,
      contentTags: actual.contentTags,
      sanityPolicyId: actual.sanityPolicyId,
    }
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      return `${org}: expected ${JSON.stringify(expected)}, Auth0 holds ${JSON.stringify(got)}`
    }
  }
  return undefined
}

const emptyStats = (): Stats => ({ runs: 0, deliveries: 0, races: 0, resynced: 0, wrong: 0, refusedOnEmptyRead: 0 })

// A thousand interleavings take about 25 s on 2 idle cores and more under load; the limit only guards against a hang.
const GENEROUS_MS = 180_000

describe.each(LIMITS_MATRIX)('under $name', (row) => {
  beforeAll(() => startBed(row))
  afterAll(async () => {
    await Promise.all([auth0?.close(), lake?.close()])
  })
  const planRuns = Number(process.env.ORDERING_PLAN_RUNS ?? 20)
  const runs = !row.preset
    ? Number(process.env.ORDERING_RUNS ?? 1000)
    : row.retryAfter
      ? Math.ceil(planRuns / 6)
      : planRuns

  describe('event ordering and concurrency', () => {
    // Redelivered and duplicated on top. Without limits, a fifth of the sequences duplicated (each delivery runs
    // twice); `once` differs from `none` only where an invocation fails, so it runs under the plans' limits only.
    const modes: readonly [Redelivery, number][] = row.preset
      ? [
          ['none', runs],
          ['duplicate', runs],
          ['once', runs],
        ]
      : [
          ['none', runs],
          ['duplicate', Math.ceil(runs / 5)],
        ]
    it.for(modes)(
      'redelivery %s: converges to the latest published state for every interleaving, foreign keys intact',
      { timeout: GENEROUS_MS },
      async ([redelivery, numRuns]) => {
        const stats = emptyStats()
        await fc.assert(
          fc.asyncProperty(scenario, async (run) => {
            const problem = await play(run, undefined, stats, redelivery)
            expect(problem).toBeUndefined()
          }),
          { numRuns },
        )
        console.info(`ordering (redelivery ${redelivery}): ${JSON.stringify(stats)}`)
        expect(stats.runs).toBe(numRuns)
        // Races do happen: more than one sequence in two. Asserted on the large samples only: a plan row's few
        // sequences (4 under Retry-After) may draw none, which says nothing about the generator.
        if (numRuns >= 50) expect(stats.races).toBeGreaterThan(stats.runs / 2)
      },
    )

    // A measurement, not a claim: once, without limits.
    it.runIf(row.preset === undefined)(
      'without the post-write re-check the race does bite: measured, not asserted away',
      async () => {
        const stats = emptyStats()
        for (const run of fc.sample(scenario, { numRuns: Number(process.env.RACE_RUNS ?? 30), seed: 42 })) {
          if (await play(run, 0, stats)) stats.wrong++
        }
        console.info(`ordering without re-check: ${JSON.stringify(stats)}`)
        expect(stats.runs).toBeGreaterThan(0)
      },
      GENEROUS_MS,
    )
  })
})
