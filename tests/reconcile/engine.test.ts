/**
 * The reconcile engine (src/sync/reconcile.ts) against both emulators with the real SDK and client: backfill,
 * orphans, drift, invalid input, conflicts, paging, the re-read before each write, budgets and resuming.
 */

import { createClient } from '@sanity/client'
import { afterEach, describe, expect, it } from 'vitest'
import { START } from '../../src/core/reconcile.ts'
import { createPolicyReader } from '../../src/gateways/sanity.ts'
import { type ReconcileOptions, reconcileTenant } from '../../src/sync/reconcile.ts'
import { organization, policy, startTenant, syncedMetadata, type Tenant } from './support.ts'

let tenant: Tenant | undefined
afterEach(async () => {
  await tenant?.close()
  tenant = undefined
})

async function run(t: Tenant, options: Partial<ReconcileOptions> = {}) {
  return reconcileTenant(t.deps(), { apply: false, ...options })
}
const patches = (t: Tenant) => t.auth0.count({ method: 'PATCH' })

describe('backfill of a tenant where nothing is synced', () => {
  it('plans a grant per policy, writes nothing on a dry run, then applies and is in sync', async () => {
    tenant = await startTenant({
      organizations: [
        organization('org_a1', { crm: 'A-1' }),
        organization('org_b2'),
        organization('org_c3', { crm: 'C-3' }),
        organization('org_untouched', { crm: 'U', plan: 'gold' }),
      ],
      policies: [policy('policy-a', 'org_a1'), policy('policy-b', 'org_b2'), policy('policy-c', 'org_c3')],
    })
    const plan = await run(tenant)
    expect(plan.summary.counts).toMatchObject({ grant: 3, revoke: 0, invalid: 0, failed: 0 })
    expect(plan.summary.writes).toBe(3)
    expect(patches(tenant)).toBe(0)
    const a1 = plan.entries.find((entry) => entry.organizationId === 'org_a1')
    expect(a1).toMatchObject({ status: 'grant', write: true, ownerPolicyId: 'policy-a' })
    expect(a1?.changes).toContainEqual({ key: 'plan', from: undefined, to: 'pro' })
    // Organizations nobody names and we never wrote are not even mentioned.
    expect(plan.entries.map((entry) => entry.organizationId)).not.toContain('org_untouched')

    const applied = await run(tenant, { apply: true })
    expect(applied.summary).toMatchObject({ writes: 3, unapplied: 0 })
    expect(tenant.metadata('org_a1')).toEqual({ crm: 'A-1', ...syncedMetadata('policy-a') })
    expect(tenant.metadata('org_c3')).toEqual({ crm: 'C-3', ...syncedMetadata('policy-c') })
    expect(tenant.metadata('org_untouched')).toEqual({ crm: 'U', plan: 'gold' })
    // One GET right before each PATCH, as the function does.
    expect(tenant.auth0.count({ method: 'GET', path: /^\/api\/v2\/organizations\/org_/ })).toBe(3)

    const again = await run(tenant)
    expect(again.summary.writes).toBe(0)
    expect(again.summary.counts['in sync']).toBe(3)
  })
})

