import {
  type BlueprintResource,
  type BlueprintScheduledFunctionResource,
  defineBlueprint,
  defineDocumentFunction,
  defineScheduledFunction,
} from '@sanity/blueprints'

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
const FAN_OUT_SETTINGS = { runtime: 'nodejs24.x', memory: 1, timeout: 120 } as const
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
 * the dependency tree instead (30 MB; see README, Performance). A function added to `resources` is bundled too.
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
 * 9am`). The handler's context carries only a token, so project and dataset go in `env` from the deploy's
 * SANITY_PROJECT_ID / SANITY_DATASET; secrets go in with `npx sanity functions env add reconcile-access …`.
 */
export function repairFunction(
  env: Readonly<Record<string, string | undefined>>,
): BlueprintScheduledFunctionResource | undefined {
  const schedule = env.ACCESS_SYNC_SCHEDULE?.trim()
  if (!schedule || ['off', 'false', '0'].includes(schedule.toLowerCase())) return undefined
  const expression = ['hourly', 'on', 'true', '1'].includes(schedule.toLowerCase()) ? DEFAULT_REPAIR_SCHEDULE : schedule
  const settings = Object.fromEntries(
    (['SANITY_PROJECT_ID', 'SANITY_DATASET'] as const).flatMap((name) => {
      const value = env[name]?.trim()
      return value ? [[name, value]] : []
    }),
  )
  return defineScheduledFunction({
    name: 'reconcile-access',
    src: './functions/reconcile-access',
    runtime: 'nodejs24.x',
    memory: 1,
    // The run stops starting writes at RECONCILE_TIME_BUDGET_SECONDS (240) and records its status in what is left.
    timeout: 300,
    event: { expression },
    ...(Object.keys(settings).length > 0 ? { env: settings } : {}),
  })
}

export const REPAIR_FUNCTION = repairFunction(process.env)

export default defineBlueprint({
  resources: shipBundles([SYNC_FUNCTION, ROLE_FAN_OUT, PLAN_FAN_OUT, ...(REPAIR_FUNCTION ? [REPAIR_FUNCTION] : [])]),
})
