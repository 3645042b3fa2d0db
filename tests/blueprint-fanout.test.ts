/**
 * The fan-out functions' filters and projections in groq-js delta mode, as the runtime evaluates them (the same
 * projectEvent as tests/blueprint.test.ts): only what Auth0 gets fires, and the payload carries identifiers only.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type Doc, projectEvent } from '../emulators/functions-runtime.ts'
import { accessSyncResources, PLAN_FAN_OUT, ROLE_FAN_OUT } from '../sanity.blueprint.ts'

const dataset: Doc[] = JSON.parse(
  readFileSync(new URL('../functions/sync-access-policy/fixtures/dataset.json', import.meta.url), 'utf8'),
)
const role = dataset.find((doc) => doc._id === 'role-editor') as Doc
const plan = dataset.find((doc) => doc._id === 'plan-pro') as Doc
const policy = dataset.find((doc) => doc._id === 'policy-acme') as Doc
const event = (fn: typeof ROLE_FAN_OUT, before: Doc | null, after: Doc | null) =>
  projectEvent(fn, { id: (after ?? before)?._id ?? '', before, after }, dataset)

const status = (fields: Record<string, unknown>): Doc => ({
  _id: 'accessFanOutStatus.role-editor',
  _type: 'accessFanOutStatus',
  subjectType: 'role',
  subjectId: 'role-editor',
  pending: ['org_a1'],
  round: 1,
  ...fields,
})

describe('fan-out functions in the blueprint', () => {
  it('are document functions on published create, update and delete, on Node 24, bundled like the rest', () => {
    const resources = accessSyncResources({ SANITY_PROJECT_ID: 'demo-project', SANITY_DATASET: 'production' })
    for (const fn of [ROLE_FAN_OUT, PLAN_FAN_OUT]) {
      expect(fn).toMatchObject({ type: 'sanity.function.document', runtime: 'nodejs24.x', timeout: 900 })
      expect(fn.event).toMatchObject({ on: ['create', 'update', 'delete'] })
      expect(fn.event.includeDrafts).not.toBe(true)
      expect(resources).toContainEqual(expect.objectContaining({ name: fn.name, src: `./dist/functions/${fn.name}` }))
    }
  })
})

describe('fan-out-role filter (delta mode)', () => {
  it('fires on a slug change, create and delete, with identifiers only', async () => {
    const renamed = { ...role, slug: { _type: 'slug', current: 'author' } }
    expect(await event(ROLE_FAN_OUT, role, renamed)).toEqual({
      _id: 'role-editor',
      _type: 'role',
      operation: 'update',
      subjectId: null,
    })
    expect(await event(ROLE_FAN_OUT, null, role)).toMatchObject({ operation: 'create' })
    expect(await event(ROLE_FAN_OUT, role, null)).toMatchObject({ _id: 'role-editor', operation: 'delete' })
  })

  it('does not fire on a title edit, a draft, a policy or a plan', async () => {
    expect(await event(ROLE_FAN_OUT, role, { ...role, title: 'Editors' })).toBeUndefined()
    const draft = { ...role, _id: 'drafts.role-editor', slug: { _type: 'slug', current: 'author' } }
    expect(await event(ROLE_FAN_OUT, null, draft)).toBeUndefined()
    expect(await event(ROLE_FAN_OUT, policy, { ...policy, plan: 'team' })).toBeUndefined()
    expect(await event(ROLE_FAN_OUT, plan, { ...plan, entitlements: [] })).toBeUndefined()
  })

  it('continues from its status document only when a run left work (round moved, pending not empty)', async () => {
    expect(await event(ROLE_FAN_OUT, status({ round: 1 }), status({ round: 2 }))).toEqual({
      _id: 'accessFanOutStatus.role-editor',
      _type: 'accessFanOutStatus',
      operation: 'update',
      subjectId: 'role-editor',
    })
    // The claim (lease, same round), the last run (nothing pending), its creation, or a plan's status: no event.
    expect(await event(ROLE_FAN_OUT, status({}), status({ leaseOwner: 'x' }))).toBeUndefined()
    expect(await event(ROLE_FAN_OUT, status({}), status({ round: 2, pending: [] }))).toBeUndefined()
    expect(await event(ROLE_FAN_OUT, null, status({}))).toBeUndefined()
    expect(await event(ROLE_FAN_OUT, status({}), status({ round: 2, subjectType: 'plan' }))).toBeUndefined()
  })
})

describe('fan-out-plan filter (delta mode)', () => {
  it('fires on an entitlements or key change, with the key now and before', async () => {
    expect(await event(PLAN_FAN_OUT, plan, { ...plan, entitlements: ['sso'] })).toEqual({
      _id: 'plan-pro',
      _type: 'plan',
      operation: 'update',
      subjectId: null,
      keys: ['pro', 'pro'],
    })
    expect(await event(PLAN_FAN_OUT, plan, { ...plan, key: { _type: 'slug', current: 'professional' } })).toMatchObject(
      { keys: ['professional', 'pro'] },
    )
    expect(await event(PLAN_FAN_OUT, plan, null)).toMatchObject({ operation: 'delete', keys: ['pro', 'pro'] })
    expect(await event(PLAN_FAN_OUT, null, plan)).toMatchObject({ operation: 'create', keys: ['pro'] })
  })

  it('does not fire on a title or description edit, nor on a role', async () => {
    expect(await event(PLAN_FAN_OUT, plan, { ...plan, title: 'Professional', description: 'x' })).toBeUndefined()
    expect(await event(PLAN_FAN_OUT, role, { ...role, slug: { _type: 'slug', current: 'x' } })).toBeUndefined()
    expect(await event(PLAN_FAN_OUT, status({}), status({ round: 2 }))).toBeUndefined()
    const planStatus = { subjectType: 'plan', subjectId: 'plan-pro', _id: 'accessFanOutStatus.plan-pro' }
    expect(await event(PLAN_FAN_OUT, status(planStatus), status({ ...planStatus, round: 2 }))).toMatchObject({
      subjectId: 'plan-pro',
    })
  })
})
