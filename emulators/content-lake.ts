// Local emulator of the Sanity Content Lake HTTP API, reachable by the unmodified `@sanity/client`.
//
// Endpoints (all under /v{apiVersion}, where apiVersion is `1`, `X` or `YYYY-MM-DD`):
//   GET|POST /data/query/{dataset}   GROQ via groq-js → { ms, query?, result }
//   GET      /data/doc/{dataset}/{id[,id...]}  → { documents, omitted }
//   POST     /data/mutate/{dataset}  { mutations: [...] } → { transactionId, results: [{ id, operation, document? }] }
//
// What the client sends (read from @sanity/client 8.15.0 src/data/dataMethods.ts, encodeQueryString.ts and
// http/requestOptions.ts):
//   - queries: GET ?tag=…&query=…&$param=<JSON>&returnQuery=false&perspective=…; switches to POST with a JSON body
//     { query, params } once the encoded query string reaches 11264 characters (options then stay in the query string)
//   - getDocument(id): GET /data/doc/{dataset}/{id} (id not URL-encoded); getDocuments(ids): ids joined with ','
//   - mutations: POST /data/mutate/{dataset}?returnIds=true&returnDocuments=true|…&visibility=sync[&dryRun=true]
//     with { mutations, transactionId? }; the client reads results[].document (returnDocuments) or results[].id
//   - `X-Sanity-Project-ID` header when useProjectHostname is false; `Authorization: Bearer <token>` when configured
//   - errors: a JSON body { error: { description, … } } (or Boom-style { error, message }) becomes the message of
//     ClientError (4xx) / ServerError (5xx)
//
// Forward-proxy use: with HTTP_PROXY set, @sanity/client's undici EnvHttpProxyAgent (ProxyAgent, proxyTunnel defaults
// to true in undici 7) opens a `CONNECT host:80` tunnel even for http:// targets. Both that and absolute-form requests
// (`GET http://host/path HTTP/1.1`) are served here. CONNECT to another loopback port is piped through untouched;
// CONNECT to a non-loopback host on port 443 is refused (502) because the emulator cannot terminate TLS.
//
// Datasets: one project, one or more datasets (`datasets: { production: [...], staging: [...] }`), each with its own
// documents, transactions and listeners; a request for any other dataset answers 404 "Dataset … not found", as
// the Content Lake does. Every committed change names its dataset (`MutationChange.dataset`).
//
// Who may read: by default the emulator is open (any request reads and writes everything, as before). With
// `aclMode` or `tokens` it models Sanity's access control (platform-facts.md "Private datasets"; Sanity docs
// "Access control" / "Roles"): anonymous requests read nothing on a private dataset and only documents outside a
// path (no "." in the ID, so no drafts) on a public one; a token reads what its role may read, and a query or doc
// read answers with what is visible, empty rather than an error. Writes without permission fail with 403
// `insufficientPermissionsError` (the body Sanity answers, seen in sanity-io/sanity#3284). Not modelled: ACLs on the
// Studio's listen, actions and history endpoints (content-lake-studio.ts), which the dev stack uses open.
//
// As the platform behaves where tests tend to be kind (platform-facts.md "Added: how the platforms behave"):
//   - query lag (`queryLag`, `setQueryLag`): "there is a delay between a transaction being committed and the changes
//     being visible to queries" (Sanity docs "Transactions"). With it on, /data/query answers from the newest
//     snapshot that is at least `ms` old (or `commits` commits behind the latest), while the Doc API, mutations
//     (including query-selected ones) and the Studio's listen endpoint see the latest. Off unless asked: most suites
//     write, then query at once; the strict runner (blueprint-runner.ts) turns it on for `npm run dev`.
//   - second-precision `_updatedAt` / `_createdAt` on committed revisions ("2026-05-06T10:17:10Z", platform-facts.md
//     "Timestamps"); the request log keeps milliseconds.
//   - lineage: the `x-sanity-lineage` header @sanity/client (>= 7.12, index.node.js: from X_SANITY_LINEAGE) sends
//     on every request of a function is recorded on the committed changes (`MutationChange.lineage`), so the
//     runner can stop a chain after 16 hops as the platform does (`MAX_RECURSION_COUNT` in @sanity/functions).

import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http'
import { type AddressInfo, isIP, connect as netConnect } from 'node:net'
import type { Duplex } from 'node:stream'
import { applyPatches, parsePatch } from '@sanity/diff-match-patch'
import { evaluate, GroqSyntaxError, parse } from 'groq-js'
import { indexByType, narrowByType } from './groq-index.ts'
import { resolveTextQueries } from './groq-text.ts'

// ---------------------------------------------------------------------------------------------------------------
// Public types

export interface SanityDocumentLike {
  _id: string
  _type?: string
  _rev?: string
  _createdAt?: string
  _updatedAt?: string
  [key: string]: unknown
}

export interface StoredDocument extends SanityDocumentLike {
  _type: string
  _rev: string
  _createdAt: string
  _updatedAt: string
}

/** What a token's role may do (Sanity's roles, reduced to what the sync depends on). */
export interface TokenGrant {
  /** `true`: read every document; a list: only documents of these `_type`s; absent or `false`: nothing. */
  readonly read?: boolean | readonly string[]
  /** May create, update and delete documents. */
  readonly write?: boolean
  /** The datasets the grant covers (default: all); elsewhere the token has only anonymous access. */
  readonly datasets?: readonly string[]
}

export interface ContentLakeEmulatorOptions {
  projectId?: string
  /** The default dataset: where `documents` go and what `clientConfig` names. Default: the first of `datasets`, else `production`. */
  dataset?: string
  /** The project's datasets and their seed documents, e.g. `{ production: [...], staging: [...] }`. */
  datasets?: Record<string, SanityDocumentLike[]>
  /** When set, every API request must carry `Authorization: Bearer <token>` (unless `tokens` or `aclMode` is set: then it is one full-access token). */
  token?: string
  /** Token → what its role may do. Unknown tokens get 401, as Sanity answers a revoked or mistyped token. */
  tokens?: Record<string, TokenGrant>
  /**
   * What anonymous requests may read: `private` nothing, `public` documents outside a path (no drafts). Default:
   * `public` when `tokens` is set, else the emulator is open (anything may read and write, as before).
   */
  aclMode?: 'public' | 'private'
  documents?: SanityDocumentLike[]
  /** Queries lag behind commits (see the header); absent: queries see every commit at once. */
  queryLag?: QueryLag
  now?: () => Date
  /** Port to listen on (default: any free port). */
  port?: number
}

