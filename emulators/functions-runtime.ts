/**
 * Plays the Sanity Functions runtime for tests and the demo: for a published-document change it applies the
 * blueprint's own filter and projection with groq-js in delta mode — over the whole dataset, so `role->` and
 * `before()` resolve as they do in production — and calls the handler with a context whose `clientOptions`
 * point at the Content Lake emulator. Never imported by production code.
 *
 * Datasets, as the platform scopes them: a change in any dataset of the project reaches a function unless its
 * `event.resource` names another (`<projectId>.<dataset>`, or `<projectId>.*` for all; absent = every dataset of the
 * project: `@sanity/blueprints` BlueprintFunctionResourceEventResourceDataset, platform-facts.md "Dataset scope").
 * Filters and projections see `sanity::projectId()` / `sanity::dataset()` of the change's dataset (groq-js's
 * `sanity` option, as `sanity functions test` passes it: @sanity/runtime-cli utils/functions/invoke/local.js
 * `applyGroqRule`), and the context is the one the platform builds for that dataset (`eventResourceType:
 * 'dataset'`, `eventResourceId: '<projectId>.<dataset>'`, `clientOptions.dataset`; platform-facts.md "Context").
 *
 * The context is exactly the platform's (@sanity/functions types/context.d.ts FunctionContext; platform-facts.md
 * "Context"): `clientOptions` is `{apiHost, projectId, dataset, token}` and nothing else, so the function's own
 * pinned `apiVersion` is the one its client uses, and its client reaches the emulator as it reaches
 * `https://<projectId>.api.sanity.io`: by project hostname, `http://<projectId>.localhost:<port>`, which
 * `resolveLocalhostSubdomains` points at the loopback address (RFC 6761 reserves `localhost` and its subdomains).
 * No `local` (that is `sanity functions test`'s), no `lineage` (the platform passes it in X_SANITY_LINEAGE).
 */
import dns from 'node:dns'
import type { BlueprintDocumentFunctionResource } from '@sanity/blueprints'
import type { DocumentEventHandler, FunctionContext } from '@sanity/functions'
import { evaluate, parse } from 'groq-js'

export type Doc = { _id: string; [key: string]: unknown }
export interface DocumentChange {
  /** The dataset the change was committed in; absent: the runtime's default dataset (`clientOptions.dataset`). */
  readonly dataset?: string
  /** The `x-sanity-lineage` of the write that made the change (a function's), if any. */
  readonly lineage?: string
  readonly id: string
  readonly before: Doc | null
  readonly after: Doc | null
}

/** The project and dataset a change happened in: what `sanity::projectId()` and `sanity::dataset()` answer. */
export interface DatasetScope {
  readonly projectId: string
  readonly dataset: string
}

const isPublished = (id: string) => !id.startsWith('drafts.') && !id.startsWith('versions.')

/** Whether the platform delivers a change in `scope` to `fn`: its `event.resource`, absent = every dataset. */
export function firesFor(fn: BlueprintDocumentFunctionResource, scope: DatasetScope): boolean {
  const resource = fn.event.resource
  if (!resource) return true
  if (resource.type !== 'dataset') return false
  return resource.id === `${scope.projectId}.*` || resource.id === `${scope.projectId}.${scope.dataset}`
}

/**
 * The event payload the runtime would deliver for `change`, or undefined when the blueprint's filter (or the
 * published-only default) drops it. `dataset` is the state after the change; `scope` is where it happened (without
 * it, `sanity::dataset()` and `sanity::projectId()` are null, as groq-js has them).
 */
export async function projectEvent(
  fn: BlueprintDocumentFunctionResource,
  change: DocumentChange,
  dataset: readonly Doc[],
  scope?: DatasetScope,
): Promise<unknown> {
  if (!isPublished(change.id)) return undefined
  const operation = change.before ? (change.after ? 'update' : 'delete') : 'create'
  if (!(fn.event.on ?? ['publish']).includes(operation)) return undefined
  // The runtime evaluates a deletion against the document as it was; references resolve against the rest.
  const subject = change.after ?? change.before
  if (!subject) return undefined
  const others = dataset.filter((doc) => doc._id !== change.id)
  const query = `*[_id == $__changedId && (${fn.event.filter ?? 'true'})]${fn.event.projection ?? ''}`
  const tree = parse(query, { mode: 'delta', params: { __changedId: change.id } })
  const value = await evaluate(tree, {
    dataset: [...others, subject],
    before: change.before,
    after: change.after,
    params: { __changedId: change.id },
    ...(scope ? { sanity: { projectId: scope.projectId, dataset: scope.dataset } } : {}),
  })
  const [result] = (await value.get()) as unknown[]
  return result
}

export interface Invocation {
  readonly change: DocumentChange
  /** The dataset the invocation was for. */
  readonly dataset: string
  readonly data: unknown
  readonly error: unknown
}

