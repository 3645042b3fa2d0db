/**
 * Plays the Sanity Functions runtime for tests and the demo: for a published-document change it applies the
 * blueprint's own filter and projection with groq-js in delta mode — over the whole dataset, so `role->` and
 * `before()` resolve as they do in production — and calls the handler with a context whose `clientOptions`
 * point at the Content Lake emulator. Never imported by production code.
 */
import type { BlueprintDocumentFunctionResource } from '@sanity/blueprints'
import type { DocumentEventHandler, FunctionContext } from '@sanity/functions'
import { evaluate, parse } from 'groq-js'

export type Doc = { _id: string; [key: string]: unknown }
export interface DocumentChange {
  readonly id: string
  readonly before: Doc | null
  readonly after: Doc | null
}

const isPublished = (id: string) => !id.startsWith('drafts.') && !id.startsWith('versions.')

/**
 * The event payload the runtime would deliver for `change`, or undefined when the blueprint's filter (or the
 * published-only default) drops it. `dataset` is the state after the change.
 */
export async function projectEvent(
  fn: BlueprintDocumentFunctionResource,
  change: DocumentChange,
  dataset: readonly Doc[],
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
  })
  const [result] = (await value.get()) as unknown[]
  return result
}

export interface Invocation {
  readonly change: DocumentChange
  readonly data: unknown
  readonly error: unknown
}

export interface RuntimeOptions {
  readonly fn: BlueprintDocumentFunctionResource
  readonly handler: DocumentEventHandler
  readonly clientOptions: { readonly projectId: string; readonly dataset: string }
  /** Current published + draft documents, for dereferencing. */
  readonly dataset: () => readonly Doc[]
}

/** Delivers changes one by one, like the runtime's at-least-once queue; records every invocation. */
export function createFunctionsRuntime(options: RuntimeOptions) {
  const invocations: Invocation[] = []
  return {
    invocations,
    async deliver(change: DocumentChange): Promise<Invocation | undefined> {
      const data = await projectEvent(options.fn, change, options.dataset())
      if (data === undefined) return undefined
      let error: unknown
      try {
        await options.handler({ context: contextFor(options.clientOptions), event: { data } })
      } catch (caught) {
        error = caught
      }
      const invocation = { change, data, error }
      invocations.push(invocation)
      return invocation
    },
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
