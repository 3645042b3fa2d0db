/**
 * The benchmarks' platform (issue 16, outcome 3): this function and the guide's naive handler each run under the
 * strict runner (emulators/blueprint-runner.ts, PLATFORM: query lag, the invocation caps, the 16-hop lineage limit,
 * one worker-thread instance per parallel event with its own cold start and Auth0 token, the blueprint's timeout,
 * no redelivery), each on emulators of its own, with a stated network latency added to every Content Lake and Auth0
 * request, and billed as the platform bills: memory × duration of each invocation.
 *
 * What runs in an instance is the artifact: this function's deploy bundle (dist/functions/<name>/index.js, built by
 * scripts/build-functions.ts), or the naive handler bundled with the same esbuild settings. A small wrapper module
 * around each (written to a temporary folder, the runner's `root`) times the handler inside the instance and posts
 * the duration on a BroadcastChannel, so the billed time is the handler's own and not the time an event waited for
 * a free instance (the runner's `ms` includes that wait; Lambda does not bill it).
 *
 * Set-up is a phase of its own: the policies are published once and synced by the same handler through a runner
 * with no caps and no lag against an Auth0 emulator with no rate limits; the Organizations as that left them (plus
 * each one's foreign key, put back for the naive handler, whose set-up write replaced it) then seed a fresh Auth0
 * emulator with the benchmark's limits, and a fresh runner, so the measured phase starts with cold instances, no
 * token, empty cap windows and empty request logs, and every policy in step with Auth0 and with a sync status.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import { pathToFileURL } from 'node:url'
import { BroadcastChannel } from 'node:worker_threads'
import type { BlueprintResource } from '@sanity/blueprints'
import { createClient } from '@sanity/client'
import { build } from 'esbuild'
import {
  type Auth0Emulator,
  type Auth0EmulatorOptions,
  type Auth0Organization,
  DEFAULT_CLIENT,
  startAuth0Emulator,
} from '../../emulators/auth0.ts'
import {
  type BlueprintRunner,
  PLATFORM,
  type PlatformModel,
  startBlueprintRunner,
} from '../../emulators/blueprint-runner.ts'
import {
  type ContentLakeEmulator,
  type SanityDocumentLike,
  startContentLakeEmulator,
} from '../../emulators/content-lake.ts'
import { accessSyncResources, FUNCTION_BUNDLES_DIR, SYNC_FUNCTION } from '../../sanity.blueprint.ts'
import { isOrganizationId } from '../../src/core/auth0-rules.ts'
import { planOrganization } from '../../src/core/planner.ts'
import { createPolicyStore, SANITY_API_VERSION } from '../../src/gateways/sanity.ts'
import { buildFunctions, FUNCTION_BUILD_OPTIONS, REPO_ROOT } from '../build-functions.ts'
import { NAIVE_QUERY, type NaivePolicy, naiveMetadata } from './naive-handler.ts'

/** Which handler a variant runs, and the settings it is deployed with (e.g. SYNC_REPAIR_STEP_LIMIT). */
export interface Variant {
  readonly label: string
  readonly handler: 'product' | 'naive'
  readonly settings?: Readonly<Record<string, string>>
}

/**
 * The platform's default memory (platform-facts.md "Limits": memory default 1 GB); every function of this blueprint
 * sets `memory: 1` too. Billing: invocations × memory (GB) × duration (s) (platform-facts.md "Billing").
 */
export const DEFAULT_MEMORY_GB = 1

export const BILLING_ASSUMPTIONS =
  "billed = Σ memory (the blueprint's, 1 GB; the naive handler is deployed as the same function) × (the handler's own duration in its instance + the module import of a cold instance + the whole timeout of a timed-out one); Sanity documents \"invocations × memory × duration\" but not whether a cold start's init is billed (AWS Lambda has billed the init phase since Aug. 2025): assumed billed, for both handlers"

interface Roots {
  readonly product: string
  readonly naive: string
}

let roots: Promise<Roots> | undefined

