/**
 * The scheduled repair: the real handler (functions/reconcile-access) and the real document function, both
 * emulators, the real SDK and client. A failed sync is repaired by the next run with no editor action; a run
 * keeps within its budget, records its result and cursor, and the next run resumes where it stopped.
 */

import { defineBlueprint } from '@sanity/blueprints'
import { createClient } from '@sanity/client'
import type { ScheduledFunctionContext } from '@sanity/functions'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type LocalStack, startLocalStack } from '../../emulators/stack.ts'
import { handler } from '../../functions/reconcile-access/index.ts'
import {
  accessSyncResources,
  DEFAULT_REPAIR_SCHEDULE,
  PLAN_FAN_OUT,
  ROLE_FAN_OUT,
  repairFunction,
  SYNC_FUNCTION,
} from '../../sanity.blueprint.ts'
import { readAuth0Config } from '../../src/config.ts'
import { connectAuth0 } from '../../src/gateways/auth0.ts'
import { createRepairStore } from '../../src/gateways/repair-state.ts'
import { createPolicyReader } from '../../src/gateways/sanity.ts'
import { RECONCILE_STATUS_ID } from '../../src/reconcile-status.ts'
import { statusDocumentId } from '../../src/status.ts'
import { runScheduledRepair } from '../../src/sync/scheduled.ts'
import { policyDocument, roleDocuments } from '../support/policies.ts'
import { organization, policy, syncedMetadata } from './support.ts'

const REPAIR_ENV = ['SANITY_PROJECT_ID', 'SANITY_DATASET', 'SANITY_API_HOST', 'RECONCILE_MAX_WRITES'] as const
let stack: LocalStack | undefined
beforeEach(() => {
  for (const name of REPAIR_ENV) delete process.env[name]
})
afterEach(async () => {
  await stack?.close()
  stack = undefined
  for (const name of REPAIR_ENV) delete process.env[name]
})

/** The scheduled function as the runtime calls it: a context with a token only; project and dataset from env. */
async function scheduledRun(bed: LocalStack, env: Record<string, string> = {}) {
  Object.assign(process.env, {
    SANITY_PROJECT_ID: bed.lake.projectId,
    SANITY_DATASET: bed.lake.dataset,
    SANITY_API_HOST: bed.lake.url,
    ...env,
  })
  const context = { clientOptions: { token: 'robot-token' } } as ScheduledFunctionContext
  await handler({ context })
  return bed.lake.getDocument(RECONCILE_STATUS_ID)
}

describe('failed invocations get repaired', () => {
  it('a policy whose sync failed retryably (status failed) is in sync after the next scheduled run', async () => {
    stack = await startLocalStack({
      documents: roleDocuments(),
      auth0: { organizations: [organization('org_acme123', { crmAccount: 'ACME-0042' })] },
    })
    // Auth0 rate-limits the write and asks for longer than the invocation has: it fails, retryably.
    stack.auth0.injectFault({ method: 'PATCH', status: 429, headers: { 'retry-after': '600' } })
    await stack.sanity.createOrReplace(policyDocument())
    const [invocation] = await stack.deliver()
    expect(invocation?.error).toMatchObject({ reason: 'auth0-unavailable', retryable: true })
    expect(stack.lake.getDocument(statusDocumentId('policy-acme'))).toMatchObject({ outcome: 'failed' })
    expect(stack.metadata('org_acme123')).toEqual({ crmAccount: 'ACME-0042' })

    const status = await scheduledRun(stack)

    expect(stack.metadata('org_acme123')).toMatchObject({
      crmAccount: 'ACME-0042',
      plan: 'pro',
      role: 'editor',
      sanityPolicyId: 'policy-acme',
    })
    // The editor's badge reads the policy's own status: synced again, saying who repaired it.
    expect(stack.lake.getDocument(statusDocumentId('policy-acme'))).toMatchObject({
      outcome: 'synced',
      notes: ['repaired by the scheduled reconcile: the last sync had failed'],
      history: [{ outcome: 'synced' }, { outcome: 'failed' }],
    })
    expect(status).toMatchObject({ outcome: 'repaired', driftFound: 1, driftFixed: 1, failures: 0, passComplete: true })
    // Nothing was written twice: the pass found it in sync after the retry.
    expect(stack.auth0.count({ method: 'PATCH', path: '/api/v2/organizations/org_acme123' })).toBe(2)
  })
})

