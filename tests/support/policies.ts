import type { PolicySource } from '../../src/core/policy.ts'

/** An active policy as the function's GROQ projection returns it; override what a test needs. */
export function policySource(overrides: Partial<PolicySource> = {}): PolicySource {
  return {
    _id: 'policy-acme',
    _rev: 'r1',
    _createdAt: '2026-02-01T10:00:00Z',
    _updatedAt: '2026-02-01T10:00:00Z',
    auth0OrganizationId: 'org_acme123',
    plan: 'pro',
    allowedContentTags: ['docs', 'reports'],
    role: 'editor',
    roleRef: 'role-editor',
    status: 'active',
    ...overrides,
  }
}
