/**
 * P1, an editorial trace. Ten active policies, each naming its own Organization (which holds a key of its own,
 * `crmAccount`), start in step with Auth0. Then 100 publishes, one at a time, each delivered to the handler as the
 * runtime would (emulators/stack.ts: the blueprint's filter and projection, then the handler): 30 change a synced
 * field (plan, tags or role), 70 change only editorial fields (title, notes). The same seeded trace runs twice,
 * each on fresh emulators: once through this function (its deploy bundle, imported once, so one warm instance) and
 * once through the guide's naive handler (naive-handler.ts). Every request either makes is counted at the emulators.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { DocumentEventHandler } from '@sanity/functions'
import { type LocalStack, startLocalStack } from '../../emulators/stack.ts'
import { SYNC_FUNCTION } from '../../sanity.blueprint.ts'
import { buildFunctions } from '../build-functions.ts'
import { naiveHandler } from './naive-handler.ts'
import type { Bench, BenchReport } from './types.ts'

const POLICIES = 10
const PUBLISHES = 100
const SYNCED_SHARE = 0.3
const SEED = 11
/** Issue #11's targets for this trace. */
const WRITE_RATIO_TARGET = 0.35

interface Publish {
  readonly policyId: string
  /** True when the publish changes a field the function syncs. */
  readonly synced: boolean
  readonly set: Record<string, unknown>
}

/** What the handler asked of Auth0 and the Content Lake, for one event or summed over many. */
interface Cost {
  tokens: number
  reads: number
  writes: number
  queries: number
  /** Queries after the first in an invocation: the re-check after a write. */
  rechecks: number
  statusWrites: number
  otherLake: number
  invocations: number
  failed: number
  ms: number
}

interface Replay {
  readonly total: Cost
  /** Auth0 writes made for publishes that changed no synced field. */
  readonly writesOnUnchanged: number
  readonly foreignKeysLost: number
  /** One event of each kind, as the trace (and two extra events after it) measured it. */
  readonly perKind: ReadonlyMap<string, Cost>
}

const KINDS = [
  ['editorial', 'one editorial republish'],
  ['synced', 'one synced-field change'],
  ['move', 'one move to another Organization'],
  ['invalid', 'one invalid policy (a tag that is a number)'],
] as const

export const editorialTrace: Bench = {
  id: 'P1',
  title: `Editorial trace: ${PUBLISHES} publishes, ${SYNCED_SHARE * 100} % touching synced fields`,
  async run({ log }): Promise<BenchReport> {
    const bundle = (await buildFunctions()).find((built) => built.name === SYNC_FUNCTION.name)
    if (!bundle) throw new Error(`no bundle for ${SYNC_FUNCTION.name}`)
    const { handler } = (await import(pathToFileURL(join(bundle.dir, 'index.js')).href)) as {
      handler: DocumentEventHandler
    }
    const trace = editorialPublishes()
    log(`P1: ${trace.length} publishes through this function's bundle`)
    const ours = await replay(handler, trace)
    log(`P1: the same ${trace.length} publishes through the naive handler`)
    const naive = await replay(naiveHandler, trace)

    const per = (cost: Cost, value: number) => (value / cost.invocations).toFixed(2)
    const row = (label: string, value: (cost: Cost, replay: Replay) => string) => ({
      label,
      values: [value(ours.total, ours), value(naive.total, naive)],
    })
    const kindRow = ([kind, label]: (typeof KINDS)[number]) => ({
      label,
      values: [ours, naive].map((replay) => describeCost(replay.perKind.get(kind))),
    })
    const writeRatio = ours.total.writes / naive.total.writes
    return {
      columns: ['this function', 'naive handler'],
      rows: [
        row('invocations', (c) => `${c.invocations}${c.failed > 0 ? ` (${c.failed} failed)` : ''}`),
        row('Auth0 tokens', (c) => `${c.tokens}`),
        row('Auth0 reads', (c) => `${c.reads}`),
        row('Auth0 writes', (c) => `${c.writes}`),
        row('  of which for unchanged republishes', (_, r) => `${r.writesOnUnchanged}`),
        row('Content Lake queries', (c) => `${c.queries - c.rechecks}`),
        row('  re-checks after a write', (c) => `${c.rechecks}`),
        row('  status writes', (c) => `${c.statusWrites}`),
        row('Content Lake requests, all', (c) => `${c.queries + c.statusWrites + c.otherLake}`),
        row('Auth0 requests per event', (c) => per(c, c.tokens + c.reads + c.writes)),
        row('Content Lake requests per event', (c) => per(c, c.queries + c.statusWrites + c.otherLake)),
        row('wall time', (c) => `${c.ms.toFixed(0)} ms`),
        row('Organizations that lost a key of their own', (_, r) => `${r.foreignKeysLost} of ${POLICIES}`),
        ...KINDS.map(kindRow),
      ],
      targets: [
        {
          label: 'Auth0 writes against the naive handler',
          measured: `${ours.total.writes}/${naive.total.writes} = ${writeRatio.toFixed(2)}×`,
          target: `≤ ${WRITE_RATIO_TARGET}×`,
          met: writeRatio <= WRITE_RATIO_TARGET,
        },
        {
          label: 'Auth0 writes for unchanged republishes',
          measured: `${ours.writesOnUnchanged}`,
          target: '0',
          met: ours.writesOnUnchanged === 0,
        },
        {
          label: 'tokens per warm instance',
          measured: `${ours.total.tokens}`,
          target: '1',
          met: ours.total.tokens === 1,
        },
        {
          label: 'failed invocations in the trace',
          measured: `${ours.total.failed}`,
          target: '0',
          met: ours.total.failed === 0,
        },
      ],
      method: `seeded trace (seed ${SEED}), ${POLICIES} policies on ${POLICIES} Organizations, events delivered one by one in-process; requests counted at the emulators; counts exclude the set-up sync; the move and the invalid policy are two extra events after the trace.`,
    }
  },
}

