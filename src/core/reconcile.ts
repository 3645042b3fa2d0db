/**
 * The reconcile's decisions, pure: how one Organization's plan (from planner.ts, the same planner the function
 * uses) reads in a `terraform plan`-like report, the summary and exit code of a run, and where a budgeted run
 * stops and the next one resumes. The shell (src/reconcile.ts) does the reading and writing.
 */
import type { Metadata } from './auth0-rules.ts'
import type { SyncErrorReason } from './errors.ts'
import { OWNED_KEYS, readStamp } from './metadata.ts'
import type { Plan } from './planner.ts'
import { formatIssues, type Issue } from './policy.ts'

/** What a run does about one Organization (or, for `invalid` without one, one policy). */
export type DriftStatus = 'grant' | 'revoke' | 'in sync' | 'conflict' | 'invalid' | 'failed'

export const DRIFT_STATUSES = [
  'grant',
  'revoke',
  'in sync',
  'conflict',
  'invalid',
  'failed',
] as const satisfies readonly DriftStatus[]

/** One owned key that a write changes; `undefined` means the key is absent. */
export interface KeyChange {
  readonly key: string
  readonly from: string | undefined
  readonly to: string | undefined
}

export interface PlanEntry {
  /** The Organization; absent for a policy whose `auth0OrganizationId` is not an Organization ID at all. */
  readonly organizationId: string | undefined
  readonly status: DriftStatus
  /** Whether bringing Auth0 in line takes a write (a `conflict` can need one for its owner). */
  readonly write: boolean
  readonly changes: readonly KeyChange[]
  /** Why, in an operator's words. */
  readonly reason: string
  /** Machine-readable reason: the planner's, or the SyncError's for `invalid` and `failed`. */
  readonly code: string
  readonly ownerPolicyId: string | undefined
  readonly conflicts: readonly string[]
  /** For `invalid`: the policy at fault and every issue, each naming the field. */
  readonly policyId?: string | undefined
  readonly issues?: readonly Issue[] | undefined
}

/**
 * The plan entry for an Organization, or undefined when the run leaves it alone and need not mention it: no
 * policy names it and it carries no keys of ours (Organizations we never wrote).
 */
export function describePlan(plan: Plan, observed: Metadata): PlanEntry | undefined {
  const base = {
    organizationId: plan.organizationId,
    ownerPolicyId: plan.owner?.policyId,
    conflicts: plan.conflicts,
  }
  if (plan.action === 'reject') {
    const what = plan.reason === 'metadata-limits' ? 'the metadata would break Auth0’s limits' : 'the policy is invalid'
    return {
      ...base,
      status: 'invalid',
      write: false,
      changes: [],
      code: plan.reason,
      reason: `${what} (${plan.policyId ?? 'unknown policy'}): ${formatIssues(plan.issues)}`,
      policyId: plan.policyId,
      issues: plan.issues,
    }
  }
  const conflictNote =
    plan.conflicts.length > 0
      ? `; also claimed by ${plan.conflicts.join(', ')}, which ${plan.conflicts.length === 1 ? 'loses' : 'lose'} to the older policy`
      : ''
  if (plan.action === 'none') {
    // No active policy names it and it holds nothing of ours to revoke (or we never wrote it): left alone.
    if (!plan.owner) return undefined
    return {
      ...base,
      status: plan.conflicts.length > 0 ? 'conflict' : 'in sync',
      write: false,
      changes: [],
      code: plan.reason,
      reason: `${NO_WRITE_REASONS[plan.reason]}${conflictNote}`,
    }
  }
  const changes = keyChanges(observed, plan.metadata)
  return {
    ...base,
    status: plan.conflicts.length > 0 ? 'conflict' : plan.change,
    write: true,
    changes,
    code: plan.change,
    reason: `${plan.change === 'grant' ? grantReason(plan, observed) : revokeReason(observed)}${conflictNote}`,
  }
}

const NO_WRITE_REASONS: Record<Extract<Plan, { action: 'none' }>['reason'], string> = {
  'in-sync': 'Auth0 holds what the published policy grants',
  'newer-in-auth0': 'Auth0 holds a newer revision of the owning policy than the Content Lake returned: left as is',
  'not-ours': 'access keys without our marker: not written by this project, left alone',
  'organization-missing': 'the Organization no longer exists in Auth0 and no policy grants it',
}

function grantReason(plan: Extract<Plan, { action: 'write' }>, observed: Metadata): string {
  const owner = plan.owner
  const stamp = readStamp(observed)
  const policy = owner ? `policy ${owner.policyId}` : 'the owning policy'
  if (!stamp) return `${policy} grants access; Auth0 holds none of it yet`
  if (owner && stamp.policyId !== owner.policyId)
    return `${policy} owns it now; Auth0 holds policy ${stamp.policyId}'s keys`
  if (owner && stamp.rev === owner.rev) {
    return `Auth0 differs from what revision ${owner.rev} grants now (our keys edited in Auth0, or the plan's entitlements changed)`
  }
  return `Auth0 holds revision ${stamp.rev ?? '?'} of ${policy}; the published revision is ${owner?.rev ?? '?'}`
}

function revokeReason(observed: Metadata): string {
  const stamp = readStamp(observed)
  return `orphan: carries policy ${stamp?.policyId ?? '?'}'s keys, but no active published policy names it`
}

/** The owned keys a write changes, in the codec's key order. Foreign keys never change, so they are not listed. */
export function keyChanges(observed: Metadata, desired: Metadata): KeyChange[] {
  return OWNED_KEYS.flatMap((key) =>
    observed[key] === desired[key] ? [] : [{ key, from: observed[key], to: desired[key] }],
  )
}