/**
 * How far /data/query lags behind commits. A commit becomes visible to queries once it is `ms` old, or once
 * `commits` later commits exist in its dataset, whichever comes first (at least one of the two must be set).
 */
export interface QueryLag {
  readonly ms?: number
  readonly commits?: number
}

export interface ContentLakeClientConfig {
  projectId: string
  dataset: string
  apiHost: string
  useProjectHostname: false
  useCdn: false
  apiVersion: string
  token?: string
}

export interface RequestLogEntry {
  method: string
  /** URL path without the query string, e.g. `/v2025-05-01/data/query/production`. */
  path: string
  query: Record<string, string>
  /** Response status; 0 when the connection was reset by an injected fault. */
  status: number
  at: string
  /** Parsed JSON request body (raw text when not JSON), undefined when empty. */
  body: unknown
  /** Host the request was addressed to (request-line host for absolute-form, else the Host header). */
  host: string
  /** How the request arrived: straight to the emulator, through a CONNECT tunnel, or in proxy absolute-form. */
  via: 'direct' | 'connect' | 'absolute-form'
  /** Request headers without authorization, proxy-authorization and cookie. */
  headers: Record<string, string>
}

export interface TunnelLogEntry {
  /** `host:port` from the CONNECT request line. */
  target: string
  at: string
  action: 'serve' | 'pipe' | 'reject'
}

export interface FaultSpec {
  /** HTTP method to match (case-insensitive); any method when omitted. */
  method?: string
  /** A string matches when the URL path contains it; a RegExp is tested against the URL path. */
  path?: string | RegExp
  /** How many matching requests the fault applies to (default 1; Infinity for all). */
  times?: number
  /** Status to answer with. Defaults to 503 unless only `delayMs` is given (then the request proceeds normally). */
  status?: number
  /** Response body (objects are sent as JSON, strings as text); defaults to a Boom-style JSON error. */
  body?: unknown
  /** Wait this long before answering (or before handling normally for a delay-only fault). */
  delayMs?: number
  /** Destroy the connection without any response (a network error for the client). */
  reset?: boolean
}

export interface MutationChange {
  /** The dataset the transaction was committed in. */
  dataset: string
  id: string
  before: StoredDocument | null
  after: StoredDocument | null
  transactionId: string
  /** The `x-sanity-lineage` header of the request that committed it (a function's write), if any. */
  lineage?: string
}

export type MutationListener = (change: MutationChange) => void | Promise<void>

/** What a middleware (see `use`) gets for one request; the body is already read and parsed. */
export interface RequestContext {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly method: string
  readonly url: URL
  readonly body: unknown
  /** Answers with JSON (or text) and records the status in the request log. */
  send(status: number, body: unknown): void
  /** Marks the request as answered by the middleware itself (a stream), with this status in the log. */
  handled(status: number): void
}

/** Answers a request (returns true) or lets the next middleware, then the data endpoints, have it (false). */
export type Middleware = (context: RequestContext) => boolean | Promise<boolean>

export interface TransactionResult {
  transactionId: string
  results: { id: string; operation: 'create' | 'update' | 'delete'; document?: StoredDocument }[]
}