describe('orphans', () => {
  it('revokes our keys where no active policy names the Organization, keeping every foreign key', async () => {
    tenant = await startTenant({
      organizations: [
        organization('org_orphan', { crm: 'O-1', tier: 'gold', ...syncedMetadata('policy-gone') }),
        organization('org_archived', { crm: 'R-1', ...syncedMetadata('policy-archived') }),
        organization('org_foreign', { plan: 'theirs', role: 'admin' }),
      ],
      policies: [policy('policy-archived', 'org_archived', { status: 'archived' })],
    })
    const plan = await run(tenant)
    const orphan = plan.entries.find((entry) => entry.organizationId === 'org_orphan')
    expect(orphan).toMatchObject({ status: 'revoke', write: true })
    expect(orphan?.reason).toMatch(/orphan: carries policy policy-gone's keys/)
    expect(orphan?.changes).toContainEqual({ key: 'sanityPolicyId', from: 'policy-gone', to: undefined })
    expect(plan.summary.counts.revoke).toBe(2)

    await run(tenant, { apply: true })
    expect(tenant.metadata('org_orphan')).toEqual({ crm: 'O-1', tier: 'gold' })
    expect(tenant.metadata('org_archived')).toEqual({ crm: 'R-1' })
    // Access keys without our marker were never ours.
    expect(tenant.metadata('org_foreign')).toEqual({ plan: 'theirs', role: 'admin' })
  })
})

describe('drift in our keys', () => {
  it('is repaired, and the plan shows old → new', async () => {
    tenant = await startTenant({
      organizations: [organization('org_a1', { crm: 'A', ...syncedMetadata('policy-a', { plan: 'enterprise' }) })],
      policies: [policy('policy-a', 'org_a1')],
    })
    const plan = await run(tenant)
    const [entry] = plan.entries
    expect(entry).toMatchObject({ status: 'grant', changes: [{ key: 'plan', from: 'enterprise', to: 'pro' }] })
    expect(entry?.reason).toMatch(/our keys edited in Auth0/)
    await run(tenant, { apply: true })
    expect(tenant.metadata('org_a1')).toEqual({ crm: 'A', ...syncedMetadata('policy-a') })
  })

  it('keeps a key someone else set between the listing and the write (re-read before each write)', async () => {
    tenant = await startTenant({
      organizations: [organization('org_a1', { crm: 'A' })],
      policies: [policy('policy-a', 'org_a1')],
    })
    const t = tenant
    await run(t, {
      apply: true,
      onProgress: (progress) => {
        if (progress.phase === 'organizations' && progress.organizations === 1) {
          t.auth0.putOrganization(organization('org_a1', { crm: 'A', addedMeanwhile: 'yes' }))
        }
      },
    })
    expect(t.metadata('org_a1')).toEqual({ crm: 'A', addedMeanwhile: 'yes', ...syncedMetadata('policy-a') })
  })
})

describe('bad input and faults', () => {
  it('reports invalid policies with the field and goes on with the others', async () => {
    tenant = await startTenant({
      organizations: [organization('org_a1'), organization('org_b2')],
      policies: [
        policy('policy-a', 'org_a1', { allowedContentTags: ['docs', 42] }),
        policy('policy-b', 'org_b2'),
        policy('policy-bad-id', 'acme corp'),
      ],
    })
    const result = await run(tenant, { apply: true })
    expect(result.summary.counts).toMatchObject({ invalid: 2, grant: 1 })
    const invalid = result.entries.filter((entry) => entry.status === 'invalid')
    expect(invalid.map((entry) => entry.issues?.[0]?.field).sort()).toEqual([
      'allowedContentTags[1]',
      'auth0OrganizationId',
    ])
    expect(tenant.metadata('org_a1')).toEqual({})
    expect(tenant.metadata('org_b2')).toEqual(syncedMetadata('policy-b'))
  })

  it('a 403, a missing Organization or one that keeps failing is reported; the others are still written', async () => {
    tenant = await startTenant({
      organizations: [organization('org_a1'), organization('org_b2'), organization('org_c3'), organization('org_d4')],
      policies: [
        policy('policy-a', 'org_a1'),
        policy('policy-b', 'org_b2'),
        policy('policy-c', 'org_c3'),
        policy('policy-m', 'org_missing9'),
        policy('policy-d', 'org_d4'),
      ],
    })
    tenant.auth0.injectFault({ method: 'PATCH', path: '/api/v2/organizations/org_b2', status: 403, times: Infinity })
    tenant.auth0.injectFault({ method: 'GET', path: '/api/v2/organizations/org_d4', status: 503, times: Infinity })
    const result = await run(tenant, { apply: true })
    const failed = result.entries
      .filter((entry) => entry.status === 'failed')
      .sort((a, b) => String(a.organizationId).localeCompare(String(b.organizationId)))
    expect(failed.map((entry) => [entry.organizationId, entry.code])).toEqual([
      ['org_b2', 'auth0-forbidden'],
      ['org_d4', 'auth0-unavailable'],
      ['org_missing9', 'organization-not-found'],
    ])
    expect(failed[0]?.reason).toContain('update:organizations')
    expect(tenant.metadata('org_a1')).toEqual(syncedMetadata('policy-a'))
    expect(tenant.metadata('org_c3')).toEqual(syncedMetadata('policy-c'))
  })

  it('two active policies on one Organization: a conflict, the older one is granted', async () => {
    tenant = await startTenant({
      organizations: [organization('org_a1')],
      policies: [
        policy('policy-new', 'org_a1', { _createdAt: '2026-03-01T00:00:00Z', plan: 'team' }),
        policy('policy-old', 'org_a1'),
      ],
    })
    const result = await run(tenant)
    expect(result.entries).toMatchObject([
      { status: 'conflict', write: true, ownerPolicyId: 'policy-old', conflicts: ['policy-new'] },
    ])
    expect(result.entries[0]?.reason).toMatch(/also claimed by policy-new/)
  })
})

describe('paging', () => {
  it('lists every Organization in pages of 50 and stops on an empty page after a trailing `next`', async () => {
    const organizations = Array.from({ length: 120 }, (_, i) => organization(`org_p${i}`))
    tenant = await startTenant({
      organizations,
      policies: organizations.map((org, i) => policy(`policy-p${String(i).padStart(3, '0')}`, org.id)),
      auth0: { nextOnLastPage: true },
    })
    const result = await run(tenant)
    expect(result.summary.counts.grant).toBe(120)
    const lists = tenant.auth0.filterRequests({ method: 'GET', path: '/api/v2/organizations' })
    expect(lists.map((request) => request.query.take)).toEqual(['50', '50', '50', '50'])
    expect(lists.at(-1)?.query.from).toEqual(expect.any(String))
    expect(lists.at(-1)?.status).toBe(200)
  })

  it('reads every published policy page by page, drafts excluded', async () => {
    tenant = await startTenant({
      policies: [
        ...Array.from({ length: 23 }, (_, i) => policy(`policy-${String(i).padStart(2, '0')}`, `org_x${i}`)),
        policy('drafts.policy-00', 'org_draft'),
      ],
    })
    const reader = createPolicyReader(createClient({ ...tenant.lake.clientConfig }))
    const pages: number[] = []
    const ids: unknown[] = []
    for await (const page of reader.pages(10)) {
      pages.push(page.length)
      ids.push(...page.map((doc) => doc._id))
    }
    expect(pages).toEqual([10, 10, 3])
    expect(new Set(ids).size).toBe(23)
    expect(ids).not.toContain('drafts.policy-00')
  })
})

describe('budgets and resuming', () => {
  it('a write budget stops the run; the cursor resumes at the first unwritten Organization until all converge', async () => {
    const organizations = Array.from({ length: 8 }, (_, i) => organization(`org_r${i}`, { keep: `k${i}` }))
    tenant = await startTenant({
      organizations,
      policies: organizations.map((org, i) => policy(`policy-r${i}`, org.id)),
    })
    let cursor = START
    const written: string[] = []
    for (let runNo = 0; runNo < 4; runNo++) {
      const result = await run(tenant, { apply: true, maxWrites: 3, cursor })
      written.push(
        ...result.entries.filter((entry) => 'applied' in entry && entry.applied).map((e) => String(e.organizationId)),
      )
      cursor = result.cursor
      if (runNo < 2) expect(result.stopped).toBe('write-budget')
    }
    expect(written).toEqual(organizations.map((org) => org.id))
    expect(cursor).toEqual(START)
    for (const org of organizations)
      expect(tenant.metadata(org.id)).toMatchObject({ keep: org.metadata?.keep, plan: 'pro' })
  })

  it('an abort signal stops after the write in flight and lists what was not applied', async () => {
    const organizations = Array.from({ length: 5 }, (_, i) => organization(`org_s${i}`))
    tenant = await startTenant({
      organizations,
      policies: organizations.map((org, i) => policy(`policy-s${i}`, org.id)),
    })
    const controller = new AbortController()
    const result = await run(tenant, {
      apply: true,
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.phase === 'writing' && progress.written === 2) controller.abort()
      },
    })
    expect(result.stopped).toBe('interrupted')
    expect(result.summary.writes).toBe(2)
    expect(result.unapplied.map((entry) => entry.organizationId)).toEqual(['org_s2', 'org_s3', 'org_s4'])
    expect(patches(tenant)).toBe(2)
  })
})