/** The policies' first published state; Auth0 is brought in step with it before counting starts. */
function initialPolicies() {
  return Array.from({ length: POLICIES }, (_, index) => ({
    _id: `policy-${index}`,
    _type: 'accessPolicy',
    title: `Customer ${index}`,
    auth0OrganizationId: `org_bench${index}`,
    plan: 'team',
    allowedContentTags: ['docs', 'reports'],
    role: { _type: 'reference', _ref: 'role-viewer' },
    status: 'active',
    internalNotes: 'never leaves Sanity',
  }))
}

const ROLES = [
  { _id: 'role-editor', _type: 'role', title: 'Editor', slug: { _type: 'slug', current: 'editor' } },
  { _id: 'role-viewer', _type: 'role', title: 'Viewer', slug: { _type: 'slug', current: 'viewer' } },
]

/** Exactly SYNCED_SHARE of the publishes change a synced field, at seeded positions, each to a new value. */
function editorialPublishes(): Publish[] {
  const random = mulberry32(SEED)
  const state = initialPolicies().map((policy) => ({ ...policy }))
  const positions = new Set<number>()
  while (positions.size < Math.round(PUBLISHES * SYNCED_SHARE)) positions.add(Math.floor(random() * PUBLISHES))
  const plans = ['free', 'team', 'pro', 'enterprise']
  const tags = ['docs', 'reports', 'webinars', 'api', 'training']
  return Array.from({ length: PUBLISHES }, (_, index) => {
    const policy = state[Math.floor(random() * POLICIES)] as (typeof state)[number]
    if (!positions.has(index)) {
      const set = random() < 0.5 ? { title: `Customer ${policy._id} v${index}` } : { internalNotes: `note ${index}` }
      return { policyId: policy._id, synced: false, set }
    }
    const kind = Math.floor(random() * 3)
    let set: Record<string, unknown>
    if (kind === 0) {
      set = { plan: plans[(plans.indexOf(policy.plan) + 1 + Math.floor(random() * 3)) % plans.length] }
    } else if (kind === 1) {
      const tag = tags[Math.floor(random() * tags.length)] as string
      const has = policy.allowedContentTags.includes(tag)
      set = {
        allowedContentTags: has
          ? policy.allowedContentTags.filter((other) => other !== tag)
          : [...policy.allowedContentTags, tag],
      }
    } else {
      const next = policy.role._ref === 'role-editor' ? 'role-viewer' : 'role-editor'
      set = { role: { _type: 'reference', _ref: next } }
    }
    Object.assign(policy, set)
    return { policyId: policy._id, synced: true, set }
  })
}