export interface ContentLakeEmulator {
  /** apiHost to give the client, e.g. `http://127.0.0.1:PORT`. Also usable as an HTTP_PROXY. */
  readonly url: string
  readonly projectId: string
  /** The default dataset: the one the methods below use when not given another. */
  readonly dataset: string
  /** Every dataset of the project, the default first. */
  readonly datasets: readonly string[]
  readonly clientConfig: ContentLakeClientConfig
  /** `clientConfig` for another dataset of the project. */
  clientConfigFor(dataset: string): ContentLakeClientConfig
  /** Live log of API requests (oldest first). */
  readonly requests: RequestLogEntry[]
  /** Live log of CONNECT tunnels. */
  readonly tunnels: TunnelLogEntry[]
  documents(dataset?: string): StoredDocument[]
  getDocument(id: string, dataset?: string): StoredDocument | null
  /** Direct writes (no listeners, no log); fills in `_rev`, `_createdAt`, `_updatedAt` when missing. */
  seed(docs: SanityDocumentLike[], dataset?: string): StoredDocument[]
  clearRequests(): void
  injectFault(fault: FaultSpec): void
  clearFaults(): void
  /** Called after every committed transaction, once per changed document, in commit order. */
  onMutation(listener: MutationListener): () => void
  /** Called synchronously at each commit with all of the transaction's changes, all in one dataset (for the listen endpoint). */
  onTransaction(listener: (changes: readonly MutationChange[]) => void): () => void
  /**
   * Applies mutations (the /data/mutate body's `mutations`) as one transaction and commits it, as the mutate
   * endpoint does. Throws `HttpFailure` (the response the endpoint would give) when a mutation fails.
   */
  transact(
    mutations: unknown[],
    transactionId?: string,
    dataset?: string,
    options?: { readonly lineage?: string },
  ): Promise<TransactionResult>
  /** Turns query lag on (or off with undefined) from now on; commits made before stay as visible as they were. */
  setQueryLag(lag: QueryLag | undefined): void
  /**
   * The dataset's current documents, sorted by `_id`, not copied: for the runner's filters and projections, which
   * must see the state at a commit without cloning the dataset per change. Read only.
   */
  view(dataset?: string): readonly StoredDocument[]
  /** Adds a middleware that runs before the data endpoints, e.g. the Studio's endpoints (content-lake-studio.ts). */
  use(middleware: Middleware): void
  /** The request handler, so another server (HTTP/2 for browsers, see content-lake-studio.ts) can serve the API. */
  readonly serve: (req: IncomingMessage, res: ServerResponse) => void
  /** Resolves once every queued onMutation call has finished; rejects (AggregateError) if any of them threw. */
  settled(): Promise<void>
  close(): Promise<void>
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

type JsonObject = Record<string, unknown>

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const DEFAULT_API_VERSION = '2025-05-01'
/** API versions from this date on default to the `published` perspective; older ones to `raw`. */
const PUBLISHED_BY_DEFAULT_FROM = '2025-02-19'
const PATH_RE = /^\/v(1|X|\d{4}-\d{2}-\d{2})\/data\/(query|doc|mutate)\/([^/]+)(?:\/(.*))?$/

function randomId(length = 22): string {
  let id = ''
  for (const byte of randomBytes(length)) id += ID_ALPHABET.charAt(byte % ID_ALPHABET.length)
  return id
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function clone<T>(value: T): T {
  return structuredClone(value)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function publishedIdOf(id: string): string {
  if (id.startsWith('drafts.')) return id.slice('drafts.'.length)
  if (id.startsWith('versions.')) {
    const rest = id.slice('versions.'.length)
    const dot = rest.indexOf('.')
    return dot === -1 ? rest : rest.slice(dot + 1)
  }
  return id
}

function isLoopback(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '')
  return bare === 'localhost' || bare === '::1' || bare.startsWith('127.')
}

export class HttpFailure extends Error {
  readonly status: number
  readonly body: unknown
  constructor(status: number, body: unknown) {
    super(`HTTP ${status}`)
    this.status = status
    this.body = body
  }
}

/** Boom-style error body, as Sanity's gateway answers auth and routing errors. */
export function boom(status: number, message: string, extra: JsonObject = {}): HttpFailure {
  return new HttpFailure(status, { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, ...extra })
}

/** Content Lake style error body: `{ error: { description, type, ... } }`. */
export function lakeError(status: number, type: string, description: string, extra: JsonObject = {}): HttpFailure {
  return new HttpFailure(status, { error: { description, type, ...extra } })
}

interface ItemError {
  type: string
  description: string
  id?: string
  [key: string]: unknown
}

/** A failed mutation inside a transaction: `{ error: { type: 'mutationError', description, items } }`. */
function mutationFailure(status: number, index: number, item: ItemError): HttpFailure {
  return new HttpFailure(status, {
    error: {
      type: 'mutationError',
      description: `Mutation failed: ${item.description}`,
      items: [{ index, error: item }],
    },
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Perspectives

function defaultPerspective(apiVersion: string): string {
  if (apiVersion === '1') return 'raw'
  if (apiVersion === 'X') return 'published'
  return apiVersion >= PUBLISHED_BY_DEFAULT_FROM ? 'published' : 'raw'
}

/**
 * The documents a query sees. `raw`: everything. `published`: no `drafts.` / `versions.` ids. Anything else is a
 * perspective stack, highest priority first (`drafts`, or release names such as `rSpring`, comma-separated), with
 * published documents at the bottom: per published id the highest-priority existing variant is returned with its
 * `_id` rewritten to the published id and the stored id kept in `_originalId`.
 */
function documentsInPerspective(all: StoredDocument[], perspective: string): JsonObject[] {
  if (perspective === 'raw') return all
  const isPublished = (doc: StoredDocument) => !doc._id.startsWith('drafts.') && !doc._id.startsWith('versions.')
  if (perspective === 'published') return all.filter(isPublished)

  const stack = perspective
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '' && name !== 'published')
  if (stack.includes('raw')) {
    throw lakeError(400, 'httpBadRequest', 'The raw perspective can not be combined with other perspectives')
  }
  const prefixes = stack.map((name) =>
    name === 'drafts' || name === 'previewDrafts' ? 'drafts.' : `versions.${name}.`,
  )
  const byId = new Map(all.map((doc) => [doc._id, doc]))
  const baseIds = [...new Set(all.map((doc) => publishedIdOf(doc._id)))]
  const result: JsonObject[] = []
  for (const baseId of baseIds) {
    const winner = [...prefixes.map((prefix) => `${prefix}${baseId}`), baseId]
      .map((id) => byId.get(id))
      .find((doc) => doc !== undefined)
    if (winner) result.push({ ...winner, _id: baseId, _originalId: winner._id })
  }
  return result
}

/** groq-js inlines provided params, so a `Parameter` node left in the tree was referenced but not provided. */
function missingParameter(node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = missingParameter(item)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (!isObject(node) || node.type === 'FunctionDeclaration') return undefined
  if (node.type === 'Parameter' && typeof node.name === 'string') return node.name
  return missingParameter(Object.values(node))
}

// ---------------------------------------------------------------------------------------------------------------
// Patch paths: `a.b`, `a[0]`, `a[-1]`, `a[_key=="k"]` (no wildcards, ranges or filters)

type PathSegment = { kind: 'attr'; name: string } | { kind: 'index'; index: number } | { kind: 'key'; key: string }

function parsePath(path: string, index: number): PathSegment[] {
  const segments: PathSegment[] = []
  let rest = path.trim()
  const token = /^(?:\.?([A-Za-z_$][\w$-]*)|\[\s*(-?\d+)\s*\]|\[\s*_key\s*==\s*(?:"([^"]*)"|'([^']*)')\s*\])/
  while (rest.length > 0) {
    const match = token.exec(rest)
    if (!match || (segments.length === 0 && rest.startsWith('.'))) {
      throw mutationFailure(400, index, { type: 'invalidPatchPath', description: `Unsupported patch path "${path}"` })
    }
    const [whole, name, num, dq, sq] = match
    if (name !== undefined) segments.push({ kind: 'attr', name })
    else if (num !== undefined) segments.push({ kind: 'index', index: Number(num) })
    else segments.push({ kind: 'key', key: dq ?? sq ?? '' })
    rest = rest.slice(whole.length)
  }
  if (segments.length === 0) {
    throw mutationFailure(400, index, { type: 'invalidPatchPath', description: `Empty patch path "${path}"` })
  }
  return segments
}

function elementIndex(array: unknown[], segment: PathSegment): number {
  if (segment.kind === 'index') {
    const i = segment.index < 0 ? array.length + segment.index : segment.index
    return i >= 0 && i < array.length ? i : -1
  }
  if (segment.kind === 'key') return array.findIndex((item) => isObject(item) && item._key === segment.key)
  return -1
}

function child(container: unknown, segment: PathSegment): unknown {
  if (segment.kind === 'attr') return isObject(container) ? container[segment.name] : undefined
  if (!Array.isArray(container)) return undefined
  const i = elementIndex(container, segment)
  return i === -1 ? undefined : container[i]
}

function getAt(root: JsonObject, segments: PathSegment[]): unknown {
  let current: unknown = root
  for (const segment of segments) current = child(current, segment)
  return current
}

/** The container holding the last segment; missing objects are created when `create` is set. */
function parentOf(root: JsonObject, segments: PathSegment[], create: boolean): unknown {
  let current: unknown = root
  for (const [i, segment] of segments.slice(0, -1).entries()) {
    let next = child(current, segment)
    if (next === undefined && create && segment.kind === 'attr' && isObject(current)) {
      next = segments[i + 1]?.kind === 'attr' ? {} : []
      current[segment.name] = next
    }
    if (next === undefined) return undefined
    current = next
  }
  return current
}

function setAt(root: JsonObject, segments: PathSegment[], value: unknown): void {
  const parent = parentOf(root, segments, true)
  const last = segments[segments.length - 1]
  if (!last) return
  if (last.kind === 'attr') {
    if (isObject(parent)) parent[last.name] = clone(value)
  } else if (Array.isArray(parent)) {
    const i = elementIndex(parent, last)
    if (i !== -1) parent[i] = clone(value)
  }
}

function unsetAt(root: JsonObject, segments: PathSegment[]): void {
  const parent = parentOf(root, segments, false)
  const last = segments[segments.length - 1]
  if (!last) return
  if (last.kind === 'attr') {
    if (isObject(parent)) delete parent[last.name]
  } else if (Array.isArray(parent)) {
    const i = elementIndex(parent, last)
    if (i !== -1) parent.splice(i, 1)
  }
}

const PROTECTED_FIELDS = new Set(['_id', '_rev', '_createdAt', '_updatedAt'])

/** Applies one patch (setIfMissing, set, unset, inc, dec, insert — in that order) to a copy of `doc`. */
function applyPatch(doc: StoredDocument, patch: JsonObject, index: number): StoredDocument {
  const next = clone(doc) as JsonObject
  const entries = (op: string): [string, unknown][] => (isObject(patch[op]) ? Object.entries(patch[op]) : [])
  const writable = (path: string) => {
    const segments = parsePath(path, index)
    const first = segments[0]
    return first?.kind === 'attr' && PROTECTED_FIELDS.has(first.name) ? null : segments
  }

  if (patch.merge !== undefined) {
    throw mutationFailure(400, index, {
      type: 'unsupportedPatch',
      description: 'Patch operation "merge" is not emulated',
    })
  }
  for (const [path, value] of entries('setIfMissing')) {
    const segments = writable(path)
    if (segments && getAt(next, segments) === undefined) setAt(next, segments, value)
  }
  for (const [path, value] of entries('set')) {
    const segments = writable(path)
    if (segments) setAt(next, segments, value)
  }
  // The Studio sends string edits as diff-match-patch text patches (e.g. `@@ -1,3 +1,4 @@ ...`).
  for (const [path, value] of entries('diffMatchPatch')) {
    const segments = writable(path)
    const current = segments ? getAt(next, segments) : undefined
    if (segments && typeof current === 'string' && typeof value === 'string') {
      setAt(next, segments, applyPatches(parsePatch(value), current)[0])
    }
  }
  for (const path of Array.isArray(patch.unset) ? patch.unset : []) {
    const segments = typeof path === 'string' ? writable(path) : null
    if (segments) unsetAt(next, segments)
  }
  for (const [op, sign] of [
    ['inc', 1],
    ['dec', -1],
  ] as const) {
    for (const [path, amount] of entries(op)) {
      const segments = writable(path)
      const current = segments ? getAt(next, segments) : undefined
      if (segments && typeof current === 'number' && typeof amount === 'number') {
        setAt(next, segments, current + sign * amount)
      }
    }
  }
  if (isObject(patch.insert)) applyInsert(next, patch.insert, index)
  return next as StoredDocument
}

function applyInsert(doc: JsonObject, insert: JsonObject, index: number): void {
  const items = Array.isArray(insert.items) ? insert.items : []
  const position = (['before', 'after', 'replace'] as const).find((key) => typeof insert[key] === 'string')
  const path = position ? insert[position] : undefined
  if (!position || typeof path !== 'string') {
    throw mutationFailure(400, index, { type: 'invalidInsert', description: 'insert needs before, after or replace' })
  }
  const segments = parsePath(path, index)
  const last = segments[segments.length - 1]
  const array = getAt(doc, segments.slice(0, -1))
  if (!last || last.kind === 'attr' || !Array.isArray(array)) {
    throw mutationFailure(400, index, {
      type: 'invalidInsert',
      description: `Cannot insert at "${path}": it does not address an element of an existing array`,
    })
  }
  const copies = items.map((item) => clone(item))
  if (array.length === 0 && position !== 'replace') {
    array.push(...copies)
    return
  }
  const at = elementIndex(array, last)
  if (at === -1) {
    throw mutationFailure(400, index, { type: 'invalidInsert', description: `No array element at "${path}"` })
  }
  if (position === 'before') array.splice(at, 0, ...copies)
  else if (position === 'after') array.splice(at + 1, 0, ...copies)
  else array.splice(at, 1, ...copies)
}

// ---------------------------------------------------------------------------------------------------------------
// The emulator

interface ActiveFault extends FaultSpec {
  remaining: number
}

interface Route {
  apiVersion: string
  endpoint: 'query' | 'doc' | 'mutate'
  dataset: string
  rest: string | undefined
}

/** What one request may do in one dataset. */
interface Access {
  readonly read: (doc: StoredDocument) => boolean
  readonly write: boolean
}
const FULL_ACCESS: Access = { read: () => true, write: true }
const NO_ACCESS: Access = { read: () => false, write: false }
/** Sanity's public ACL mode: documents in a path (an ID with a ".", such as drafts) are never public. */
const PUBLIC_ACCESS: Access = { read: (doc) => !doc._id.includes('.'), write: false }

/** 403 as Sanity answers a write the token's role does not allow (sanity-io/sanity#3284). */
function insufficientPermissions(mutations: unknown[]): HttpFailure {
  const first = isObject(mutations[0]) ? Object.keys(mutations[0])[0] : undefined
  const permission = first === 'delete' ? 'delete' : first === 'patch' ? 'update' : 'create'
  const description = `Insufficient permissions; permission "${permission}" required`
  return new HttpFailure(403, {
    error: {
      type: 'mutationError',
      description: 'Mutation(s) failed with 1 error(s)',
      items: [{ index: 0, error: { type: 'insufficientPermissionsError', permission, description } }],
    },
  })
}

type MutationOutcome = TransactionResult

export async function startContentLakeEmulator(options: ContentLakeEmulatorOptions = {}): Promise<ContentLakeEmulator> {
  const projectId = options.projectId ?? 'demo-project'
  const dataset = options.dataset ?? Object.keys(options.datasets ?? {})[0] ?? 'production'
  const token = options.token
  const tokens = options.tokens
  const aclMode = options.aclMode ?? (tokens ? 'public' : undefined)
  const now = options.now ?? (() => new Date())

  // One store per dataset, the default first.
  const stores = new Map<string, Map<string, StoredDocument>>([[dataset, new Map()]])
  for (const name of Object.keys(options.datasets ?? {})) if (!stores.has(name)) stores.set(name, new Map())
  const requests: RequestLogEntry[] = []
  const tunnels: TunnelLogEntry[] = []
  const faults: ActiveFault[] = []
  const listeners = new Set<MutationListener>()
  const transactionListeners = new Set<(changes: readonly MutationChange[]) => void>()
  const listenerErrors: unknown[] = []
  let listenerChain: Promise<void> = Promise.resolve()
  const sockets = new Set<Duplex>()
  const tunnelled = new WeakSet<object>()
  const middlewares: Middleware[] = []
  let queryLag = options.queryLag
  /** Per dataset, the snapshots queries may still be answered from (oldest first), while lag is on. */
  const history = new Map<string, { at: number; docs: StoredDocument[] }[]>()
  /** Mutations are applied and committed one at a time per dataset, as the Content Lake serialises transactions. */
  const mutateChains = new Map<string, Promise<unknown>>()

  const timestamp = () => now().toISOString()
  // Sanity stores revision timestamps to the second (platform-facts.md "Timestamps").
  const revisionTime = () => timestamp().replace(/\.\d+Z$/, 'Z')
  /** The dataset's store; throws for a dataset the project does not have. */
  const storeOf = (name: string): Map<string, StoredDocument> => {
    const store = stores.get(name)
    if (!store)
      throw new Error(
        `The emulated project "${projectId}" has no dataset "${name}" (it has ${[...stores.keys()].join(', ')})`,
      )
    return store
  }
  const sortedDocuments = (name: string) =>
    [...storeOf(name).values()].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0))

  function stamp(doc: SanityDocumentLike, rev: string, at: string, createdAt?: string): StoredDocument {
    if (typeof doc._type !== 'string' || doc._type === '') {
      throw new Error(`Document "${doc._id}" is missing _type`)
    }
    return { ...clone(doc), _type: doc._type, _rev: rev, _createdAt: createdAt ?? doc._createdAt ?? at, _updatedAt: at }
  }

  function seed(docs: SanityDocumentLike[], name = dataset): StoredDocument[] {
    const store = storeOf(name)
    return docs.map((doc) => {
      if (typeof doc._id !== 'string' || doc._id === '') throw new Error('Seeded documents need an _id')
      const at = revisionTime()
      const stored = stamp(doc, doc._rev ?? randomId(), doc._updatedAt ?? at, doc._createdAt)
      store.set(stored._id, stored)
      // Seeded documents were there all along: queries see them at once.
      history.delete(name)
      return clone(stored)
    })
  }

  // ----- request handling -----------------------------------------------------------------------------------

  /** What the request may do in `name`; 401 for a token the project does not know (when tokens are checked). */
  function authorize(req: IncomingMessage, name: string): Access {
    const header = req.headers.authorization
    const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined
    const checksTokens = token !== undefined || tokens !== undefined
    if (header !== undefined) {
      if (bearer !== undefined && bearer === token) return FULL_ACCESS
      const grant = bearer !== undefined ? tokens?.[bearer] : undefined
      if (grant) {
        if (grant.datasets && !grant.datasets.includes(name)) return anonymousAccess()
        const read =
          grant.read === true
            ? FULL_ACCESS.read
            : Array.isArray(grant.read)
              ? (doc: StoredDocument) => (grant.read as readonly string[]).includes(doc._type)
              : NO_ACCESS.read
        return { read, write: grant.write === true }
      }
      if (checksTokens) throw boom(401, 'Session not found', { errorCode: 'SIO-401-ANF' })
      return FULL_ACCESS
    }
    if (token !== undefined && aclMode === undefined)
      throw boom(401, 'Missing bearer token', { errorCode: 'SIO-401-ANF' })
    return anonymousAccess()
  }

  function anonymousAccess(): Access {
    if (aclMode === 'private') return NO_ACCESS
    if (aclMode === 'public') return PUBLIC_ACCESS
    return FULL_ACCESS
  }

  function checkProject(req: IncomingMessage, hostname: string): void {
    const header = req.headers['x-sanity-project-id']
    if (typeof header === 'string') {
      if (header !== projectId) throw boom(404, `Project ID "${header}" not found`)
      return
    }
    // useProjectHostname: the project id is the first label of `<projectId>.<apiHost>`.
    const labels = hostname.split('.')
    const hasSubdomain =
      isIP(hostname) === 0 && (labels.length >= 3 || (labels.length === 2 && labels[1] === 'localhost'))
    if (hasSubdomain && labels[0] !== projectId) throw boom(404, `Project ID "${labels[0]}" not found`)
  }

  function route(pathname: string): Route {
    const match = PATH_RE.exec(pathname)
    if (!match) throw boom(404, `Endpoint not emulated: ${pathname}`)
    const [, apiVersion = '', endpoint = '', datasetName = '', rest] = match
    const name = decodeURIComponent(datasetName)
    if (!stores.has(name)) throw datasetNotFound(name)
    return { apiVersion, endpoint: endpoint as Route['endpoint'], dataset: name, rest }
  }

  function datasetNotFound(name: string): HttpFailure {
    return lakeError(404, 'httpNotFound', `Dataset "${name}" not found for project ID "${projectId}"`)
  }

  async function runQuery(query: string, params: JsonObject, docs: JsonObject[], name: string): Promise<unknown> {
    let tree: ReturnType<typeof parse>
    try {
      tree = parse(query, { params })
    } catch (error) {
      if (error instanceof GroqSyntaxError) {
        const description =
          error.message.replace(/^Syntax error in GROQ query at position \d+:?\s*/, '') || 'syntax error'
        throw lakeError(400, 'queryParseError', description, { query, start: error.position, end: error.position + 1 })
      }
      throw lakeError(400, 'queryParseError', error instanceof Error ? error.message : String(error), {
        query,
        start: 0,
        end: query.length,
      })
    }
    const missing = missingParameter(tree)
    if (missing !== undefined) {
      const start = Math.max(0, query.indexOf(`$${missing}`))
      throw lakeError(400, 'queryParseError', `param $${missing} referenced, but not provided`, {
        query,
        start,
        end: start + missing.length + 1,
      })
    }
    try {
      // `->` looks the reference up by ID, as the Content Lake does, instead of groq-js's scan of the whole dataset
      // per dereference (1 000 policies × 10 000 documents made one page query take seconds).
      const byId = new Map(docs.map((doc) => [doc._id, doc]))
      const value = await evaluate(narrowByType(resolveTextQueries(tree, docs), indexByType(docs)), {
        dataset: docs,
        dereference: ({ _ref }: { _ref: string }) => byId.get(_ref) ?? null,
        params,
        sanity: { projectId, dataset: name },
        timestamp: now(),
      })
      return await value.get()
    } catch (error) {
      throw lakeError(400, 'queryError', error instanceof Error ? error.message : String(error))
    }
  }

  async function handleQuery(
    req: IncomingMessage,
    url: URL,
    body: unknown,
    target: Route,
    access: Access,
  ): Promise<JsonObject> {
    const { apiVersion } = target
    const started = performance.now()
    const search = url.searchParams
    const bodyObject = isObject(body) ? body : {}
    let query: unknown
    let params: JsonObject = {}
    if (req.method === 'POST') {
      query = bodyObject.query
      if (isObject(bodyObject.params)) params = bodyObject.params
    } else {
      query = search.get('query')
      for (const [key, raw] of search) {
        if (!key.startsWith('$')) continue
        try {
          params[key.slice(1)] = JSON.parse(raw)
        } catch {
          throw lakeError(
            400,
            'httpBadRequest',
            `Unable to parse value of "${key}=${raw}". Please quote string values.`,
          )
        }
      }
    }
    if (typeof query !== 'string' || query.trim() === '') {
      throw lakeError(400, 'httpBadRequest', 'The "query" parameter is required')
    }
    const perspectiveValue = search.get('perspective') ?? bodyObject.perspective
    const perspective = Array.isArray(perspectiveValue)
      ? perspectiveValue.join(',')
      : typeof perspectiveValue === 'string' && perspectiveValue !== ''
        ? perspectiveValue
        : defaultPerspective(apiVersion)
    const returnQuery = (search.get('returnQuery') ?? String(bodyObject.returnQuery ?? 'true')) !== 'false'
    // What the caller may not read is not there: an empty result, not an error, as on the platform.
    const visible = queryView(target.dataset).filter(access.read)
    const result = await runQuery(query, params, documentsInPerspective(visible, perspective), target.dataset)
    const ms = Math.max(1, Math.round(performance.now() - started))
    return returnQuery ? { ms, query, result } : { ms, result }
  }

  function handleDoc(url: URL, rest: string | undefined, name: string, access: Access): JsonObject {
    const store = storeOf(name)
    const ids = (rest ?? '')
      .split(',')
      .map((id) => decodeURIComponent(id).trim())
      .filter((id) => id !== '')
    if (ids.length === 0) throw lakeError(400, 'httpBadRequest', 'At least one document ID is required')
    const excludeContent = url.searchParams.get('excludeContent') === 'true'
    const documents: StoredDocument[] = []
    const omitted: { id: string; reason: string }[] = []
    for (const id of ids) {
      const doc = store.get(id)
      if (!doc) omitted.push({ id, reason: 'existence' })
      else if (!access.read(doc)) omitted.push({ id, reason: 'permission' })
      else if (!excludeContent) documents.push(clone(doc))
    }
    return { documents, omitted }
  }

  async function idsForSelection(
    selection: JsonObject,
    working: Map<string, StoredDocument>,
    index: number,
    name: string,
  ) {
    if (typeof selection.id === 'string') return [selection.id]
    if (typeof selection.query === 'string') {
      const params = isObject(selection.params) ? selection.params : {}
      const sorted = [...working.values()].sort((a, b) => (a._id < b._id ? -1 : 1))
      const result = await runQuery(selection.query, params, sorted, name)
      const list = Array.isArray(result) ? result : result == null ? [] : [result]
      return list
        .map((item) => (typeof item === 'string' ? item : isObject(item) ? item._id : undefined))
        .filter((id): id is string => typeof id === 'string')
    }
    throw mutationFailure(400, index, { type: 'invalidMutation', description: 'Mutation needs an "id" or a "query"' })
  }

  async function applyMutations(
    mutations: unknown[],
    transactionId: string,
    name: string,
  ): Promise<{
    working: Map<string, StoredDocument>
    outcome: MutationOutcome
  }> {
    const working = new Map(storeOf(name))
    const at = revisionTime()
    const results: MutationOutcome['results'] = []
    const rev = transactionId

    for (const [index, mutation] of mutations.entries()) {
      const entries = isObject(mutation) ? Object.entries(mutation) : []
      const [kind, arg] = entries[0] ?? []
      if (entries.length !== 1 || !isObject(arg)) {
        throw mutationFailure(400, index, {
          type: 'invalidMutation',
          description: 'Each mutation needs exactly one operation',
        })
      }
      const write = (doc: JsonObject, createdAt?: string): StoredDocument => {
        if (typeof doc._type !== 'string' || doc._type === '') {
          throw mutationFailure(400, index, {
            type: 'invalidDocument',
            id: String(doc._id),
            description: `Document "${String(doc._id)}" is missing required property "_type"`,
          })
        }
        const stored = stamp(doc as SanityDocumentLike, rev, at, createdAt)
        working.set(stored._id, stored)
        return stored
      }

      switch (kind) {
        case 'create':
        case 'createOrReplace':
        case 'createIfNotExists': {
          let id = typeof arg._id === 'string' ? arg._id : ''
          if (kind !== 'create' && id === '') {
            throw mutationFailure(400, index, { type: 'invalidDocument', description: `${kind} requires an _id` })
          }
          if (id === '' || id.endsWith('.')) id = `${id}${randomId()}`
          const existing = working.get(id)
          if (existing && kind === 'create') {
            throw mutationFailure(409, index, {
              type: 'documentAlreadyExistsError',
              id,
              description: `Document by ID "${id}" already exists`,
            })
          }
          if (existing && kind === 'createIfNotExists') {
            results.push({ id, operation: 'update', document: existing })
            break
          }
          const createdAt = existing ? existing._createdAt : typeof arg._createdAt === 'string' ? arg._createdAt : at
          const stored = write({ ...arg, _id: id }, createdAt)
          results.push({ id, operation: existing ? 'update' : 'create', document: stored })
          break
        }
        case 'delete': {
          for (const id of await idsForSelection(arg, working, index, name)) {
            if (working.delete(id)) results.push({ id, operation: 'delete' })
          }
          break
        }
        case 'patch': {
          const ids = await idsForSelection(arg, working, index, name)
          for (const id of ids) {
            const current = working.get(id)
            if (!current) {
              throw mutationFailure(409, index, {
                type: 'documentNotFoundError',
                id,
                description: `Document by ID "${id}" not found`,
              })
            }
            if (typeof arg.ifRevisionID === 'string' && arg.ifRevisionID !== current._rev) {
              throw mutationFailure(409, index, {
                type: 'documentRevisionIDDoesNotMatchError',
                id,
                currentRevisionID: current._rev,
                expectedRevisionID: arg.ifRevisionID,
                description: `Document "${id}" has unexpected revision ID ("${current._rev}"), expected "${arg.ifRevisionID}"`,
              })
            }
            const patched = applyPatch(current, arg, index)
            // A patch that changes nothing leaves the document (and its _rev) alone, as Content Lake does.
            const unchanged = JSON.stringify(patched) === JSON.stringify(current)
            const stored = unchanged ? current : write(patched, current._createdAt)
            results.push({ id, operation: 'update', document: stored })
          }
          break
        }
        default:
          throw mutationFailure(400, index, {
            type: 'invalidMutation',
            description: `Mutation type "${String(kind)}" is not supported by the emulator`,
          })
      }
    }
    return { working, outcome: { transactionId, results } }
  }

  /** What a query sees in `name`: the latest commit, or with lag on the newest state already visible. */
  function queryView(name: string): StoredDocument[] {
    const states = history.get(name)
    if (!queryLag || !states) return sortedDocuments(name)
    const { ms, commits } = queryLag
    const at = Date.now()
    // states[0] is the state before the oldest remembered commit (always visible); states[i] the state after a
    // commit, followed by (length - 1 - i) later ones.
    let visible = 0
    for (let i = states.length - 1; i > 0; i--) {
      const state = states[i] as { at: number }
      if ((ms !== undefined && at - state.at >= ms) || (commits !== undefined && states.length - 1 - i >= commits)) {
        visible = i
        break
      }
    }
    if (visible === states.length - 1) {
      history.delete(name)
      return sortedDocuments(name)
    }
    // Visibility only moves forward: older states are never needed again.
    states.splice(0, visible)
    return [...(states[0] as { docs: StoredDocument[] }).docs].sort((a, b) =>
      a._id < b._id ? -1 : a._id > b._id ? 1 : 0,
    )
  }

  /** Serialises `apply` with the dataset's other transactions. */
  function serialised<T>(name: string, apply: () => Promise<T>): Promise<T> {
    const previous = mutateChains.get(name) ?? Promise.resolve()
    const next = previous.then(apply, apply)
    mutateChains.set(
      name,
      next.catch(() => undefined),
    )
    return next
  }

  async function handleMutate(
    url: URL,
    body: unknown,
    name: string,
    access: Access,
    lineage: string | undefined,
  ): Promise<JsonObject> {
    if (!isObject(body) || !Array.isArray(body.mutations)) {
      throw lakeError(400, 'httpBadRequest', 'Request body must be an object with a "mutations" array')
    }
    if (!access.write) throw insufficientPermissions(body.mutations)
    const search = url.searchParams
    const flag = (name: string) => search.get(name) === 'true' || body[name] === true
    const transactionId =
      typeof body.transactionId === 'string' && body.transactionId !== ''
        ? body.transactionId
        : (search.get('transactionId') ?? randomId())

    const mutations = body.mutations
    const { outcome } = await serialised(name, async () => {
      const applied = await applyMutations(mutations, transactionId, name)
      if (!flag('dryRun')) commit(applied.working, transactionId, name, lineage)
      return applied
    })

    const returnDocuments = flag('returnDocuments')
    return {
      transactionId: outcome.transactionId,
      results: outcome.results.map(({ id, operation, document }) =>
        returnDocuments && document ? { id, operation, document: clone(document) } : { id, operation },
      ),
    }
  }

  function commit(working: Map<string, StoredDocument>, transactionId: string, name: string, lineage?: string): void {
    const store = storeOf(name)
    // For lagging queries, the state before the first commit they have not seen yet (documents are never mutated
    // once stored, so a shallow copy of the store is a snapshot).
    if (queryLag && !history.has(name)) history.set(name, [{ at: Number.NEGATIVE_INFINITY, docs: [...store.values()] }])
    const changes: MutationChange[] = []
    for (const id of new Set([...store.keys(), ...working.keys()])) {
      const before = store.get(id) ?? null
      const after = working.get(id) ?? null
      if (before !== after) {
        changes.push({
          dataset: name,
          id,
          before: before && clone(before),
          after: after && clone(after),
          transactionId,
          ...(lineage ? { lineage } : {}),
        })
      }
    }
    store.clear()
    for (const [id, doc] of working) store.set(id, doc)
    if (queryLag) history.get(name)?.push({ at: Date.now(), docs: [...store.values()] })
    if (changes.length > 0) for (const listener of transactionListeners) listener(changes)
    if (changes.length === 0 || listeners.size === 0) return
    const current = [...listeners]
    listenerChain = listenerChain.then(async () => {
      for (const change of changes) {
        for (const listener of current) {
          try {
            await listener(clone(change))
          } catch (error) {
            listenerErrors.push(error)
          }
        }
      }
    })
  }

  function takeFault(method: string, pathname: string): ActiveFault | undefined {
    const fault = faults.find(
      (candidate) =>
        (candidate.method === undefined || candidate.method.toUpperCase() === method) &&
        (candidate.path === undefined ||
          (typeof candidate.path === 'string' ? pathname.includes(candidate.path) : candidate.path.test(pathname))),
    )
    if (!fault) return undefined
    fault.remaining -= 1
    if (fault.remaining <= 0) faults.splice(faults.indexOf(fault), 1)
    return fault
  }

  function send(res: ServerResponse, entry: RequestLogEntry, status: number, body: unknown): void {
    entry.status = status
    const isText = typeof body === 'string'
    const payload = isText ? body : JSON.stringify(body ?? null)
    res.writeHead(status, {
      'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
    })
    res.end(payload)
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase()
    const rawUrl = req.url ?? '/'
    const absolute = /^https?:\/\//i.test(rawUrl)
    const url = new URL(rawUrl, `http://${req.headers.host ?? '127.0.0.1'}`)
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    let body: unknown
    if (text !== '') {
      try {
        body = JSON.parse(text)
      } catch {
        body = text
      }
    }
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(req.headers)) {
      if (['authorization', 'proxy-authorization', 'cookie'].includes(name) || value === undefined) continue
      headers[name] = Array.isArray(value) ? value.join(', ') : value
    }
    const entry: RequestLogEntry = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      at: timestamp(),
      body,
      host: absolute ? url.host : (req.headers.host ?? ''),
      via: tunnelled.has(req.socket) ? 'connect' : absolute ? 'absolute-form' : 'direct',
      headers,
    }
    requests.push(entry)

    const fault = takeFault(method, url.pathname)
    if (fault) {
      if (fault.delayMs !== undefined) await sleep(fault.delayMs)
      if (fault.reset) {
        req.socket.destroy()
        return
      }
      const delayOnly = fault.status === undefined && fault.body === undefined && fault.delayMs !== undefined
      if (!delayOnly) {
        const status = fault.status ?? 503
        send(
          res,
          entry,
          status,
          fault.body ?? { statusCode: status, error: STATUS_CODES[status], message: 'Injected fault' },
        )
        return
      }
    }

    try {
      let answered = false
      const context: RequestContext = {
        req,
        res,
        method,
        url,
        body,
        send: (status, payload) => {
          answered = true
          send(res, entry, status, payload)
        },
        handled: (status) => {
          answered = true
          entry.status = status
        },
      }
      for (const middleware of middlewares) {
        if ((await middleware(context)) || answered) return
      }
      const target = route(url.pathname)
      checkProject(req, url.hostname)
      const access = authorize(req, target.dataset)
      if (text !== '' && typeof body === 'string')
        throw lakeError(400, 'httpBadRequest', 'Request body is not valid JSON')
      let response: JsonObject
      if (target.endpoint === 'query' && (method === 'GET' || method === 'POST')) {
        response = await handleQuery(req, url, body, target, access)
      } else if (target.endpoint === 'doc' && method === 'GET') {
        response = handleDoc(url, target.rest, target.dataset, access)
      } else if (target.endpoint === 'mutate' && method === 'POST') {
        const lineage = req.headers['x-sanity-lineage']
        response = await handleMutate(
          url,
          body,
          target.dataset,
          access,
          typeof lineage === 'string' ? lineage : undefined,
        )
      } else {
        throw boom(405, `Method ${method} not allowed on ${url.pathname}`)
      }
      send(res, entry, 200, response)
    } catch (error) {
      if (error instanceof HttpFailure) send(res, entry, error.status, error.body)
      else send(res, entry, 500, { statusCode: 500, error: 'Internal Server Error', message: String(error) })
    }
  }

  // ----- server, CONNECT tunnels, lifecycle ------------------------------------------------------------------

  const serve = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(String(error))
    })
  }
  const server = createServer({ keepAliveTimeout: 5_000 }, serve)
  server.on('connection', (socket: Duplex) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = req.url ?? ''
    let hostname = ''
    let port = 80
    try {
      const parsed = new URL(`http://${target}`)
      hostname = parsed.hostname
      port = parsed.port === '' ? 80 : Number(parsed.port)
    } catch {
      // leave hostname empty: rejected below
    }
    const ownPort = (server.address() as AddressInfo | null)?.port
    const log = (action: TunnelLogEntry['action']) => tunnels.push({ target, at: timestamp(), action })
    socket.on('error', () => socket.destroy())

    if (hostname === '' || (!isLoopback(hostname) && port === 443)) {
      log('reject')
      socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
      return
    }
    if (isLoopback(hostname) && port !== ownPort) {
      log('pipe')
      const upstream = netConnect(port, hostname.replace(/^\[|\]$/g, ''))
      sockets.add(upstream)
      upstream.once('close', () => sockets.delete(upstream))
      upstream.once('connect', () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        if (head.length > 0) upstream.write(head)
        socket.pipe(upstream).pipe(socket)
      })
      upstream.on('error', () => {
        if (socket.writable) socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
        socket.destroy()
      })
      socket.once('close', () => upstream.destroy())
      return
    }
    log('serve')
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
    tunnelled.add(socket)
    if (head.length > 0) socket.unshift(head)
    server.emit('connection', socket)
  })

  server.listen(options.port ?? 0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`

  for (const [name, docs] of Object.entries(options.datasets ?? {})) seed(docs, name)
  if (options.documents) seed(options.documents)

  const clientConfigFor = (name: string): ContentLakeClientConfig => {
    storeOf(name)
    return {
      projectId,
      dataset: name,
      apiHost: url,
      useProjectHostname: false,
      useCdn: false,
      apiVersion: DEFAULT_API_VERSION,
      ...(token !== undefined ? { token } : {}),
    }
  }

  return {
    url,
    projectId,
    dataset,
    datasets: [...stores.keys()],
    clientConfig: clientConfigFor(dataset),
    clientConfigFor,
    requests,
    tunnels,
    documents: (name = dataset) => sortedDocuments(name).map((doc) => clone(doc)),
    getDocument: (id, name = dataset) => {
      const doc = storeOf(name).get(id)
      return doc ? clone(doc) : null
    },
    seed,
    clearRequests: () => {
      requests.length = 0
      tunnels.length = 0
    },
    injectFault: (fault) => {
      faults.push({ ...fault, remaining: fault.times ?? 1 })
    },
    clearFaults: () => {
      faults.length = 0
    },
    onMutation: (listener) => {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    onTransaction: (listener) => {
      transactionListeners.add(listener)
      return () => {
        transactionListeners.delete(listener)
      }
    },
    transact: (mutations, transactionId = randomId(), name = dataset, transactOptions = {}) =>
      serialised(name, async () => {
        const { working, outcome } = await applyMutations(mutations, transactionId, name)
        commit(working, transactionId, name, transactOptions.lineage)
        return outcome
      }),
    setQueryLag: (lag) => {
      queryLag = lag
      if (!lag) history.clear()
    },
    view: (name = dataset) => sortedDocuments(name),
    use: (middleware) => {
      middlewares.push(middleware)
    },
    serve,
    settled: async () => {
      let chain: Promise<void>
      do {
        chain = listenerChain
        await chain
      } while (chain !== listenerChain)
      if (listenerErrors.length > 0) {
        throw new AggregateError(listenerErrors.splice(0), 'onMutation listener failed')
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
        server.closeAllConnections()
      }),
  }
}
