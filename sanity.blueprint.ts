import {
  type BlueprintModule,
  type BlueprintResource,
  type BlueprintScheduledFunctionResource,
  defineBlueprint,
  defineDocumentFunction,
  defineScheduledFunction,
} from '@sanity/blueprints'
import { FANOUT_TIMEOUT_SECONDS } from './src/config.ts'
import { SyncError } from './src/core/errors.ts'
import { type Env, loadEnvironment } from './src/environment.ts'

/**
 * One document function: published accessPolicy create/update/delete → Auth0 Organization metadata.
 *
 * The filter is the guide's `defined(auth0OrganizationId)`, widened by `before()` so that removing or changing
 * the organization ID — and deleting or unpublishing the policy — still reaches the function to revoke.
 * The projection carries identifiers only; the function reads the policy's granted fields from the Content Lake
 * itself, so editorial fields never enter the event and a late event cannot replay old values.
 *
 * Secrets are not here: set them with `npx sanity functions env add sync-access-policy AUTH0_CLIENT_SECRET …`.
 */
export const SYNC_FUNCTION = defineDocumentFunction({
  name: 'sync-access-policy',
  src: './functions/sync-access-policy',
  // Deployed functions run on Node 24; pinned so a platform default change cannot surprise us.
  runtime: 'nodejs24.x',
  memory: 1,
  // Room for the SDK's rate-limit waits (it honours Retry-After / X-RateLimit-Reset, each wait capped at 60 s).
  timeout: 120,
  event: {
    on: ['create', 'update', 'delete'],
    filter: '_type == "accessPolicy" && (defined(auth0OrganizationId) || defined(before().auth0OrganizationId))',
    projection:
      '{_id, _rev, "operation": delta::operation(), auth0OrganizationId, "previousOrganizationId": before().auth0OrganizationId}',
  },
})

/**
 * Fan-out: a role or plan edit re-syncs every Organization owned by an active policy it feeds (src/sync/fanout.ts).
 * Only changes to what Auth0 gets fire (`delta::changedAny`): a role's `slug`, a plan's `key` and `entitlements`;
 * a title or description edit starts nothing. Create and delete fire too (a restored role, a deleted plan). The
 * second half of each filter is the continuation: the function writes its work list to an `accessFanOutStatus`
 * document and bumps `round` when it leaves work for the next invocation, which that update starts.
 * The projection carries identifiers only (and a plan's key now and before, so a key change reaches both).
 */
// The platform's maximum timeout: a chain of fan-out hops stops after 16, so each hop is long (src/config.ts).
const FAN_OUT_SETTINGS = { runtime: 'nodejs24.x', memory: 1, timeout: FANOUT_TIMEOUT_SECONDS } as const
const CONTINUATION = (kind: 'role' | 'plan') =>
  `(_type == "accessFanOutStatus" && subjectType == "${kind}" && delta::operation() == "update" && count(pending) > 0 && delta::changedAny(round))`

export const ROLE_FAN_OUT = defineDocumentFunction({
  name: 'fan-out-role',
  src: './functions/fan-out-role',
  ...FAN_OUT_SETTINGS,
  event: {
    on: ['create', 'update', 'delete'],
    filter: `(_type == "role" && delta::changedAny(slug)) || ${CONTINUATION('role')}`,
    projection: '{_id, _type, "operation": delta::operation(), subjectId}',
  },
})

export const PLAN_FAN_OUT = defineDocumentFunction({
  name: 'fan-out-plan',
  src: './functions/fan-out-plan',
  ...FAN_OUT_SETTINGS,
  event: {
    on: ['create', 'update', 'delete'],
    filter: `(_type == "plan" && delta::changedAny((key, entitlements))) || ${CONTINUATION('plan')}`,
    projection:
      '{_id, _type, "operation": delta::operation(), subjectId, "keys": array::compact([key.current, before().key.current])}',
  },
})

/** Where `npm run build:functions` (scripts/build-functions.ts) writes one bundle per function. Gitignored. */
export const FUNCTION_BUNDLES_DIR = 'dist/functions'

/** The source folder a function is built from, `functions/<name>` (the CLI's own default for `src`). */
export const functionSourceDir = (resource: { readonly name: string }): string => `functions/${resource.name}`

/**
 * Deploy (`sanity blueprints deploy`) and `sanity functions test` both take a function from its `src`. Every
 * function here ships its bundle: one tree-shaken ESM file and a two-line package.json, built from
 * `functionSourceDir`, with nothing for the CLI to install (`autoResolveDeps: false`). Without this the CLI ships
 * the dependency tree instead (30 MB; see docs/performance.md). A function added to `resources` is bundled too.
 */
export function shipBundles(resources: readonly BlueprintResource[]): BlueprintResource[] {
  return resources.map((resource) =>
    resource.type.startsWith('sanity.function.')
      ? { ...resource, src: `./${FUNCTION_BUNDLES_DIR}/${resource.name}`, autoResolveDeps: false }
      : resource,
  )
}

/** `ACCESS_SYNC_SCHEDULE=hourly` (or `on`, `true`, `1`) means this: at minute 0 of every hour. */
export const DEFAULT_REPAIR_SCHEDULE = '0 * * * *'

