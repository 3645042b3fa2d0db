/**
 * The Studio's configuration as Sanity resolves it: the badge on policies, no document actions on sync statuses,
 * the desk structure (policies by status and by plan, roles, statuses) with the "Auth0 sync" view, and the
 * project settings from the environment.
 */
import { createSchema, type DocumentActionComponent, type DocumentBadgeComponent } from 'sanity'
import { createStructureBuilder, type StructureBuilder } from 'sanity/structure'
import { describe, expect, it } from 'vitest'
import { POLICY_STATUSES } from '../../src/core/authoring.ts'
import { FANOUT_STATUS_TYPE } from '../../src/core/fanout.ts'
import { RECONCILE_STATUS_ID, RECONCILE_STATUS_TYPE } from '../../src/reconcile-status.ts'
import { STATUS_TYPE } from '../../src/status.ts'
import { DEFAULT_DATASET, DEFAULT_PROJECT_ID, studioEnv } from '../../studio/env.ts'
import { FanOutPane } from '../../studio/fan-out/FanOutPane.tsx'
import config from '../../studio/sanity.config.ts'
import { schemaTypes } from '../../studio/schemaTypes/index.ts'
import { defaultDocumentNode, structure } from '../../studio/structure.ts'
import { Auth0SyncBadge } from '../../studio/sync-status/badge.ts'
import { SyncStatusPane } from '../../studio/sync-status/SyncStatusPane.tsx'

const schema = createSchema({ name: 'studio', types: schemaTypes })
const existingBadge = (() => null) as unknown as DocumentBadgeComponent
const existingAction = (() => null) as unknown as DocumentActionComponent

type Resolver<T> = (previous: T[], context: { schemaType: string }) => T[]
const document = config.document as unknown as {
  badges: Resolver<DocumentBadgeComponent>
  actions: Resolver<DocumentActionComponent>
  newDocumentOptions: (previous: { templateId: string }[], context: object) => { templateId: string }[]
}

describe('sanity.config.ts', () => {
  it('adds the Auth0 badge to access policies only', () => {
    expect(document.badges([existingBadge], { schemaType: 'accessPolicy' })).toEqual([existingBadge, Auth0SyncBadge])
    expect(document.badges([existingBadge], { schemaType: 'role' })).toEqual([existingBadge])
  })

  it('sync statuses are read-only: no actions, not creatable, read-only type', () => {
    expect(document.actions([existingAction], { schemaType: STATUS_TYPE })).toEqual([])
    expect(document.actions([existingAction], { schemaType: 'accessPolicy' })).toEqual([existingAction])
    const options = [{ templateId: 'accessPolicy' }, { templateId: STATUS_TYPE }, { templateId: 'role' }]
    expect(document.newDocumentOptions(options, {})).toEqual([{ templateId: 'accessPolicy' }, { templateId: 'role' }])
    expect((schema.get(STATUS_TYPE) as { readOnly?: unknown }).readOnly).toBe(true)
  })

  it('fan-out statuses are read-only too; a role or plan has its delete and unpublish guarded, nothing else', () => {
    expect(document.actions([existingAction], { schemaType: FANOUT_STATUS_TYPE })).toEqual([])
    expect((schema.get(FANOUT_STATUS_TYPE) as { readOnly?: unknown }).readOnly).toBe(true)
    const action = (name: string) => Object.assign((() => null) as unknown as DocumentActionComponent, { action: name })
    const [publish, del, unpublish] = [action('publish'), action('delete'), action('unpublish')]
    for (const schemaType of ['role', 'plan']) {
      const actions = document.actions([publish, del, unpublish], { schemaType })
      expect(actions[0]).toBe(publish)
      expect(actions.slice(1).map((guarded) => [guarded === del || guarded === unpublish, guarded.action])).toEqual([
        [false, 'delete'],
        [false, 'unpublish'],
      ])
    }
    expect(document.actions([del], { schemaType: 'accessPolicy' })).toEqual([del])
    const options = [{ templateId: 'plan' }, { templateId: FANOUT_STATUS_TYPE }]
    expect(document.newDocumentOptions(options, {})).toEqual([{ templateId: 'plan' }])
  })

  it('project and dataset come from SANITY_STUDIO_PROJECT_ID / SANITY_STUDIO_DATASET, with local defaults', () => {
    expect(studioEnv({})).toEqual({ projectId: DEFAULT_PROJECT_ID, dataset: DEFAULT_DATASET })
    expect(studioEnv({ SANITY_STUDIO_PROJECT_ID: 'abc123', SANITY_STUDIO_DATASET: 'staging' })).toEqual({
      projectId: 'abc123',
      dataset: 'staging',
    })
    expect(config).toMatchObject({ projectId: expect.any(String), dataset: expect.any(String) })
  })
})

