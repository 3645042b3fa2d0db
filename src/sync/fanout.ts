/**
 * The fan-out of a role or plan edit, part of the one shell: every Organization owned by an active policy that the
 * role or plan feeds is re-synced through the shared reconcile engine (`reconcileTenant`, read by ID, under the
 * invocation's deadline and write budget). The work list is durable in the subject's `accessFanOutStatus`
 * document: claimed with a lease before any write, and written back with what is left, which starts the next
 * invocation (the blueprint's continuation filter on `round`). A run killed mid-way leaves the whole list in place.
 */
import { SyncError } from '../core/errors.ts'
import {
  FANOUT_LIST_LIMIT,
  type FanOutEvent,
  type FanOutKind,
  fanOutPhase,
  hopShare,
  type InvalidPolicy,
  leaseHolder,
  MAX_CHAIN_HOPS,
  mergePending,
  orphanedPolicies,
  parseFanOutEvent,
  RETRYABLE_REASONS,
  remainingAfterRun,
  targetOrganizations,
} from '../core/fanout.ts'
import type { RevokeGuardSettings } from '../core/revoke-guard.ts'
import type { FanOutStore, StoredFanOut } from '../gateways/fanout.ts'
import { type ReconcileDeps, type ReconcileResult, reconcileTenant } from './reconcile.ts'

export interface FanOutDeps {
  readonly reconcile: ReconcileDeps
  readonly store: FanOutStore
  /** Names this invocation in the lease: `leaseOwnerId(eventKey, attempt)`, so a redelivery knows its own lease. */
  readonly invocationId: string
}

export interface FanOutOptions {
  /** Epoch ms: no write starts unless it can finish before. */
  readonly deadline: number
  /** At most this many Auth0 writes in this invocation; default: as many as the deadline allows. */
  readonly maxWrites?: number | undefined
  /** Time kept in hand per write, rate-limit waits included. */
  readonly reserveMs?: number
  /** How long after the deadline the lease still holds (the status write after the last Auth0 write). */
  readonly leaseMarginMs?: number
  /** The clock the lease is read with (epoch ms); default Date.now. */
  readonly now?: () => number
  /** The mass-revoke guard's settings (REVOKE_GUARD_*, ALLOW_MASS_REVOKE); default REVOKE_GUARD_DEFAULTS. */
  readonly revokeGuard?: RevokeGuardSettings | undefined
  /**
   * Which hop of its chain this invocation is (`chainHop`); undefined when unknown (no lineage: not on the
   * platform). With it, a chain that cannot drain within MAX_CHAIN_HOPS fails visibly instead of stopping silently.
   */
  readonly hop?: number | undefined
}

export interface FanOutReport {
  readonly kind: FanOutKind
  readonly subjectId: string | undefined
  /** `deferred`: another invocation holds the work; the new Organizations were added to its list. */
  readonly outcome: 'done' | 'partial' | 'deferred' | 'nothing' | 'failed'
  readonly targeted: number
  readonly handled: number
  readonly written: number
  readonly remaining: number
  readonly invalid: readonly InvalidPolicy[]
  readonly failures: readonly { organizationId: string; reason: string; message: string }[]
  /** `taken-over`: another delivery of the same event claimed the list (a redelivery or a duplicate copy). */
  readonly stopped: ReconcileResult['stopped'] | 'configuration' | 'taken-over'
  readonly error: SyncError | undefined
}

/** Organizations reconciled per engine call: small enough that a budget stop wastes few reads. */
const CHUNK = 50
const SAVE_ATTEMPTS = 5
/**
 * Failures that will fail for every Organization until someone fixes a setting: stop, keep the list. The guard's
 * refusals too: the read or the settings need a look, and the list waits for the fix (or the override).
 */
const STOP_REASONS: readonly string[] = [
  'auth0-credentials',
  'auth0-forbidden',
  'configuration',
  'untrusted-read',
  'mass-revoke',
]

export async function runFanOutEvent(
  kind: FanOutKind,
  data: unknown,
  deps: FanOutDeps,
  options: FanOutOptions,
): Promise<FanOutReport> {
  const parsed = parseFanOutEvent(kind, data)
  if (!parsed.ok) {
    const message = parsed.issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ')
    return failed(kind, undefined, new SyncError('invalid-event', `Event not processed: ${message}`))
  }
  return runFanOut(parsed.value, deps, options)
}

