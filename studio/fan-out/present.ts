/**
 * How a role's or plan's reach and its fan-out status read in the Studio, pure: what the "Auth0 fan-out" view and
 * the guarded delete action say.
 */

import type { AccessFanOutStatus } from '../../sanity.types.ts'
import { type FanOutKind, fanOutPhase } from '../../src/core/fanout.ts'

export type FanOutStatus = Partial<Omit<AccessFanOutStatus, '_id' | '_type' | '_createdAt' | '_updatedAt' | '_rev'>>

/** Published policies using the role or plan (`policies`), the active ones, and the Organizations those name. */
export interface Usage {
  readonly policies: number
  readonly active: number
  readonly organizations: number
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`

export function describeUsage(kind: FanOutKind, usage: Usage): string {
  if (usage.policies === 0) return `No published policy uses this ${kind}: editing it changes nothing in Auth0.`
  return `Feeds ${plural(usage.active, 'active policy', 'active policies')} (${usage.policies} in all) and ${plural(usage.organizations, 'Auth0 Organization')}. A change to its ${kind === 'role' ? 'slug' : 'key or entitlements'} re-syncs ${usage.organizations === 1 ? 'it' : 'each of them'}.`
}

/** Why deleting or unpublishing is refused, or undefined when nothing uses the role or plan. */
export function deleteBlocked(kind: FanOutKind, usage: Usage | undefined): string | undefined {
  if (!usage || usage.policies === 0) return undefined
  return `${plural(usage.policies, 'published policy', 'published policies')} use this ${kind} (${usage.active} active): move them to another ${kind} first, or their organizations lose ${kind === 'role' ? 'their sync (the policies become invalid)' : 'this plan’s entitlements'}.`
}

export interface FanOutSummary {
  readonly tone: 'success' | 'primary' | 'warning' | 'danger' | 'default'
  readonly label: string
  readonly detail: string
}

export function summarizeFanOut(status: FanOutStatus | null, now: Date): FanOutSummary {
  if (!status) {
    return {
      tone: 'default',
      label: 'No fan-out yet',
      detail: 'Nothing re-synced since the fan-out functions were deployed.',
    }
  }
  const pending = status.pendingCount ?? status.pending?.length ?? 0
  const lease = status.leaseOwner ? { owner: status.leaseOwner, until: status.leaseUntil ?? 0 } : undefined
  const phase = fanOutPhase(pending, lease, now.getTime())
  const progress = `${status.written ?? 0} Auth0 writes over ${plural(status.invocations ?? 0, 'invocation')}; ${status.targeted ?? 0} organizations in this fan-out`
  const problems = (status.failedCount ?? 0) + (status.invalidCount ?? 0)
  const issues =
    problems > 0
      ? `; ${plural(status.failedCount ?? 0, 'failure')}, ${plural(status.invalidCount ?? 0, 'invalid policy', 'invalid policies')}`
      : ''
  if (phase === 'running')
    return { tone: 'primary', label: `Running: ${pending} left`, detail: `${progress}${issues}.` }
  if (phase === 'pending') {
    return {
      tone: 'warning',
      label: `${pending} organizations left`,
      detail: `${progress}${issues}. The next invocation continues (the scheduled reconcile repairs them too).`,
    }
  }
  return {
    tone: problems > 0 ? 'danger' : 'success',
    label: problems > 0 ? 'Done, with problems' : 'Done',
    detail: `${progress}${issues}.`,
  }
}
