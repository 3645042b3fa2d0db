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
 * How strictly it plays the platform is `platform` (a PlatformModel). The default, PLATFORM, is the platform as
 * documented (platform-facts.md "Added: how the platforms behave where tests tend to be kind", with the source of
 * each rule at its field below): queries lag commits, 200 invocations per function and 4 000 per project per 30 s
 * (the excess dropped and logged), a chain of function-caused writes stops after 16 hops, each parallel event runs in
 * its own instance (a worker thread that imports the function fresh: cold start, own module scope and Auth0 token;
 * an instance is reused only when idle), the blueprint's `timeout` ends an invocation, and failed invocations are
 * not redelivered. `npm run dev` runs on it. LENIENT is the runner before issue 16, for suites that observe the
 * handlers in-process and assert right after delivery: one in-process module instance, one invocation at a time in
 * commit order, each environment's settings swapped into process.env around its invocation and put back.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { BlueprintDocumentFunctionResource, BlueprintModule, BlueprintResource } from '@sanity/blueprints'
import type { DocumentEventHandler } from '@sanity/functions'
import type { ContentLakeEmulator, MutationChange, QueryLag } from './content-lake.ts'
import { deserializeError, type WorkerReply, type WorkerRequest } from './function-worker.ts'
import {
  contextFor,
  createFunctionsRuntime,
  type DocumentChange,
  firesFor,
  hopsOf,
  type Invocation,
  MAX_HOPS,
  nextLineage,
  projectEvent,
} from './functions-runtime.ts'

export interface RunnerInvocation extends Invocation {
  readonly functionName: string
  /** The environment whose function ran; undefined for a runner given one `blueprint`. */
  readonly environment: string | undefined
  readonly ms: number
  /** 1, or 2 for a redelivery (`redelivery: 'once'`) or the second copy (`'duplicate'`). */
  readonly attempt: number
  /** The instance that ran it (isolated instances only): its number, and whether this was its first invocation. */
  readonly instance?: { readonly id: number; readonly cold: boolean; readonly importMs?: number }
  /** Ended by the blueprint's `timeout`. */
  readonly timedOut?: boolean
}

/** An event the platform would not run, and why. */
export interface DroppedEvent {
  readonly functionName: string
  readonly environment: string | undefined
  readonly change: DocumentChange
  readonly reason: 'function-cap' | 'project-cap' | 'hop-limit' | 'lost'
  readonly message: string
}

/** How strictly the runner (and the Content Lake emulator it drives) plays the platform. */
export interface PlatformModel {
  /**
   * `isolated`: each event runs in an instance of its own unless one is idle (AWS Lambda underneath: one event per
   * execution environment; platform-facts.md "Execution"); `shared`: one in-process module, one event at a time.
   */
  readonly instances: 'isolated' | 'shared'
  /**
   * At most this many instances of one function at once; further events wait for one to be idle. Sanity documents
   * no concurrency limit: this bounds the emulator's threads (Lambda queues asynchronous events the same way).
   */
  readonly maxInstances: number
  /**
   * Queries lag commits ("there is a delay between a transaction being committed and the changes being visible to
   * queries": Sanity docs "Transactions"). The size is not documented: 1 s is an assumption. Set on the lake.
   */
  readonly queryLag: QueryLag | undefined
  /** "200 invocations per function per 30 s, 4 000 per project; invocations past the limit are not run" (Functions limits). */
  readonly caps: { readonly perFunction: number; readonly perProject: number; readonly windowMs: number } | undefined
  /** Chains of function-caused writes stop after this many hops (`MAX_RECURSION_COUNT` = 16, @sanity/functions). */
  readonly maxHops: number | undefined
  /**
   * The blueprint's `timeout` (seconds) ends the invocation ("timeout kills the invocation": platform-facts.md
   * "Execution"), times this factor so tests can scale it; undefined: no timeout. Isolated instances only.
   */
  readonly timeoutScale: number | undefined
  /**
   * What happens to a failed (thrown or timed-out) invocation. The platform documents no redelivery
   * (platform-facts.md "Execution"), so the product is tested under each: `none` (dropped), `once` (run again once),
   * `duplicate` (every event delivered twice, whatever the outcome, as an at-least-once queue may).
   */
  readonly redelivery: 'none' | 'once' | 'duplicate'
  /** Events chosen here are never delivered (a lost event); for tests. */
  readonly lose?: (event: { readonly functionName: string; readonly change: DocumentChange }) => boolean
}

