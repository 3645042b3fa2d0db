/**
 * P6, a release publish under the platform model (issue 16, outcome 3): 300 new policies, each naming an
 * Organization of its own (which holds a key of its own), and one role slug change, published in one transaction
 * as a Sanity release publishes its documents (platform-facts.md "Releases": ordinary create/update events for the
 * published IDs, all at once). Half the policies grant the role whose slug changes, so its fan-out (fan-out-role)
 * re-syncs their Organizations while their own events run. The strict runner with the caps on (200 invocations per
 * function per 30 s: about 100 of the 300 policy events are not run), query lag, one worker instance per parallel
 * event (up to 8), the blueprint's timeouts, no redelivery, no scheduled function; 40 ms added to every request;
 * Auth0 without rate limits (the emulator's default: this benchmark is about the caps, P2 about the limits).
 *
 * Lost updates and the repair path as in P2 (platform.ts). This function runs its repair step
 * (SYNC_REPAIR_STEP_LIMIT, REPAIR_ON); the naive handler, run the same way in the same process after it, has none.
 */
import { isOrganizationId } from '../../src/core/auth0-rules.ts'
import {
  BILLING_ASSUMPTIONS,
  countRequests,
  loadAverage,
  naiveBehind,
  type PlatformStack,
  productBehind,
  queryLagNote,
  REPAIR_ON,
  repairPath,
  startPlatformStack,
  type Variant,
} from './platform.ts'
import { referencedDocuments } from './reconcile.ts'
import type { Bench, BenchReport } from './types.ts'

const POLICIES = 300
const LATENCY_MS = 40
const CHANGED_ROLE = 'role-editor'

const VARIANTS: readonly Variant[] = [
  { label: 'this function', handler: 'product', settings: { SYNC_REPAIR_STEP_LIMIT: REPAIR_ON } },
  { label: 'naive', handler: 'naive' },
]

const pad = (index: number) => String(index).padStart(3, '0')
const organizationOf = (index: number) => `org_rel${pad(index)}`

function releasePolicies() {
  const plans = ['free', 'team', 'pro', 'enterprise']
  return Array.from({ length: POLICIES }, (_, index) => ({
    _id: `policy-rel-${pad(index)}`,
    _type: 'accessPolicy',
    title: `Customer ${pad(index)}`,
    auth0OrganizationId: organizationOf(index),
    plan: plans[index % plans.length],
    allowedContentTags: ['docs', index % 3 === 0 ? 'reports' : 'webinars'],
    role: { _type: 'reference', _ref: index % 2 === 0 ? CHANGED_ROLE : 'role-viewer' },
    status: 'active',
  }))
}

interface ReleaseRun {
  readonly variant: Variant
  readonly invocations: Readonly<Record<string, number>>
  readonly failed: number
  readonly dropped: Readonly<Record<string, number>>
  readonly coldStarts: number
  readonly counts: ReturnType<typeof countRequests>
  readonly gbEvents: number
  readonly gbRepair: number
  readonly settledSeconds: number
  readonly lostAfterEvents: number
  readonly lostAfterRepair: number
  readonly repairPublishes: number
  readonly foreignKeysLost: number
}

