import type { DocumentBadgeDescription, DocumentBadgeProps } from 'sanity'
import { type PublishedRevision, type SyncStatus, summarize } from './present.ts'
import { useNow, useSyncStatus } from './use-sync-status.ts'

const COLORS = {
  success: 'success',
  primary: 'primary',
  warning: 'warning',
  danger: 'danger',
  default: undefined,
} as const satisfies Record<string, DocumentBadgeDescription['color']>

/** The `accessPolicy` document badge: "Auth0: synced 2 min ago", "Auth0: failed", "Auth0: not synced yet". */
export function Auth0SyncBadge(props: DocumentBadgeProps): DocumentBadgeDescription | null {
  const { status, loading } = useSyncStatus(props.id)
  const now = useNow()
  if (loading) return null
  return syncBadge(status, props.published, now)
}

export function syncBadge(
  status: SyncStatus | null,
  published: PublishedRevision | null,
  now: Date,
): DocumentBadgeDescription {
  const summary = summarize(status, published, now)
  return { label: summary.label, title: summary.detail, color: COLORS[summary.tone] }
}
