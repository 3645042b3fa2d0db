import type { Auth0Organization } from '../../emulators/auth0.ts'
import { encodeGrant } from '../../src/core/metadata.ts'
import { planDocuments } from './policies.ts'

export const SYNCED_AT = '2026-03-01T00:00:00Z'
const PRO = planDocuments().find((plan) => plan._id === 'plan-pro')?.entitlements as string[]

/**
 * `count` active policies on `role` (plan pro, tag docs) and their Organizations, already in step: each holds its
 * policy's grant and a key of its own (`crmAccount: CRM-<n>`). IDs `policy-<prefix><n>` and `org_<prefix><n>`, with
 * `<n>` zero-padded to `width` digits.
 */
export function syncedTenant(count: number, prefix: string, role: { id: string; slug: string }, width = 5) {
  const organizations: Auth0Organization[] = []
  const policies: Array<{ _id: string; _type: string; [key: string]: unknown }> = []
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(width, '0')
    const id = `org_${prefix}${n}`
    const policyId = `policy-${prefix}${n}`
    policies.push({
      _id: policyId,
      _type: 'accessPolicy',
      _rev: `${policyId}-r1`,
      _createdAt: '2026-01-01T00:00:00Z',
      _updatedAt: SYNCED_AT,
      title: policyId,
      auth0OrganizationId: id,
      plan: 'pro',
      allowedContentTags: ['docs'],
      role: { _type: 'reference', _ref: role.id },
      status: 'active',
    })
    const grant = encodeGrant({
      policyId,
      rev: `${policyId}-r1`,
      updatedAt: SYNCED_AT,
      plan: 'pro',
      role: role.slug,
      contentTags: ['docs'],
      entitlements: PRO,
    })
    organizations.push({ id, name: id.replace('_', '-'), metadata: { crmAccount: `CRM-${n}`, ...grant } })
  }
  return { organizations, policies }
}