/** Builds the artifacts once per process and writes the wrapper modules the runner loads. */
function prepareRoots(): Promise<Roots> {
  roots ??= (async () => {
    const bundles = await buildFunctions()
    const base = mkdtempSync(join(tmpdir(), 'access-sync-bench-'))
    writeFileSync(join(base, 'package.json'), '{"type":"module"}\n')
    const naiveBundle = join(base, 'naive-bundle.js')
    // The guide's handler, bundled as every function is (this product's trims are in its own imports, not here).
    const result = await build({
      ...FUNCTION_BUILD_OPTIONS,
      entryPoints: [join(REPO_ROOT, 'scripts/bench/naive-handler.ts')],
    })
    writeFileSync(naiveBundle, result.outputFiles[0]?.text ?? '')
    // Where the runner looks (blueprint-runner.ts entryPoint): `<root>/<src>/index.js`, the `src` shipped
    // (dist/functions/<name>) or declared (functions/<name>).
    const wrap = (root: string, name: string, bundle: string, exported: string) => {
      for (const folder of [join(root, 'functions', name), join(root, FUNCTION_BUNDLES_DIR, name)]) {
        mkdirSync(folder, { recursive: true })
        writeFileSync(
          join(folder, 'index.js'),
          `import { BroadcastChannel } from 'node:worker_threads'
import { ${exported} as inner } from ${JSON.stringify(pathToFileURL(bundle).href)}
const channel = new BroadcastChannel(${JSON.stringify(CHANNEL)})
// The function's log lines would drown the benchmark's tables (the bench counts requests, not log lines).
console.log = () => {}
console.info = () => {}
channel.unref()
export const handler = async (input) => {
  const started = performance.now()
  try {
    return await inner(input)
  } finally {
    channel.postMessage({ run: process.env.BENCH_RUN, fn: ${JSON.stringify(name)}, ms: performance.now() - started })
  }
}
`,
        )
      }
    }
    const product = join(base, 'product')
    const naive = join(base, 'naive')
    for (const bundle of bundles) wrap(product, bundle.name, join(bundle.dir, 'index.js'), 'handler')
    wrap(naive, SYNC_FUNCTION.name, naiveBundle, 'naiveHandler')
    return { product, naive }
  })()
  return roots
}

const CHANNEL = 'access-sync-bench-billing'
let runCounter = 0

export interface PlatformStackOptions {
  readonly variant: Variant
  readonly documents: readonly SanityDocumentLike[]
  readonly organizations: readonly Auth0Organization[]
  /** The measured phase's Auth0 options (rate limits, time scale); set-up runs without limits. */
  readonly auth0?: Auth0EmulatorOptions
  /** Emulated time runs this many times faster: query lag, cap window and timeout are divided by it. Default 1. */
  readonly timeScale?: number
  /** Emulated ms added to every Content Lake and Auth0 request (divided by the time scale in real time). */
  readonly latencyMs: number
  /** Commits whose sync is the set-up (not counted); the runner settles after it. */
  readonly setUp?: (lake: ContentLakeEmulator) => Promise<void>
  /** Foreign keys each Organization holds at the start of the measured phase, put back after the set-up. */
  readonly foreignKeys?: (organizationId: string) => Record<string, string>
  /** Settings every variant gets (e.g. the time budget of a time-scaled run). */
  readonly settings?: Readonly<Record<string, string>>
  /** Overrides of the runner's platform model (emulated; scaled here). */
  readonly platform?: Partial<PlatformModel>
}

export interface Billing {
  /** Invocations whose handler reported its duration. */
  readonly reported: number
  /** Emulated seconds: handler durations, cold-start imports, timed-out invocations. */
  readonly handlerSeconds: number
  readonly importSeconds: number
  readonly timeoutSeconds: number
  readonly gbSeconds: number
}

export interface PlatformStack {
  readonly lake: ContentLakeEmulator
  readonly auth0: Auth0Emulator
  readonly runner: BlueprintRunner
  readonly timeScale: number
  /** When the measured phase started (Date.now()). */
  readonly startedAt: number
  /** Resolves when everything delivered so far has ended, and every handler's duration report has arrived. */
  settled(): Promise<void>
  billing(): Billing
  close(): Promise<void>
}