export interface RuntimeOptions {
  readonly fn: BlueprintDocumentFunctionResource
  readonly handler: DocumentEventHandler
  /** The project, the default dataset (a change without `dataset` is in this one), the API host and the token. */
  readonly clientOptions: {
    readonly projectId: string
    readonly dataset: string
    readonly apiHost?: string
    readonly token?: string
  }
  /** Current published + draft documents of a dataset, for dereferencing. */
  readonly dataset: (name: string) => readonly Doc[]
  /**
   * The deployment's settings (what `sanity functions env add` gives it): set in process.env for the duration of
   * each invocation, an undefined value unset, with the resource's own `env` over them. Absent: process.env as is,
   * plus the resource's `env`.
   */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/** Delivers changes one by one, in process, one at a time; records every invocation. */
export function createFunctionsRuntime(options: RuntimeOptions) {
  const invocations: Invocation[] = []
  const scopeOf = (change: DocumentChange) => ({
    projectId: options.clientOptions.projectId,
    dataset: change.dataset ?? options.clientOptions.dataset,
  })
  /**
   * Runs the handler for an event already projected, with the deployment's settings and the chain's lineage (a
   * redelivery passes the lineage its first delivery had).
   */
  async function invoke(
    change: DocumentChange,
    data: unknown,
    lineage: string = nextLineage(change.lineage),
  ): Promise<Invocation> {
    const scope = scopeOf(change)
    let error: unknown
    // The platform, and `sanity functions test`, run the handler with the resource's `env` over its own; the
    // lineage of a chain of function-caused writes is in X_SANITY_LINEAGE, which @sanity/client sends on.
    const restore = applyEnv({ ...options.env, ...options.fn.env, X_SANITY_LINEAGE: lineage })
    try {
      const clientOptions = { ...options.clientOptions, dataset: scope.dataset }
      await options.handler({ context: contextFor(clientOptions), event: { data } })
    } catch (caught) {
      error = caught
    } finally {
      restore()
    }
    const invocation = { change, dataset: scope.dataset, data, error }
    invocations.push(invocation)
    return invocation
  }
  return {
    invocations,
    invoke,
    /** The event `fn` would get for `change`, if it fires, from the dataset as it is now. */
    async project(change: DocumentChange): Promise<unknown> {
      const scope = scopeOf(change)
      if (!firesFor(options.fn, scope)) return undefined
      return projectEvent(options.fn, change, options.dataset(scope.dataset), scope)
    },
    async deliver(change: DocumentChange): Promise<Invocation | undefined> {
      const data = await this.project(change)
      return data === undefined ? undefined : invoke(change, data)
    },
  }
}

/** The most hops a chain of function-caused writes may take (`MAX_RECURSION_COUNT`, @sanity/functions invoke.js). */
export const MAX_HOPS = 16

/** How many function hops led to a write with this lineage (`<id>:<count>`, @sanity/functions `buildLineageToken`). */
export function hopsOf(lineage: string | undefined): number {
  const count = Number.parseInt(lineage?.trim().split(':').at(-1) ?? '', 10)
  return lineage?.includes(':') && Number.isFinite(count) && count > 0 ? count : 0
}

/**
 * The lineage an invocation caused by a change runs with: a new chain (`<32 chars>:1`) for an editor's write, else
 * the chain's id with the count plus one (@sanity/functions invoke.js `buildLineageToken`).
 */
export function nextLineage(lineage: string | undefined): string {
  const hops = hopsOf(lineage)
  const id = hops > 0 ? (lineage as string).trim().split(':').slice(0, -1).join(':') : randomChainId()
  return `${id}:${hops + 1}`
}

function randomChainId(): string {
  const alphabet = '23456789abcdefghijklmnopqrstuvwxyz'
  return Array.from({ length: 32 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('')
}

/** Sets `env` in process.env (an undefined value unsets); the returned function puts back what was there. */
export function applyEnv(env: Readonly<Record<string, string | undefined>>): () => void {
  const saved = Object.keys(env).map((name) => [name, process.env[name]] as const)
  const put = (name: string, value: string | undefined) => {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  for (const [name, value] of Object.entries(env)) put(name, value)
  return () => {
    for (const [name, value] of saved) put(name, value)
  }
}

/** A token the platform would give a deployed function; the emulator, open by default, accepts any. */
export const EMULATED_FUNCTION_TOKEN = 'sk-emulated-function-robot-token'

/** The context the platform builds for an event in `clientOptions.dataset` (see the header). */
export function contextFor(clientOptions: RuntimeOptions['clientOptions']): FunctionContext {
  const { projectId, dataset } = clientOptions
  resolveLocalhostSubdomains()
  return {
    clientOptions: {
      apiHost: platformApiHost(clientOptions.apiHost),
      projectId,
      dataset,
      token: clientOptions.token ?? EMULATED_FUNCTION_TOKEN,
    },
    eventResourceType: 'dataset',
    eventResourceId: `${projectId}.${dataset}`,
    functionResourceType: 'project',
    functionResourceId: projectId,
    resources: {} as FunctionContext['resources'],
  }
}

/** `http://127.0.0.1:<port>` as a host the client can put the project in front of: `http://localhost:<port>`. */
export function platformApiHost(apiHost: string | undefined): string {
  if (!apiHost) return 'https://api.sanity.io'
  const url = new URL(apiHost)
  if (url.hostname === '127.0.0.1') url.hostname = 'localhost'
  return url.origin
}

let resolving = false
/**
 * Resolves `<anything>.localhost` to 127.0.0.1 in this process, as browsers do (RFC 6761 §6.3); the system
 * resolver here does not. Node's `net` looks `dns.lookup` up at each connection, so replacing it covers
 * @sanity/client's requests; every other name resolves as before.
 */
export function resolveLocalhostSubdomains(): void {
  if (resolving) return
  resolving = true
  const original = dns.lookup
  const patched = (hostname: string, ...rest: unknown[]) =>
    (original as (...args: unknown[]) => void).call(
      dns,
      hostname.endsWith('.localhost') ? '127.0.0.1' : hostname,
      ...rest,
    )
  dns.lookup = patched as typeof dns.lookup
}
