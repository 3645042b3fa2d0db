// The endpoints Sanity Studio needs on top of the Content Lake emulator's data API (content-lake.ts), for
// `npm run dev` and the browser tests. Found by running the Studio (sanity 6.16.0) in Chromium against the emulator
// and reading the 404s. The behaviour is emulated, not canned: actions change the documents through the same
// transaction code as /data/mutate, and the listener streams the real committed changes.
//
//   any      CORS with credentials for loopback origins (the Studio runs on http://localhost:3333)
//   GET      /users/me                        the one local user, logged in (the dev stack needs no credentials)
//   GET|PUT  /users/me/keyvalue[/{keys}]      the Studio's per-user settings, kept in memory
//   GET      /projects/{id}, /projects/{id}/datasets, /projects/{id}/grants, /projects/{id}/user-applications
//   GET      /projects/{id}/datasets/{dataset}/acl   dataset grants: the local user may read, create, update, history
//   GET      /features, /ping, /schedules/{id}/{dataset}, /intake/telemetry-status (denied)
//   GET      /data/listen/{dataset}           Server-Sent Events: welcome, then one `mutation` per changed document
//                                             matching the GROQ filter (mutations, mendoza effects, revisions)
//   POST     /data/actions/{dataset}          the Actions API: document create, edit, publish, unpublish, delete,
//                                             discard, replaceDraft; one transaction, all or nothing
//   GET      /data/history/{dataset}/documents/{id}?revision=|time=   a document as it was
//   GET      /data/history/{dataset}/transactions/{ids}               NDJSON transactions with effects
//
// Every /data endpoint is per dataset: a project with several datasets (content-lake.ts `datasets`) has a listener,
// Actions API and history for each, and a dataset the project does not have answers 404 "Dataset … not found".
//
// Not emulated, on purpose: the presence socket (/socket), upsell "journey" endpoints, /help (module version
// check), comments and media libraries. The Studio works without them.

import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createSecureServer } from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import { evaluate, parse } from 'groq-js'
import {
  type ContentLakeEmulator,
  lakeError,
  type MutationChange,
  type RequestContext,
  type StoredDocument,
} from './content-lake.ts'
import { ensureStudioCertificate } from './studio-tls.ts'

export interface StudioEndpointsOptions {
  /** Called for requests nobody answers (the next thing a newer Studio may need). */
  readonly onUnhandled?: (method: string, path: string) => void
}

export const LOCAL_USER = {
  id: 'local-editor',
  name: 'Local Editor',
  email: 'editor@localhost',
  profileImage: null,
  role: 'administrator',
  roles: [{ name: 'administrator', title: 'Administrator' }],
  provider: 'local',
}

/** The local user's dataset grants, in the shape of `/projects/{id}/datasets/{dataset}/acl`. */
export const LOCAL_GRANTS = [{ filter: '_id in path("**")', permissions: ['read', 'create', 'update', 'history'] }]

const API_PATH = /^\/v(?:1|X|\d{4}-\d{2}-\d{2})(\/.*)$/
type Json = Record<string, unknown>
type Mutation = Record<string, unknown>

function isLoopbackOrigin(origin: string): boolean {
  if (!URL.canParse(origin)) return false
  const { hostname, protocol } = new URL(origin)
  return (
    protocol === 'http:' &&
    ['localhost', '127.0.0.1', '[::1]'].includes(hostname.replace(/^.*\.localhost$/, 'localhost'))
  )
}

const withoutRev = (doc: StoredDocument | null) => {
  if (!doc) return null
  const { _rev, ...rest } = doc
  return rest
}

/** A mendoza patch that turns anything into `value` (opcode 0, "Value"): what the Studio applies to its copy. */
const mendozaValue = (value: unknown) => [0, value]

const draftIdOf = (id: string) => `drafts.${id}`

