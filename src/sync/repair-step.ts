/**
 * The repair step (SYNC_REPAIR_STEP_LIMIT, on by default): after its own event, a sync invocation syncs a few
 * published policies whose last sync is not on record for their published revision, so a publish the platform did
 * not run to the end is brought into line by later invocations, with no editor action and no schedule:
 *
 * - dropped by the invocation caps, or lost: no status, or one for an older revision;
 * - killed (the blueprint's timeout) before its status was written: the same;
 * - failed with a retryable reason (Auth0 or the Content Lake unavailable, a rate limit that outlasted the budget):
 *   the status records the failure and the revision; such policies are retried too.
 *
 * Cost per event (measured in tests/platform/repair-step.test.ts): one Content Lake query when nothing is behind,
 * and no Auth0 request; when something is, up to `limit` policy syncs more, each one policy query, one Auth0 read, a
 * write only where Auth0 differs (then one re-check query) and a status write.
 *
 * Never fails the invocation: what it could not repair keeps its status (missing, behind or failed) and is picked up
 * by a later invocation, `access-sync reconcile`, or the scheduled repair where one is deployed.
 */
import type { StatusReport } from '../status.ts'
import type { SyncReport } from './event.ts'

/** One policy the backlog query returned (src/gateways/backlog.ts). */
export interface RepairCandidate {
  readonly _id: string
  readonly _rev: string
  readonly auth0OrganizationId: unknown
}

export interface RepairStepDeps {
  /** Up to the backlog window of policies behind, oldest first, other than the invocation's own. */
  readonly backlog: () => Promise<readonly RepairCandidate[]>
  /** Syncs one policy as its own event would (syncPolicyEvent with the invocation's gateways and deadline). */
  readonly sync: (data: RepairEventData) => Promise<SyncReport>
  /** Writes the policy's sync status (best effort, never throws). */
  readonly record: (data: RepairEventData, status: StatusReport) => Promise<unknown>
  /** The sync status of a report, or undefined when none is recorded (src/status.ts, statusReportOf). */
  readonly statusOf: (report: SyncReport) => StatusReport | undefined
  readonly log?: (line: string) => void
  readonly random?: () => number
  readonly now?: () => number
}

export interface RepairStepOptions {
  /** At most this many policies synced (SYNC_REPAIR_STEP_LIMIT); 0: the step does nothing, not even its query. */
  readonly limit: number
  /** Epoch ms: no repair starts after this (the invocation's own budget, so the step cannot run into the timeout). */
  readonly startBefore: number
}

export interface RepairStepResult {
  /** How many the backlog query returned (at most its window); undefined when it was not run or failed. */
  readonly behind: number | undefined
  readonly attempted: number
  readonly synced: number
  /** Why it stopped before `limit`: a retryable failure (an outage or a limit), the time, or the backlog read. */
  readonly stopped: 'retryable-failure' | 'out-of-time' | 'backlog-unreadable' | undefined
}

export type RepairEventData = { _id: string; _rev: string; operation: 'update'; auth0OrganizationId: unknown }

/**
 * Which candidates to repair: `limit` of them at random, so the invocations of one burst, reading the same backlog
 * at about the same time, seldom repair the same policy. Pure.
 */
export function pickRepairs<T>(candidates: readonly T[], limit: number, random: () => number): T[] {
  return candidates
    .map((candidate) => ({ candidate, order: random() }))
    .sort((a, b) => a.order - b.order)
    .slice(0, Math.max(0, limit))
    .map(({ candidate }) => candidate)
}

export async function runRepairStep(deps: RepairStepDeps, options: RepairStepOptions): Promise<RepairStepResult> {
  const log = deps.log ?? console.log
  const now = deps.now ?? Date.now
  if (options.limit <= 0) return { behind: undefined, attempted: 0, synced: 0, stopped: undefined }
  if (now() >= options.startBefore) return { behind: undefined, attempted: 0, synced: 0, stopped: 'out-of-time' }
  let backlog: readonly RepairCandidate[]
  try {
    backlog = await deps.backlog()
  } catch (error) {
    log(`repair step: backlog not read (${error instanceof Error ? error.message : String(error)})`)
    return { behind: undefined, attempted: 0, synced: 0, stopped: 'backlog-unreadable' }
  }
  if (backlog.length === 0) return { behind: 0, attempted: 0, synced: 0, stopped: undefined }
  let attempted = 0
  let synced = 0
  let stopped: RepairStepResult['stopped']
  for (const entry of pickRepairs(backlog, options.limit, deps.random ?? Math.random)) {
    if (now() >= options.startBefore) {
      stopped = 'out-of-time'
      break
    }
    const data: RepairEventData = {
      _id: entry._id,
      _rev: entry._rev,
      operation: 'update',
      auth0OrganizationId: entry.auth0OrganizationId,
    }
    attempted++
    const report = await deps.sync(data)
    const status = deps.statusOf(report)
    if (status) await deps.record(data, status)
    if (!report.error) synced++
    else if (report.error.retryable) {
      // The invocation's own event came first: stop at the first sign of a limit or an outage.
      stopped = 'retryable-failure'
      break
    }
  }
  log(
    `repair step: ${backlog.length} behind (of the oldest read), ${attempted} attempted, ${synced} synced${stopped ? ` (stopped: ${stopped})` : ''}`,
  )
  return { behind: backlog.length, attempted, synced, stopped }
}
