/**
 * The Studio's endpoints on the Content Lake emulator (emulators/content-lake-studio.ts), driven by the real
 * `@sanity/client` where the Studio uses it (request, action, listen, patch) and by plain HTTP/2 for the browser
 * side. Each test checks the state change or the event, not just the status code.
 */
import { connect } from 'node:http2'
import { createClient, type MutationEvent, type SanityClient } from '@sanity/client'
import { applyPatch } from 'mendoza'
import { filter, firstValueFrom, take, toArray } from 'rxjs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import {
  addStudioEndpoints,
  LOCAL_GRANTS,
  LOCAL_USER,
  type StudioApiServer,
  serveStudioApi,
} from '../../emulators/content-lake-studio.ts'

const policy = { _id: 'policy-a', _type: 'accessPolicy', title: 'Policy A', status: 'active' }

let lake: ContentLakeEmulator
let client: SanityClient

beforeEach(async () => {
  lake = await startContentLakeEmulator({ projectId: 'studio-test', documents: [policy] })
  addStudioEndpoints(lake)
  client = createClient({ ...lake.clientConfig, apiVersion: '2025-02-19' })
})
afterEach(async () => {
  await lake.close()
})

const action = (body: Record<string, unknown>, transactionId?: string) =>
  client.action(body as never, transactionId ? { transactionId } : {})

