/**
 * What editors see of the scheduled repair: one `accessPolicyReconcileStatus` document per dataset, built here from
 * a reconcile result (pure), written by gateways/reconcile-status.ts. It also carries the durable cursor the next
 * run resumes from. Its ID is a dot path, so it is not publicly readable; it holds IDs, counts and SyncError
 * messages, never secrets or metadata values.
 */
import type { Mutation } from '@sanity/client'
import type { AccessPolicyReconcileStatus } from '../sanity.types.ts'
import type { Cursor } from './core/reconcile.ts'
import type { CheckpointRefusal, ReconcileResult } from './sync/reconcile.ts'

export const RECONCILE_STATUS_TYPE = 'accessPolicyReconcileStatus'
export const RECONCILE_STATUS_ID = `${RECONCILE_STATUS_TYPE}.scheduled`

/**
 * `in sync`: nothing to do; `repaired`: all drift found was written; `partial`: the run stopped within its budget
 * and the next one resumes; `failed`: some Organizations failed, or the run itself did.
 */
export const RECONCILE_OUTCOMES = ['in sync', 'repaired', 'partial', 'failed'] as const
export type ReconcileOutcome = (typeof RECONCILE_OUTCOMES)[number]

/** Runs kept in `history`, newest first, and failures listed in full. */
export const RUN_HISTORY_LIMIT = 10
export const FAILURES_LIMIT = 20
const MAX_MESSAGE = 500

type Run = NonNullable<AccessPolicyReconcileStatus['history']>[number]
type Failure = NonNullable<AccessPolicyReconcileStatus['failed']>[number]

export interface RunInput {
  readonly runAt: Date
  readonly durationMs: number
  /** The run's results (retrying failed policies, then the pass); empty when it failed before reconciling. */
  readonly results: readonly ReconcileResult[]
  readonly error?: { readonly reason: string; readonly message: string } | undefined
  /** Where the next run starts; on a failed run, the cursor it started from. */
  readonly cursor: Cursor
  /** A fresh `_key` for the history entry. */
  readonly key: string
}

const total = (results: readonly ReconcileResult[], count: (result: ReconcileResult) => number) =>
  results.reduce((sum, result) => sum + count(result), 0)

export function runOutcome(input: Pick<RunInput, 'results' | 'error'>): ReconcileOutcome {
  const { results } = input
  if (input.error || results.length === 0) return 'failed'
  if (total(results, (r) => r.summary.counts.failed + r.summary.counts.invalid) > 0) return 'failed'
  if (total(results, (r) => r.unapplied.length) > 0 || results.some((r) => r.stopped || !r.listedToEnd)) {
    return 'partial'
  }
  return total(results, (r) => r.summary.writes) > 0 ? 'repaired' : 'in sync'
}

type Status = Omit<AccessPolicyReconcileStatus, '_id' | '_type' | '_createdAt' | '_updatedAt' | '_rev' | 'history'>