describe('desk structure', () => {
  const source = {
    schema,
    templates: [],
    i18n: { t: (key: string) => key },
    document: { resolveNewDocumentOptions: () => [] },
    getClient: () => ({}),
    currentUser: null,
  }
  const S = createStructureBuilder({ source: source as never, defaultDocumentNode, perspectiveStack: [] })
  type Item = { id: string; title?: string; child?: unknown }
  type List = { items: Item[] }
  const serialize = (node: unknown) => (node as { serialize: () => unknown }).serialize()
  const childOf = async (item: Item | undefined) => {
    const child = typeof item?.child === 'function' ? await item.child(item.id, {}) : item?.child
    const value = typeof (child as { serialize?: unknown })?.serialize === 'function' ? serialize(child) : child
    return value as List & { options?: { filter: string; params: Record<string, string> } }
  }
  const top = serialize(structure(S, {} as never)) as List

  it('policies, plans, roles, then the read-only sync statuses and the scheduled repair', () => {
    expect(top.items.map((item) => item.title ?? '---')).toEqual([
      'Access policies',
      'Plans',
      'Roles',
      '---',
      'Auth0 sync status (read-only)',
      'Auth0 fan-out status (read-only)',
      'Auth0 scheduled repair (read-only)',
    ])
  })

  it('opens the scheduled repair’s one status document', async () => {
    const repair = (await childOf(top.items.at(-1))) as unknown as { options?: { id?: string; type?: string } }
    expect(repair.options).toMatchObject({ id: RECONCILE_STATUS_ID, type: RECONCILE_STATUS_TYPE })
  })

  it('groups policies by status (active first, then the rest) and by plan', async () => {
    const policies = await childOf(top.items[0])
    expect(policies.items.map((item) => item.id)).toEqual([
      ...POLICY_STATUSES.map((status) => `status-${status.value}`),
      'status-other',
      expect.stringMatching(/divider/),
      'by-plan',
      'accessPolicy',
    ])
    const active = await childOf(policies.items[0])
    expect(active.options).toMatchObject({
      filter: '_type == $type && status == $status',
      params: { status: 'active' },
    })
    const other = await childOf(policies.items.find((item) => item.id === 'status-other'))
    expect(other.options?.filter).toBe('_type == $type && !(status in ["active","paused","archived"])')
    // The plans come from their documents: a list of plan documents, each opening the policies on that plan.
    const byPlan = (await childOf(policies.items.find((item) => item.id === 'by-plan'))) as unknown as {
      options?: { filter?: string; params?: Record<string, unknown> }
    }
    expect(byPlan.options).toMatchObject({ filter: '_type == $type', params: { type: 'plan' } })
  })

  it('opens a policy with the form and the "Auth0 sync" view', () => {
    const node = defaultDocumentNode(S as StructureBuilder, { schemaType: 'accessPolicy' } as never) as {
      getViews: () => { serialize: (options: object) => { id: string; title: string; component?: unknown } }[]
    }
    const views = node.getViews().map((view) => view.serialize({ path: [], index: 0 }))
    expect(views.map((view) => [view.id, view.title])).toEqual([
      ['editor', 'Editor'],
      ['auth0-sync', 'Auth0 sync'],
    ])
    expect(views[1]?.component).toBe(SyncStatusPane)
  })

  it.each(['role', 'plan'])('opens a %s with the form and the "Auth0 fan-out" view', (schemaType) => {
    const node = defaultDocumentNode(S as StructureBuilder, { schemaType } as never) as {
      getViews: () => { serialize: (options: object) => { id: string; title: string; component?: unknown } }[]
    }
    const views = node.getViews().map((view) => view.serialize({ path: [], index: 0 }))
    expect(views.map((view) => [view.id, view.title])).toEqual([
      ['editor', 'Editor'],
      ['auth0-fan-out', 'Auth0 fan-out'],
    ])
    expect(views[1]?.component).toBe(FanOutPane)
  })
})