export async function runFanOut(event: FanOutEvent, deps: FanOutDeps, options: FanOutOptions): Promise<FanOutReport> {
  const { store, invocationId: me } = deps
  const clock = options.now ?? Date.now
  const base = { kind: event.kind, subjectId: event.subjectId }
  const snapshot = await store.load(event)
  const targets = targetOrganizations(snapshot.policies)
  const invalid = orphanedPolicies(event.kind, snapshot.policies)
  const leaseUntil = options.deadline + (options.leaseMarginMs ?? 30_000)
  const subjectTitle = snapshot.subject?.title ?? undefined

  // 1. Claim the work list (or, if another invocation holds it, add ours to it and leave).
  let status = snapshot.status
  let claimed: { generation: number; pending: string[] } | undefined
  for (let attempt = 0; attempt < SAVE_ATTEMPTS && !claimed; attempt++) {
    if (attempt > 0) status = await store.status(event.subjectId)
    const now = clock()
    const lease = status?.leaseOwner ? { owner: status.leaseOwner, until: status.leaseUntil ?? 0 } : undefined
    if (leaseHolder(lease, me, now) === 'other') {
      if (targets.length === 0) return { ...empty(base), outcome: 'deferred', remaining: status?.pending.length ?? 0 }
      const pending = mergePending(status?.pending ?? [], targets)
      const saved = await store.save(event.subjectId, status?._rev ?? null, {
        pending,
        pendingCount: pending.length,
        generation: (status?.generation ?? 0) + 1,
        targeted: (status?.targeted ?? 0) + (pending.length - (status?.pending.length ?? 0)),
        ...invalidFields(status, invalid),
      })
      if (saved)
        return { ...empty(base), outcome: 'deferred', targeted: targets.length, remaining: pending.length, invalid }
      continue
    }
    const fresh = !status || status.pending.length === 0
    // A continuation that finds the list already done (another run finished it) has nothing to claim.
    if (fresh && event.continuation) return empty(base)
    const pending = mergePending(status?.pending ?? [], targets)
    const generation = (status?.generation ?? 0) + (targets.length > 0 ? 1 : 0)
    const fields = {
      subjectType: event.kind,
      ...(subjectTitle ? { subjectTitle } : {}),
      pending,
      pendingCount: pending.length,
      generation,
      round: status?.round ?? 0,
      leaseOwner: me,
      leaseUntil,
      phase: 'running',
      ...(fresh
        ? {
            startedAt: new Date(now).toISOString(),
            targeted: pending.length,
            written: 0,
            failedCount: 0,
            invalidCount: invalid.length,
            invocations: 0,
            invalidPolicies: listed(invalid),
            failures: [],
          }
        : {
            targeted: (status?.targeted ?? 0) + (pending.length - (status?.pending.length ?? 0)),
            ...invalidFields(status, invalid),
          }),
    }
    if (await store.save(event.subjectId, status?._rev ?? null, fields)) claimed = { generation, pending }
  }
  if (!claimed) {
    const error = new SyncError(
      'content-lake-unavailable',
      `The fan-out status of ${event.subjectId} kept changing under this invocation (${SAVE_ATTEMPTS} attempts): nothing was written to Auth0; the next event or the scheduled reconcile picks it up`,
      { retryable: true },
    )
    return failed(event.kind, event.subjectId, error)
  }

  // 2. Reconcile what fits, chunk by chunk, through the shared engine.
  const finished = new Set<string>()
  const failures: FanOutReport['failures'][number][] = []
  let written = 0
  let handled = 0
  let stopped: FanOutReport['stopped']
  let error: SyncError | undefined
  let index = 0
  while (index < claimed.pending.length && !stopped) {
    // Another delivery of this event may have taken the list over (a redelivery after this one was thought dead, or
    // a duplicate copy): stop before the next chunk instead of working alongside it. One Doc API read per chunk.
    if (index > 0 && (await store.status(event.subjectId))?.leaseOwner !== me) {
      stopped = 'taken-over'
      break
    }
    const budgetLeft = options.maxWrites === undefined ? undefined : options.maxWrites - written
    if (budgetLeft !== undefined && budgetLeft <= 0) {
      stopped = 'write-budget'
      break
    }
    const chunk = claimed.pending.slice(index, index + Math.min(CHUNK, budgetLeft ?? CHUNK))
    index += chunk.length
    let result: ReconcileResult
    try {
      result = await reconcileTenant(deps.reconcile, {
        apply: true,
        scope: { byId: true, organizationIds: chunk },
        deadline: options.deadline,
        ...(budgetLeft === undefined ? {} : { maxWrites: budgetLeft }),
        reserveMs: options.reserveMs ?? 0,
        keepInSync: true,
        track: 'all',
        revokeGuard: { ...(options.revokeGuard ? { settings: options.revokeGuard } : {}), entry: 'fan-out' },
      })
    } catch (caught) {
      if (!(caught instanceof SyncError)) throw caught
      error = caught
      stopped = 'configuration'
      break
    }
    written += result.summary.writes
    stopped = result.stopped
    if (!result.revokeGuard.allow) error ??= new SyncError(result.revokeGuard.reason, result.revokeGuard.message)
    // Reached: everything, when the run was not stopped; otherwise what it reports on. Minus what it left unwritten.
    const reached = new Set<string>(result.stopped ? result.tracked.keys() : chunk)
    const left = new Set<string>()
    for (const entry of result.unapplied) if (entry.organizationId) left.add(entry.organizationId)
    for (const entry of result.entries) {
      const id = entry.organizationId
      if (id === undefined) continue
      reached.add(id)
      if (entry.status !== 'failed') continue
      if (STOP_REASONS.includes(entry.code)) {
        stopped = 'configuration'
        error ??= new SyncError(entry.code as SyncError['reason'], entry.reason)
        left.add(id)
      } else if (RETRYABLE_REASONS.includes(entry.code)) left.add(id)
      else failures.push({ organizationId: id, reason: entry.code, message: entry.reason })
    }
    for (const id of reached) {
      if (left.has(id) || !chunk.includes(id)) continue
      finished.add(id)
      handled++
    }
  }

  // 3. The chain: the platform delivers no hop after MAX_CHAIN_HOPS, so a list left at the last hop, or a hop that
  // finished less than its share of what the hops left must drain, is said loudly (and kept on the status).
  const left = claimed.pending.length - finished.size
  const chainError = error
    ? undefined
    : chainProblem(event, options.hop, claimed.pending.length, handled, left, stopped)
  const lastHop = options.hop !== undefined && options.hop >= MAX_CHAIN_HOPS

  // 4. Write back what is left; bumping `round` starts the next invocation when something is.
  const failuresError =
    failures.length > 0
      ? new SyncError(
          failures[0]?.reason as SyncError['reason'],
          `${failures.length} organization(s) could not be re-synced: ${failures.map((f) => `${f.organizationId} (${f.reason})`).join(', ')}`,
        )
      : undefined
  let remaining = claimed.pending.filter((id) => !finished.has(id))
  for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
    const stored = await store.status(event.subjectId)
    if (!stored) break
    remaining = remainingAfterRun(stored, claimed.generation, finished)
    const now = clock()
    const counts = {
      pending: remaining,
      pendingCount: remaining.length,
      written: stored.written + written,
      failedCount: stored.failedCount + failures.length,
      invocations: stored.invocations + 1,
      failures: [...failures.map(failureEntry), ...stored.failures].slice(0, FANOUT_LIST_LIMIT),
    }
    // Taken over: the holder continues, releases and bumps `round`; this run only takes off what it finished.
    if (stored.leaseOwner !== me) {
      if (await store.save(event.subjectId, stored._rev, counts)) break
      continue
    }
    const saved = await store.save(event.subjectId, stored._rev, {
      ...counts,
      round: remaining.length > 0 && !error && !lastHop ? stored.round + 1 : stored.round,
      leaseOwner: '',
      leaseUntil: 0,
      phase: fanOutPhase(remaining.length, undefined, now),
      lastRun: {
        _type: 'accessFanOutRun',
        at: new Date(now).toISOString(),
        handled,
        written,
        remaining: remaining.length,
        ...(stopped ? { stopped } : {}),
        ...(options.hop !== undefined
          ? { hop: options.hop, maxHops: MAX_CHAIN_HOPS, share: hopShare(claimed.pending.length, options.hop) }
          : {}),
      },
      ...(remaining.length === 0 ? { finishedAt: new Date(now).toISOString() } : {}),
      chainStopped:
        chainError && remaining.length > 0 ? { reason: chainError.reason, message: chainError.message } : null,
    })
    if (saved) break
  }
  error ??= chainError
  const outcome = error
    ? 'failed'
    : stopped === 'taken-over'
      ? 'deferred'
      : remaining.length > 0
        ? 'partial'
        : claimed.pending.length === 0
          ? 'nothing'
          : 'done'
  return {
    ...base,
    outcome,
    targeted: targets.length,
    handled,
    written,
    remaining: remaining.length,
    invalid,
    failures,
    stopped,
    error: error ?? failuresError,
  }
}

