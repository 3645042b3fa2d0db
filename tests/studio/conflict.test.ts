/**
 * One active policy per organization: the conflict query over the fixture dataset with groq-js, then the Studio's
 * async validation running it through a real client against the Content Lake emulator.
 */
import { createClient, type SanityClient } from '@sanity/client'
import { evaluate, parse } from 'groq-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import type { OrganizationId } from '../../src/core/auth0-rules.ts'
import { conflictIssue } from '../../src/core/authoring.ts'
import { rankClaimants } from '../../src/core/planner.ts'
import { CONFLICTING_POLICIES_QUERY } from '../../studio/queries.ts'
import { planDocuments, policyDocument, roleDocuments } from '../support/policies.ts'
import { studioErrors } from './support.ts'

const ORG = 'org_acme123'
const acme = policyDocument() // published, active, org_acme123, created 2026-02-01
const others = [
  { ...acme, _id: 'drafts.policy-acme', title: 'Acme (draft of the same policy)' },
  { ...acme, _id: 'policy-older', title: 'Older', _createdAt: '2025-06-01T00:00:00Z' },
  { ...acme, _id: 'drafts.policy-draft-only', title: 'Never published' },
  { ...acme, _id: 'versions.rSpring.policy-release', title: 'In a release' },
  { ...acme, _id: 'policy-archived', title: 'Archived', status: 'archived' },
  { ...acme, _id: 'policy-globex', title: 'Globex', auth0OrganizationId: 'org_globex456' },
]
const dataset = [...roleDocuments(), acme, ...others]

async function conflicting(organizationId: string, publishedId: string) {
  const tree = parse(CONFLICTING_POLICIES_QUERY)
  const value = await evaluate(tree, { dataset, params: { organizationId, publishedId } })
  return (await value.get()) as { _id: string; title: string | null }[]
}

describe('CONFLICTING_POLICIES_QUERY (groq-js over the fixture dataset, raw perspective)', () => {
  it('finds the other published, active policies naming the organization, oldest first', async () => {
    expect(await conflicting(ORG, 'policy-new')).toEqual([
      { _id: 'policy-older', title: 'Older' },
      { _id: 'policy-acme', title: acme.title },
    ])
  })

  it('never counts the edited policy itself (published or draft), drafts, release versions or inactive ones', async () => {
    expect(await conflicting(ORG, 'policy-acme')).toEqual([{ _id: 'policy-older', title: 'Older' }])
    expect(await conflicting('org_globex456', 'policy-globex')).toEqual([])
    expect(await conflicting('org_nobody', 'policy-new')).toEqual([])
  })

  it('orders like the function: the first result is the policy the function lets own the organization', async () => {
    const [first] = await conflicting(ORG, 'policy-new')
    const published = dataset.filter((doc) => !doc._id.includes('.'))
    const [owner] = rankClaimants({ organizationId: ORG as OrganizationId, claimants: published })
    expect(first?._id).toBe(owner?._id)
  })

  it('names the policy and the way out', () => {
    expect(conflictIssue(ORG, [])).toBeUndefined()
    expect(conflictIssue(ORG, [{ _id: 'policy-older', title: 'Older' }])).toEqual({
      field: 'auth0OrganizationId',
      message:
        'org_acme123 is already granted by the published, active policy "Older" (policy-older). An organization takes one active policy: archive that one, or name another organization',
    })
    expect(
      conflictIssue(ORG, [
        { _id: 'a', title: null },
        { _id: 'b', title: 'B' },
      ])?.message,
    ).toMatch(/^org_acme123 is already granted by the published, active policy a and 1 more\./)
  })
})

describe('the Studio blocks publishing a second active policy for an organization', () => {
  let lake: ContentLakeEmulator
  let client: SanityClient
  beforeAll(async () => {
    // Roles and plans for the reference and plan checks: only the conflict is under test here.
    lake = await startContentLakeEmulator({ documents: [...roleDocuments(), ...planDocuments(), acme] })
    client = createClient({ ...lake.clientConfig })
  })
  afterAll(async () => {
    await lake.close()
  })

  const newPolicy = (overrides: Record<string, unknown> = {}) =>
    policyDocument({ _id: 'drafts.policy-new', title: 'Acme again', allowedContentTags: ['docs'], ...overrides })

  it('an active draft naming an organization that a published active policy holds gets a blocking error', async () => {
    expect(await studioErrors(newPolicy(), client)).toEqual([
      {
        field: 'auth0OrganizationId',
        message: `org_acme123 is already granted by the published, active policy "${acme.title}" (policy-acme). An organization takes one active policy: archive that one, or name another organization`,
      },
    ])
    const query = lake.requests.find((request) => request.query.tag === 'access-policy-conflict')
    expect(query?.query).toMatchObject({ perspective: 'published', $organizationId: `"${ORG}"` })
  })

  it('no error for the published policy’s own draft, a paused draft, or another organization', async () => {
    expect(
      await studioErrors(policyDocument({ _id: 'drafts.policy-acme', allowedContentTags: ['docs'] }), client),
    ).toEqual([])
    expect(await studioErrors(newPolicy({ status: 'paused' }), client)).toEqual([])
    expect(await studioErrors(newPolicy({ auth0OrganizationId: 'org_globex456' }), client)).toEqual([])
  })

  it('only published policies count: another editor’s unpublished draft does not block', async () => {
    lake.seed([{ ...acme, _id: 'drafts.policy-other', auth0OrganizationId: 'org_globex456' }])
    expect(await studioErrors(newPolicy({ auth0OrganizationId: 'org_globex456' }), client)).toEqual([])
  })

  it('an invalid organization ID is reported as such, without a query', async () => {
    lake.clearRequests()
    expect(await studioErrors(newPolicy({ auth0OrganizationId: 'acme' }), client)).toEqual([
      { field: 'auth0OrganizationId', message: expect.stringMatching(/is not an Auth0 Organization ID/) },
    ])
    expect(lake.requests.filter((request) => request.query.tag === 'access-policy-conflict')).toEqual([])
  })
})
