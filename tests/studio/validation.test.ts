/**
 * The Studio's validation on good and bad documents, twice: the pure rules (src/core/authoring.ts) and the real
 * schema run by Sanity's validation engine (tests/studio/support.ts). Expected messages come from the function's
 * own code (`parsePolicy`, `organizationIdProblem`) on the shared fixtures, which is the proof that the Studio
 * applies the same rules rather than a copy.
 */
import { createClient, type SanityClient } from '@sanity/client'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { organizationIdProblem } from '../../src/core/auth0-rules.ts'
import { contentTagsBudget, POLICY_STATUSES, roleSlugIssues, studioIssues } from '../../src/core/authoring.ts'
import { DEFAULT_PLAN, encodeContentTags } from '../../src/core/metadata.ts'
import { entitlementsIssues, keyChangeProblem, planKeyIssues, planProblem } from '../../src/core/plans.ts'
import { ACTIVE_STATUS, type Issue, type PolicySource, parsePolicy } from '../../src/core/policy.ts'
import { planDocuments, policyDocument, policySource, roleDocuments } from '../support/policies.ts'
import { studioErrors, studioSchema } from './support.ts'

let lake: ContentLakeEmulator
let client: SanityClient
beforeAll(async () => {
  // Roles for the reference checks, plans for the plan picker; no other policy, so no conflicts here (see
  // conflict.test.ts). A draft plan offers nothing: only published plans count.
  const draftPlan = { _id: 'drafts.plan-gold', _type: 'plan', title: 'Gold', key: { _type: 'slug', current: 'gold' } }
  // A paused policy on "team": it blocks a change of team's key, and conflicts with nothing.
  const onTeam = { _id: 'policy-team', _type: 'accessPolicy', title: 'On team', plan: 'team', status: 'paused' }
  lake = await startContentLakeEmulator({ documents: [...roleDocuments(), ...planDocuments(), draftPlan, onTeam] })
  client = createClient({ ...lake.clientConfig })
})
afterAll(async () => {
  await lake.close()
})

/** The fixture policy as an editor's draft. */
const draft = (overrides: Record<string, unknown> = {}) => policyDocument({ _id: 'drafts.policy-acme', ...overrides })

/** What the function reports for the same values once published (policySource is the query's projection). */
function functionIssues(overrides: Partial<PolicySource>): Issue[] {
  const parsed = parsePolicy(policySource(overrides))
  return parsed.ok ? [] : parsed.issues
}

describe('good documents', () => {
  it('the fixture policy, as a draft, passes', async () => {
    expect(studioIssues(draft())).toEqual([])
    expect(await studioErrors(draft(), client)).toEqual([])
  })

  it('a paused policy without an organization passes: it grants nothing and names nothing', async () => {
    const paused = draft({ status: 'paused', auth0OrganizationId: undefined })
    expect(await studioErrors(paused, client)).toEqual([])
  })

  it('unicode tags pass, and the tags field counts their encoded length', async () => {
    const tags = ['økonomi', '研究', 'café-☕']
    expect(await studioErrors(draft({ allowedContentTags: tags }), client)).toEqual([])
    expect(contentTagsBudget(tags)).toEqual({ used: encodeContentTags(tags).length, max: 255 })
    expect(contentTagsBudget(['docs', 'reports'])).toEqual({ used: '["docs","reports"]'.length, max: 255 })
    // Duplicates and non-text are not part of what Auth0 would store.
    expect(contentTagsBudget(['docs', 'docs', 7])).toEqual({ used: '["docs"]'.length, max: 255 })
  })

  it('new policies start active on the default plan', () => {
    const fields = (
      studioSchema.get('accessPolicy') as { fields: { name: string; type: { initialValue?: unknown } }[] }
    ).fields
    const initial = (name: string) => fields.find((field) => field.name === name)?.type.initialValue
    expect(initial('status')).toBe(ACTIVE_STATUS)
    expect(initial('plan')).toBe(DEFAULT_PLAN)
    expect(planDocuments().map((plan) => (plan.key as { current: string }).current)).toContain(DEFAULT_PLAN)
    expect(POLICY_STATUSES.map((status) => status.value)).toContain(ACTIVE_STATUS)
  })
})

