import { describe, expect, it } from 'vitest'
import { isOrganizationId } from '../../src/core/auth0-rules.ts'
import { type PolicyEvent, parsePolicyEvent, supersedingRevision } from '../../src/core/event.ts'
import { type Issue, parsePolicy } from '../../src/core/policy.ts'
import { policySource } from '../support/policies.ts'

const activePolicy = policySource()

function issuesOf(source: unknown): Issue[] {
  const parsed = parsePolicy(source)
  return parsed.ok ? [] : parsed.issues
}

describe('parsePolicy', () => {
  it('turns an active policy into a grant', () => {
    const parsed = parsePolicy(activePolicy)
    expect(parsed).toEqual({
      ok: true,
      value: {
        id: 'policy-acme',
        createdAt: '2026-02-01T10:00:00Z',
        organizationId: 'org_acme123',
        grant: {
          policyId: 'policy-acme',
          rev: 'r1',
          updatedAt: '2026-02-01T10:00:00Z',
          plan: 'pro',
          role: 'editor',
          contentTags: ['docs', 'reports'],
          entitlements: [],
        },
      },
    })
  })

  it('carries the plan’s entitlements; a plan key with no plan document (null) grants none', () => {
    const onPlan = parsePolicy({ ...activePolicy, entitlements: ['sso', 'audit-log'] })
    expect(onPlan.ok && onPlan.value.grant?.entitlements).toEqual(['sso', 'audit-log'])
    const unknownPlan = parsePolicy({ ...activePolicy, plan: 'gold', entitlements: null })
    expect(unknownPlan.ok && unknownPlan.value.grant).toMatchObject({ plan: 'gold', entitlements: [] })
  })

  it('rejects plan entitlements Auth0 could not take, naming the field and the fix', () => {
    expect(parsePolicy({ ...activePolicy, entitlements: ['sso', 7] })).toEqual({
      ok: false,
      issues: [{ field: 'entitlements[1]', message: 'must be text, got a number' }],
    })
    const long = Array.from({ length: 30 }, (_, i) => `entitlement-${i}`)
    const parsed = parsePolicy({ ...activePolicy, entitlements: long })
    expect(parsed.ok ? [] : parsed.issues).toEqual([
      {
        field: 'entitlements',
        message: expect.stringMatching(
          /^the entitlements encode to \d+ characters; Auth0 allows 255 per value: remove or shorten entitlements on the policy's plan document$/,
        ),
      },
    ])
  })

  it('defaults plan to "free", role to "member" and tags to none', () => {
    const parsed = parsePolicy({ ...activePolicy, plan: null, role: null, roleRef: null, allowedContentTags: null })
    expect(parsed.ok && parsed.value.grant).toMatchObject({ plan: 'free', role: 'member', contentTags: [] })
  })

  it('grants nothing for any status other than "active"', () => {
    for (const status of ['archived', 'Active', '', null, undefined, 1]) {
      const parsed = parsePolicy({ ...activePolicy, status, allowedContentTags: [1, 2] })
      expect(parsed.ok && parsed.value.grant).toBeUndefined()
    }
  })

  it.each([
    ['auth0OrganizationId', { auth0OrganizationId: 'acme' }, /not an Auth0 Organization ID/],
    ['auth0OrganizationId', { auth0OrganizationId: 'org_x/../../clients' }, /not an Auth0 Organization ID/],
    ['auth0OrganizationId', { auth0OrganizationId: 'org_x\r\nX-Injected: 1' }, /not an Auth0 Organization ID/],
    ['auth0OrganizationId', { auth0OrganizationId: 42 }, /must be a string/],
    ['auth0OrganizationId', { auth0OrganizationId: undefined }, /active policy needs/],
    ['allowedContentTags', { allowedContentTags: 'docs' }, /must be a list/],
    ['allowedContentTags[1]', { allowedContentTags: ['docs', 7] }, /must be text, got a number/],
    ['allowedContentTags[0]', { allowedContentTags: [''] }, /must not be empty/],
    ['allowedContentTags[0]', { allowedContentTags: ['a\u0000b'] }, /control characters/],
    [
      'allowedContentTags',
      { allowedContentTags: Array.from({ length: 40 }, (_, i) => `tag-${i}`) },
      /Auth0 allows 255/,
    ],
    ['plan', { plan: ['pro'] }, /must be text, got an array/],
    ['plan', { plan: 'p'.repeat(256) }, /256 characters/],
    ['role', { role: null, roleRef: 'role-deleted' }, /does not exist or is not published/],
    ['role', { role: { current: 'x' } }, /must be text/],
    ['_rev', { _rev: undefined }, /non-empty string/],
  ])('names the field %s', (field, patch, message) => {
    const issues = issuesOf({ ...activePolicy, ...patch })
    expect(issues).toContainEqual({ field, message: expect.stringMatching(message) })
  })

  it('rejects things that are not documents', () => {
    for (const value of [null, 'policy', [activePolicy], 3]) {
      expect(issuesOf(value)).toEqual([{ field: 'document', message: expect.any(String) }])
    }
  })

  it('keeps unicode tags intact', () => {
    const tags = ['økonomi', '研究', 'café-☕', '👩🏽‍💻']
    const parsed = parsePolicy({ ...activePolicy, allowedContentTags: tags })
    expect(parsed.ok && parsed.value.grant?.contentTags).toEqual(tags)
  })
})

