import type { ComponentProps } from 'react'
import type { UserViewComponent } from 'sanity/structure'
import { SyncStatusView } from './SyncStatusView.tsx'
import { useNow, useSyncStatus } from './use-sync-status.ts'

/** The "Auth0 sync" view of a policy: loads the status document, renders SyncStatusView. */
export function SyncStatusPane(props: ComponentProps<UserViewComponent>) {
  const { status, loading } = useSyncStatus(props.documentId)
  const now = useNow()
  if (loading) return <p style={{ padding: '1.25rem' }}>Loading the sync status…</p>
  return <SyncStatusView status={status} published={props.document.published} now={now} />
}