/**
 * Continues the fan-outs whose work list no invocation holds (the last run died before recording, so no event
 * followed), within the caller's deadline: the scheduled reconcile runs this after its pass.
 */
export async function resumeStalledFanOuts(deps: FanOutDeps, options: FanOutOptions): Promise<FanOutReport[]> {
  const reports: FanOutReport[] = []
  for (const { subjectId, kind } of await deps.store.stalled((options.now ?? Date.now)())) {
    if (Date.now() >= options.deadline) break
    const event = { kind, subjectId, operation: 'update', continuation: true, keys: [] } as const
    const report = await runFanOut(event, deps, options)
    reports.push(report)
    if (report.stopped) break
  }
  return reports
}

/** Why this hop leaves the chain unable to drain, or undefined. `left`: what this run did not finish. */
function chainProblem(
  event: FanOutEvent,
  hop: number | undefined,
  claimed: number,
  handled: number,
  left: number,
  stopped: FanOutReport['stopped'],
): SyncError | undefined {
  if (hop === undefined || left <= 0) return undefined
  const subject = `The fan-out of ${event.kind} ${event.subjectId}`
  const resume = `Its list is kept on the status: \`npx access-sync reconcile --env <name>\` or the scheduled repair resumes it.`
  if (hop >= MAX_CHAIN_HOPS) {
    return new SyncError(
      'fan-out-hop-limit',
      `${subject} stopped at hop ${hop} of ${MAX_CHAIN_HOPS} with ${left} Organization(s) left: the platform delivers no further hop of a chain of function-caused writes. ${resume}`,
    )
  }
  // At this hop's pace, can the hops still delivered finish what is left? The share (what is left over the hops
  // left) is on the status for the operator; the check is the pace, so one slow hop among fast ones is not an alarm.
  const hopsAfter = MAX_CHAIN_HOPS - hop
  if (left <= handled * hopsAfter || (stopped !== 'out-of-time' && stopped !== 'write-budget')) return undefined
  return new SyncError(
    'fan-out-hop-limit',
    `${subject} finished ${handled} Organization(s) at hop ${hop} of ${MAX_CHAIN_HOPS} (its share: ${hopShare(claimed, hop)}): at this pace the ${left} left need more than the ${hopsAfter} hop(s) the platform still delivers. The chain goes on; raise FANOUT_TIME_BUDGET_SECONDS (up to the fan-outs' timeout) or FANOUT_MAX_WRITES. ${resume}`,
  )
}

