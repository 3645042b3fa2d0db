/**
 * Issue 16: "a publish whose invocation was dropped by the cap, failed, or timed out is brought into line by later
 * invocations, with no editor action ... State and measure what it adds per event." The repair step is on by default
 * (SYNC_REPAIR_STEP_LIMIT, src/config.ts REPAIR_STEP_DEFAULT): these tests count, request by request, what one
 * invocation sends with the default deploy against the same invocation with the step off (SYNC_REPAIR_STEP_LIMIT=0),
 * and check that each left-behind kind (an event lost, a run that failed retryably, a run killed by the timeout) is
 * synced by a later, unrelated publish.
 *
 * The project's own handler on the runner, in process and serial (LENIENT: one invocation at a time, no lag), so the
 * requests of one invocation are exactly those logged between two `settled()`.
 */
import { createClient } from '@sanity/client'
import { afterEach, describe, expect, it } from 'vitest'
import { type Auth0Emulator, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type BlueprintRunner, LENIENT, startBlueprintRunner } from '../../emulators/blueprint-runner.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { accessSyncResources } from '../../sanity.blueprint.ts'
import { REPAIR_STEP_DEFAULT } from '../../src/config.ts'
import { statusDocumentId } from '../../src/status.ts'
import { functionEnv } from '../support/function-env.ts'
import { planDocuments, policyDocument, roleDocuments } from '../support/policies.ts'

const root = new URL('../../', import.meta.url).pathname
const ORGS = Array.from({ length: 8 }, (_, index) => `org_rep${index}`)

let auth0: Auth0Emulator
let lake: ContentLakeEmulator
let runner: BlueprintRunner
/** Events for these policies are lost (never delivered), as the caps drop them. */
const lost = new Set<string>()

afterEach(async () => {
  runner?.stop()
  lost.clear()
  await Promise.all([auth0?.close(), lake?.close()])
})

async function start(limit?: string, queryLag?: { ms: number }) {
  auth0 = await startAuth0Emulator({
    organizations: ORGS.map((id) => ({ id, name: id.replace('_', '-'), metadata: { crm: `${id}-crm` } })),
  })
  lake = await startContentLakeEmulator({ projectId: 'repproj', documents: [...roleDocuments(), ...planDocuments()] })
  const env = functionEnv(lake, auth0, {
    ...(limit === undefined ? {} : { SYNC_REPAIR_STEP_LIMIT: limit }),
  })
  runner = await startBlueprintRunner({
    lake,
    root,
    environments: [{ name: 'production', env, resources: accessSyncResources(env) }],
    platform: { ...LENIENT, queryLag, lose: ({ change }) => lost.has(change.id) },
    onDrop: () => {},
  })
}

const editor = () => createClient({ ...lake.clientConfig })
const publish = async (index: number) => {
  await editor().create(
    policyDocument({ _id: `policy-rep${index}`, auth0OrganizationId: ORGS[index], _rev: undefined }),
  )
  await runner.settled()
}
const right = (index: number) =>
  auth0.getOrganization(ORGS[index] as string)?.metadata?.sanityPolicyId === `policy-rep${index}`
/** One publish's own invocation, step off: the policy query, the post-write re-check, the status write; one GET, one PATCH. */
const OWN = { lake: 3, backlog: 0, auth0Get: 1, auth0Patch: 1 }
const recorded = (index: number) => lake.getDocument(statusDocumentId(`policy-rep${index}`)) as { outcome?: string }

interface Cost {
  /** Content Lake requests: queries, mutations (status writes), document reads. */
  lake: number
  /** Of which the repair step's backlog query. */
  backlog: number
  auth0Get: number
  auth0Patch: number
}

