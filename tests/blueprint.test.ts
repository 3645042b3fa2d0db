/**
 * The blueprint's own filter and projection, evaluated with groq-js in delta mode as the runtime does, over a
 * full dataset: which changes reach the function, and that the payload carries identifiers only.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type Doc, projectEvent } from '../emulators/functions-runtime.ts'
import blueprint, { SYNC_FUNCTION } from '../sanity.blueprint.ts'

const dataset: Doc[] = JSON.parse(
  readFileSync(new URL('../functions/sync-access-policy/fixtures/dataset.json', import.meta.url), 'utf8'),
)
const policy = dataset.find((doc) => doc._id === 'policy-acme') as Doc
const project = (before: Doc | null, after: Doc | null) =>
  projectEvent(SYNC_FUNCTION, { id: (after ?? before)?._id ?? '', before, after }, dataset)

describe('sanity.blueprint.ts', () => {
  it('declares one document function on published create, update and delete, on Node 24', () => {
    expect(blueprint).toBeTypeOf('function')
    expect(SYNC_FUNCTION).toMatchObject({
      type: 'sanity.function.document',
      name: 'sync-access-policy',
      src: './functions/sync-access-policy',
      runtime: 'nodejs24.x',
      event: { on: ['create', 'update', 'delete'] },
    })
    expect(SYNC_FUNCTION.event.includeDrafts).not.toBe(true)
    expect(SYNC_FUNCTION.event.includeAllVersions).not.toBe(true)
    expect(SYNC_FUNCTION.env).toBeUndefined()
  })

  it('projects identifiers only: never plan, tags, title or internal notes', async () => {
    expect(await project(null, policy)).toEqual({
      _id: 'policy-acme',
      _rev: 'r-acme-1',
      operation: 'create',
      auth0OrganizationId: 'org_acme123',
      previousOrganizationId: null,
    })
  })

  it('reports the previous organization when the ID changes, and on delete', async () => {
    const moved = { ...policy, auth0OrganizationId: 'org_globex456' }
    expect(await project(policy, moved)).toMatchObject({
      operation: 'update',
      auth0OrganizationId: 'org_globex456',
      previousOrganizationId: 'org_acme123',
    })
    expect(await project(policy, null)).toMatchObject({
      operation: 'delete',
      auth0OrganizationId: 'org_acme123',
      previousOrganizationId: 'org_acme123',
    })
  })

  it('still fires when the organization ID is removed (before() widens the filter)', async () => {
    const { auth0OrganizationId: _removed, ...withoutOrg } = policy
    expect(await project(policy, withoutOrg as Doc)).toMatchObject({ previousOrganizationId: 'org_acme123' })
  })

  it('drops other types, drafts, versions and policies that never named an organization', async () => {
    const role = dataset.find((doc) => doc._type === 'role') as Doc
    expect(await project(null, role)).toBeUndefined()
    expect(await project(null, { ...policy, _id: 'drafts.policy-acme' })).toBeUndefined()
    expect(await project(null, { ...policy, _id: 'versions.r1.policy-acme' })).toBeUndefined()
    const { auth0OrganizationId: _none, ...orgless } = policy
    expect(await project(null, orgless as Doc)).toBeUndefined()
  })
})