/** The platform as documented; the default. */
export const PLATFORM: PlatformModel = {
  instances: 'isolated',
  maxInstances: 8,
  queryLag: { ms: 1000 },
  caps: { perFunction: 200, perProject: 4000, windowMs: 30_000 },
  maxHops: MAX_HOPS,
  timeoutScale: 1,
  redelivery: 'none',
}

/** The runner before issue 16: in-process, serial, every event delivered, queries current, no caps or timeouts. */
export const LENIENT: PlatformModel = {
  instances: 'shared',
  maxInstances: 1,
  queryLag: undefined,
  caps: undefined,
  maxHops: undefined,
  timeoutScale: undefined,
  redelivery: 'none',
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
  /** Events not run (caps, hop limit, lost), in the order they were dropped. */
  readonly dropped: readonly DroppedEvent[]
  /** Instances started (cold starts), per function name. */
  readonly coldStarts: Readonly<Record<string, number>>
  readonly platform: PlatformModel
  /** Resolves when every change committed so far has been delivered and every invocation it caused has ended. */
  settled(): Promise<void>
  stop(): void
}

export type BlueprintRunnerOptions = {
  readonly lake: ContentLakeEmulator
  /** The folder the functions' `src` paths are relative to (the blueprint's folder). */
  readonly root: string
  readonly onInvocation?: (invocation: RunnerInvocation) => void
  /** Default: logged with console.warn, as the platform logs an invocation it does not run. */
  readonly onDrop?: (dropped: DroppedEvent) => void
  /** Default PLATFORM; fields given here override it. */
  readonly platform?: Partial<PlatformModel>
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

interface Deployed {
  readonly name: string
  readonly environment: string | undefined
  readonly resource: string | undefined
  readonly fn: BlueprintDocumentFunctionResource
  readonly entry: string
  /** The settings an invocation runs with: its environment's, every other environment's unset, the resource's `env`. */
  readonly env: Readonly<Record<string, string | undefined>>
  readonly shared: ReturnType<typeof createFunctionsRuntime> | undefined
  readonly pool: InstancePool | undefined
}

export async function startBlueprintRunner(options: BlueprintRunnerOptions): Promise<BlueprintRunner> {
  const { lake } = options
  const platform: PlatformModel = { ...PLATFORM, ...options.platform }
  const environments: readonly {
    name: string | undefined
    env?: RunnerEnvironment['env']
    resources: readonly BlueprintResource[]
  }[] = options.environments ?? [{ name: undefined, resources: options.blueprint().resources ?? [] }]
  // An invocation sees its own environment's settings and none of the others' (undefined unsets them).
  const settingNames = new Set(environments.flatMap(({ env }) => Object.keys(env ?? {})))
  const settingsOf = (env: RunnerEnvironment['env'] | undefined) =>
    env && Object.fromEntries([...settingNames].map((name) => [name, env[name]]))
  const coldStarts: Record<string, number> = {}

  const deployed: Deployed[] = await Promise.all(
    environments.flatMap(({ name: environment, env, resources }) =>
      resources.filter(isDocumentFunction).map(async (fn): Promise<Deployed> => {
        const entry = entryPoint(options.root, fn)
        const settings = settingsOf(env)
        const base = { name: fn.name, environment, resource: fn.event.resource?.id, fn, entry }
        if (platform.instances === 'isolated') {
          const onColdStart = () => {
            coldStarts[fn.name] = (coldStarts[fn.name] ?? 0) + 1
          }
          const pool = createInstancePool(entry, platform.maxInstances, onColdStart)
          return { ...base, env: { ...settings, ...fn.env }, shared: undefined, pool }
        }
        const module = (await import(pathToFileURL(entry).href)) as { handler?: DocumentEventHandler }
        if (typeof module.handler !== 'function') throw new Error(`${entry} does not export a handler`)
        const shared = createFunctionsRuntime({
          fn,
          handler: module.handler,
          clientOptions: lake.clientConfig,
          dataset: (name) => lake.documents(name),
          ...(settings ? { env: settings } : {}),
        })
        return { ...base, env: { ...settings, ...fn.env }, shared, pool: undefined }
      }),
    ),
  )
  lake.setQueryLag(platform.queryLag)

  const invocations: RunnerInvocation[] = []
  const dropped: DroppedEvent[] = []
  const drop = (target: Deployed, change: DocumentChange, reason: DroppedEvent['reason'], message: string) => {
    const entry = { functionName: target.name, environment: target.environment, change, reason, message }
    dropped.push(entry)
    if (options.onDrop) options.onDrop(entry)
    else console.warn(`[runner] ${target.name}: event for ${change.id} not run: ${message}`)
  }
  const record = (entry: RunnerInvocation) => {
    invocations.push(entry)
    options.onInvocation?.(entry)
  }

  // Caps: sliding windows of invocation start times, per function (per environment's deployment) and per project.
  const functionWindows = new Map<Deployed, number[]>()
  const projectWindow: number[] = []
  const admit = (target: Deployed): { reason: DroppedEvent['reason']; message: string } | undefined => {
    const caps = platform.caps
    if (!caps) return undefined
    const now = Date.now()
    const prune = (window: number[]) => {
      while (window.length > 0 && (window[0] as number) <= now - caps.windowMs) window.shift()
    }
    const own = functionWindows.get(target) ?? []
    functionWindows.set(target, own)
    prune(own)
    prune(projectWindow)
    const seconds = caps.windowMs / 1000
    if (own.length >= caps.perFunction) {
      return { reason: 'function-cap', message: `${caps.perFunction} invocations of this function in ${seconds} s` }
    }
    if (projectWindow.length >= caps.perProject) {
      return { reason: 'project-cap', message: `${caps.perProject} invocations in the project in ${seconds} s` }
    }
    own.push(now)
    projectWindow.push(now)
    return undefined
  }

  /**
   * Runs one delivery (and its redelivery, if the model has one), recording each invocation. Every delivery of one
   * event carries the same lineage: a redelivery is the same message (assumption: the platform documents no
   * redelivery; a queue redelivers the message as it was sent, and the lineage is part of it).
   */
  const run = async (
    target: Deployed,
    change: DocumentChange,
    data: unknown,
    attempt: number,
    lineage: string,
  ): Promise<void> => {
    const refused = admit(target)
    if (refused) return drop(target, change, refused.reason, refused.message)
    const started = performance.now()
    let outcome: { error: unknown; instance?: RunnerInvocation['instance']; timedOut?: boolean }
    const dataset = change.dataset ?? lake.dataset
    if (target.pool) {
      const timeoutMs =
        platform.timeoutScale === undefined ? undefined : (target.fn.timeout ?? 10) * 1000 * platform.timeoutScale
      outcome = await target.pool.invoke({
        env: { ...target.env, X_SANITY_LINEAGE: lineage },
        context: contextFor({ ...lake.clientConfig, dataset }),
        data,
        timeoutMs,
      })
    } else {
      const invocation = await (target.shared as NonNullable<Deployed['shared']>).invoke(change, data, lineage)
      outcome = { error: invocation.error }
    }
    const ms = Math.round(performance.now() - started)
    record({
      change,
      dataset,
      data,
      error: outcome.error,
      functionName: target.name,
      environment: target.environment,
      ms,
      attempt,
      ...(outcome.instance ? { instance: outcome.instance } : {}),
      ...(outcome.timedOut ? { timedOut: true } : {}),
    })
    if (outcome.error !== undefined && platform.redelivery === 'once' && attempt === 1) {
      await run(target, change, data, 2, lineage)
    }
  }

  /** What happens to one change for one deployment: filter and projection, the hop limit, then delivery. */
  const dispatch = async (
    target: Deployed,
    change: DocumentChange,
    documents: () => readonly { _id: string }[],
    start: (delivery: Promise<void>) => void,
  ): Promise<void> => {
    const scope = { projectId: lake.projectId, dataset: change.dataset ?? lake.dataset }
    if (!firesFor(target.fn, scope)) return
    const data = await projectEvent(target.fn, change, documents(), scope)
    if (data === undefined) return
    if (platform.maxHops !== undefined && hopsOf(change.lineage) >= platform.maxHops) {
      return drop(target, change, 'hop-limit', `a chain of function-caused writes stops after ${platform.maxHops} hops`)
    }
    if (platform.lose?.({ functionName: target.name, change })) return drop(target, change, 'lost', 'lost (test)')
    const copies = platform.redelivery === 'duplicate' ? 2 : 1
    const lineage = nextLineage(change.lineage)
    for (let attempt = 1; attempt <= copies; attempt++) start(run(target, change, data, attempt, lineage))
  }

  let stopTransactions = () => {}
  let stopMutations = () => {}
  const inflight = new Set<Promise<void>>()
  const track = (promise: Promise<void>) => {
    const tracked = promise
      .catch((error: unknown) => console.error('[runner]', error))
      .finally(() => inflight.delete(tracked))
    inflight.add(tracked)
  }
  let admission: Promise<void> = Promise.resolve()
  if (platform.instances === 'isolated') {
    // Every commit is seen at once (the platform fires document functions at mutation time), with the dataset as it
    // is right after it; the events then run in parallel, each on an instance of its own.
    stopTransactions = lake.onTransaction((changes) => {
      const first = changes[0]
      if (!first) return
      const documents = lake.view(first.dataset)
      admission = admission.then(async () => {
        for (const change of changes) {
          for (const target of deployed) await dispatch(target, change, () => documents, track)
        }
      })
      track(admission)
    })
  } else {
    // The emulator calls this once per changed document, in commit order, one at a time.
    stopMutations = lake.onMutation(async (change: MutationChange) => {
      for (const target of deployed) {
        const runs: Promise<void>[] = []
        await dispatch(
          target,
          change,
          () => lake.documents(change.dataset),
          (delivery) => runs.push(delivery),
        )
        for (const delivery of runs) await delivery
      }
    })
  }

  return {
    documentFunctions: [...new Set(deployed.map(({ name }) => name))],
    deployments: deployed.map(({ name, environment, resource }) => ({ environment, functionName: name, resource })),
    otherFunctions: environments.flatMap(({ name: environment, resources }) =>
      resources
        .filter((resource) => resource.type.startsWith('sanity.function.') && !isDocumentFunction(resource))
        .map((resource) => ({ name: resource.name, type: resource.type, environment })),
    ),
    invocations,
    dropped,
    coldStarts,
    platform,
    async settled() {
      for (;;) {
        await lake.settled()
        const chain = admission
        await chain
        if (inflight.size === 0 && chain === admission) return
        await Promise.all([...inflight])
      }
    },
    stop() {
      stopTransactions()
      stopMutations()
      for (const target of deployed) target.pool?.close()
      lake.setQueryLag(undefined)
    },
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Isolated instances

interface InstancePool {
  invoke(request: {
    env: Readonly<Record<string, string | undefined>>
    context: WorkerRequest['context']
    data: unknown
    timeoutMs: number | undefined
  }): Promise<{ error: unknown; instance: NonNullable<RunnerInvocation['instance']>; timedOut?: boolean }>
  close(): void
}

interface Instance {
  readonly id: number
  readonly worker: Worker
  readonly ready: Promise<number>
  invocations: number
  dead: boolean
  /** Settles the invocation running on it, if any, when the worker dies. */
  onExit: ((error: Error) => void) | undefined
}

const WORKER = new URL('./function-worker.ts', import.meta.url)

function createInstancePool(entry: string, maxInstances: number, onColdStart: () => void): InstancePool {
  const instances = new Set<Instance>()
  const idle: Instance[] = []
  const waiting: ((instance: Instance | undefined) => void)[] = []
  let nextId = 1
  let nextRequest = 1
  let closed = false

  const start = (): Instance => {
    onColdStart()
    const worker = new Worker(WORKER, { workerData: { entry } })
    worker.unref()
    const instance: Instance = {
      id: nextId++,
      worker,
      ready: new Promise<number>((resolve, reject) => {
        const onMessage = (reply: WorkerReply) => {
          if (reply.type === 'ready') resolve(reply.importMs)
          else if (reply.type === 'load-failed') reject(deserializeError(reply.error))
          else return
          worker.off('message', onMessage)
        }
        worker.on('message', onMessage)
        worker.once('error', reject)
      }),
      invocations: 0,
      dead: false,
      onExit: undefined,
    }
    instance.ready.catch(() => undefined)
    const die = (error: Error) => {
      instance.dead = true
      instances.delete(instance)
      instance.onExit?.(error)
      // A place freed: a waiting event may start an instance of its own.
      if (waiting.length > 0 && !closed) waiting.shift()?.(undefined)
    }
    worker.on('error', (error) => die(error))
    worker.on('exit', (code) => die(new Error(`The function's instance exited (code ${code})`)))
    instances.add(instance)
    return instance
  }

  const acquire = async (): Promise<Instance> => {
    for (;;) {
      if (closed) throw new Error('The runner was stopped')
      const warm = idle.pop()
      if (warm && !warm.dead) return warm
      if (warm) continue
      if (instances.size < maxInstances) return start()
      const handed = await new Promise<Instance | undefined>((resolve) => waiting.push(resolve))
      if (handed && !handed.dead) return handed
    }
  }
  const release = (instance: Instance) => {
    if (instance.dead) return
    const next = waiting.shift()
    if (next) next(instance)
    else idle.push(instance)
  }

  return {
    async invoke({ env, context, data, timeoutMs }) {
      const instance = await acquire()
      const cold = instance.invocations === 0
      instance.invocations++
      let importMs: number | undefined
      try {
        importMs = await instance.ready
      } catch (error) {
        instance.worker.terminate()
        return { error, instance: { id: instance.id, cold } }
      }
      const id = nextRequest++
      const described = { id: instance.id, cold, ...(cold ? { importMs: Math.round(importMs) } : {}) }
      return await new Promise((resolve) => {
        let timer: NodeJS.Timeout | undefined
        const finish = (result: { error: unknown; timedOut?: boolean }, reusable: boolean) => {
          clearTimeout(timer)
          instance.worker.off('message', onMessage)
          instance.onExit = undefined
          if (reusable) release(instance)
          resolve({ ...result, instance: described })
        }
        const onMessage = (reply: WorkerReply) => {
          if (reply.type !== 'done' || reply.id !== id) return
          finish({ error: reply.error ? deserializeError(reply.error) : undefined }, true)
        }
        instance.onExit = (error) => finish({ error }, false)
        instance.worker.on('message', onMessage)
        if (timeoutMs !== undefined) {
          timer = setTimeout(() => {
            // Lambda's own words for it.
            const seconds = (timeoutMs / 1000).toFixed(2)
            finish({ error: new Error(`Task timed out after ${seconds} seconds`), timedOut: true }, false)
            instance.dead = true
            instances.delete(instance)
            void instance.worker.terminate()
          }, timeoutMs)
        }
        instance.worker.postMessage({ id, env, context, data } satisfies WorkerRequest)
      })
    },
    close() {
      closed = true
      for (const instance of instances) void instance.worker.terminate()
      for (const resolve of waiting.splice(0)) resolve(undefined)
    },
  }
}