describe('organization IDs', () => {
  it('accepts only org_ followed by letters and digits', () => {
    expect(isOrganizationId('org_W7m2K9aQpL3xZ1vB')).toBe(true)
    for (const id of [
      'org_',
      'org-abc',
      'ORG_abc',
      'org_abc?x=1',
      'org_abc#',
      ' org_abc',
      'org_ä',
      `org_${'a'.repeat(65)}`,
    ]) {
      expect(isOrganizationId(id)).toBe(false)
    }
  })
})

describe('parsePolicyEvent', () => {
  it('collects the current and previous organization once each', () => {
    const parsed = parsePolicyEvent({
      _id: 'p',
      operation: 'update',
      auth0OrganizationId: 'org_new',
      previousOrganizationId: 'org_old',
    })
    expect(parsed.ok && parsed.value.organizationIds).toEqual(['org_new', 'org_old'])
    const same = parsePolicyEvent({ _id: 'p', auth0OrganizationId: 'org_a', previousOrganizationId: 'org_a' })
    expect(same.ok && same.value.organizationIds).toEqual(['org_a'])
  })

  it('fails on an unsafe current organization ID and skips an unsafe previous one', () => {
    const bad = parsePolicyEvent({ _id: 'p', auth0OrganizationId: '../../x' })
    expect(bad.ok).toBe(false)
    expect(!bad.ok && bad.issues[0]?.field).toBe('auth0OrganizationId')
    const skipped = parsePolicyEvent({ _id: 'p', auth0OrganizationId: 'org_a', previousOrganizationId: 'nope' })
    expect(skipped.ok && skipped.value).toMatchObject({
      organizationIds: ['org_a'],
      skippedPreviousOrganizationId: 'nope',
    })
  })

  it('requires a document ID and a known operation', () => {
    const parsed = parsePolicyEvent({ operation: 'publish' })
    expect(!parsed.ok && parsed.issues.map((issue) => issue.field)).toEqual(['_id', 'operation'])
  })
})

describe('supersedingRevision', () => {
  const event = (data: Record<string, unknown>): PolicyEvent => {
    const parsed = parsePolicyEvent({ _id: 'p', _rev: 'r1', operation: 'update', ...data })
    if (!parsed.ok) throw new Error('test event does not parse')
    return parsed.value
  }
  const named = event({ auth0OrganizationId: 'org_a' })

  it('names the later revision, or a deletion, when the event revision was published over', () => {
    expect(named.namedOrganizationId).toBe('org_a')
    expect(supersedingRevision(named, { _rev: 'r2' })).toBe('revision r2')
    expect(supersedingRevision(named, null)).toBe('a deletion')
    expect(supersedingRevision(event({ operation: 'create', auth0OrganizationId: 'org_a' }), { _rev: 'r2' })).toBe(
      'revision r2',
    )
  })

  it('keeps the event when it is the latest revision or when a later event would not carry its Organization', () => {
    expect(supersedingRevision(named, { _rev: 'r1' })).toBeUndefined()
    // No revision in the projection: nothing to compare.
    expect(
      supersedingRevision(event({ _rev: undefined, auth0OrganizationId: 'org_a' }), { _rev: 'r2' }),
    ).toBeUndefined()
    // A delete names no Organization of its own; its revoke is in no later event.
    const deleted = event({ operation: 'delete', auth0OrganizationId: null, previousOrganizationId: 'org_a' })
    expect(deleted.namedOrganizationId).toBeUndefined()
    expect(supersedingRevision(deleted, { _rev: 'r2' })).toBeUndefined()
    // A revision that names no Organization: the one it moved away from stays with this event.
    const cleared = event({ auth0OrganizationId: null, previousOrganizationId: 'org_a' })
    expect(supersedingRevision(cleared, { _rev: 'r2' })).toBeUndefined()
    // The CLI ran the function on this document (no operation): the operator wants it synced.
    expect(supersedingRevision(event({ operation: null, auth0OrganizationId: 'org_a' }), null)).toBeUndefined()
    // A revision the Content Lake holds with no readable _rev is never taken for a later one.
    expect(supersedingRevision(named, {})).toBeUndefined()
  })
})
