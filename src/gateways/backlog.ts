/**
 * The repair step's Content Lake side (functions/sync-access-policy): published policies whose sync status is
 * missing, or records another revision than the one published, i.e. whose own event was dropped (the invocation
 * caps), failed before recording, or was killed. One query; identifiers only.
 */
import type { SanityClient } from '@sanity/client'
import { defineQuery } from 'groq'

export const BACKLOG_QUERY = defineQuery(
  `*[_type == "accessPolicy" && !(_id in path("drafts.**")) && !(_id in path("versions.**")) && _id != $self && defined(auth0OrganizationId) && coalesce(*[_id == "accessPolicySyncStatus." + ^._id][0].policyRevision, "") != _rev] | order(_updatedAt asc) [0...$window]{ _id, _rev, auth0OrganizationId }`,
)

export interface BacklogEntry {
  readonly _id: string
  readonly _rev: string
  readonly auth0OrganizationId: unknown
}

/** Up to `window` policies behind, oldest first, other than `self`. Throws the client's error. */
export async function readBacklog(client: SanityClient, self: string, window: number): Promise<BacklogEntry[]> {
  const rows = await client.fetch(
    BACKLOG_QUERY,
    { self, window },
    { perspective: 'published', tag: 'auth0-access-sync.repair-step', timeout: 15_000 },
  )
  return (rows ?? []).flatMap((row: { _id?: unknown; _rev?: unknown; auth0OrganizationId?: unknown }) =>
    typeof row._id === 'string' && typeof row._rev === 'string'
      ? [{ _id: row._id, _rev: row._rev, auth0OrganizationId: row.auth0OrganizationId }]
      : [],
  )
}
