import { useEffect, useState } from 'react'
import { useEditState } from 'sanity'
import { publishedId } from '../../src/core/authoring.ts'
import { STATUS_TYPE, statusDocumentId } from '../../src/status.ts'
import type { SyncStatus } from './present.ts'

/** The status document of a policy, live: the Studio's document store listens for the function's writes. */
export function useSyncStatus(policyId: string): { status: SyncStatus | null; loading: boolean } {
  const { published, ready } = useEditState(statusDocumentId(publishedId(policyId)), STATUS_TYPE, 'low')
  return { status: (published as SyncStatus | null) ?? null, loading: !ready }
}

/** The current time, refreshed every `intervalMs`, so "2 min ago" keeps counting. */
export function useNow(intervalMs = 30_000): Date {
  const [now, setNow] = useState(() => new Date())
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), intervalMs)
    return () => clearInterval(timer)
  }, [intervalMs])
  return now
}