export function addStudioEndpoints(lake: ContentLakeEmulator, options: StudioEndpointsOptions = {}): void {
  const keyValues = new Map<string, unknown>()
  type Transaction = { id: string; timestamp: string; changes: readonly MutationChange[] }
  type Stream = (changes: readonly MutationChange[], transactionId: string, timestamp: string) => void
  // Per dataset: its transaction log (for history) and its open listeners.
  const transactionsOf = new Map<string, Transaction[]>(lake.datasets.map((name) => [name, []]))
  const streamsOf = new Map<string, Set<Stream>>(lake.datasets.map((name) => [name, new Set()]))

  lake.onTransaction((changes) => {
    const first = changes[0]
    if (!first) return
    const timestamp = first.after?._updatedAt ?? new Date().toISOString()
    transactionsOf.get(first.dataset)?.push({ id: first.transactionId, timestamp, changes })
    for (const stream of streamsOf.get(first.dataset) ?? []) stream(changes, first.transactionId, timestamp)
  })

  lake.use(cors)
  lake.use(async (context) => {
    const match = API_PATH.exec(context.url.pathname)
    const path = match?.[1] ?? context.url.pathname
    const { method, send } = context
    const project = `/projects/${lake.projectId}`

    if (method === 'GET' && path === '/users/me') return answer(send, LOCAL_USER)
    if (path.startsWith('/users/me/keyvalue')) return keyValue(context, path)
    if (method === 'GET' && path === project) return answer(send, projectInfo(lake.projectId))
    if (method === 'GET' && path === `${project}/datasets`) {
      // Add-on datasets (comments) do not exist here.
      const addon = context.url.searchParams.has('datasetProfile')
      return answer(send, addon ? [] : lake.datasets.map((name) => ({ name, aclMode: 'private', addonFor: null })))
    }
    const acl = new RegExp(`^${project}/datasets/([^/]+)/acl$`).exec(path)
    if (method === 'GET' && acl) {
      if (!lake.datasets.includes(decodeURIComponent(acl[1] ?? ''))) throw notFound(decodeURIComponent(acl[1] ?? ''))
      return answer(send, LOCAL_GRANTS)
    }
    if (method === 'GET' && path === `${project}/grants`) return answer(send, {})
    if (method === 'GET' && path === `${project}/user-applications`) return answer(send, [])
    if (method === 'GET' && path === '/features') return answer(send, [])
    if (method === 'GET' && path === '/ping') return answer(send, { ok: true })
    // No telemetry leaves this machine.
    if (method === 'GET' && path === '/intake/telemetry-status') return answer(send, { status: 'denied' })
    if (method === 'GET' && path.startsWith(`/schedules/${lake.projectId}/`)) return answer(send, { schedules: [] })
    const data = /^\/data\/(listen|actions|history|ping)\/([^/]+)(\/.*)?$/.exec(path)
    if (data) {
      const [, endpoint, encoded = '', rest = ''] = data
      const dataset = decodeURIComponent(encoded)
      if (!lake.datasets.includes(dataset)) throw notFound(dataset)
      if (method === 'GET' && endpoint === 'listen' && rest === '') return listen(context, dataset)
      if (method === 'POST' && endpoint === 'actions' && rest === '') return actions(context, dataset)
      if (method === 'GET' && endpoint === 'ping' && rest === '') return answer(send, { ok: true })
      if (method === 'GET' && endpoint === 'history' && rest.startsWith('/documents/')) {
        return historyDocument(context, dataset, decodeURIComponent(rest.slice('/documents/'.length)))
      }
      if (method === 'GET' && endpoint === 'history' && rest.startsWith('/events/documents/')) {
        return historyEvents(context, dataset, decodeURIComponent(rest.slice('/events/documents/'.length)))
      }
      if (method === 'GET' && endpoint === 'history' && rest.startsWith('/transactions/')) {
        return historyTransactions(context, dataset, rest.slice('/transactions/'.length))
      }
    }
    if (!/^\/data\/(query|doc|mutate)\//.test(path)) options.onUnhandled?.(method, context.url.pathname)
    return false
  })

  function notFound(dataset: string) {
    return lakeError(404, 'httpNotFound', `Dataset "${dataset}" not found for project ID "${lake.projectId}"`)
  }

  function answer(send: RequestContext['send'], body: unknown): true {
    send(200, body)
    return true
  }

  function keyValue({ method, body, send }: RequestContext, path: string): boolean {
    if (method === 'GET') {
      const keys = decodeURIComponent(path.slice('/users/me/keyvalue/'.length)).split(',').filter(Boolean)
      return answer(
        send,
        keys.map((key) => ({ key, value: keyValues.get(key) ?? null })),
      )
    }
    if (method === 'PUT' || method === 'POST') {
      const pairs = Array.isArray(body) ? body : [body]
      for (const pair of pairs) {
        if (pair && typeof pair === 'object' && typeof (pair as Json).key === 'string') {
          keyValues.set((pair as Json).key as string, (pair as Json).value)
        }
      }
      return answer(send, pairs)
    }
    return false
  }

  // ----- listen (Server-Sent Events) ----------------------------------------------------------------------------

  async function listen({ res, url, handled }: RequestContext, dataset: string): Promise<boolean> {
    const search = url.searchParams
    const query = search.get('query') ?? '*'
    const params: Json = {}
    for (const [key, raw] of search) if (key.startsWith('$')) params[key.slice(1)] = JSON.parse(raw)
    const tree = parse(query, { params })
    const flag = (name: string, fallback: boolean) => (search.has(name) ? search.get(name) === 'true' : fallback)
    const includeResult = flag('includeResult', true)
    const includePrevious = flag('includePreviousRevision', false)
    const includeMutations = flag('includeMutations', true)
    const includeAllVersions = flag('includeAllVersions', false)
    const mendoza = search.get('effectFormat') === 'mendoza'

    const matches = async (doc: StoredDocument | null) => {
      if (!doc || (!includeAllVersions && doc._id.startsWith('versions.'))) return false
      const result = await (
        await evaluate(tree, { dataset: [doc], params, sanity: { projectId: lake.projectId, dataset } })
      ).get()
      return Array.isArray(result) ? result.length > 0 : result != null
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    handled(200)
    const write = (event: string, data: unknown, id?: string) =>
      res.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    write('welcome', { listenerName: `emulator-${randomUUID()}` })

    // Changes are filtered in commit order: a slow filter evaluation must not reorder events.
    let chain = Promise.resolve()
    const stream = (changes: readonly MutationChange[], transactionId: string, timestamp: string) => {
      chain = chain.then(async () => {
        const matching: { change: MutationChange; before: boolean; after: boolean }[] = []
        for (const change of changes) {
          const [before, after] = [await matches(change.before), await matches(change.after)]
          if (before || after) matching.push({ change, before, after })
        }
        for (const [index, { change, before, after }] of matching.entries()) {
          const event: Json = {
            eventId: `${transactionId}#${change.id}`,
            documentId: change.id,
            transactionId,
            transition: !after ? 'disappear' : before ? 'update' : 'appear',
            identity: LOCAL_USER.id,
            previousRev: change.before?._rev,
            // A deletion carries the transaction as its result revision too: a document's revision is the ID of
            // the transaction that wrote it, and Sanity's listener consumers chain events previousRev → resultRev
            // (sanity-io/mutate, store/listeners/utils/sequentializeListenerEvents; its fixtures build
            // `transactionId: resultRev`). Without it the Studio drops the deletion and keeps a draft that is gone.
            resultRev: change.after?._rev ?? transactionId,
            timestamp,
            visibility: 'query',
            transactionTotalEvents: matching.length,
            transactionCurrentEvent: index + 1,
          }
          if (includeMutations) event.mutations = mutationsFor(change)
          if (includeResult && change.after) event.result = change.after
          if (includePrevious && change.before) event.previous = change.before
          if (mendoza) {
            event.effects = {
              apply: mendozaValue(withoutRev(change.after)),
              revert: mendozaValue(withoutRev(change.before)),
            }
          }
          write('mutation', event, String(event.eventId))
        }
      })
    }
    const streams = streamsOf.get(dataset) ?? new Set()
    streams.add(stream)
    // Proxies and browsers drop idle streams; a comment line keeps it open.
    const keepAlive = setInterval(() => res.write(':\n\n'), 15_000)
    res.once('close', () => {
      clearInterval(keepAlive)
      streams.delete(stream)
    })
    return true
  }

  // ----- Actions API -------------------------------------------------------------------------------------------

  async function actions({ body, send, url }: RequestContext, dataset: string): Promise<boolean> {
    const payload = (body ?? {}) as Json
    const list = Array.isArray(payload.actions) ? payload.actions : []
    if (list.length === 0) throw lakeError(400, 'httpBadRequest', 'Request body must have a non-empty "actions" array')
    const transactionId = typeof payload.transactionId === 'string' ? payload.transactionId : undefined
    const mutations = list.flatMap((action, index) => mutationsForAction(action as Json, index, dataset))
    if (payload.dryRun === true || url.searchParams.get('dryRun') === 'true') return answer(send, { transactionId })
    const result = await lake.transact(mutations, transactionId, dataset)
    return answer(send, { transactionId: result.transactionId })
  }

  /** What one action does, as mutations on the current documents; fails like the Actions API when it cannot. */
  function mutationsForAction(action: Json, index: number, dataset: string): Mutation[] {
    const getDocument = (id: string) => lake.getDocument(id, dataset)
    const type = String(action.actionType ?? '')
    const publishedId = typeof action.publishedId === 'string' ? action.publishedId : ''
    const draftId =
      typeof action.draftId === 'string'
        ? action.draftId
        : typeof action.versionId === 'string'
          ? action.versionId
          : draftIdOf(publishedId)
    const draft = getDocument(draftId)
    const published = publishedId ? getDocument(publishedId) : null
    const fail = (status: number, description: string) =>
      lakeError(status, 'actionError', `Action ${index} (${type}): ${description}`, { index })
    const expectRevision = (doc: StoredDocument | null, expected: unknown, what: string) => {
      if (typeof expected === 'string' && doc?._rev !== expected) {
        throw fail(409, `${what} has revision "${doc?._rev ?? 'none'}", expected "${expected}"`)
      }
    }

    switch (type) {
      case 'sanity.action.document.create': {
        const attributes = (action.attributes ?? {}) as Json
        const id = typeof attributes._id === 'string' ? attributes._id : draftIdOf(publishedId)
        if (getDocument(id)) {
          if (action.ifExists === 'ignore') return []
          throw fail(409, `document "${id}" already exists`)
        }
        return [{ create: { ...attributes, _id: id } }]
      }
      case 'sanity.action.document.edit': {
        const patch = { ...((action.patch ?? {}) as Json), id: draftId }
        if (draft) return [{ patch }]
        if (!published) throw fail(409, `neither "${draftId}" nor "${publishedId}" exists`)
        return [{ create: { ...published, _id: draftId } }, { patch }]
      }
      case 'sanity.action.document.replaceDraft': {
        const attributes = (action.attributes ?? {}) as Json
        return [{ createOrReplace: { ...attributes, _id: draftId } }]
      }
      case 'sanity.action.document.publish': {
        if (!draft) throw fail(409, `there is no draft "${draftId}" to publish`)
        expectRevision(draft, action.ifDraftRevisionId, 'the draft')
        expectRevision(published, action.ifPublishedRevisionId, 'the published document')
        return [{ createOrReplace: { ...draft, _id: publishedId } }, { delete: { id: draftId } }]
      }
      case 'sanity.action.document.unpublish': {
        if (!published) throw fail(409, `"${publishedId}" is not published`)
        const keepDraft = draft ? [] : [{ create: { ...published, _id: draftId } }]
        return [...keepDraft, { delete: { id: publishedId } }]
      }
      case 'sanity.action.document.delete': {
        const drafts = Array.isArray(action.includeDrafts) ? action.includeDrafts.map(String) : []
        return [publishedId, ...drafts].filter((id) => getDocument(id)).map((id) => ({ delete: { id } }))
      }
      case 'sanity.action.document.discard':
      case 'sanity.action.document.version.discard': {
        if (!draft) throw fail(409, `there is no draft "${draftId}" to discard`)
        return [{ delete: { id: draftId } }]
      }
      case 'sanity.action.document.version.replace': {
        return [{ createOrReplace: (action.document ?? {}) as Json }]
      }
      case 'sanity.action.document.version.create': {
        return [{ create: (action.document ?? {}) as Json }]
      }
      default:
        throw fail(400, 'this action type is not emulated')
    }
  }

  // ----- history -----------------------------------------------------------------------------------------------

  function historyDocument({ url, send }: RequestContext, dataset: string, id: string): boolean {
    const transactions = transactionsOf.get(dataset) ?? []
    const revision = url.searchParams.get('revision')
    const time = url.searchParams.get('time')
    let found: StoredDocument | null | undefined
    for (const transaction of transactions) {
      if (time && transaction.timestamp > time) break
      const change = transaction.changes.find((candidate) => candidate.id === id)
      if (!change) continue
      found = change.after
      if (revision && change.after?._rev === revision) break
    }
    if (revision && found?._rev !== revision) {
      const current = lake.getDocument(id, dataset)
      found = current?._rev === revision ? current : undefined
    }
    if (!found) throw lakeError(404, 'documentNotFound', `No revision of "${id}" matches`)
    return answer(send, { documents: [found] })
  }

  /** The document's history as the Studio's history panel reads it, derived from the transaction log. */
  function historyEvents({ send }: RequestContext, dataset: string, requestedId: string): boolean {
    const transactions = transactionsOf.get(dataset) ?? []
    const publishedId = requestedId.replace(/^drafts\./, '')
    const draftId = draftIdOf(publishedId)
    const events: Json[] = []
    for (const { id, timestamp, changes } of transactions) {
      const draft = changes.find((change) => change.id === draftId)
      const published = changes.find((change) => change.id === publishedId)
      const base = { timestamp, author: LOCAL_USER.id, documentId: publishedId, id }
      if (published?.after && draft && !draft.after) {
        events.push({
          ...base,
          type: 'publishDocumentVersion',
          versionId: draftId,
          revisionId: published.after._rev,
          versionRevisionId: draft.before?._rev,
        })
      } else if (published?.after) {
        events.push({ ...base, type: 'publishDocumentVersion', revisionId: published.after._rev })
      } else if (published && !published.after) {
        events.push({
          ...base,
          type: draft?.after || lake.getDocument(draftId, dataset) ? 'unpublishDocument' : 'deleteDocumentGroup',
        })
      } else if (draft && !draft.before && draft.after) {
        events.push({ ...base, type: 'createDocumentVersion', versionId: draftId, versionRevisionId: draft.after._rev })
      } else if (draft && !draft.after) {
        events.push({
          ...base,
          type: 'deleteDocumentVersion',
          versionId: draftId,
          versionRevisionId: draft.before?._rev,
        })
      }
    }
    return answer(send, {
      events: { [requestedId]: events.reverse().map(({ id, ...event }) => event) },
      nextCursor: '',
    })
  }

  function historyTransactions({ res, url, handled }: RequestContext, dataset: string, idList: string): boolean {
    const transactions = transactionsOf.get(dataset) ?? []
    const ids = new Set(decodeURIComponent(idList).split(',').filter(Boolean))
    const search = url.searchParams
    const relevant = transactions.filter((transaction) => transaction.changes.some((change) => ids.has(change.id)))
    const from = relevant.findIndex((transaction) => transaction.id === search.get('fromTransaction'))
    const to = relevant.findIndex((transaction) => transaction.id === search.get('toTransaction'))
    const limit = Number(search.get('limit') ?? Number.POSITIVE_INFINITY)
    const lines = relevant
      .slice(Math.max(from, 0), to === -1 ? undefined : to + 1)
      .slice(0, limit > 0 ? limit : undefined)
      .map((transaction) => {
        const changes = transaction.changes.filter((change) => ids.has(change.id))
        return JSON.stringify({
          id: transaction.id,
          timestamp: transaction.timestamp,
          author: LOCAL_USER.id,
          documentIDs: changes.map((change) => change.id),
          mutations: changes.flatMap(mutationsFor),
          effects: Object.fromEntries(
            changes.map((change) => [
              change.id,
              { apply: mendozaValue(withoutRev(change.after)), revert: mendozaValue(withoutRev(change.before)) },
            ]),
          ),
        })
      })
    res.writeHead(200, { 'content-type': 'application/x-ndjson' })
    res.end(lines.map((line) => `${line}\n`).join(''))
    handled(200)
    return true
  }
}

/** The committed change as mutations: applying them to the previous revision gives the new one. */
function mutationsFor(change: MutationChange): Mutation[] {
  return change.after ? [{ createOrReplace: change.after }] : [{ delete: { id: change.id } }]
}

function cors({ req, res, method, send }: RequestContext): boolean {
  const origin = req.headers.origin
  if (typeof origin !== 'string' || !isLoopbackOrigin(origin)) return false
  res.setHeader('access-control-allow-origin', origin)
  res.setHeader('access-control-allow-credentials', 'true')
  res.setHeader('vary', 'origin')
  if (method !== 'OPTIONS') return false
  res.setHeader('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS')
  res.setHeader('access-control-allow-headers', req.headers['access-control-request-headers'] ?? '*')
  res.setHeader('access-control-max-age', '600')
  send(204, '')
  return true
}

function projectInfo(projectId: string): Json {
  return {
    id: projectId,
    displayName: 'Local Studio (emulated Content Lake)',
    studioHost: null,
    organizationId: null,
    isBlocked: false,
    isDisabled: false,
    isDisabledByUser: false,
    metadata: {},
    members: [
      { id: LOCAL_USER.id, role: 'administrator', roles: LOCAL_USER.roles, isCurrentUser: true, isRobot: false },
    ],
    features: [],
  }
}

export interface StudioApiServer {
  /** What the Studio's `apiHost` is set to, `https://localhost:PORT`; it calls `https://<projectId>.localhost:PORT`. */
  readonly apiHost: string
  /**
   * The address a browser opens once to accept the self-signed certificate. Once accepted, it sends the browser on
   * to the Studio (`setStudioUrl`); until the Studio is up, it says so and reloads itself every 2 s.
   */
  readonly projectUrl: string
  /** Where `projectUrl` sends the browser: the Studio, once it serves (scripts/dev.ts prints `projectUrl` first). */
  setStudioUrl(url: string | undefined): void
  close(): Promise<void>
}

/**
 * Serves the emulator's API to the browser over HTTPS with HTTP/2. Over HTTP/1.1 a browser opens at most six
 * connections per host, and the Studio keeps six or more listeners (Server-Sent Events) open at once, so every
 * other request would wait: the form stays read-only and validation times out. HTTP/2 multiplexes them all on one
 * connection, as api.sanity.io does. HTTP/1.1 clients are still served on the same port.
 */
export async function serveStudioApi(lake: ContentLakeEmulator, port = 0): Promise<StudioApiServer> {
  const host = `${lake.projectId}.localhost`
  const { cert, key } = await ensureStudioCertificate(['localhost', host])
  const sockets = new Set<Socket>()
  let studioUrl: string | undefined
  const server = createSecureServer({ cert, key, allowHTTP1: true }, (req, res) => {
    if (req.url === '/' && req.method === 'GET') {
      const { status, headers, body } = certificatePage(studioUrl)
      res.writeHead(status, headers)
      res.end(body)
      return
    }
    lake.serve(req as unknown as IncomingMessage, res as unknown as ServerResponse)
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const { port: actual } = server.address() as AddressInfo
  return {
    apiHost: `https://localhost:${actual}`,
    projectUrl: `https://${host}:${actual}/`,
    setStudioUrl: (url) => {
      studioUrl = url
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      }),
  }
}

/**
 * The page behind the certificate warning, the first address `npm run dev` prints: with the certificate accepted
 * (the browser got this far), a 303 to the Studio; before the Studio serves, a page that says so and reloads.
 */
function certificatePage(studioUrl: string | undefined): {
  status: number
  headers: Record<string, string>
  body: string
} {
  const html = (body: string, head = '') =>
    `<!doctype html><meta charset="utf-8">${head}<title>Content Lake emulator</title>${body}`
  const headers = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }
  if (studioUrl) {
    return {
      status: 303,
      headers: { ...headers, location: studioUrl },
      body: html(`<p>Certificate accepted. On to <a href="${studioUrl}">the Studio</a>.</p>`),
    }
  }
  return {
    status: 200,
    headers,
    body: html(
      '<p>Certificate accepted. The Studio is still starting: this page reloads until it is up, then opens it.</p>',
      '<meta http-equiv="refresh" content="2">',
    ),
  }
}