describe('rules the function enforces, enforced before publishing with the same message', () => {
  it.each([['acme'], ['org_x/../../clients'], ['org_x\r\nX-Injected: 1'], [`org_${'a'.repeat(65)}`], [42]])(
    'organization ID %j',
    async (id) => {
      const expected = { field: 'auth0OrganizationId', message: organizationIdProblem(id) }
      expect(functionIssues({ auth0OrganizationId: id })).toContainEqual(expected)
      expect(studioIssues(draft({ auth0OrganizationId: id }))).toContainEqual(expected)
      expect(await studioErrors(draft({ auth0OrganizationId: id }), client)).toContainEqual(expected)
    },
  )

  it.each([
    ['not text', ['docs', 7], 'allowedContentTags[1]'],
    ['empty', ['docs', ''], 'allowedContentTags[1]'],
    ['control characters', ['a\u0000b'], 'allowedContentTags[0]'],
    ['not a list', 'docs', 'allowedContentTags'],
    ['encoding over 255 characters', Array.from({ length: 40 }, (_, i) => `tag-${i}`), 'allowedContentTags'],
  ])('tags: %s', async (_name, tags, field) => {
    const expected = functionIssues({ allowedContentTags: tags }).find((issue) => issue.field === field)
    expect(expected).toBeDefined()
    expect(studioIssues(draft({ allowedContentTags: tags }))).toContainEqual(expected)
    expect(await studioErrors(draft({ allowedContentTags: tags }), client)).toContainEqual(expected)
  })

  it('an active policy needs an organization', async () => {
    const expected = functionIssues({ auth0OrganizationId: undefined })
    expect(expected).toEqual([{ field: 'auth0OrganizationId', message: expect.stringMatching(/active policy needs/) }])
    expect(await studioErrors(draft({ auth0OrganizationId: undefined }), client)).toEqual(expected)
  })

  it('a paused policy is checked as if active, so reactivating it cannot fail', async () => {
    const paused = draft({ status: 'paused', allowedContentTags: ['docs', 7] })
    expect(await studioErrors(paused, client)).toContainEqual({
      field: 'allowedContentTags[1]',
      message: 'must be text, got a number',
    })
  })

  it('a role reference that is not published is refused (the function would call it dangling)', async () => {
    const dangling = draft({ role: { _type: 'reference', _ref: 'role-deleted' } })
    expect(functionIssues({ role: null, roleRef: 'role-deleted' })).toContainEqual({
      field: 'role',
      message: expect.stringMatching(/does not exist or is not published/),
    })
    expect(await studioErrors(dangling, client)).toEqual([
      { field: 'role', message: expect.stringMatching(/must be published/) },
    ])
  })

  it('a role slug passes the function’s check for `role`', async () => {
    const role = (current: string) => ({
      _id: 'drafts.role-x',
      _type: 'role',
      title: 'X',
      slug: { _type: 'slug', current },
    })
    expect(await studioErrors(role('auditor'), client)).toEqual([])
    expect(await studioErrors(role('editor'), client)).toEqual([{ field: 'slug', message: 'Slug is already in use' }])
    const bad = 'edit\u0007or'
    const expected = functionIssues({ role: bad }).map((issue) => ({ field: 'slug', message: issue.message }))
    expect(expected).toHaveLength(1)
    expect(roleSlugIssues(bad)).toEqual(functionIssues({ role: bad }))
    expect(await studioErrors(role(bad), client)).toEqual(expected)
  })
})

describe('rules stricter than the function', () => {
  it.each([
    [
      'plan with no published plan document (a draft plan does not count)',
      { plan: 'gold' },
      'plan',
      '"gold" is not the key of a published plan: pick one of enterprise, free, pro, team',
    ],
    ['plan missing', { plan: undefined }, 'plan', 'pick a plan: one of enterprise, free, pro, team'],
    [
      'role missing',
      { role: undefined },
      'role',
      'pick the role this policy grants (Auth0 gets its slug, e.g. "member")',
    ],
    [
      'status missing',
      { status: undefined },
      'status',
      'pick one of active, paused, archived; only "active" grants access',
    ],
    [
      'status unknown',
      { status: 'Active' },
      'status',
      'pick one of active, paused, archived; only "active" grants access',
    ],
    [
      'duplicate tags',
      { allowedContentTags: ['docs', 'reports', 'docs'] },
      'allowedContentTags[2]',
      '"docs" is already tag 1: remove the duplicate',
    ],
  ])('%s', async (_name, overrides, field, message) => {
    expect(message).toBeTruthy()
    const expected = { field, message }
    const plans = planDocuments().map((plan) => ({ key: (plan.key as { current: string }).current, title: null }))
    plans.sort((a, b) => a.key.localeCompare(b.key))
    expect(studioIssues(draft(overrides), plans)).toContainEqual(expected)
    expect(await studioErrors(draft(overrides), client)).toContainEqual(expected)
  })

  it('a duplicate tag: the function dedupes it, the Studio asks to remove it (and only that)', async () => {
    const tags = ['reports', 'docs', 'webinars', 'docs']
    expect(functionIssues({ allowedContentTags: tags })).toEqual([])
    expect(await studioErrors(draft({ _id: 'drafts.policy-duplicate-tag', allowedContentTags: tags }), client)).toEqual(
      [{ field: 'allowedContentTags[3]', message: '"docs" is already tag 2: remove the duplicate' }],
    )
  })

  it('one mistake, one Studio message: a plan that is not text gets the function’s message only', () => {
    const issues = studioIssues(draft({ plan: ['pro'] })).filter((issue) => issue.field === 'plan')
    expect(issues).toEqual(functionIssues({ plan: ['pro'] }).filter((issue) => issue.field === 'plan'))
  })
})