/** The requests one publish and its invocation sent (the editor's own create excluded). */
async function costOf(index: number): Promise<Cost> {
  lake.requests.length = 0
  auth0.clearRequests()
  await publish(index)
  const fromFunction = lake.requests.filter(({ query }) => query.tag?.startsWith('auth0-access-sync'))
  return {
    lake: fromFunction.length,
    backlog: fromFunction.filter(({ query }) => query.tag === 'auth0-access-sync.repair-step').length,
    auth0Get: auth0.filterRequests({ method: 'GET', path: /^\/api\/v2\/organizations\// }).length,
    auth0Patch: auth0.filterRequests({ method: 'PATCH', path: /^\/api\/v2\/organizations\// }).length,
  }
}

describe('the repair step, on by default: what it adds per event', () => {
  it(`the default is small and on (${REPAIR_STEP_DEFAULT})`, () => {
    expect(REPAIR_STEP_DEFAULT).toBeGreaterThan(0)
    expect(REPAIR_STEP_DEFAULT).toBeLessThanOrEqual(5)
  })

  it('nothing behind: one Content Lake query more per event, no Auth0 request', async () => {
    await start('0')
    await publish(0)
    const off = await costOf(1)
    runner.stop()
    await Promise.all([auth0.close(), lake.close()])
    await start()
    await publish(0)
    const on = await costOf(1)
    console.info(`repair step, nothing behind: off ${JSON.stringify(off)}, on ${JSON.stringify(on)}`)
    expect(off).toEqual(OWN)
    expect(on).toEqual({ ...off, lake: off.lake + 1, backlog: 1 })
    expect([0, 1].every(right)).toBe(true)
  })

  // The backlog is read once the event's own read has caught up with its commit, alongside its Auth0 requests: a
  // query from before that could predate the status the previous invocation just wrote, and repair it again.
  it('nothing behind under query lag, one publish right after another: the backlog query, no extra Auth0 request', async () => {
    await start(undefined, { ms: 300 })
    await publish(0)
    const on = await costOf(1)
    expect(on).toMatchObject({ backlog: 1, auth0Get: OWN.auth0Get, auth0Patch: OWN.auth0Patch })
    expect([0, 1].every(right)).toBe(true)
  })

  it(`${REPAIR_STEP_DEFAULT + 1} events lost: the next publish repairs ${REPAIR_STEP_DEFAULT} of them, the one after the last; each repair one policy query, one Auth0 read, one write, one re-check, one status`, async () => {
    await start()
    await publish(0)
    const behind = Array.from({ length: REPAIR_STEP_DEFAULT + 1 }, (_, index) => index + 1)
    for (const index of behind) lost.add(`policy-rep${index}`)
    for (const index of behind) await publish(index)
    expect(behind.filter(right)).toEqual([])
    const cost = await costOf(behind.length + 1)
    expect(behind.filter(right).length).toBe(REPAIR_STEP_DEFAULT)
    console.info(`repair step, ${behind.length} behind: ${JSON.stringify(cost)}`)
    // Per repaired policy, as its own event would: the policy query, the re-check after the write, the status write;
    // one GET, one PATCH (Auth0 differed). Plus the backlog query.
    expect(cost).toEqual({
      lake: OWN.lake + 1 + REPAIR_STEP_DEFAULT * 3,
      backlog: 1,
      auth0Get: OWN.auth0Get + REPAIR_STEP_DEFAULT,
      auth0Patch: OWN.auth0Patch + REPAIR_STEP_DEFAULT,
    })
    await publish(behind.length + 2)
    expect(behind.filter(right)).toEqual(behind)
    for (const index of behind) expect(recorded(index)).toMatchObject({ outcome: 'synced' })
  })

  it('a run that failed retryably is retried by the next publish; a permanent failure is not; an update lost after a sync is repaired', async () => {
    await start()
    // 503 on every PATCH of org_rep1: the run fails, retryable, its status says so.
    auth0.injectFault({ method: 'PATCH', path: `/api/v2/organizations/${ORGS[1]}`, status: 503, times: Infinity })
    // 400 on every PATCH of org_rep2: a permanent failure (Auth0 rejects the request).
    auth0.injectFault({ method: 'PATCH', path: `/api/v2/organizations/${ORGS[2]}`, status: 400, times: Infinity })
    await publish(1)
    await publish(2)
    expect(recorded(1)).toMatchObject({ outcome: 'failed', reason: 'auth0-unavailable' })
    expect(recorded(2)).toMatchObject({ outcome: 'failed', reason: 'auth0-rejected' })
    auth0.clearFaults()
    const retried = await costOf(3)
    expect(right(1)).toBe(true)
    expect(recorded(1)).toMatchObject({ outcome: 'synced' })
    // Not retried: nothing changed, it would fail the same way.
    expect(right(2)).toBe(false)
    expect(recorded(2)).toMatchObject({ outcome: 'failed', reason: 'auth0-rejected' })
    expect(retried).toEqual({ ...OWN, lake: OWN.lake + 1 + 3, backlog: 1, auth0Get: 2, auth0Patch: 2 })
    // An update whose event is lost after the policy was synced: its status names the older revision.
    lost.add('policy-rep3')
    await editor().patch('policy-rep3').set({ plan: 'team' }).commit()
    await runner.settled()
    const behind = await costOf(4)
    expect(auth0.getOrganization(ORGS[3] as string)?.metadata).toMatchObject({ plan: 'team' })
    expect(behind).toEqual(retried)
  })
})
