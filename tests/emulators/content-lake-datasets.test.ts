/**
 * The Content Lake emulator hosts several datasets of one project, each with its own documents, mutations,
 * listeners and history, and models who may read them: on a private dataset anonymous requests and tokens without
 * read access get empty results, not errors (platform-facts.md "Private datasets"). Driven with the real
 * `@sanity/client` over HTTP.
 */
import { createClient, type SanityClient } from '@sanity/client'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type ContentLakeEmulator,
  type ContentLakeEmulatorOptions,
  type MutationChange,
  startContentLakeEmulator,
} from '../../emulators/content-lake.ts'
import { addStudioEndpoints } from '../../emulators/content-lake-studio.ts'

const policy = (id: string, org: string) => ({ _id: id, _type: 'accessPolicy', title: id, auth0OrganizationId: org })
const role = { _id: 'role-editor', _type: 'role', slug: { current: 'editor' } }
// `sanity dataset copy` keeps IDs: the same policy, the same Organization, in both datasets.
const copied = [policy('policy-acme', 'org_acme123'), role]

let lake: ContentLakeEmulator
afterEach(async () => {
  await lake?.close()
})

const start = async (options: ContentLakeEmulatorOptions) => {
  lake = await startContentLakeEmulator({ projectId: 'p1', ...options })
  return lake
}
const clientFor = (dataset: string, token?: string): SanityClient =>
  createClient({ ...lake.clientConfigFor(dataset), ...(token ? { token } : {}), perspective: 'raw' })
const policies = (client: SanityClient) => client.fetch<{ _id: string }[]>('*[_type == "accessPolicy"]{_id}')

describe('several datasets in one project', () => {
  it('keeps each dataset’s documents, queries and mutations apart, and says where a change was committed', async () => {
    await start({ datasets: { production: copied, staging: copied } })
    expect(lake.dataset).toBe('production')
    expect(lake.datasets).toEqual(['production', 'staging'])
    const changes: MutationChange[] = []
    lake.onMutation((change) => {
      changes.push(change)
    })

    const staging = clientFor('staging')
    await staging.createOrReplace(policy('policy-staging-only', 'org_globex456'))
    await staging.patch('policy-acme').set({ title: 'Edited in staging' }).commit()
    await lake.settled()

    expect(await policies(clientFor('production'))).toEqual([{ _id: 'policy-acme' }])
    expect(await policies(staging)).toEqual([{ _id: 'policy-acme' }, { _id: 'policy-staging-only' }])
    expect((await clientFor('production').getDocument('policy-acme'))?.title).toBe('policy-acme')
    expect((await staging.getDocument('policy-acme'))?.title).toBe('Edited in staging')
    expect(lake.getDocument('policy-acme', 'staging')?.title).toBe('Edited in staging')
    expect(changes.map(({ dataset, id }) => `${dataset}/${id}`)).toEqual([
      'staging/policy-staging-only',
      'staging/policy-acme',
    ])

    await lake.transact([{ delete: { id: 'role-editor' } }], undefined, 'production')
    await lake.settled()
    expect(changes.at(-1)).toMatchObject({ dataset: 'production', id: 'role-editor', after: null })
    expect(lake.documents('staging').map((doc) => doc._id)).toContain('role-editor')
  })

  it('evaluates sanity::dataset() and sanity::projectId() for the dataset queried', async () => {
    await start({ datasets: { production: [], staging: [] } })
    const query = '{"dataset": sanity::dataset(), "project": sanity::projectId()}'
    expect(await clientFor('staging').fetch(query)).toEqual({ dataset: 'staging', project: 'p1' })
    expect(await clientFor('production').fetch(query)).toEqual({ dataset: 'production', project: 'p1' })
  })

  it('answers a dataset the project does not have as Sanity does: 404 "Dataset … not found"', async () => {
    await start({ datasets: { production: copied } })
    const missing = createClient({ ...lake.clientConfig, dataset: 'staging' })
    await expect(missing.fetch('*')).rejects.toMatchObject({
      statusCode: 404,
      message: expect.stringContaining('Dataset "staging" not found for project ID "p1"'),
    })
    await expect(missing.create({ _type: 'accessPolicy' })).rejects.toMatchObject({ statusCode: 404 })
    expect(() => lake.documents('staging')).toThrow(/has no dataset "staging"/)
  })

  it('keeps the single-dataset options working: `dataset` and `documents` make a one-dataset project', async () => {
    await start({ dataset: 'main', documents: copied })
    expect(lake.datasets).toEqual(['main'])
    expect(lake.clientConfig.dataset).toBe('main')
    expect(await policies(createClient(lake.clientConfig))).toEqual([{ _id: 'policy-acme' }])
  })
})

