/**
 * The repair step's Content Lake side (src/sync/repair-step.ts): published policies whose sync status is missing,
 * records another revision than the one published (their own event was dropped by the invocation caps, lost, or
 * killed before recording), or records a failure that running again can fix (RETRYABLE_STATUS_REASONS). One query;
 * identifiers only.
 */
import type { SanityClient } from '@sanity/client'
import { defineQuery } from 'groq'
import type { PolicyStore } from './sanity.ts'

/** Failures a later attempt can fix with nothing changed (SyncError.retryable): the repair step retries them. */
export const RETRYABLE_STATUS_REASONS = ['auth0-unavailable', 'content-lake-unavailable'] as const

/**
 * The policies whose published revision has a settled status (`done`: any outcome but a retryable failure), then the
 * policies not among them. One pass over the status documents and one over the policies, with no lookup per policy.
 */
export const BACKLOG_QUERY = defineQuery(
  `{ "done": *[_type == "accessPolicySyncStatus" && !(outcome == "failed" && reason in $retryable)]{ "key": policyId + "@" + policyRevision }.key }{ "rows": *[_type == "accessPolicy" && !(_id in path("drafts.**")) && !(_id in path("versions.**")) && _id != $self && defined(auth0OrganizationId) && !((_id + "@" + _rev) in ^.done)] | order(_updatedAt asc) [0...$window]{ _id, _rev, auth0OrganizationId } }.rows`,
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
    { self, window, retryable: [...RETRYABLE_STATUS_REASONS] },
    { perspective: 'published', tag: 'auth0-access-sync.repair-step', timeout: 15_000 },
  )
  return (rows ?? []).flatMap((row: { _id?: unknown; _rev?: unknown; auth0OrganizationId?: unknown }) =>
    typeof row._id === 'string' && typeof row._rev === 'string'
      ? [{ _id: row._id, _rev: row._rev, auth0OrganizationId: row.auth0OrganizationId }]
      : [],
  )
}

/**
 * The backlog read started as soon as the event's own policy read returns (the first `load`: caught up with the
 * event's commit), so it runs alongside the event's Auth0 round trips and status write instead of after them. Not
 * sooner: a query from before the catch-up can predate the statuses the invocations just before this one wrote, and
 * would have their policies repaired again.
 */
export function backlogAfterLoad(
  store: PolicyStore,
  read: () => Promise<BacklogEntry[]>,
): { readonly store: PolicyStore; readonly backlog: () => Promise<BacklogEntry[]> } {
  let started: Promise<BacklogEntry[]> | undefined
  const backlog = () => {
    if (!started) {
      started = read()
      // Awaited by the repair step, or never when the event failed retryably: not an unhandled rejection.
      started.catch(() => {})
    }
    return started
  }
  return {
    store: {
      source: store.source,
      async load(...args) {
        const state = await store.load(...args)
        backlog()
        return state
      },
    },
    backlog,
  }
}
