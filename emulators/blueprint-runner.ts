/**
 * The local function runner of `npm run dev`: every document function the blueprint declares gets every change the
 * Content Lake emulator commits, in any of its datasets, as the platform delivers it — the function's own
 * `event.resource`, `on`, filter and projection in delta mode (functions-runtime.ts), then its handler
 * (`<src>/index.ts`, export `handler`) with the context for that dataset. Generic over the blueprint: a function
 * added to sanity.blueprint.ts runs here without any change. Other kinds of functions (scheduled, …) are listed but
 * not triggered.
 *
 * Environments: one deployment (`blueprint`, run with process.env as it is) or several (`environments`), each a
 * name, its settings and its resources (`accessSyncResources(env)`), as `sanity blueprints deploy --stack <name>`
 * deploys one stack per environment into the same project. Every change goes to every environment's functions; the
 * functions' `event.resource` decides which fire, as on the platform.
 *
 * Handlers read their settings from process.env when invoked, so each invocation runs with its own environment's
 * variables swapped in (and every other environment's unset) and put back afterwards. That is safe because the
 * runner delivers one invocation at a time, in commit order (the emulator's listener chain). Chosen over a worker
 * thread per environment (its own process.env) because the runner is serial anyway, the handlers' errors stay
 * real objects (`SyncError` with its `reason`) instead of structured clones, tests can observe the handlers
 * in-process, and the handlers' warm-instance caches are keyed by their settings (a swap reconnects, it never
 * reuses another tenant's token). What it does not model: the platform runs events in parallel, on separate
 * instances.
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
  /** The environment whose function ran; undefined for a runner given one `blueprint`. */
  readonly environment: string | undefined
  readonly ms: number
}

/** One deployed environment: its name, its settings (its `.env.<name>`) and what is deployed for it. */
export interface RunnerEnvironment {
  readonly name: string
  readonly env: Readonly<Record<string, string | undefined>>
  readonly resources: readonly BlueprintResource[]
}

export interface RunnerDeployment {
  readonly environment: string | undefined
  readonly functionName: string
  /** `event.resource.id`, e.g. `my-project.production`; undefined: every dataset of the project. */
  readonly resource: string | undefined
}

export interface BlueprintRunner {
  /** The document functions that run on every change (each name once). */
  readonly documentFunctions: readonly string[]
  /** Every document function of every environment, with the datasets it fires for. */
  readonly deployments: readonly RunnerDeployment[]
  /** The blueprint's other functions (e.g. `sanity.function.cron`), which this runner does not trigger. */
  readonly otherFunctions: readonly { name: string; type: string; environment: string | undefined }[]
  readonly invocations: readonly RunnerInvocation[]
  /** Resolves when every change committed so far has been delivered. */
  settled(): Promise<void>
  stop(): void
}

export type BlueprintRunnerOptions = {
  readonly lake: ContentLakeEmulator
  /** The folder the functions' `src` paths are relative to (the blueprint's folder). */
  readonly root: string
  readonly onInvocation?: (invocation: RunnerInvocation) => void
} & (
  | { readonly blueprint: BlueprintModule; readonly environments?: undefined }
  | { readonly environments: readonly RunnerEnvironment[]; readonly blueprint?: undefined }
)

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
  const environments: readonly {
    name: string | undefined
    env?: RunnerEnvironment['env']
    resources: readonly BlueprintResource[]
  }[] = options.environments ?? [{ name: undefined, resources: options.blueprint().resources ?? [] }]
  // An invocation sees its own environment's settings and none of the others' (undefined unsets them).
  const settingNames = new Set(environments.flatMap(({ env }) => Object.keys(env ?? {})))
  const settingsOf = (env: RunnerEnvironment['env'] | undefined) =>
    env && Object.fromEntries([...settingNames].map((name) => [name, env[name]]))

  const runtimes = await Promise.all(
    environments.flatMap(({ name: environment, env, resources }) =>
      resources.filter(isDocumentFunction).map(async (fn) => {
        const entry = entryPoint(options.root, fn)
        const module = (await import(pathToFileURL(entry).href)) as { handler?: DocumentEventHandler }
        if (typeof module.handler !== 'function') throw new Error(`${entry} does not export a handler`)
        const settings = settingsOf(env)
        const runtime = createFunctionsRuntime({
          fn,
          handler: module.handler,
          clientOptions: lake.clientConfig,
          dataset: (name) => lake.documents(name),
          ...(settings ? { env: settings } : {}),
        })
        return { name: fn.name, environment, resource: fn.event.resource?.id, runtime }
      }),
    ),
  )

  const invocations: RunnerInvocation[] = []
  // The emulator calls this once per changed document, in commit order, one at a time (at-least-once, in order).
  const unsubscribe = lake.onMutation(async (change) => {
    for (const { name, environment, runtime } of runtimes) {
      const started = performance.now()
      const invocation = await runtime.deliver(change)
      if (!invocation) continue
      const entry = { ...invocation, functionName: name, environment, ms: Math.round(performance.now() - started) }
      invocations.push(entry)
      options.onInvocation?.(entry)
    }
  })

  return {
    documentFunctions: [...new Set(runtimes.map(({ name }) => name))],
    deployments: runtimes.map(({ name, environment, resource }) => ({ environment, functionName: name, resource })),
    otherFunctions: environments.flatMap(({ name: environment, resources }) =>
      resources
        .filter((resource) => resource.type.startsWith('sanity.function.') && !isDocumentFunction(resource))
        .map((resource) => ({ name: resource.name, type: resource.type, environment })),
    ),
    invocations,
    settled: () => lake.settled(),
    stop: unsubscribe,
  }
}