describe('the Studio endpoints, per dataset', () => {
  it('lists both datasets; listener, Actions API and history answer for the dataset in the path', async () => {
    await start({ datasets: { production: copied, staging: copied } })
    addStudioEndpoints(lake)
    const get = async (path: string) => {
      const response = await fetch(`${lake.url}/v2025-05-01${path}`)
      return { status: response.status, body: await response.json() }
    }
    expect((await get('/projects/p1/datasets')).body.map((d: { name: string }) => d.name)).toEqual([
      'production',
      'staging',
    ])
    expect((await get('/projects/p1/datasets/staging/acl')).status).toBe(200)
    expect((await get('/projects/p1/datasets/nope/acl')).status).toBe(404)

    // A listener on production sees nothing of a publish in staging.
    const controller = new AbortController()
    const stream = await fetch(`${lake.url}/v2025-05-01/data/listen/production?query=*`, {
      signal: controller.signal,
    })
    const reader = stream.body?.getReader()
    const seen: string[] = []
    const reading = (async () => {
      for (;;) {
        const chunk = await reader?.read().catch(() => undefined)
        if (!chunk || chunk.done) return
        seen.push(new TextDecoder().decode(chunk.value))
      }
    })()
    const act = (dataset: string, action: Record<string, unknown>) =>
      fetch(`${lake.url}/v2025-05-01/data/actions/${dataset}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          actions: [{ draftId: 'drafts.policy-acme', publishedId: 'policy-acme', ...action }],
        }),
      })
    const publish = async (dataset: string, title: string) => {
      const edit = await act(dataset, { actionType: 'sanity.action.document.edit', patch: { set: { title } } })
      expect(edit.status).toBe(200)
      return act(dataset, { actionType: 'sanity.action.document.publish' })
    }
    expect((await publish('staging', 'Staging title')).status).toBe(200)
    expect((await publish('production', 'Production title')).status).toBe(200)
    await lake.settled()
    controller.abort()
    await reading
    const events = seen.join('')
    expect(events).toContain('Production title')
    expect(events).not.toContain('Staging title')

    expect(lake.getDocument('policy-acme', 'staging')?.title).toBe('Staging title')
    expect(lake.getDocument('policy-acme', 'production')?.title).toBe('Production title')
    const history = await get('/data/history/staging/events/documents/policy-acme')
    expect(history.body.events['policy-acme'].map((event: { type: string }) => event.type)).toContain(
      'publishDocumentVersion',
    )
    const productionRev = lake.getDocument('policy-acme', 'production')?._rev
    expect((await get(`/data/history/staging/documents/policy-acme?revision=${productionRev}`)).status).toBe(404)
    expect((await get('/data/listen/nope?query=*')).status).toBe(404)
  })
})

describe('private datasets and token roles', () => {
  const tokens = {
    'read-token': { read: true, write: true },
    'deploy-robot': { write: true },
    'policies-only': { read: ['accessPolicy'] },
    'staging-reader': { read: true, datasets: ['staging'] },
  }
  const drafts = [...copied, { ...policy('drafts.policy-acme', 'org_acme123'), title: 'draft' }]

  it('private: anonymous and tokens without read access get empty results, not errors; a read token gets documents', async () => {
    await start({ aclMode: 'private', tokens, datasets: { production: drafts, staging: drafts } })
    for (const client of [
      clientFor('production'),
      clientFor('production', 'deploy-robot'),
      clientFor('production', 'staging-reader'),
    ]) {
      expect(await policies(client)).toEqual([])
      expect(await client.fetch('count(*)')).toBe(0)
      expect(await client.getDocument('policy-acme')).toBeUndefined()
    }
    expect(await policies(clientFor('production', 'read-token'))).toEqual([
      { _id: 'drafts.policy-acme' },
      { _id: 'policy-acme' },
    ])
    expect((await clientFor('production', 'read-token').getDocument('policy-acme'))?._id).toBe('policy-acme')
    expect(await policies(clientFor('staging', 'staging-reader'))).toHaveLength(2)

    // A role that reads some types only: the others are not there, references to them resolve to null.
    const narrow = clientFor('production', 'policies-only')
    expect(await narrow.fetch('*[]._type')).toEqual(['accessPolicy', 'accessPolicy'])
    expect(await narrow.fetch('*[_id == "role-editor"][0]')).toBeNull()
    const response = await fetch(`${lake.url}/v2025-05-01/data/doc/production/role-editor,policy-acme`, {
      headers: { authorization: 'Bearer policies-only' },
    })
    expect(await response.json()).toEqual({
      documents: [expect.objectContaining({ _id: 'policy-acme' })],
      omitted: [{ id: 'role-editor', reason: 'permission' }],
    })
  })

  it('public: anonymous reads published documents, not drafts; unknown tokens get 401; writes need permission', async () => {
    await start({ tokens, datasets: { production: drafts } })
    expect(await policies(clientFor('production'))).toEqual([{ _id: 'policy-acme' }])
    await expect(policies(clientFor('production', 'mistyped'))).rejects.toMatchObject({ statusCode: 401 })
    await expect(clientFor('production').create({ _type: 'accessPolicy' })).rejects.toMatchObject({
      statusCode: 403,
      message: expect.stringContaining('Insufficient permissions; permission "create" required'),
    })
    await expect(clientFor('production', 'policies-only').delete('policy-acme')).rejects.toMatchObject({
      statusCode: 403,
      message: expect.stringContaining('permission "delete" required'),
    })
    await clientFor('production', 'deploy-robot').create({ _id: 'x', _type: 'accessPolicy' })
    expect(lake.getDocument('x')).not.toBeNull()
  })

  it('stays open by default: anonymous requests read drafts and write, as before', async () => {
    await start({ datasets: { production: drafts } })
    expect(await policies(clientFor('production'))).toHaveLength(2)
    await clientFor('production').create({ _id: 'y', _type: 'accessPolicy' })
    expect(lake.getDocument('y')).not.toBeNull()
  })
})
