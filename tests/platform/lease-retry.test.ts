/**
 * Issue 16, acceptance: "A fan-out invocation killed after its claim and redelivered: the list still drains, before
 * the lease expires." The strict runner (PLATFORM, query lag on) with `redelivery: 'once'` and the blueprint's
 * 900 s timeout scaled down; the first attempt's first Auth0 write never answers, so the timeout kills it holding its
 * lease. The redelivery carries the same lineage (one event), recognises the lease as its own and drains the list.
 * Before the fix it deferred to the dead lease and the list waited the whole lease (the budget + 25 s).
 */
import { createClient } from '@sanity/client'
import { afterEach, describe, expect, it } from 'vitest'
import { type Auth0Emulator, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type BlueprintRunner, startBlueprintRunner } from '../../emulators/blueprint-runner.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { accessSyncResources } from '../../sanity.blueprint.ts'
import { fanOutStatusId } from '../../src/core/fanout.ts'
import { functionEnv } from '../support/function-env.ts'
import { planDocuments, policyDocument, roleDocuments } from '../support/policies.ts'

const root = new URL('../../', import.meta.url).pathname
const ORGS = ['org_lease1', 'org_lease2', 'org_lease3']

let auth0: Auth0Emulator
let lake: ContentLakeEmulator
let runner: BlueprintRunner

afterEach(async () => {
  runner?.stop()
  await Promise.all([auth0?.close(), lake?.close()])
})

describe('a fan-out killed after its claim and redelivered', () => {
  it('drains its list in the redelivery, before the killed attempt’s lease runs out', async () => {
    auth0 = await startAuth0Emulator({
      organizations: ORGS.map((id) => ({ id, name: id.replace('_', '-'), metadata: {} })),
    })
    lake = await startContentLakeEmulator({
      projectId: 'leaseproj',
      documents: [...roleDocuments(), ...planDocuments()],
    })
    const env = functionEnv(lake, auth0)
    runner = await startBlueprintRunner({
      lake,
      root,
      environments: [{ name: 'production', env, resources: accessSyncResources(env) }],
      // The fan-outs' 900 s timeout scaled to 6 s: long enough for a cold instance's claim on a busy machine.
      platform: { queryLag: { ms: 300 }, redelivery: 'once', timeoutScale: 6 / 900 },
    })
    const editor = createClient({ ...lake.clientConfig })
    for (const [index, org] of ORGS.entries()) {
      await editor.create(
        policyDocument({
          _id: `policy-lease${index}`,
          auth0OrganizationId: org,
          _rev: undefined,
          _createdAt: undefined,
        }),
      )
    }
    await runner.settled()
    for (const org of ORGS) expect(auth0.getOrganization(org)?.metadata).toMatchObject({ role: 'editor' })

    // The leases the fan-out takes, in commit order.
    const leases: { owner: string; until: number }[] = []
    const stop = lake.onTransaction((changes) => {
      for (const { id, after } of changes) {
        const owner = after?.leaseOwner
        if (
          id === fanOutStatusId('role-editor') &&
          typeof owner === 'string' &&
          owner &&
          leases.at(-1)?.owner !== owner
        ) {
          leases.push({ owner, until: Number(after?.leaseUntil) })
        }
      }
    })
    auth0.injectFault({ method: 'PATCH', path: /^\/api\/v2\/organizations\/org_lease/, hang: true })
    await editor
      .patch('role-editor')
      .set({ slug: { _type: 'slug', current: 'author' } })
      .commit()
    await runner.settled()
    const drainedAt = Date.now()
    stop()

    const fanOuts = runner.invocations.filter(({ functionName }) => functionName === 'fan-out-role')
    expect(fanOuts.map(({ attempt, timedOut }) => ({ attempt, timedOut: timedOut ?? false }))).toEqual([
      { attempt: 1, timedOut: true },
      { attempt: 2, timedOut: false },
    ])
    const status = lake.getDocument(fanOutStatusId('role-editor'))
    expect(status).toMatchObject({ pending: [], phase: 'done', leaseOwner: '' })
    for (const org of ORGS) expect(auth0.getOrganization(org)?.metadata).toMatchObject({ role: 'author' })
    expect(fanOuts[1]?.error).toBeUndefined()
    // Two claims for one event: the killed attempt's, then the redelivery's, each its own attempt of the same event.
    expect(leases).toHaveLength(2)
    const [killed, retried] = leases as [(typeof leases)[0], (typeof leases)[0]]
    expect(retried.owner).not.toBe(killed.owner)
    expect(retried.owner.split('#')[0]).toBe(killed.owner.split('#')[0])

    // Drained while the dead attempt's lease still held: nobody waited for it.
    expect(drainedAt).toBeLessThan(killed.until)
  })
})
