/**
 * How a sync status reads to an editor: one label, one tone, one sentence. Pure (the clock is a parameter), shared
 * by the document badge and the "Auth0 sync" view so they never disagree.
 */
import type { AccessPolicySyncStatus } from '../../sanity.types.ts'

export type SyncStatus = Pick<
  AccessPolicySyncStatus,
  | 'outcome'
  | 'reason'
  | 'message'
  | 'attemptedAt'
  | 'policyRevision'
  | 'operation'
  | 'organizations'
  | 'notes'
  | 'history'
>

/** The published policy's revision, to tell a status about an older revision from a current one. */
export interface PublishedRevision {
  readonly _rev?: string
  readonly _updatedAt?: string
}

export type Tone = 'success' | 'primary' | 'warning' | 'danger' | 'default'

export interface Summary {
  readonly state: NonNullable<SyncStatus['outcome']> | 'never' | 'pending'
  readonly label: string
  readonly tone: Tone
  /** The longer explanation: badge tooltip, view subtitle. */
  readonly detail: string
}

export function summarize(status: SyncStatus | null, published: PublishedRevision | null, now: Date): Summary {
  if (!status?.outcome || !status.attemptedAt) {
    return {
      state: 'never',
      label: 'Auth0: not synced yet',
      tone: 'default',
      detail: 'No sync attempt is recorded for this policy. Publishing it runs the sync; the result shows here.',
    }
  }
  const ago = timeAgo(status.attemptedAt, now)
  if (
    published?._rev &&
    published._rev !== status.policyRevision &&
    published._updatedAt &&
    Date.parse(published._updatedAt) > Date.parse(status.attemptedAt)
  ) {
    return {
      state: 'pending',
      label: 'Auth0: sync pending',
      tone: 'warning',
      detail: `Published after the last attempt (${ago}); the function has not reported on revision ${published._rev} yet.`,
    }
  }
  const why = [status.reason, status.message].filter(Boolean).join(': ')
  switch (status.outcome) {
    case 'synced':
      return { state: 'synced', label: `Auth0: synced ${ago}`, tone: 'success', detail: 'Auth0 holds this revision.' }
    case 'unchanged':
      return {
        state: 'unchanged',
        label: `Auth0: up to date ${ago}`,
        tone: 'success',
        detail: 'Auth0 already held these values: nothing had to be written.',
      }
    case 'revoked':
      return {
        state: 'revoked',
        label: `Auth0: access revoked ${ago}`,
        tone: 'primary',
        detail: 'The access keys were removed from the organization; its other metadata was kept.',
      }
    case 'skipped':
      return { state: 'skipped', label: 'Auth0: skipped', tone: 'default', detail: why || 'There was nothing to sync.' }
    case 'conflict':
      return { state: 'conflict', label: 'Auth0: conflict', tone: 'warning', detail: why || 'Another policy owns it.' }
    default:
      return { state: 'failed', label: 'Auth0: failed', tone: 'danger', detail: why || 'The sync failed.' }
  }
}

/** "just now", "2 min ago", "3 h ago", "5 days ago"; a future time (clock skew) reads as "just now". */
export function timeAgo(iso: string, now: Date): string {
  const seconds = Math.floor((now.getTime() - Date.parse(iso)) / 1000)
  if (!Number.isFinite(seconds)) return 'at an unknown time'
  if (seconds < 60) return 'just now'
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ago`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${hours} h ago`
  return `${Math.floor(hours / 24)} days ago`
}
