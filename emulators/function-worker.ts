/**
 * One execution environment of a function, as the platform gives each parallel event its own (AWS Lambda underneath:
 * platform-facts.md "Execution"): a worker thread that imports the function's module fresh — its own module scope,
 * its own SDK caches and Auth0 token, its own process.env — then runs one invocation at a time when the runner
 * (blueprint-runner.ts) hands it one. The runner ends it with `terminate()` when the blueprint's `timeout` passes.
 */
import { pathToFileURL } from 'node:url'
import { parentPort, workerData } from 'node:worker_threads'
import type { FunctionContext } from '@sanity/functions'
import { applyEnv, resolveLocalhostSubdomains } from './functions-runtime.ts'

export type WorkerRequest = {
  readonly id: number
  readonly env: Readonly<Record<string, string | undefined>>
  readonly context: FunctionContext
  readonly data: unknown
}
export type WorkerReply =
  | { readonly type: 'ready'; readonly importMs: number }
  | { readonly type: 'load-failed'; readonly error: SerializedError }
  | { readonly type: 'done'; readonly id: number; readonly error?: SerializedError }

/** An error as it crosses the thread boundary: message, name, stack and its own fields (a SyncError's `reason`). */
export type SerializedError = { readonly name: string; readonly message: string; readonly [field: string]: unknown }

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) }
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(error)) {
    if (key === 'cause') continue
    try {
      fields[key] = structuredClone(value)
    } catch {
      fields[key] = String(value)
    }
  }
  return { ...fields, name: error.name, message: error.message, stack: error.stack }
}

/** An Error again, with the same name, message and fields, for the runner's invocation log. */
export function deserializeError(serialized: SerializedError): Error {
  const { name, message, ...fields } = serialized
  const error = new Error(message)
  Object.assign(error, fields)
  Object.defineProperty(error, 'name', { value: name, enumerable: false, configurable: true, writable: true })
  return error
}

if (parentPort && workerData?.entry) {
  const port = parentPort
  resolveLocalhostSubdomains()
  const started = performance.now()
  type Handler = (input: { context: FunctionContext; event: { data: unknown } }) => Promise<unknown>
  let handler: Handler | undefined
  try {
    const module = (await import(pathToFileURL(workerData.entry as string).href)) as { handler?: Handler }
    if (typeof module.handler !== 'function') throw new Error(`${workerData.entry} does not export a handler`)
    handler = module.handler
    port.postMessage({ type: 'ready', importMs: performance.now() - started } satisfies WorkerReply)
  } catch (error) {
    port.postMessage({ type: 'load-failed', error: serializeError(error) } satisfies WorkerReply)
  }
  port.on('message', async (request: WorkerRequest) => {
    const restore = applyEnv(request.env)
    let error: SerializedError | undefined
    try {
      await (handler as Handler)({ context: request.context, event: { data: request.data } })
    } catch (caught) {
      error = serializeError(caught)
    } finally {
      restore()
    }
    port.postMessage({ type: 'done', id: request.id, ...(error ? { error } : {}) } satisfies WorkerReply)
  })
}
