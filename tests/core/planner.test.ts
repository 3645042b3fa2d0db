import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Metadata, OrganizationId } from '../../src/core/auth0-rules.ts'
import { encodeGrant, OWNED_KEYS, splitMetadata } from '../../src/core/metadata.ts'
import { type Plan, planOrganization } from '../../src/core/planner.ts'
import type { PolicySource } from '../../src/core/policy.ts'
import { policySource } from '../support/policies.ts'

const org = 'org_acme123' as OrganizationId
const foreign = { crmAccount: 'ACME-0042', supportTier: 'gold' }
const acme = policySource()
const acmeMetadata = {
  plan: 'pro',
  role: 'editor',
  contentTags: '["docs","reports"]',
  entitlements: '[]',
  sanityPolicyId: 'policy-acme',
  sanityPolicyRev: 'r1',
  sanityPolicyUpdatedAt: '2026-02-01T10:00:00Z',
}

function plan(claimants: PolicySource[], observed: Metadata): Plan {
  return planOrganization({ organizationId: org, claimants, observed })
}

describe('planOrganization', () => {
  it('grants: owned keys written, every foreign key carried through', () => {
    const result = plan([acme], foreign)
    expect(result).toMatchObject({ action: 'write', change: 'grant', metadata: { ...foreign, ...acmeMetadata } })
  })

  it('does nothing when Auth0 already holds the desired metadata', () => {
    expect(plan([acme], { ...foreign, ...acmeMetadata })).toMatchObject({ action: 'none', reason: 'in-sync' })
  })

  it('does not rewrite for a revision that changes no access key (a title edit)', () => {
    const retitled = policySource({ _rev: 'r2', _updatedAt: '2026-02-02T10:00:00Z' })
    expect(plan([retitled], { ...foreign, ...acmeMetadata })).toMatchObject({ action: 'none', reason: 'in-sync' })
  })

  it('a plan entitlements edit (same policy revision) is a write of the new entitlements only', () => {
    const onEditedPlan = policySource({ entitlements: ['sso', 'audit-log'] })
    const result = plan([onEditedPlan], { ...foreign, ...acmeMetadata })
    expect(result).toMatchObject({
      action: 'write',
      change: 'grant',
      metadata: { ...foreign, ...acmeMetadata, entitlements: '["audit-log","sso"]' },
    })
  })

  it('metadata written before entitlements existed gets them added', () => {
    const { entitlements: _absent, ...before } = acmeMetadata
    expect(plan([acme], { ...foreign, ...before })).toMatchObject({
      action: 'write',
      metadata: { ...foreign, ...acmeMetadata },
    })
  })

  it('revokes: removes every owned key, keeps the rest', () => {
    const result = plan([], { ...foreign, ...acmeMetadata })
    expect(result).toMatchObject({ action: 'write', change: 'revoke', metadata: foreign })
  })

  it('ignores inactive policies and policies naming other organizations', () => {
    const claimants = [policySource({ status: 'draft' }), policySource({ _id: 'b', auth0OrganizationId: 'org_other' })]
    expect(plan(claimants, { ...foreign, ...acmeMetadata })).toMatchObject({ action: 'write', change: 'revoke' })
  })

  it('leaves access keys alone that this project never wrote', () => {
    expect(plan([], { plan: 'legacy', ...foreign })).toMatchObject({ action: 'none', reason: 'not-ours' })
    expect(plan([], foreign)).toMatchObject({ action: 'none', reason: 'in-sync' })
  })

  it('hands the organization to the remaining active policy instead of revoking', () => {
    const other = policySource({ _id: 'policy-other', _createdAt: '2026-03-01T00:00:00Z', plan: 'team' })
    const result = plan([other], { ...foreign, ...acmeMetadata })
    expect(result).toMatchObject({
      action: 'write',
      change: 'grant',
      metadata: { plan: 'team', sanityPolicyId: 'policy-other' },
    })
  })

  it('never goes back to an older revision of the owning policy', () => {
    const older = policySource({ _rev: 'r0', _updatedAt: '2026-01-01T00:00:00Z', plan: 'free' })
    expect(plan([older], { ...foreign, ...acmeMetadata })).toMatchObject({ action: 'none', reason: 'newer-in-auth0' })
  })

  it('rejects, naming the field, when the owning policy is invalid', () => {
    const result = plan([policySource({ allowedContentTags: ['ok', 3] })], foreign)
    expect(result).toMatchObject({
      action: 'reject',
      reason: 'invalid-policy',
      policyId: 'policy-acme',
      issues: [{ field: 'allowedContentTags[1]' }],
    })
  })

  it('rejects when the organization already holds too many keys for ours to fit', () => {
    // 7 owned keys leave room for 18 foreign ones: 19 is one too many.
    const fits = Object.fromEntries(Array.from({ length: 18 }, (_, i) => [`k${i}`, 'v']))
    expect(plan([acme], fits)).toMatchObject({ action: 'write', change: 'grant' })
    const crowded = { ...fits, k18: 'v' }
    const result = plan([acme], crowded)
    expect(result).toMatchObject({ action: 'reject', reason: 'metadata-limits' })
    expect(result.action === 'reject' && result.issues[0]?.message).toMatch(/26 metadata keys/)
  })

  it('picks the oldest active policy as owner whatever the order, and reports the rest as conflicts', () => {
    const older = policySource({ _id: 'policy-b', _createdAt: '2026-01-01T00:00:00Z', plan: 'team' })
    const newer = policySource({ _id: 'policy-a', _createdAt: '2026-05-01T00:00:00Z', plan: 'pro' })
    for (const claimants of [
      [older, newer],
      [newer, older],
    ]) {
      const result = plan(claimants, {})
      expect(result).toMatchObject({ owner: { policyId: 'policy-b', plan: 'team' }, conflicts: ['policy-a'] })
    }
  })
})

