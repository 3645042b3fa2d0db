import { defineBlueprint, defineDocumentFunction } from '@sanity/blueprints'

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

export default defineBlueprint({
  resources: [SYNC_FUNCTION],
})
