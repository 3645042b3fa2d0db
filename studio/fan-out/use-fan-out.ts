import { useEffect, useState } from 'react'
import { useClient, useEditState } from 'sanity'
import { publishedId } from '../../src/core/authoring.ts'
import { FANOUT_STATUS_TYPE, type FanOutKind, fanOutStatusId } from '../../src/core/fanout.ts'
import { PLAN_USAGE_QUERY, ROLE_USAGE_QUERY } from '../queries.ts'
import type { FanOutStatus, Usage } from './present.ts'

const API_VERSION = '2025-05-01'

/** The fan-out status of a role or plan, live (the document store listens for the function's writes). */
export function useFanOutStatus(documentId: string): { status: FanOutStatus | null; loading: boolean } {
  const { published, ready } = useEditState(fanOutStatusId(publishedId(documentId)), FANOUT_STATUS_TYPE, 'low')
  return { status: (published as FanOutStatus | null) ?? null, loading: !ready }
}

/**
 * What the role or plan feeds, from the published policies. A plan is looked up by its published key; undefined
 * while loading (or for a plan that has no published key yet: nothing can use it).
 */
export function useUsage(kind: FanOutKind, documentId: string, key?: string | null): Usage | undefined {
  const client = useClient({ apiVersion: API_VERSION })
  const [usage, setUsage] = useState<Usage | undefined>(undefined)
  const id = publishedId(documentId)
  useEffect(() => {
    let live = true
    const options = { perspective: 'published', tag: 'access-fan-out-usage' } as const
    const request =
      kind === 'role'
        ? client.fetch(ROLE_USAGE_QUERY, { id }, options)
        : key
          ? client.fetch(PLAN_USAGE_QUERY, { key }, options)
          : Promise.resolve({ policies: 0, active: 0, organizations: 0 })
    request
      .then((result) => {
        if (live) setUsage(result)
      })
      .catch(() => {
        if (live) setUsage(undefined)
      })
    return () => {
      live = false
    }
  }, [client, kind, id, key])
  return usage
}