function invalidFields(status: StoredFanOut | null, invalid: readonly InvalidPolicy[]) {
  if (invalid.length === 0) return {}
  const known = new Set((status?.invalidPolicies ?? []).map((entry) => entry.policyId))
  const added = invalid.filter((policy) => !known.has(policy.policyId))
  return {
    invalidCount: (status?.invalidCount ?? 0) + added.length,
    invalidPolicies: [...(status?.invalidPolicies ?? []), ...listed(added)].slice(0, FANOUT_LIST_LIMIT),
  }
}

function listed(invalid: readonly InvalidPolicy[]) {
  return invalid.slice(0, FANOUT_LIST_LIMIT).map((policy) => ({
    _key: policy.policyId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60),
    _type: 'accessFanOutInvalidPolicy',
    policyId: policy.policyId,
    ...(policy.organizationId ? { organizationId: policy.organizationId } : {}),
    message: policy.message,
  }))
}

function failureEntry(failure: FanOutReport['failures'][number], index: number) {
  return {
    _key: `f${Date.now().toString(36)}${index}`,
    _type: 'accessFanOutFailure',
    organizationId: failure.organizationId,
    reason: failure.reason,
    message: failure.message.slice(0, 500),
  }
}

function empty(base: { kind: FanOutKind; subjectId: string }): FanOutReport {
  return {
    ...base,
    outcome: 'nothing',
    targeted: 0,
    handled: 0,
    written: 0,
    remaining: 0,
    invalid: [],
    failures: [],
    stopped: undefined,
    error: undefined,
  }
}

function failed(kind: FanOutKind, subjectId: string | undefined, error: SyncError): FanOutReport {
  return { ...empty({ kind, subjectId: subjectId ?? '' }), subjectId, outcome: 'failed', error }
}

/** Log lines: IDs and counts only. */
export function describeFanOut(report: FanOutReport): string[] {
  const lines = [
    `fan-out ${report.kind} ${report.subjectId ?? '?'}: ${report.outcome}; ${report.targeted} organizations targeted, ${report.handled} handled, ${report.written} written, ${report.remaining} left${report.stopped ? ` (stopped: ${report.stopped})` : ''}`,
  ]
  for (const policy of report.invalid.slice(0, FANOUT_LIST_LIMIT))
    lines.push(`  invalid: ${policy.policyId}: ${policy.message}`)
  for (const failure of report.failures.slice(0, FANOUT_LIST_LIMIT)) {
    lines.push(`  ${failure.organizationId}: failed (${failure.reason})`)
  }
  return lines
}
