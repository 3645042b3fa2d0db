import { readFileSync } from 'node:fs'
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

const fixtures = new URL('../../functions/sync-access-policy/fixtures/', import.meta.url)
const readFixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, fixtures), 'utf8')) as T

type Doc = { _id: string; _type: string; [key: string]: unknown }

/** The fixture `role` documents (editor, viewer). */
export const roleDocuments = (): Doc[] => readFixture<Doc[]>('dataset.json').filter((doc) => doc._type === 'role')

/** The fixture `plan` documents (free, team, pro with `audit-log` and `sso`, enterprise). */
export const planDocuments = (): Doc[] => readFixture<Doc[]>('dataset.json').filter((doc) => doc._type === 'plan')

/** The fixture policy document as editors publish it (plan pro, role → editor, org_acme123). */
export const policyDocument = (overrides: Partial<Doc> = {}): Doc => ({
  ...readFixture<Doc>('policy-acme.json'),
  ...overrides,
})
