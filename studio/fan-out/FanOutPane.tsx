import type { ComponentProps } from 'react'
import type { UserViewComponent } from 'sanity/structure'
import type { FanOutKind } from '../../src/core/fanout.ts'
import { useNow } from '../sync-status/use-sync-status.ts'
import { FanOutView } from './FanOutView.tsx'
import { useFanOutStatus, useUsage } from './use-fan-out.ts'

/** The "Auth0 fan-out" view of a role or plan: its reach (published policies) and its fan-out status, live. */
export function FanOutPane(props: ComponentProps<UserViewComponent>) {
  const kind: FanOutKind = props.schemaType.name === 'plan' ? 'plan' : 'role'
  const published = props.document.published as { key?: { current?: string } } | null
  const usage = useUsage(kind, props.documentId, published?.key?.current ?? null)
  const { status, loading } = useFanOutStatus(props.documentId)
  const now = useNow()
  if (loading) return <p style={{ padding: '1.25rem' }}>Loading the fan-out status…</p>
  return <FanOutView kind={kind} usage={usage} status={status} now={now} />
}