export async function startPlatformStack(options: PlatformStackOptions): Promise<PlatformStack> {
  const { product, naive } = await prepareRoots()
  const root = options.variant.handler === 'product' ? product : naive
  const scale = options.timeScale ?? 1
  const lake = await startContentLakeEmulator({ documents: [...options.documents] })
  const resourcesFor = (env: Record<string, string>): BlueprintResource[] =>
    options.variant.handler === 'product' ? accessSyncResources(env) : [SYNC_FUNCTION]
  const settingsFor = (auth0: Auth0Emulator, run: string) => ({
    SANITY_PROJECT_ID: lake.projectId,
    SANITY_DATASET: lake.dataset,
    AUTH0_DOMAIN: auth0.domain,
    AUTH0_CLIENT_ID: DEFAULT_CLIENT.clientId,
    AUTH0_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret ?? '',
    BENCH_RUN: run,
    ...options.settings,
    ...options.variant.settings,
  })

  // Set-up: no caps, no lag, no rate limits; not counted.
  const setUpAuth0 = await startAuth0Emulator({ organizations: options.organizations.map((org) => ({ ...org })) })
  if (options.setUp) {
    const env = settingsFor(setUpAuth0, 'set-up')
    const runner = await startBlueprintRunner({
      lake,
      root,
      environments: [{ name: 'set-up', env, resources: resourcesFor(env) }],
      platform: { caps: undefined, queryLag: undefined, timeoutScale: undefined },
      onDrop: () => {},
    })
    try {
      // On a loaded machine a set-up invocation can time out (e.g. the naive SDK's token request): publish again.
      for (let attempt = 1; ; attempt++) {
        const seen = runner.invocations.length
        await options.setUp(lake)
        await runner.settled()
        const failed = runner.invocations.slice(seen).filter((invocation) => invocation.error !== undefined)
        if (failed.length === 0) break
        if (attempt === 3) throw new Error(`set-up: ${failed.length} invocations failed: ${String(failed[0]?.error)}`)
      }
    } finally {
      runner.stop()
    }
  }
  const organizations = setUpAuth0.listOrganizations().map((org) => ({
    ...org,
    metadata: { ...org.metadata, ...options.foreignKeys?.(org.id) },
  }))
  await setUpAuth0.close()
  const auth0 = await startAuth0Emulator({ ...options.auth0, organizations })
  lake.clearRequests()

  const run = `run-${process.pid}-${++runCounter}`
  const reports: Array<{ fn: string; ms: number }> = []
  const channel = new BroadcastChannel(CHANNEL)
  channel.onmessage = (message) => {
    const data = (message as { data: unknown }).data as { run?: string; fn: string; ms: number }
    if (data.run === run) reports.push({ fn: data.fn, ms: data.ms })
  }
  const latencyMs = options.latencyMs / scale
  if (latencyMs > 0) {
    auth0.injectFault({ delayMs: latencyMs, times: Number.POSITIVE_INFINITY })
    lake.injectFault({ delayMs: latencyMs, times: Number.POSITIVE_INFINITY })
  }
  const env = settingsFor(auth0, run)
  const resources = resourcesFor(env)
  const model = { ...PLATFORM, queryLag: queryLagAssumed(), ...options.platform }
  const runner = await startBlueprintRunner({
    lake,
    root,
    environments: [{ name: 'bench', env, resources }],
    platform: {
      ...options.platform,
      queryLag: model.queryLag && {
        ...model.queryLag,
        ...(model.queryLag.ms ? { ms: model.queryLag.ms / scale } : {}),
      },
      caps: model.caps && { ...model.caps, windowMs: model.caps.windowMs / scale },
      timeoutScale: (model.timeoutScale ?? 1) / scale,
    },
    onDrop: () => {},
  })
  const memoryOf = (name: string) => {
    const resource = resources.find((candidate) => candidate.name === name) as { memory?: number } | undefined
    return resource?.memory ?? DEFAULT_MEMORY_GB
  }
  const timeoutOf = (name: string) => {
    const resource = resources.find((candidate) => candidate.name === name) as { timeout?: number } | undefined
    return resource?.timeout ?? 10
  }
  const startedAt = Date.now()
  return {
    lake,
    auth0,
    runner,
    timeScale: scale,
    startedAt,
    async settled() {
      await runner.settled()
      const ended = runner.invocations.filter((invocation) => !invocation.timedOut && invocation.instance).length
      // The duration reports cross threads on their own channel: wait (a little) for the last ones.
      for (let waited = 0; reports.length < ended && waited < 2_000; waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    billing() {
      // Emulated seconds: real ms × scale / 1000.
      const seconds = (ms: number) => (ms * scale) / 1000
      let handlerSeconds = 0
      let gbSeconds = 0
      for (const report of reports) {
        handlerSeconds += seconds(report.ms)
        gbSeconds += memoryOf(report.fn) * seconds(report.ms)
      }
      let importSeconds = 0
      let timeoutSeconds = 0
      for (const invocation of runner.invocations) {
        if (invocation.instance?.cold && invocation.instance.importMs !== undefined) {
          importSeconds += seconds(invocation.instance.importMs)
          gbSeconds += memoryOf(invocation.functionName) * seconds(invocation.instance.importMs)
        }
        if (invocation.timedOut) {
          // A timed-out invocation is billed its whole timeout (emulated: the blueprint's own).
          timeoutSeconds += timeoutOf(invocation.functionName)
          gbSeconds += memoryOf(invocation.functionName) * timeoutOf(invocation.functionName)
        }
      }
      return { reported: reports.length, handlerSeconds, importSeconds, timeoutSeconds, gbSeconds }
    },
    async close() {
      runner.stop()
      channel.close()
      await Promise.all([auth0.close(), lake.close()])
    },
  }
}

/** Requests at the emulators during the measured phase, by kind. */
export function countRequests(stack: PlatformStack) {
  let tokens = 0
  let reads = 0
  let writes = 0
  let rateLimited = 0
  for (const request of stack.auth0.requests) {
    if (request.status === 429) rateLimited++
    if (request.path === '/oauth/token') tokens++
    else if (request.method === 'GET') reads++
    else writes++
  }
  let queries = 0
  let mutations = 0
  let docReads = 0
  for (const request of stack.lake.requests) {
    if (request.path.includes('/data/query/')) queries++
    else if (request.path.includes('/data/mutate/')) mutations++
    else if (request.path.includes('/data/doc/')) docReads++
  }
  return { tokens, reads, writes, rateLimited, queries, mutations, docReads, lake: stack.lake.requests.length }
}

/**
 * Organizations the planner would still write, given the published policies now and what Auth0 holds: updates
 * lost. The product's own rule (src/core/planner.ts), run after the query lag has passed.
 */
export async function productBehind(stack: PlatformStack, organizationIds: readonly string[]): Promise<string[]> {
  await passQueryLag(stack)
  const ids = organizationIds.filter(isOrganizationId)
  const lake = createClient({ ...stack.lake.clientConfig, apiVersion: SANITY_API_VERSION, useCdn: false })
  const { claimants } = await createPolicyStore(lake).load('', ids)
  return ids.filter(
    (organizationId) =>
      planOrganization({
        organizationId,
        claimants,
        observed: stack.auth0.getOrganization(organizationId)?.metadata ?? {},
      }).action !== 'none',
  )
}

/**
 * Policies whose Organization does not hold what the naive handler writes for the policy as published now (its own
 * mapping, naiveMetadata): its updates lost. Keys it does not write (an Organization's own) are not compared.
 */
export async function naiveBehind(stack: PlatformStack, policyIds: readonly string[]): Promise<string[]> {
  await passQueryLag(stack)
  const lake = createClient({ ...stack.lake.clientConfig, apiVersion: '2025-01-01', useCdn: false })
  const behind: string[] = []
  for (const id of policyIds) {
    const policy: NaivePolicy | null = await lake.fetch(NAIVE_QUERY, { id })
    if (!policy?.auth0OrganizationId) continue
    const held = stack.auth0.getOrganization(policy.auth0OrganizationId)?.metadata ?? {}
    const wanted = naiveMetadata(policy)
    if (Object.entries(wanted).some(([key, value]) => held[key] !== value)) behind.push(id)
  }
  return behind
}

async function passQueryLag(stack: PlatformStack): Promise<void> {
  const lag = stack.runner.platform.queryLag?.ms ?? 0
  await new Promise((resolve) => setTimeout(resolve, lag + 50))
}

/**
 * SYNC_REPAIR_STEP_LIMIT for "repair step on": the default src/config.ts sets (REPAIR_STEP_DEFAULT, 3), passed
 * explicitly so a run does not depend on the default.
 */
export const REPAIR_ON = '3'
/** At most this many later publishes on the repair path. */
export const MAX_REPAIR_PUBLISHES = 10

/**
 * The repair path without the scheduled function, after the events have settled: while anything is `behind`, one
 * later editorial publish (a title edit) of a policy that is in step (`pick`), the traffic a project has anyway,
 * whose invocation runs the repair step; one at a time, each settled, at most MAX_REPAIR_PUBLISHES. When the caps
 * dropped events, the first waits out the cap window, as a later publish would come after it.
 */
export async function repairPath(
  stack: PlatformStack,
  behind: () => Promise<string[]>,
  pick: (lost: readonly string[]) => string | undefined,
): Promise<{ lost: number; publishes: number }> {
  let lost = await behind()
  let publishes = 0
  const window = stack.runner.platform.caps?.windowMs ?? 0
  if (lost.length > 0 && stack.runner.dropped.length > 0) await new Promise((resolve) => setTimeout(resolve, window))
  while (lost.length > 0 && publishes < MAX_REPAIR_PUBLISHES) {
    const id = pick(lost)
    if (!id) break
    publishes++
    await stack.lake.transact([{ patch: { id, set: { title: `later publish ${publishes}` } } }])
    await stack.settled()
    lost = await behind()
  }
  return { lost: lost.length, publishes }
}

/**
 * The query lag the benchmarks play: the runner's (PLATFORM, 1 s), or BENCH_QUERY_LAG_MS (`--query-lag`) to see
 * how a figure depends on it. Sanity documents the lag, not its size.
 */
export function queryLagAssumed(): PlatformModel['queryLag'] {
  const set = process.env.BENCH_QUERY_LAG_MS
  return set === undefined || set === '' ? PLATFORM.queryLag : { ms: Number(set) }
}

export function queryLagNote(): string {
  const lag = queryLagAssumed()
  const size = lag?.ms !== undefined ? `${lag.ms} ms` : lag?.commits !== undefined ? `${lag.commits} commits` : 'none'
  const source = process.env.BENCH_QUERY_LAG_MS ? '--query-lag' : "the runner's; an assumption"
  return `query lag ${size} (${source}: Sanity documents the lag, not its size)`
}

export function loadAverage(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(', ')
}
