/**
 * The local function runner of `npm run dev`: every document function the blueprint declares gets every change the
 * Content Lake emulator commits, as the platform delivers it — the function's own `on`, filter and projection in
 * delta mode (functions-runtime.ts), then its handler (`<src>/index.ts`, export `handler`). Generic over the
 * blueprint: a function added to sanity.blueprint.ts runs here without any change. Other kinds of functions
 * (scheduled, …) are listed but not triggered.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BlueprintDocumentFunctionResource, BlueprintModule, BlueprintResource } from '@sanity/blueprints'
import type { DocumentEventHandler } from '@sanity/functions'
import type { ContentLakeEmulator } from './content-lake.ts'
import { createFunctionsRuntime, type Invocation } from './functions-runtime.ts'

export interface RunnerInvocation extends Invocation {
  readonly functionName: string
  readonly ms: number
}

export interface BlueprintRunner {
  /** The document functions that run on every change. */
  readonly documentFunctions: readonly string[]
  /** The blueprint's other functions (e.g. `sanity.function.cron`), which this runner does not trigger. */
  readonly otherFunctions: readonly { name: string; type: string }[]
  readonly invocations: readonly RunnerInvocation[]
  /** Resolves when every change committed so far has been delivered. */
  settled(): Promise<void>
  stop(): void
}

export interface BlueprintRunnerOptions {
  readonly lake: ContentLakeEmulator
  readonly blueprint: BlueprintModule
  /** The folder the functions' `src` paths are relative to (the blueprint's folder). */
  readonly root: string
  readonly onInvocation?: (invocation: RunnerInvocation) => void
}

const isDocumentFunction = (resource: BlueprintResource): resource is BlueprintDocumentFunctionResource =>
  resource.type === 'sanity.function.document'

/**
 * The function's source, so edits apply on the next event: `functions/<name>/index.ts` (the CLI's default `src`),
 * else `<src>/index.ts|js` as the blueprint says (which may point at a built bundle).
 */
function entryPoint(root: string, fn: BlueprintDocumentFunctionResource): string {
  const candidates = [join(root, 'functions', fn.name, 'index.ts')]
  if (fn.src) candidates.push(join(root, fn.src, 'index.ts'), join(root, fn.src, 'index.js'))
  const found = candidates.find((candidate) => existsSync(candidate))
  if (!found) throw new Error(`Function "${fn.name}": no handler found (looked for ${candidates.join(', ')})`)
  return found
}

export async function startBlueprintRunner(options: BlueprintRunnerOptions): Promise<BlueprintRunner> {
  const { lake } = options
  const resources = options.blueprint().resources ?? []
  const functions = resources.filter((resource) => resource.type.startsWith('sanity.function.'))
  const documentFunctions = resources.filter(isDocumentFunction)
  const runtimes = await Promise.all(
    documentFunctions.map(async (fn) => {
      const entry = entryPoint(options.root, fn)
      const module = (await import(pathToFileURL(entry).href)) as { handler?: DocumentEventHandler }
      if (typeof module.handler !== 'function') throw new Error(`${entry} does not export a handler`)
      const runtime = createFunctionsRuntime({
        fn,
        handler: module.handler,
        clientOptions: lake.clientConfig,
        dataset: () => lake.documents(),
      })
      return { name: fn.name, runtime }
    }),
  )

  const invocations: RunnerInvocation[] = []
  // The emulator calls this once per changed document, in commit order, one at a time (at-least-once, in order).
  const unsubscribe = lake.onMutation(async (change) => {
    for (const { name, runtime } of runtimes) {
      const started = performance.now()
      const invocation = await runtime.deliver(change)
      if (!invocation) continue
      const entry = { ...invocation, functionName: name, ms: Math.round(performance.now() - started) }
      invocations.push(entry)
      options.onInvocation?.(entry)
    }
  })

  return {
    documentFunctions: runtimes.map(({ name }) => name),
    otherFunctions: functions
      .filter((resource) => !isDocumentFunction(resource))
      .map((resource) => ({ name: resource.name, type: resource.type })),
    invocations,
    settled: () => lake.settled(),
    stop: unsubscribe,
  }
}
