/**
 * A burst against Auth0's write limit: invocations that wait out a 429 plan again from what the Content Lake and
 * Auth0 hold after the wait, so the ones queued for one Organization coalesce into one write of its latest state
 * instead of each writing the state it planned before the wait. Proven by counting requests at the emulator (the
 * write bucket holds one request and refills slowly, so the later invocations must wait). Real SDKs, real handler.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type LocalStack, startLocalStack } from '../../emulators/stack.ts'
import { planDocuments, policyDocument, roleDocuments } from '../support/policies.ts'

const ORG = 'org_burst01'
const POLICY = 'policy-burst'
const FOREIGN = { crmAccount: 'CRM-7' }

let stack: LocalStack
beforeEach(async () => {
  stack = await startLocalStack({
    documents: [...roleDocuments(), ...planDocuments()],
    auth0: {
      organizations: [{ id: ORG, name: 'burst', metadata: { ...FOREIGN } }],
      // One write at once, the next one a real second later: every write after the first waits on the limit.
      rateLimits: { write: { capacity: 1, refillPerMinute: 30 } },
      timeScale: 2,
      scaledReset: true,
    },
  })
})
afterEach(async () => {
  await stack.close()
})

const okWrites = () =>
  stack.auth0.filterRequests({ method: 'PATCH', path: `/api/v2/organizations/${ORG}` }).filter((r) => r.status === 200)
const limitedWrites = () => stack.auth0.filterRequests({ method: 'PATCH' }).filter((r) => r.status === 429)

async function publish(plan: string) {
  await stack.sanity.createOrReplace(policyDocument({ _id: POLICY, auth0OrganizationId: ORG, plan }))
}

async function until(condition: () => boolean) {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 10_000) throw new Error('condition not met within 10 s')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('a burst of publishes against the write limit', () => {
  it('an invocation that waited on the limit writes the latest state once; the later one finds nothing to write', async () => {
    await publish('free')
    await stack.deliver() // takes the bucket's only write
    expect(okWrites()).toHaveLength(1)

    await publish('team')
    const first = stack.deliver()
    await until(() => limitedWrites().length > 0) // the 'team' invocation now waits on the limit…
    await publish('pro') // …while the policy moves on, and the 'pro' invocation queues behind it
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
    expect(limitedWrites().length).toBeGreaterThan(0)
    expect(okWrites()).toHaveLength(2)
    expect(stack.metadata(ORG)).toMatchObject({ ...FOREIGN, plan: 'pro' })
  })
})