async function replay(handler: DocumentEventHandler, trace: readonly Publish[]): Promise<Replay> {
  const policies = initialPolicies()
  const organizations = [...policies.map((policy) => policy.auth0OrganizationId), SPARE_ORGANIZATION]
  const stack = await startLocalStack({
    documents: [...ROLES, ...policies],
    handler,
    auth0: {
      organizations: organizations.map((id, index) => ({
        id,
        name: `bench-${index}`,
        metadata: { crmAccount: `CRM-${index}` },
      })),
    },
  })
  try {
    // Set-up, not counted: publish each policy once so Auth0 holds what it grants.
    for (const policy of policies) await stack.sanity.patch(policy._id).set({ internalNotes: 'set-up' }).commit()
    const setUp = await stack.deliver()
    if (setUp.length !== policies.length || setUp.some((invocation) => invocation.error !== undefined)) {
      throw new Error(
        `the set-up sync did not run cleanly: ${setUp.length} invocations for ${policies.length} policies`,
      )
    }
    const total = emptyCost()
    // A warm instance keeps the token it fetched in the set-up: count it once, as a cold start would fetch it.
    total.tokens = stack.auth0.count({ path: '/oauth/token' })
    const perKind = new Map<string, Cost>()
    let writesOnUnchanged = 0
    for (const publish of trace) {
      const cost = await publishAndCount(stack, publish)
      add(total, cost)
      if (!publish.synced) writesOnUnchanged += cost.writes
      if (!perKind.has(publish.synced ? 'synced' : 'editorial'))
        perKind.set(publish.synced ? 'synced' : 'editorial', cost)
    }
    const foreignKeysLost = policies.filter(
      (policy) => stack.metadata(policy.auth0OrganizationId)?.crmAccount === undefined,
    ).length
    const [moved, broken] = policies
    if (!moved || !broken) throw new Error('the trace needs two policies')
    const move = { policyId: moved._id, synced: true, set: { auth0OrganizationId: SPARE_ORGANIZATION } }
    perKind.set('move', await publishAndCount(stack, move))
    const invalid = { policyId: broken._id, synced: true, set: { allowedContentTags: ['docs', 42] } }
    perKind.set('invalid', await publishAndCount(stack, invalid))
    return { total, writesOnUnchanged, foreignKeysLost, perKind }
  } finally {
    await stack.close()
  }
}

const SPARE_ORGANIZATION = 'org_benchspare'

/** Publishes one change as an editor would, delivers it, and counts what the handler asked for. */
async function publishAndCount(stack: LocalStack, publish: Publish): Promise<Cost> {
  await stack.sanity.patch(publish.policyId).set(publish.set).commit()
  const auth0Before = stack.auth0.requests.length
  const lakeBefore = stack.lake.requests.length
  const started = performance.now()
  const invocations = await stack.deliver()
  const cost = emptyCost()
  cost.ms = performance.now() - started
  cost.invocations = invocations.length
  cost.failed = invocations.filter((invocation) => invocation.error !== undefined).length
  for (const request of stack.auth0.requests.slice(auth0Before)) {
    if (request.path === '/oauth/token') cost.tokens++
    else if (request.method === 'GET') cost.reads++
    else cost.writes++
  }
  for (const request of stack.lake.requests.slice(lakeBefore)) {
    if (request.path.includes('/data/query/')) cost.queries++
    else if (request.path.includes('/data/mutate/')) cost.statusWrites++
    else cost.otherLake++
  }
  cost.rechecks = Math.max(0, cost.queries - invocations.length)
  return cost
}

function emptyCost(): Cost {
  const zero = { tokens: 0, reads: 0, writes: 0, queries: 0, rechecks: 0, statusWrites: 0, otherLake: 0 }
  return { ...zero, invocations: 0, failed: 0, ms: 0 }
}

function add(total: Cost, cost: Cost): void {
  for (const key of Object.keys(total) as Array<keyof Cost>) total[key] += cost[key]
}

/** e.g. `Lake 3 (query, re-check, status) · Auth0 2 (read, write)`. */
function describeCost(cost: Cost | undefined): string {
  if (!cost) return '–'
  const lake = [
    [cost.queries - cost.rechecks, 'query'],
    [cost.rechecks, 're-check'],
    [cost.statusWrites, 'status'],
    [cost.otherLake, 'other'],
  ] as const
  const auth0 = [
    [cost.tokens, 'token'],
    [cost.reads, 'read'],
    [cost.writes, 'write'],
  ] as const
  const part = (name: string, items: ReadonlyArray<readonly [number, string]>) => {
    const present = items.filter(([count]) => count > 0)
    const sum = present.reduce((total, [count]) => total + count, 0)
    const what = present.map(([count, label]) => (count > 1 ? `${count} ${label}` : label)).join(', ')
    return `${name} ${sum}${sum > 0 ? ` (${what})` : ''}`
  }
  return `${part('Lake', lake)} · ${part('Auth0', auth0)}${cost.failed > 0 ? ' · failed' : ''}`
}

/** A small seeded PRNG, so the trace is the same on every run and for both handlers. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