/**
 * The scheduled repair (functions/reconcile-access): opt-in, declared only when ACCESS_SYNC_SCHEDULE is set when
 * deploying. Sanity creates scheduled functions at organization scope (and `sanity blueprints promote` is one-way),
 * so a project-scoped deploy of the document function stays exactly as it was without it. The value is `hourly`
 * or any schedule `defineScheduledFunction` accepts: a cron expression (`*\/30 * * * *`) or words (`every day at
 * 9am`). The handler's context carries only a token, so project and dataset go in `env` (see `scopeTo`).
 */
export function repairFunction(
  env: Readonly<Record<string, string | undefined>>,
): BlueprintScheduledFunctionResource | undefined {
  const schedule = env.ACCESS_SYNC_SCHEDULE?.trim()
  if (!schedule || ['off', 'false', '0'].includes(schedule.toLowerCase())) return undefined
  const expression = ['hourly', 'on', 'true', '1'].includes(schedule.toLowerCase()) ? DEFAULT_REPAIR_SCHEDULE : schedule
  return defineScheduledFunction({
    name: 'reconcile-access',
    src: './functions/reconcile-access',
    runtime: 'nodejs24.x',
    memory: 1,
    // The run stops starting writes at RECONCILE_TIME_BUDGET_SECONDS (240) and records its status in what is left.
    timeout: 300,
    event: { expression },
  })
}

/** Every function this product declares for the settings in `env`, not yet scoped to a dataset. */
export function accessSyncFunctions(env: Env): BlueprintResource[] {
  const repair = repairFunction(env)
  return [SYNC_FUNCTION, ROLE_FAN_OUT, PLAN_FAN_OUT, ...(repair ? [repair] : [])]
}

/** The one dataset an environment serves, from its SANITY_PROJECT_ID and SANITY_DATASET. */
export interface DatasetScope {
  readonly projectId: string
  readonly dataset: string
}

/** Refuses, naming what is missing: an unscoped function would run for every dataset of the project. */
export function datasetScope(env: Env): DatasetScope {
  const projectId = env.SANITY_PROJECT_ID?.trim() ?? ''
  const dataset = env.SANITY_DATASET?.trim() ?? ''
  const problems = [
    !projectId && 'SANITY_PROJECT_ID is not set',
    projectId &&
      !/^[a-z0-9][a-z0-9-]{0,63}$/.test(projectId) &&
      'SANITY_PROJECT_ID is not a project ID like "abc123xy"',
    !dataset && 'SANITY_DATASET is not set',
    dataset && !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(dataset) && 'SANITY_DATASET is not a dataset name like "production"',
  ].filter((problem): problem is string => typeof problem === 'string' && problem !== '')
  if (problems.length > 0) {
    throw new SyncError(
      'configuration',
      `Configuration: ${problems.join('; ')}. The blueprint scopes every function to one dataset, and an unscoped function would run for every dataset of the project (staging included), so nothing was planned or deployed. Name the environment (\`npx access-sync deploy --env production\`, or ACCESS_SYNC_ENV=production for the sanity CLI) and set both in its .env.<name> file (see .env.example).`,
    )
  }
  return { projectId, dataset }
}

/**
 * One environment's copy of a function: document functions fire only for its dataset (`event.resource`), and
 * every function gets the scope in `env`, so its handler can refuse an invocation for any other dataset
 * (src/core/scope.ts). The runtime and `sanity functions test` both apply a resource's `env`.
 */
export function scopeTo(resource: BlueprintResource, scope: DatasetScope): BlueprintResource {
  if (!resource.type.startsWith('sanity.function.')) return resource
  const env = { SANITY_PROJECT_ID: scope.projectId, SANITY_DATASET: scope.dataset }
  const fn = resource as BlueprintResource & { env?: Record<string, string>; event?: Record<string, unknown> }
  const scoped: typeof fn = { ...fn, env: { ...fn.env, ...env } }
  if (resource.type !== 'sanity.function.document') return scoped
  const event = { ...fn.event, resource: { type: 'dataset', id: `${scope.projectId}.${scope.dataset}` } }
  return { ...scoped, event } as BlueprintResource
}

/** The blueprint's resources for one environment: every function scoped to its dataset, each shipping its bundle. */
export function accessSyncResources(env: Env): BlueprintResource[] {
  const scope = datasetScope(env)
  return shipBundles(accessSyncFunctions(env).map((resource) => scopeTo(resource, scope)))
}

/** The blueprint for one environment's settings (the local runner and the tests build one per environment). */
export function blueprintFor(env: Env): BlueprintModule {
  return defineBlueprint({ resources: accessSyncResources(env) })
}

/**
 * What `sanity blueprints plan|deploy` reads: the environment named by ACCESS_SYNC_ENV (its `.env.<name>` file), or
 * SANITY_PROJECT_ID / SANITY_DATASET from the shell. The CLI replaces any error thrown here with "Error executing
 * Blueprint manifest", so the reason is printed first.
 */
export default function blueprint(): ReturnType<BlueprintModule> {
  try {
    return blueprintFor(loadEnvironment(undefined, process.env).env)()
  } catch (error) {
    console.error(`sanity.blueprint.ts: ${(error as Error).message}`)
    throw error
  }
}