describe('plan documents', () => {
  const plan = (fields: Record<string, unknown>) => ({
    _id: 'drafts.plan-x',
    _type: 'plan',
    title: 'X',
    key: { _type: 'slug', current: 'x-plan' },
    ...fields,
  })

  it('a plan with short entitlement keys passes; a key another plan has is refused', async () => {
    expect(await studioErrors(plan({ entitlements: ['sso', 'audit-log', 'api:write'] }), client)).toEqual([])
    expect(await studioErrors(plan({ key: { _type: 'slug', current: 'pro' } }), client)).toEqual([
      { field: 'key', message: 'Slug is already in use' },
    ])
  })

  it('a published plan’s key cannot change while published policies use it; one nobody uses can', async () => {
    const team = planDocuments().find((doc) => doc._id === 'plan-team') as Record<string, unknown>
    const renamed = { ...team, _id: 'drafts.plan-team', key: { _type: 'slug', current: 'teams' } }
    expect(await studioErrors(renamed, client)).toEqual([
      { field: 'key', message: keyChangeProblem('team', 'teams', 1) },
    ])
    expect(keyChangeProblem('team', 'teams', 1)).toMatch(/^1 published policy uses the key "team": changing it/)
    expect(await studioErrors({ ...team, _id: 'drafts.plan-team', title: 'Teams' }, client)).toEqual([])
    const enterprise = planDocuments().find((doc) => doc._id === 'plan-enterprise') as Record<string, unknown>
    const unused = { ...enterprise, _id: 'drafts.plan-enterprise', key: { _type: 'slug', current: 'corporate' } }
    expect(await studioErrors(unused, client)).toEqual([])
  })

  it('the key follows the function’s rules for `plan`', async () => {
    const bad = 'pr\u0007o'
    const expected = functionIssues({ plan: bad }).map((issue) => ({ field: 'key', message: issue.message }))
    expect(expected).toHaveLength(1)
    expect(planKeyIssues(bad)).toEqual(functionIssues({ plan: bad }))
    expect(await studioErrors(plan({ key: { _type: 'slug', current: bad } }), client)).toEqual(expected)
  })

  it('entitlements: the function’s 255-character rule, from the same code, plus short keys and no duplicates', async () => {
    const long = Array.from({ length: 30 }, (_, i) => `entitlement-${i}`)
    const tooLong = functionIssues({ entitlements: long })
    expect(tooLong).toEqual([
      { field: 'entitlements', message: expect.stringMatching(/encode to \d+ characters; Auth0 allows 255/) },
    ])
    expect(await studioErrors(plan({ entitlements: long }), client)).toEqual([
      { field: 'entitlements', message: tooLong[0]?.message },
    ])
    expect(entitlementsIssues(['sso', 'SSO', 'sso'])).toEqual([
      { field: 'entitlements[1]', message: expect.stringMatching(/not a short key/) },
      { field: 'entitlements[2]', message: '"sso" is already entitlement 1: remove the duplicate' },
    ])
    expect(await studioErrors(plan({ entitlements: ['sso', 'a\u0000b'] }), client)).toEqual([
      { field: 'entitlements[1]', message: functionIssues({ entitlements: ['sso', 'a\u0000b'] })[0]?.message },
    ])
  })

  it('planProblem names the published keys, or says none is published', () => {
    expect(planProblem('pro', [{ key: 'pro', title: 'Pro' }])).toBeUndefined()
    expect(planProblem('pro', [])).toBe(
      '"pro" is not the key of a published plan: no plan is published yet: publish a plan document first',
    )
  })
})

describe('nothing the function rejects can be published from the Studio', () => {
  const text = fc.oneof(
    fc.constantFrom('docs', 'org_acme123', 'pro', '', ' ', 'a\u0000b', 'x'.repeat(300), '\ud800'),
    fc.string({ maxLength: 12 }),
  )
  const value = fc.oneof(text, fc.integer(), fc.constant(null), fc.array(text, { maxLength: 3 }))
  it('for generated organization IDs, plans and tags, every function issue is a Studio error on that field', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            auth0OrganizationId: fc.oneof(value, fc.stringMatching(/^org_[A-Za-z0-9]{1,8}$/)),
            plan: fc.oneof(value, fc.constantFrom('free', 'team', 'pro', 'enterprise')),
            allowedContentTags: fc.oneof(value, fc.array(text, { maxLength: 30 })),
          },
          { requiredKeys: [] },
        ),
        async (fields) => {
          const rejected = functionIssues(fields)
          const errors = await studioErrors(draft(fields), client, { documentExists: (id) => !!lake.getDocument(id) })
          const topField = (field: string) => field.replace(/\[\d+\]$/, '')
          for (const issue of rejected) {
            expect(errors.map((error) => topField(error.field))).toContain(topField(issue.field))
          }
        },
      ),
      { numRuns: 150 },
    )
  })
})