/** The status document's top level for one run (without `_id`, `_type` and `history`). */
export function runStatus(input: RunInput): Status {
  const { results } = input
  const pass = results.at(-1)
  // An Organization handled twice (retried first, then met again by the pass) counts once: the last word wins.
  const latest = new Map<string, ReconcileResult['entries'][number]>()
  for (const entry of results.flatMap((r) => r.entries)) {
    latest.set(entry.organizationId ?? `policy ${entry.policyId ?? '?'}`, entry)
  }
  const failedEntries = [...latest.values()].filter((entry) => entry.status === 'failed' || entry.status === 'invalid')
  const failed: Failure[] = failedEntries.slice(0, FAILURES_LIMIT).map((entry, index) => ({
    _key: `f${index}`,
    _type: 'accessPolicyReconcileFailure',
    ...(entry.organizationId ? { organizationId: entry.organizationId } : {}),
    ...(entry.policyId ? { policyId: entry.policyId } : {}),
    status: entry.status,
    reason: entry.code,
    message: truncate(entry.reason),
  }))
  const driftFixed = total(results, (r) => (r.apply ? r.summary.writes : 0))
  const unfinished = total(results, (r) => r.unapplied.length)
  const failedWrites = failedEntries.filter((entry) => entry.changes.length > 0).length
  const more =
    failedEntries.length > FAILURES_LIMIT ? ` (${failedEntries.length - FAILURES_LIMIT} more failures not listed)` : ''
  const cursor = {
    ...(input.cursor.from ? { from: input.cursor.from } : {}),
    ...(input.cursor.after ? { after: input.cursor.after } : {}),
  }
  const refusal = results.find((result) => result.checkpointRefused)?.checkpointRefused
  const listedAgain = refusal ? `${describeRefusal(refusal)} ` : ''
  return {
    outcome: runOutcome(input),
    runAt: input.runAt.toISOString(),
    driftFound: driftFixed + unfinished + failedWrites,
    driftFixed,
    failures: failedEntries.length,
    unfinished,
    message: truncate(
      input.error ? `${listedAgain}${input.error.message}` : `${listedAgain}${describeStop(pass)}${more}`,
    ),
    organizations: total(results, (r) => r.summary.organizations),
    policies: pass?.summary.policies ?? 0,
    durationSeconds: Math.round(input.durationMs / 100) / 10,
    passComplete: (pass?.listedToEnd ?? false) && (pass?.unapplied.length ?? 0) === 0,
    cursor,
    failed,
  }
}

/** Says the run listed from the start because Auth0 refused a checkpoint (src/sync/reconcile.ts). */
export function describeRefusal(refusal: CheckpointRefusal): string {
  const which = refusal.stored ? 'the stored checkpoint' : 'a checkpoint issued during the listing'
  return `Auth0 refused ${which} (${refusal.message}), so this run listed the tenant again from the start.`
}

function describeStop(result: ReconcileResult | undefined): string {
  if (!result) return 'Nothing was reconciled.'
  switch (result.stopped) {
    case 'out-of-time':
      return 'Stopped at the time budget; the next run resumes where this one stopped.'
    case 'write-budget':
      return 'Stopped at the write budget; the next run resumes where this one stopped.'
    case 'interrupted':
      return 'Interrupted; the next run resumes where this one stopped.'
    default:
      // Not stopped, yet not at the end: listing stopped to leave the revokes it held their time (src/sync/reconcile.ts).
      return result.listedToEnd
        ? 'Reached the end of the tenant; the next run starts a new pass.'
        : 'Stopped listing early to leave time for the revokes found; the next run resumes where this one stopped.'
  }
}

/** One transaction: create if new, overwrite the latest run, prepend it to `history`, drop what falls off the end. */
export function reconcileStatusMutations(input: RunInput): Mutation[] {
  const latest = runStatus(input)
  const entry: Run = {
    _key: input.key,
    _type: 'accessPolicyReconcileRun',
    outcome: latest.outcome,
    runAt: latest.runAt,
    driftFound: latest.driftFound,
    driftFixed: latest.driftFixed,
    failures: latest.failures,
    unfinished: latest.unfinished,
  }
  const id = RECONCILE_STATUS_ID
  return [
    { createIfNotExists: { _id: id, _type: RECONCILE_STATUS_TYPE, history: [] } },
    { patch: { id, setIfMissing: { history: [] }, set: latest, unset: latest.cursor?.from ? [] : ['cursor.from'] } },
    { patch: { id, unset: latest.cursor?.after ? [] : ['cursor.after'] } },
    { patch: { id, insert: { before: 'history[0]', items: [entry] } } },
    { patch: { id, unset: [`history[${RUN_HISTORY_LIMIT}]`] } },
  ]
}

/** The cursor stored by the previous run; the start when there is none or it is malformed. */
export function storedCursor(document: unknown): Cursor {
  const cursor = (document as { cursor?: { from?: unknown; after?: unknown } } | null)?.cursor
  const text = (value: unknown) =>
    typeof value === 'string' && value !== '' && value.length <= 200 ? value : undefined
  return { from: text(cursor?.from), after: text(cursor?.after) }
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text
}
