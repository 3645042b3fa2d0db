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
 */
import type { BlueprintDocumentFunctionResource } from '@sanity/blueprints'
import type { DocumentEventHandler, FunctionContext } from '@sanity/functions'
import { evaluate, parse } from 'groq-js'

export type Doc = { _id: string; [key: string]: unknown }
export interface DocumentChange {
  /** The dataset the change was committed in; absent: the runtime's default dataset (`clientOptions.dataset`). */
  readonly dataset?: string
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
  /** The project, and the default dataset (a change without `dataset` is in this one); apiHost and the rest pass through. */
  readonly clientOptions: { readonly projectId: string; readonly dataset: string }
  /** Current published + draft documents of a dataset, for dereferencing. */
  readonly dataset: (name: string) => readonly Doc[]
  /**
   * The deployment's settings (what `sanity functions env add` gives it): set in process.env for the duration of
   * each invocation, an undefined value unset, with the resource's own `env` over them. Absent: process.env as is,
   * plus the resource's `env`.
   */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/** Delivers changes one by one, like the runtime's at-least-once queue; records every invocation. */
export function createFunctionsRuntime(options: RuntimeOptions) {
  const invocations: Invocation[] = []
  return {
    invocations,
    async deliver(change: DocumentChange): Promise<Invocation | undefined> {
      const scope = {
        projectId: options.clientOptions.projectId,
        dataset: change.dataset ?? options.clientOptions.dataset,
      }
      if (!firesFor(options.fn, scope)) return undefined
      const data = await projectEvent(options.fn, change, options.dataset(scope.dataset), scope)
      if (data === undefined) return undefined
      let error: unknown
      // The platform, and `sanity functions test`, run the handler with the resource's `env` over its own.
      const restore = applyEnv({ ...options.env, ...options.fn.env })
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
    },
  }
}

/** Sets `env` in process.env (an undefined value unsets); the returned function puts back what was there. */
function applyEnv(env: Readonly<Record<string, string | undefined>>): () => void {
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

export function contextFor(clientOptions: RuntimeOptions['clientOptions']): FunctionContext {
  const { projectId, dataset } = clientOptions
  return {
    clientOptions: { token: '', ...clientOptions } as FunctionContext['clientOptions'],
    eventResourceType: 'dataset',
    eventResourceId: `${projectId}.${dataset}`,
    functionResourceType: 'project',
    functionResourceId: projectId,
    resources: {} as FunctionContext['resources'],
  }
}
