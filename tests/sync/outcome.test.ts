/**
 * The word a policy's sync status records (src/sync/organization.ts, policyOutcome), from the Organizations its event
 * reached. The plans come from the real planner over the same policy, so `owner` is what the planner decides.
 */
import { describe, expect, it } from 'vitest'
import type { OrganizationId } from '../../src/core/auth0-rules.ts'
import { planOrganization } from '../../src/core/planner.ts'
import { type OrganizationResult, policyOutcome } from '../../src/sync/organization.ts'
import { policySource } from '../support/policies.ts'

const moved = policySource({ _id: 'policy-acme', auth0OrganizationId: 'org_globex' })
const id = 'policy-acme'

function result(org: string, outcome: 'granted' | 'revoked' | 'unchanged'): OrganizationResult {
  const organizationId = org as OrganizationId
  const claimants = organizationId === moved.auth0OrganizationId ? [moved] : []
  return { organizationId, outcome, plan: planOrganization({ organizationId, claimants, observed: {} }), metadata: {} }
}

describe('policyOutcome', () => {
  it('a move: the new Organization granted, the old one revoked → synced', () => {
    expect(policyOutcome(id, moved, [result('org_globex', 'granted'), result('org_acme123', 'revoked')])).toBe('synced')
  })

  // Another copy of the same event (or the run before it) wrote the new Organization first: the policy still grants.
  it('a move whose new Organization already holds the grant, the old one revoked now → synced, not revoked', () => {
    expect(policyOutcome(id, moved, [result('org_globex', 'unchanged'), result('org_acme123', 'revoked')])).toBe(
      'synced',
    )
  })

  it('an archived policy whose Organization was revoked → revoked', () => {
    const archived = { ...moved, status: 'archived' }
    expect(policyOutcome(id, archived, [result('org_acme123', 'revoked')])).toBe('revoked')
    expect(policyOutcome(id, null, [result('org_acme123', 'revoked')])).toBe('revoked')
  })

  it('an active policy revoked where it does not own the grant → revoked', () => {
    expect(policyOutcome(id, moved, [result('org_acme123', 'revoked')])).toBe('revoked')
  })

  it('nothing written → unchanged', () => {
    expect(policyOutcome(id, moved, [result('org_globex', 'unchanged')])).toBe('unchanged')
  })
})