describe('budget and resume', () => {
  it('each run writes at most its budget, records drift found/fixed and the cursor; the next run resumes; none starves', async () => {
    const organizations = Array.from({ length: 12 }, (_, i) =>
      organization(`org_q${String(i).padStart(2, '0')}`, { own: `o${i}` }),
    )
    stack = await startLocalStack({
      documents: [
        ...roleDocuments(),
        ...organizations.map((org, i) => policy(`policy-q${String(i).padStart(2, '0')}`, org.id)),
      ],
      auth0: { organizations },
    })
    // One Organization keeps refusing: reported every run, never blocking the ones after it.
    stack.auth0.injectFault({ method: 'PATCH', path: '/api/v2/organizations/org_q03', status: 403, times: Infinity })

    const runs = []
    for (let run = 0; run < 4; run++) runs.push(await scheduledRun(stack, { RECONCILE_MAX_WRITES: '4' }))

    const patchesPerOrg = organizations.map(
      (org) =>
        stack?.auth0
          .filterRequests({ method: 'PATCH', path: `/api/v2/organizations/${org.id}` })
          .filter((r) => r.status === 200).length,
    )
    expect(patchesPerOrg).toEqual(organizations.map((org) => (org.id === 'org_q03' ? 0 : 1)))
    for (const org of organizations.filter((o) => o.id !== 'org_q03')) {
      expect(stack.metadata(org.id)).toEqual({
        own: org.metadata?.own,
        ...syncedMetadata(`policy-q${org.id.slice(5)}`),
      })
    }
    expect(runs.map((run) => [run?.driftFixed, run?.outcome])).toEqual([
      [4, 'failed'],
      [4, 'failed'],
      [3, 'failed'],
      [0, 'failed'],
    ])
    expect(runs[0]).toMatchObject({
      unfinished: expect.any(Number),
      passComplete: false,
      cursor: { after: expect.any(String) },
    })
    expect(runs[0]?.failed).toMatchObject([{ organizationId: 'org_q03', reason: 'auth0-forbidden' }])
    expect(runs[2]).toMatchObject({ passComplete: true, unfinished: 0 })
    expect(runs[2]?.cursor).toEqual({})
    expect(runs[3]?.history).toHaveLength(4)
  })

  it('a run stops starting writes at its deadline and leaves the rest to the next', async () => {
    const organizations = Array.from({ length: 6 }, (_, i) => organization(`org_t${i}`))
    stack = await startLocalStack({
      documents: [...roleDocuments(), ...organizations.map((org, i) => policy(`policy-t${i}`, org.id))],
      auth0: { organizations },
    })
    // Each write takes 400 ms; a run has 1.5 s and starts no call with less than 1 s left.
    stack.auth0.injectFault({ method: 'PATCH', delayMs: 400, times: Infinity })
    const client = createClient({ ...stack.lake.clientConfig })
    const connection = connectAuth0(readAuth0Config(process.env))
    const store = createRepairStore(client)
    const once = async () => {
      const deadline = Date.now() + 1_500
      const deps = { policies: createPolicyReader(client), organizations: connection.forInvocation(deadline), store }
      return { run: await runScheduledRepair(deps, { deadline }), deadline }
    }
    const first = await once()
    const pass = first.run.results.at(-1)
    expect(pass?.stopped).toBe('out-of-time')
    expect(pass?.summary.counts.failed).toBe(0)
    const written = stack.auth0.filterRequests({ method: 'PATCH' })
    expect(written.length).toBeGreaterThan(0)
    expect(written.length).toBeLessThan(organizations.length)
    // Every write started before the deadline, and each Organization is whole or untouched.
    for (const request of written) expect(request.at).toBeLessThan(first.deadline)
    expect(stack.lake.getDocument(RECONCILE_STATUS_ID)).toMatchObject({
      outcome: 'partial',
      driftFixed: written.length,
    })
    for (let i = 0; i < 8 && stack.lake.getDocument(RECONCILE_STATUS_ID)?.outcome !== 'in sync'; i++) await once()
    for (const [i, org] of organizations.entries())
      expect(stack.metadata(org.id)).toEqual(syncedMetadata(`policy-t${i}`))
    expect(stack.auth0.count({ method: 'PATCH' })).toBe(organizations.length)
  })
})