export const releaseBench: Bench = {
  id: 'P6',
  title: `Release publish: ${POLICIES} policies and one role slug change in one transaction, caps on, no schedule`,
  async run({ log }): Promise<BenchReport> {
    const runs: ReleaseRun[] = []
    for (const variant of VARIANTS) {
      log(`P6: ${variant.label}`)
      runs.push(await release(variant))
    }
    const row = (label: string, value: (run: ReleaseRun) => string) => ({ label, values: runs.map(value) })
    const byName = (record: Readonly<Record<string, number>>) =>
      Object.entries(record)
        .map(([name, n]) => `${n} ${name}`)
        .join(', ') || '0'
    const ours = runs.find((run) => run.variant.handler === 'product') as ReleaseRun
    return {
      columns: runs.map((run) => `${run.variant.label}, ${LATENCY_MS} ms`),
      rows: [
        row('invocations', (r) => byName(r.invocations)),
        row('  failed', (r) => `${r.failed}`),
        row('events not run (caps)', (r) => byName(r.dropped)),
        row('cold starts (instances)', (r) => `${r.coldStarts}`),
        row('Auth0 tokens', (r) => `${r.counts.tokens}`),
        row('Auth0 GET / PATCH', (r) => `${r.counts.reads} / ${r.counts.writes}`),
        row('Content Lake requests', (r) => `${r.counts.lake}`),
        row('billed GB-s, the release', (r) => r.gbEvents.toFixed(1)),
        row('billed GB-s, the repair path', (r) => (r.variant.handler === 'naive' ? '–' : r.gbRepair.toFixed(1))),
        row('settled after (s)', (r) => r.settledSeconds.toFixed(1)),
        row('lost after the events', (r) => `${r.lostAfterEvents}`),
        row('lost after the repair path', (r) =>
          r.variant.handler === 'naive'
            ? `${r.lostAfterEvents} (none)`
            : `${r.lostAfterRepair} (${r.repairPublishes} later publishes)`,
        ),
        row('Organizations that lost a key of their own', (r) => `${r.foreignKeysLost}`),
      ],
      targets: [
        {
          label: 'lost after the repair path, caps on, no schedule',
          measured: `${ours.lostAfterRepair} (after the events: ${ours.lostAfterEvents}; ${ours.repairPublishes} later publishes)`,
          target: '0',
          met: ours.lostAfterRepair === 0,
        },
        {
          label: 'Auth0 tokens against cold instances',
          measured: `${ours.counts.tokens} / ${ours.coldStarts}`,
          target: '≤ 1×',
          met: ours.counts.tokens <= ours.coldStarts,
        },
      ],
      method: `one transaction: ${POLICIES} creates (half granting ${CHANGED_ROLE}) and ${CHANGED_ROLE}'s slug changed; strict runner (${queryLagNote()}, caps 200 per function per 30 s, up to 8 instances at once, the blueprint's timeouts, no redelivery, no scheduled function), ${LATENCY_MS} ms added to every request, Auth0 without rate limits; the columns one after the other in one process; the repair path: the repair steps (SYNC_REPAIR_STEP_LIMIT=${REPAIR_ON}) of the release's invocations, then later editorial publishes of policies in step, one at a time after the cap window, until none is behind (at most 10). ${BILLING_ASSUMPTIONS}. Load average at the end: ${loadAverage()}.`,
    }
  },
}

async function release(variant: Variant): Promise<ReleaseRun> {
  const policies = releasePolicies()
  const organizationIds = policies.map((policy) => policy.auth0OrganizationId).filter(isOrganizationId)
  const foreignKeys = (id: string) => ({ crmAccount: `CRM-${id}` })
  const stack = await startPlatformStack({
    variant,
    latencyMs: LATENCY_MS,
    documents: referencedDocuments(),
    organizations: organizationIds.map((id, index) => ({ id, name: `rel-${index}`, metadata: foreignKeys(id) })),
  })
  try {
    return await measure(stack, variant, organizationIds, policies)
  } finally {
    await stack.close()
  }
}

async function measure(
  stack: PlatformStack,
  variant: Variant,
  organizationIds: readonly string[],
  policies: ReturnType<typeof releasePolicies>,
): Promise<ReleaseRun> {
  const started = Date.now()
  await stack.lake.transact([
    ...policies.map((policy) => ({ create: policy })),
    { patch: { id: CHANGED_ROLE, set: { slug: { _type: 'slug', current: 'editor-2026' } } } },
  ])
  await stack.settled()
  const settledSeconds = (Date.now() - started) / 1000
  const counts = countRequests(stack)
  const eventBilling = stack.billing()
  const invocations: Record<string, number> = {}
  for (const { functionName } of stack.runner.invocations)
    invocations[functionName] = (invocations[functionName] ?? 0) + 1
  const dropped: Record<string, number> = {}
  for (const { functionName } of stack.runner.dropped) dropped[functionName] = (dropped[functionName] ?? 0) + 1
  const failed = stack.runner.invocations.filter((invocation) => invocation.error !== undefined).length
  const coldStarts = Object.values(stack.runner.coldStarts).reduce((sum, n) => sum + n, 0)
  const policyIds = policies.map((policy) => policy._id)
  const behind = () =>
    variant.handler === 'naive' ? naiveBehind(stack, policyIds) : productBehind(stack, organizationIds)
  const lostAfterEvents = (await behind()).length
  const repaired =
    variant.handler === 'naive'
      ? { lost: lostAfterEvents, publishes: 0 }
      : await repairPath(stack, behind, (lost) => policies.find((p) => !lost.includes(p.auth0OrganizationId))?._id)
  return {
    variant,
    invocations,
    failed,
    dropped,
    coldStarts,
    counts,
    gbEvents: eventBilling.gbSeconds,
    gbRepair: stack.billing().gbSeconds - eventBilling.gbSeconds,
    settledSeconds,
    lostAfterEvents,
    lostAfterRepair: repaired.lost,
    repairPublishes: repaired.publishes,
    foreignKeysLost: organizationIds.filter((id) => stack.auth0.getOrganization(id)?.metadata?.crmAccount === undefined)
      .length,
  }
}
