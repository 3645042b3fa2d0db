import { type BlueprintResource, defineBlueprint, defineDocumentFunction } from '@sanity/blueprints'

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

export default defineBlueprint({
  resources: shipBundles([SYNC_FUNCTION]),
})