/** A policy that cannot name any Organization (its `auth0OrganizationId` is not an ID): reported on its own. */
export function invalidPolicyEntry(policyId: string, issues: readonly Issue[]): PlanEntry {
  return {
    organizationId: undefined,
    status: 'invalid',
    write: false,
    changes: [],
    code: 'invalid-policy',
    reason: `policy ${policyId} is invalid: ${formatIssues(issues)}`,
    ownerPolicyId: undefined,
    conflicts: [],
    policyId,
    issues,
  }
}

/** An Organization that could not be read, planned or written. */
export function failedEntry(
  organizationId: string,
  error: { readonly reason: SyncErrorReason; readonly message: string },
  planned?: PlanEntry,
): PlanEntry {
  return {
    organizationId,
    status: 'failed',
    write: false,
    changes: planned?.changes ?? [],
    code: error.reason,
    reason: error.message,
    ownerPolicyId: planned?.ownerPolicyId,
    conflicts: planned?.conflicts ?? [],
  }
}

export type Counts = Record<DriftStatus, number>

export interface Summary {
  readonly counts: Counts
  /** Organizations that need (dry run) or got (apply) a write. */
  readonly writes: number
  /** Writes planned but not made: the run was interrupted or ran out of budget (apply only). */
  readonly unapplied: number
  /** Organizations looked at, the ones left alone included. */
  readonly organizations: number
  readonly policies: number
}

export function emptyCounts(): Counts {
  return { grant: 0, revoke: 0, 'in sync': 0, conflict: 0, invalid: 0, failed: 0 }
}

/** One line, e.g. `Plan: 3 to grant, 1 to revoke, 96 in sync, 1 conflict, 2 invalid, 0 failed (…).` */
export function summaryLine(summary: Summary, applied: boolean): string {
  const { counts } = summary
  const verb = applied ? ['granted', 'revoked'] : ['to grant', 'to revoke']
  const notApplied = applied && summary.unapplied > 0 ? `, ${summary.unapplied} not applied` : ''
  return `${applied ? 'Applied' : 'Plan'}: ${counts.grant} ${verb[0]}, ${counts.revoke} ${verb[1]}, ${counts['in sync']} in sync, ${counts.conflict} conflict, ${counts.invalid} invalid, ${counts.failed} failed${notApplied} (${summary.organizations} organizations, ${summary.policies} policies).`
}

/**
 * 0: in sync, or everything applied; 2: a dry run found drift; 1: anything failed or is invalid (the rest is
 * still planned or applied). An interrupted apply that left drift unwritten is not "everything applied": 1.
 */
export function exitCode(summary: Summary, apply: boolean): 0 | 1 | 2 {
  if (summary.counts.failed > 0 || summary.counts.invalid > 0) return 1
  if (apply) return summary.unapplied > 0 ? 1 : 0
  return summary.writes > 0 ? 2 : 0
}

/**
 * Where a budgeted run resumes, in Auth0's checkpoint listing: the page (`from`, undefined for the first) and
 * the last Organization of that page already handled (`after`). Durable between scheduled runs, so a tenant
 * too large for one run is covered over several, in order, and no Organization waits more than one pass.
 */
export interface Cursor {
  readonly from: string | undefined
  readonly after: string | undefined
}

export const START: Cursor = { from: undefined, after: undefined }

/** The Organizations of a page still to handle when resuming at `cursor` (the whole page if `after` is gone). */
export function remainingInPage<T extends { readonly id: string }>(
  organizations: readonly T[],
  cursor: Cursor,
): readonly T[] {
  if (cursor.after === undefined) return organizations
  const index = organizations.findIndex((organization) => organization.id === cursor.after)
  return index < 0 ? organizations : organizations.slice(index + 1)
}

/**
 * Where the next run starts. `firstUnfinished` is the earliest Organization (in listing order) the run planned
 * but did not finish writing; `listedUpTo` where listing stopped (undefined when it reached the end of the
 * tenant). Unfinished work comes first, so the next run resumes exactly there; otherwise after the last page
 * read, or from the start once the pass is complete.
 */
export function nextCursor(stop: {
  readonly firstUnfinished: Cursor | undefined
  readonly listedUpTo: Cursor | undefined
}): Cursor {
  return stop.firstUnfinished ?? stop.listedUpTo ?? START
}

/** Whether another write may start: within the write budget, and with time left to finish it before the deadline. */
export function canStartWrite(budget: {
  readonly now: number
  readonly deadline: number
  readonly writes: number
  readonly maxWrites: number
  /** How long one GET + PATCH may take, rate-limit waits included. */
  readonly reserveMs: number
}): boolean {
  return budget.writes < budget.maxWrites && budget.now + budget.reserveMs <= budget.deadline
}

/**
 * What failed last time: a policy whose last sync attempt failed (its `accessPolicySyncStatus`), or an
 * Organization the previous scheduled run could not write (no policy ID then).
 */
export interface FailedPolicy {
  readonly policyId: string | undefined
  /** The Organizations that attempt named (its status's `organizations[]`). */
  readonly organizationIds: readonly string[]
  readonly attemptedAt: string | undefined
}

/** Failed policies the scheduled repair retries first, each run; bounded, so the pass over the tenant goes on. */
export const REPAIR_FIRST_LIMIT = 25

/**
 * Which failed policies to retry ahead of the pass: the longest-failing first, at most `limit`. The rest wait
 * for a later run (or the pass reaches their Organizations), so a flood of failures cannot stall the pass.
 */
export function repairFirst(failed: readonly FailedPolicy[], limit = REPAIR_FIRST_LIMIT): FailedPolicy[] {
  return [...failed]
    .sort(
      (a, b) =>
        (a.attemptedAt ?? '').localeCompare(b.attemptedAt ?? '') || (a.policyId ?? '').localeCompare(b.policyId ?? ''),
    )
    .slice(0, limit)
}
