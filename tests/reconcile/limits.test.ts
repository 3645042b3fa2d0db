/**
 * The reconcile under every plan's rate limits and reset reading (tests/reliability/limits.ts), and a checkpoint
 * that expires during a run. Real SDK and client against both emulators, time-scaled (×60: an emulated minute is a
 * real second); Retry-After stays whole real seconds.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { formatResult } from '../../cli/reconcile.ts'
import { reconcileTenant } from '../../src/sync/reconcile.ts'
import { limitsOptions, PLAN_ROWS } from '../reliability/limits.ts'
import { organization, policy, startTenant, syncedMetadata, type Tenant } from './support.ts'

let tenant: Tenant | undefined
afterEach(async () => {
  await tenant?.close()
  tenant = undefined
})

/** 60 Organizations (two pages of the gateway's 50), every tenth one drifted; the others already in sync. */
function seed() {
  const organizations = Array.from({ length: 60 }, (_, i) => {
    const id = `org_l${String(i).padStart(2, '0')}`
    return organization(id, i % 10 === 3 ? { own: id } : syncedMetadata(`policy-${id.slice(4)}`))
  })
  const drifted = organizations.filter((_, i) => i % 10 === 3).map((org) => org.id)
  return {
    organizations,
    drifted,
    policies: organizations.map((org) => policy(`policy-${org.id.slice(4)}`, org.id)),
  }
}

const okWrites = (t: Tenant) => t.auth0.filterRequests({ method: 'PATCH' }).filter((r) => r.status === 200)

describe.each(PLAN_ROWS)('under $name', (row) => {
  it('writes every drift exactly once and lists to the end, waiting out the plan’s limits inside its budget', async () => {
    const { organizations, drifted, policies } = seed()
    tenant = await startTenant({
      organizations,
      policies,
      auth0: { ...limitsOptions(row), timeScale: 60, scaledReset: true },
    })
    const deadline = Date.now() + 60_000
    const result = await reconcileTenant(tenant.deps(deadline), { apply: true, deadline })

    expect(result.stopped).toBeUndefined()
    expect(result.listedToEnd).toBe(true)
    expect(result.summary.counts.failed).toBe(0)
    expect(result.summary.writes).toBe(drifted.length)
    expect(okWrites(tenant).map((request) => request.path.slice('/api/v2/organizations/'.length))).toEqual(drifted)
    for (const id of drifted)
      expect(tenant.metadata(id)).toEqual({ own: id, ...syncedMetadata(`policy-${id.slice(4)}`) })
  })
})

describe('a checkpoint that expires during the run', () => {
  it('is listed again from the start, once: nothing planned or written twice, the pass complete, and it says so', async () => {
    const { organizations, drifted, policies } = seed()
    tenant = await startTenant({ organizations, policies })
    const auth0 = tenant.auth0
    let expired = false
    const result = await reconcileTenant(tenant.deps(), {
      apply: true,
      onProgress: (progress) => {
        // After page one, before page two is asked for with the checkpoint page one gave.
        if (progress.phase === 'organizations' && progress.pages === 1 && !expired) {
          expired = true
          auth0.expireCheckpoints()
        }
      },
    })

    const lists = auth0.filterRequests({ method: 'GET', path: '/api/v2/organizations' })
    expect(lists.map((request) => [request.query.from === undefined, request.status])).toEqual([
      [true, 200],
      [false, 400],
      [true, 200],
      [false, 200],
    ])
    expect(result.checkpointRefused).toMatchObject({ stored: false, message: expect.stringMatching(/expired/) })
    expect(result.listedToEnd).toBe(true)
    expect(result.summary.writes).toBe(drifted.length)
    expect(okWrites(tenant)).toHaveLength(drifted.length)
    expect(result.entries.filter((entry) => entry.status === 'grant')).toHaveLength(drifted.length)
    // The CLI's output says so too.
    expect(formatResult(result, auth0.domain)).toMatch(
      /Auth0 refused a checkpoint issued during the listing \(.*expired.*\), so this run listed the tenant again from the start\./,
    )
  })
})