describe('user, project and grants', () => {
  it('the local user is logged in, with grants to read, create, update and see history', async () => {
    expect(await client.request({ uri: '/users/me' })).toMatchObject({ id: LOCAL_USER.id, name: LOCAL_USER.name })
    const acl = await client.request({ uri: `/projects/studio-test/datasets/${lake.dataset}/acl` })
    expect(acl).toEqual(LOCAL_GRANTS)
    expect(await client.request({ uri: '/projects/studio-test' })).toMatchObject({ id: 'studio-test' })
    expect(await client.request({ uri: '/projects/studio-test/datasets' })).toEqual([
      expect.objectContaining({ name: lake.dataset }),
    ])
  })

  it('keeps per-user settings', async () => {
    await client.request({ uri: '/users/me/keyvalue', method: 'PUT', body: [{ key: 'studio.x', value: { a: 1 } }] })
    expect(await client.request({ uri: '/users/me/keyvalue/studio.x,studio.y' })).toEqual([
      { key: 'studio.x', value: { a: 1 } },
      { key: 'studio.y', value: null },
    ])
  })

  it('answers CORS preflights with credentials for loopback origins only', async () => {
    const preflight = (origin: string) =>
      fetch(`${lake.url}/v2025-02-19/data/actions/${lake.dataset}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      })
    const local = await preflight('http://localhost:3333')
    expect(local.status).toBe(204)
    expect(local.headers.get('access-control-allow-origin')).toBe('http://localhost:3333')
    expect(local.headers.get('access-control-allow-credentials')).toBe('true')
    expect(local.headers.get('access-control-allow-headers')).toBe('content-type')
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('Actions API', () => {
  it('edit creates the draft from the published document, publish replaces it and removes the draft', async () => {
    await action({
      actionType: 'sanity.action.document.edit',
      draftId: 'drafts.policy-a',
      publishedId: 'policy-a',
      patch: { set: { title: 'Policy A, edited' } },
    })
    expect(lake.getDocument('drafts.policy-a')).toMatchObject({ title: 'Policy A, edited', status: 'active' })
    expect(lake.getDocument('policy-a')?.title).toBe('Policy A')

    const publishedRev = lake.getDocument('policy-a')?._rev
    await action(
      {
        actionType: 'sanity.action.document.publish',
        draftId: 'drafts.policy-a',
        publishedId: 'policy-a',
        ifPublishedRevisionId: publishedRev,
      },
      'tx-publish',
    )
    expect(lake.getDocument('policy-a')).toMatchObject({ title: 'Policy A, edited', _rev: 'tx-publish' })
    expect(lake.getDocument('drafts.policy-a')).toBeNull()
  })

  it('a publish against a stale revision fails with 409 and changes nothing', async () => {
    await action({
      actionType: 'sanity.action.document.create',
      publishedId: 'policy-b',
      attributes: { _id: 'drafts.policy-b', _type: 'accessPolicy' },
      ifExists: 'fail',
    })
    const publish = action({
      actionType: 'sanity.action.document.publish',
      draftId: 'drafts.policy-b',
      publishedId: 'policy-b',
      ifPublishedRevisionId: 'not-the-revision',
    })
    await expect(publish).rejects.toMatchObject({ statusCode: 409 })
    expect(lake.getDocument('policy-b')).toBeNull()
    expect(lake.getDocument('drafts.policy-b')).not.toBeNull()
  })

  it('several actions are one transaction: all or nothing', async () => {
    const both = client.action([
      {
        actionType: 'sanity.action.document.create',
        publishedId: 'policy-c',
        attributes: { _id: 'drafts.policy-c', _type: 'accessPolicy' },
        ifExists: 'fail',
      },
      { actionType: 'sanity.action.document.version.discard', versionId: 'drafts.missing' },
    ] as never)
    await expect(both).rejects.toMatchObject({ statusCode: 409 })
    expect(lake.getDocument('drafts.policy-c')).toBeNull()
  })

  it('unpublish keeps the content as a draft; discard and delete remove documents', async () => {
    await action({
      actionType: 'sanity.action.document.unpublish',
      draftId: 'drafts.policy-a',
      publishedId: 'policy-a',
    })
    expect(lake.getDocument('policy-a')).toBeNull()
    expect(lake.getDocument('drafts.policy-a')).toMatchObject({ title: 'Policy A' })

    await action({ actionType: 'sanity.action.document.version.discard', versionId: 'drafts.policy-a' })
    expect(lake.getDocument('drafts.policy-a')).toBeNull()

    lake.seed([policy, { ...policy, _id: 'drafts.policy-a' }])
    await action({
      actionType: 'sanity.action.document.delete',
      publishedId: 'policy-a',
      includeDrafts: ['drafts.policy-a'],
    })
    expect(lake.documents()).toEqual([])
  })

  it('the Studio’s string edits (diff-match-patch) apply to the draft', async () => {
    lake.seed([{ ...policy, _id: 'drafts.policy-a' }])
    await client.patch('drafts.policy-a').diffMatchPatch({ title: '@@ -4,8 +4,10 @@\n icy A\n+ B\n' }).commit()
    expect(lake.getDocument('drafts.policy-a')?.title).toBe('Policy A B')
  })
})

describe('listen (Server-Sent Events)', () => {
  it('streams each committed change that matches the filter, with mendoza effects that rebuild the document', async () => {
    const events = client
      .listen(
        '*[_id in $ids]',
        { ids: ['policy-a', 'drafts.policy-a'] },
        { effectFormat: 'mendoza', includeResult: false, events: ['welcome', 'mutation'] },
      )
      .pipe(
        filter((event): event is MutationEvent => event.type === 'mutation'),
        take(2),
        toArray(),
      )
    const received = firstValueFrom(events)
    await firstValueFrom(client.listen('*', {}, { events: ['welcome'] }).pipe(take(1)))
    await new Promise((resolve) => setTimeout(resolve, 100))

    const before = lake.getDocument('policy-a')
    await action(
      {
        actionType: 'sanity.action.document.edit',
        draftId: 'drafts.policy-a',
        publishedId: 'policy-a',
        patch: { set: { title: 'New' } },
      },
      'tx-edit',
    )
    await lake.transact([{ create: { _id: 'unrelated', _type: 'role' } }])
    await action(
      { actionType: 'sanity.action.document.publish', draftId: 'drafts.policy-a', publishedId: 'policy-a' },
      'tx-pub',
    )

    const [edit, publish] = await received
    expect(edit).toMatchObject({
      documentId: 'drafts.policy-a',
      transactionId: 'tx-edit',
      transition: 'appear',
      resultRev: 'tx-edit',
    })
    // The publish touches two documents: the Studio waits for both events of the transaction.
    expect(publish).toMatchObject({ transactionId: 'tx-pub', transactionTotalEvents: 2, transactionCurrentEvent: 1 })
    expect(publish?.documentId).toBe('policy-a')
    expect(publish?.previousRev).toBe(before?._rev)
    const { _rev, ...withoutRev } = before ?? {}
    expect(applyPatch(withoutRev, publish?.effects?.apply as never)).toMatchObject({ title: 'New', _id: 'policy-a' })
  })
})

describe('history', () => {
  it('returns a document as it was at a revision, and the transactions that touched it', async () => {
    await lake.transact([{ patch: { id: 'policy-a', set: { title: 'Second' } } }], 'tx-2')
    await lake.transact([{ patch: { id: 'policy-a', set: { title: 'Third' } } }], 'tx-3')
    const old = await client.request({ uri: `/data/history/${lake.dataset}/documents/policy-a?revision=tx-2` })
    expect(old.documents[0]).toMatchObject({ title: 'Second', _rev: 'tx-2' })
    const ndjson = await fetch(`${lake.url}/v2025-02-19/data/history/${lake.dataset}/transactions/policy-a`).then((r) =>
      r.text(),
    )
    expect(
      ndjson
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).id),
    ).toEqual(['tx-2', 'tx-3'])
  })
})

describe('text::query (document lists and search)', () => {
  it('matches word prefixes in any string value; "*" matches everything', async () => {
    lake.seed([{ _id: 'policy-b', _type: 'accessPolicy', title: 'Globex', tags: ['reports'] }])
    const search = (q: string) =>
      client.fetch('*[_type == "accessPolicy" && [@, _id] match text::query($q)]._id | order(@)', { q })
    expect(await search('*')).toEqual(['policy-a', 'policy-b'])
    expect(await search('glob*')).toEqual(['policy-b'])
    expect(await search('repo')).toEqual(['policy-b'])
    expect(await search('nothing')).toEqual([])
  })
})

describe('HTTPS + HTTP/2 for the browser', () => {
  let api: StudioApiServer
  beforeEach(async () => {
    api = await serveStudioApi(lake)
  })
  afterEach(async () => {
    await api.close()
  })

  it('serves the same API over one multiplexed HTTP/2 connection', async () => {
    const session = connect(api.apiHost, { rejectUnauthorized: false })
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = session.request({ ':path': path, 'x-sanity-project-id': 'studio-test' })
        let status = 0
        let body = ''
        stream.on('response', (headers) => {
          status = Number(headers[':status'])
        })
        stream.on('data', (chunk: Buffer) => {
          body += chunk.toString()
        })
        stream.on('end', () => resolve({ status, body }))
        stream.on('error', reject)
      })
    try {
      // A listener stays open while other requests go through on the same connection.
      const listener = session.request({
        ':path': `/v2025-02-19/data/listen/${lake.dataset}?query=*`,
        'x-sanity-project-id': 'studio-test',
      })
      const requests = await Promise.all(Array.from({ length: 8 }, () => get('/v2025-02-19/users/me')))
      expect(requests.map((r) => r.status)).toEqual(Array(8).fill(200))
      expect(JSON.parse(requests[0]?.body ?? '{}').id).toBe(LOCAL_USER.id)
      listener.close()
    } finally {
      session.close()
    }
  })
})