describe('checkpoints that expire', () => {
  it('a stored checkpoint Auth0 refuses: the next run lists from the start, completes the pass, and says so', async () => {
    // Page one (50) is in sync; page two holds the drift, so a run stopped by its write budget stores a checkpoint.
    const inSync = Array.from({ length: 50 }, (_, i) => {
      const id = `org_s${String(i).padStart(2, '0')}`
      return organization(id, syncedMetadata(`policy-s${id.slice(5)}`))
    })
    const drifted = Array.from({ length: 6 }, (_, i) => organization(`org_z${i}`, { own: `z${i}` }))
    stack = await startLocalStack({
      documents: [
        ...roleDocuments(),
        ...inSync.map((org) => policy(`policy-s${org.id.slice(5)}`, org.id)),
        ...drifted.map((org) => policy(`policy-z${org.id.slice(5)}`, org.id)),
      ],
      auth0: { organizations: [...inSync, ...drifted] },
    })
    const first = await scheduledRun(stack, { RECONCILE_MAX_WRITES: '3' })
    const stored = (first?.cursor as { from?: string } | undefined)?.from
    expect(first).toMatchObject({ outcome: 'partial', driftFixed: 3, passComplete: false })
    expect(stored).toEqual(expect.any(String))

    // Between runs the checkpoint expires (Auth0 documents no lifetime for it).
    stack.auth0.expireCheckpoints()
    stack.auth0.clearRequests()
    const logged: string[] = []
    const warn = console.warn
    console.warn = (line: string) => logged.push(line)
    const second = await scheduledRun(stack, { RECONCILE_MAX_WRITES: '3' }).finally(() => {
      console.warn = warn
    })

    const lists = stack.auth0.filterRequests({ method: 'GET', path: '/api/v2/organizations' })
    expect(lists.map((request) => [request.query.from === stored, request.status])).toEqual([
      [true, 400],
      [false, 200],
      [false, 200],
    ])
    expect(lists[1]?.query.from).toBeUndefined()
    expect(second).toMatchObject({ outcome: 'repaired', driftFixed: 3, passComplete: true, cursor: {} })
    expect(second?.message).toMatch(
      /^Auth0 refused the stored checkpoint \(.*expired.*\), so this run listed the tenant again from the start\./,
    )
    expect(logged).toEqual([expect.stringMatching(/^reconcile: Auth0 refused the stored checkpoint/)])
    for (const [i, org] of drifted.entries()) {
      expect(stack.metadata(org.id)).toEqual({ own: `z${i}`, ...syncedMetadata(`policy-z${org.id.slice(5)}`) })
    }
    // Nothing was written twice: the fresh listing found the first run's writes in place.
    expect(stack.auth0.count({ method: 'PATCH' })).toBe(3)
    expect(await scheduledRun(stack)).toMatchObject({ outcome: 'in sync', passComplete: true })
  })
})

describe('the schedule is opt-in', () => {
  it('without ACCESS_SYNC_SCHEDULE the blueprint declares only the document functions', () => {
    expect(repairFunction({})).toBeUndefined()
    expect(repairFunction({ ACCESS_SYNC_SCHEDULE: 'off' })).toBeUndefined()
    const resources = accessSyncResources({ SANITY_PROJECT_ID: 'abc123', SANITY_DATASET: 'production' })
    expect(resources.map((resource) => resource.name)).toEqual([
      SYNC_FUNCTION.name,
      ROLE_FAN_OUT.name,
      PLAN_FAN_OUT.name,
    ])
    expect(resources.every((resource) => resource.type === 'sanity.function.document')).toBe(true)
  })

  it('with it, a scheduled function: hourly by default, or the schedule given; project and dataset in env', () => {
    const hourly = repairFunction({ ACCESS_SYNC_SCHEDULE: 'hourly' })
    expect(DEFAULT_REPAIR_SCHEDULE).toBe('0 * * * *')
    expect(hourly).toMatchObject({
      type: 'sanity.function.cron',
      name: 'reconcile-access',
      runtime: 'nodejs24.x',
      event: { minute: '0', hour: '*', dayOfMonth: '*', month: '*', dayOfWeek: '*' },
    })
    const scoped = accessSyncResources({
      ACCESS_SYNC_SCHEDULE: 'hourly',
      SANITY_PROJECT_ID: 'abc123',
      SANITY_DATASET: 'production',
    }).find((resource) => resource.name === 'reconcile-access')
    expect(scoped).toMatchObject({ env: { SANITY_PROJECT_ID: 'abc123', SANITY_DATASET: 'production' } })
    expect(repairFunction({ ACCESS_SYNC_SCHEDULE: '*/15 * * * *' })?.event).toMatchObject({ minute: '*/15', hour: '*' })
    expect(repairFunction({ ACCESS_SYNC_SCHEDULE: 'every day at 9am' })?.event).toMatchObject({
      minute: '0',
      hour: '9',
    })
    expect(() => repairFunction({ ACCESS_SYNC_SCHEDULE: 'whenever' })).toThrow()
    const resources = defineBlueprint({ resources: [SYNC_FUNCTION, hourly as NonNullable<typeof hourly>] })().resources
    expect(resources?.map((resource) => resource.type)).toEqual(['sanity.function.document', 'sanity.function.cron'])
  })
})