describe('planner properties', () => {
  const key = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !(OWNED_KEYS as readonly string[]).includes(k))
  const foreignMap = fc.dictionary(key, fc.string({ maxLength: 20 }), { maxKeys: 10 })
  const claimant = fc.record({
    _id: fc.constantFrom('p1', 'p2', 'p3'),
    _createdAt: fc.constantFrom('2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'),
    _updatedAt: fc.constantFrom('2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z'),
    status: fc.constantFrom('active', 'archived'),
    plan: fc.constantFrom('free', 'pro', null),
    allowedContentTags: fc.array(fc.constantFrom('a', 'b', 'ü'), { maxLength: 3 }),
  })
  const claimants = fc
    .uniqueArray(claimant, { selector: (c) => c._id, maxLength: 3 })
    .map((list) => list.map((c) => policySource({ ...c, _rev: `${c._id}-${c._updatedAt}` })))

  it('is idempotent: after applying its write, planning again writes nothing', () => {
    fc.assert(
      fc.property(claimants, foreignMap, fc.option(fc.constantFrom(...[acmeMetadata])), (list, others, ours) => {
        const observed = { ...others, ...(ours ?? {}) }
        const first = plan(list, observed)
        const after = first.action === 'write' ? first.metadata : observed
        expect(plan(list, after).action).not.toBe('write')
      }),
    )
  })

  it('never loses or changes a key it does not own', () => {
    fc.assert(
      fc.property(claimants, foreignMap, (list, others) => {
        const result = plan(list, { ...others, ...acmeMetadata })
        if (result.action === 'write') expect(splitMetadata(result.metadata).foreign).toEqual(others)
      }),
    )
  })

  it('does not depend on the order the Content Lake returns policies in', () => {
    fc.assert(
      fc.property(claimants, foreignMap, (list, others) => {
        expect(plan([...list].reverse(), others)).toEqual(plan(list, others))
      }),
    )
  })

  it('writes exactly the owner’s grant, or no owned key at all', () => {
    fc.assert(
      fc.property(claimants, foreignMap, (list, others) => {
        const result = plan(list, { ...others, ...acmeMetadata })
        if (result.action !== 'write') return
        const { owned } = splitMetadata(result.metadata)
        expect(owned).toEqual(result.owner ? encodeGrant(result.owner) : {})
      }),
    )
  })
})
