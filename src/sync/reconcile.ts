/**
 * The reconcile loop, part of the one shell (re-exported by src/sync.ts): every published policy and every Auth0
 * Organization in, one plan per Organization out (src/core/reconcile.ts over the function's planner), and with
 * `apply` the same `reconcileOrganization` the function runs, which re-reads the Organization right before its
 * write. Shared by the CLI (`access-sync reconcile`) and the scheduled repair.
 *
 * Memory stays bounded: policies are held once (one index, by Organization), Auth0 is streamed page by page and
 * only the entries worth reporting are kept. Listing and writing overlap: Auth0 rate-limits them separately, so
 * a run takes about as long as its slowest class, not the sum.
 *
 * Revokes are the exception: the mass-revoke guard (core/revoke-guard.ts) judges them as a whole, against every
 * Organization the run saw, so they are held until listing ends and then all written or all refused. A budgeted run
 * ends its listing early enough for the revokes it holds to be written (see `windowFull`).
 */
import { isOrganizationId, type Metadata, type OrganizationId } from '../core/auth0-rules.ts'
import { SyncError } from '../core/errors.ts'
import { readStamp } from '../core/metadata.ts'
import { planOrganization, rankClaimants } from '../core/planner.ts'
import { type PolicySource, parsePolicy } from '../core/policy.ts'
import {
  type Counts,
  type Cursor,
  canStartWrite,
  describePlan,
  emptyCounts,
  failedEntry,
  invalidPolicyEntry,
  nextCursor,
  type PlanEntry,
  remainingInPage,
  START,
  type Summary,
} from '../core/reconcile.ts'
import {
  judgeRevokes,
  REVOKE_GUARD_DEFAULTS,
  type RevokeEntry,
  type RevokeGuardSettings,
  type RevokeVerdict,
} from '../core/revoke-guard.ts'
import {
  DeadlineError,
  type ListedOrganization,
  MIN_ATTEMPT_MS,
  type OrganizationLister,
  type OrganizationsGateway,
} from '../gateways/auth0.ts'
import type { PolicyReader } from '../gateways/sanity.ts'
import { type OrganizationResult, reconcileOrganization } from './organization.ts'

export interface ReconcileDeps {
  readonly policies: PolicyReader
  readonly organizations: OrganizationsGateway & OrganizationLister
}

export interface ReconcileScope {
  /** Only these Organizations (read by ID, no listing). */
  readonly organizationIds?: readonly string[]
  /** Only the Organizations these policies name now, or carry their keys (found by listing the tenant). */
  readonly policyIds?: readonly string[]
  /**
   * Read by ID, never list: the Organizations given and the ones the given policies name now. Cheaper than a
   * listing, but an Organization that only carries a policy's old keys is not found.
   */
  readonly byId?: boolean
}

export interface ReconcileOptions {
  /** Write what the plan says; otherwise a dry run that writes nothing. */
  readonly apply: boolean
  readonly scope?: ReconcileScope
  /** Where to resume listing (the scheduled repair's durable cursor); default: the start. */
  readonly cursor?: Cursor
  /** Epoch ms: no page is listed and no write starts unless it can finish before. Default: none. */
  readonly deadline?: number
  /** Most writes this run may start. Default: unlimited. */
  readonly maxWrites?: number
  /** Time kept in hand for one GET + PATCH, rate-limit waits included, when checking the deadline. */
  readonly reserveMs?: number
  /** Stops the run after the write in flight (Ctrl-C); nothing is half-written. */
  readonly signal?: AbortSignal
  /** Keeps the entries and the outcome (`tracked`) of these Organizations, or of all, even when in sync. */
  readonly track?: ReadonlySet<string> | 'all'
  /** Keeps every entry, in sync included (narrow runs print them all). Default: only when a scope is given. */
  readonly keepInSync?: boolean
  readonly onProgress?: (progress: Progress) => void
  /** The mass-revoke guard; on by default with REVOKE_GUARD_DEFAULTS. */
  readonly revokeGuard?: RevokeGuardOptions
}

export interface RevokeGuardOptions {
  readonly settings?: RevokeGuardSettings
  /** Who runs the reconcile, for the override a refusal names. Default: the CLI. */
  readonly entry?: RevokeEntry
  /**
   * Whether the share rule applies (the empty-read rule always does). The scheduled repair's retry of earlier
   * failures turns it off: its few Organizations are no sample of the tenant, and the pass after it judges the share.
   */
  readonly share?: boolean
}

export interface Progress {
  readonly phase: 'policies' | 'organizations' | 'writing' | 'done'
  readonly policies: number
  readonly organizations: number
  readonly pages: number
  /** Writes the plan calls for so far. */
  readonly planned: number
  /** Writes done so far (apply only). */
  readonly written: number
  readonly failed: number
  /** The Organization just handled, if any. */
  readonly organizationId?: string | undefined
}

export interface AppliedEntry extends PlanEntry {
  /** True when the write happened; false when the re-read found nothing left to change. */
  readonly applied: boolean
}

export interface ReconcileResult {
  readonly apply: boolean
  /** Drift, conflicts, invalid policies and failures, in listing order (in-sync ones too when kept). */
  readonly entries: readonly (PlanEntry | AppliedEntry)[]
  readonly summary: Summary
  /** Entries the plan wanted written that were not: the run was interrupted or out of budget. */
  readonly unapplied: readonly PlanEntry[]
  /** Where the next run should resume. START once the whole tenant was listed and every write made. */
  readonly cursor: Cursor
  /** Whether this run listed the tenant to its end (from its starting cursor). */
  readonly listedToEnd: boolean
  /** Stopped early by the signal, the deadline or the write budget. */
  readonly stopped: 'interrupted' | 'out-of-time' | 'write-budget' | undefined
  /** The outcome per tracked Organization (see `track`), for status documents. */
  readonly tracked: ReadonlyMap<string, OrganizationResult>
  /**
   * The mass-revoke guard's verdict on the run's revokes: refused ones were not sent and are failed entries with
   * the refusal's reason. In a dry run, what `--apply` would meet.
   */
  readonly revokeGuard: RevokeVerdict
  /** Auth0 refused a listing checkpoint and the run listed the tenant again from the start (once per run). */
  readonly checkpointRefused?: CheckpointRefusal
}

export interface CheckpointRefusal {
  /** True when it was the checkpoint the run started from (the stored cursor), false when one issued during it. */
  readonly stored: boolean
  /** Auth0's refusal, as the gateway explained it. */
  readonly message: string
}

/** Reads every policy into one index: Organization ID → the published policies naming it. */
async function loadPolicies(
  deps: ReconcileDeps,
  scope: ReconcileScope | undefined,
  onPage: (count: number) => void,
): Promise<{ byOrganization: Map<OrganizationId, PolicySource[]>; invalid: PlanEntry[]; count: number }> {
  const byOrganization = new Map<OrganizationId, PolicySource[]>()
  const invalid: PlanEntry[] = []
  let count = 0
  const add = (policy: PolicySource) => {
    count++
    const organizationId = policy.auth0OrganizationId
    if (isOrganizationId(organizationId)) {
      const list = byOrganization.get(organizationId)
      if (list) list.push(policy)
      else byOrganization.set(organizationId, [policy])
    } else if (organizationId !== undefined && organizationId !== null) {
      // Names no Organization we could ever contact: reported on its own, as the function would fail its event.
      const parsed = parsePolicy(policy)
      if (!parsed.ok) invalid.push(invalidPolicyEntry(String(policy._id), parsed.issues))
    }
  }
  if (!scope) {
    for await (const page of deps.policies.pages()) {
      for (const policy of page) add(policy)
      onPage(count)
    }
    return { byOrganization, invalid, count }
  }
  const policyIds = scope.policyIds ?? []
  const named = await deps.policies.inScope(policyIds, scope.organizationIds ?? [])
  // The Organizations the named policies point to bring in every other policy claiming them (ownership).
  const more = named.flatMap((policy) =>
    isOrganizationId(policy.auth0OrganizationId) ? [policy.auth0OrganizationId] : [],
  )
  const all =
    more.length > 0 ? await deps.policies.inScope(policyIds, [...(scope.organizationIds ?? []), ...more]) : named
  for (const policy of all) add(policy)
  onPage(count)
  return { byOrganization, invalid, count }
}

interface Job {
  readonly organizationId: OrganizationId
  readonly entry: PlanEntry
  /** Where to resume so that this Organization is handled again. */
  readonly resumeAt: Cursor
  /** Listing order: held revokes are written after later grants, and the cursor must go back to the earliest. */
  readonly seq: number
}

/** Plans every Organization and, with `apply`, writes the drift; see ReconcileOptions for the knobs. */
export async function reconcileTenant(deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileResult> {
  const { scope, apply } = options
  const keepInSync = options.keepInSync ?? scope !== undefined
  const startedAt = Date.now()
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY
  const maxWrites = options.maxWrites ?? Number.POSITIVE_INFINITY
  // The gateway starts no attempt with less than MIN_ATTEMPT_MS left, so neither does the run.
  const reserveMs = Math.max(options.reserveMs ?? 0, MIN_ATTEMPT_MS)
  const entries: (PlanEntry | AppliedEntry)[] = []
  const unapplied: PlanEntry[] = []
  const tracked = new Map<string, OrganizationResult>()
  const progress = { policies: 0, organizations: 0, pages: 0, planned: 0, written: 0, failed: 0 }
  const report = (phase: Progress['phase'], organizationId?: string) =>
    options.onProgress?.({ phase, ...progress, organizationId })
  let stopped: ReconcileResult['stopped']

  const { byOrganization, invalid, count } = await loadPolicies(deps, scope, (n) => {
    progress.policies = n
    report('policies')
  })
  const counts: Counts = emptyCounts()
  /** Counts every finished entry; keeps the ones worth reporting. */
  const tracks = (organizationId: string | undefined) =>
    organizationId !== undefined && (options.track === 'all' || options.track?.has(organizationId) === true)
  const finish = (entry: PlanEntry | AppliedEntry) => {
    counts[entry.status]++
    if (entry.status !== 'in sync' || keepInSync || tracks(entry.organizationId)) entries.push(entry)
  }
  for (const entry of invalid) finish(entry)
  const claimantsOf = (organizationId: OrganizationId) => byOrganization.get(organizationId) ?? []
  const plan = (organizationId: OrganizationId, observed: Metadata): PlanEntry | undefined => {
    const result = planOrganization({ organizationId, claimants: claimantsOf(organizationId), observed })
    if (tracks(organizationId) && result.action === 'none') {
      tracked.set(organizationId, { organizationId, outcome: 'unchanged', plan: result, metadata: observed })
    }
    return describePlan(result, observed)
  }

  // The writer: one write at a time, in listing order, each after a fresh read (reconcileOrganization).
  const queue: Job[] = []
  // Revokes wait here for the guard's verdict (see the module comment), outside the queue's backpressure.
  let held: Job[] = []
  const revokes: OrganizationId[] = []
  let managed = 0
  let seq = 0
  let wake: (() => void) | undefined
  let producing = true
  const signalWriter = () => {
    wake?.()
    wake = undefined
  }
  const stopWriting = () => stopped !== undefined
  let firstUnfinished: Job | undefined
  const leaveUnapplied = (job: Job) => {
    unapplied.push(job.entry)
    if (firstUnfinished === undefined || job.seq < firstUnfinished.seq) firstUnfinished = job
  }
  const writer = (async () => {
    if (!apply) return
    for (;;) {
      const job = queue.shift()
      if (!job) {
        if (!producing) return
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        continue
      }
      if (!stopWriting()) {
        if (options.signal?.aborted) stopped = 'interrupted'
        else if (progress.written >= maxWrites) stopped = 'write-budget'
        else if (!canStartWrite({ now: Date.now(), deadline, writes: 0, maxWrites: 1, reserveMs }))
          stopped = 'out-of-time'
      }
      if (stopWriting()) {
        leaveUnapplied(job)
        continue
      }
      report('writing', job.organizationId)
      const result = await reconcileOrganization(
        job.organizationId,
        claimantsOf(job.organizationId),
        deps.organizations,
      )
      if (tracks(job.organizationId)) tracked.set(job.organizationId, result)
      if (result.outcome === 'failed') {
        if (result.error instanceof DeadlineError) {
          // Ran into the deadline (e.g. a rate-limit wait longer than the time left): next run, not a failure.
          stopped ??= 'out-of-time'
          leaveUnapplied(job)
          continue
        }
        progress.failed++
        finish(failedEntry(job.organizationId, result.error, job.entry))
      } else if (result.outcome === 'unchanged') {
        const reason = 'in sync on re-read: changed in Auth0 since it was listed'
        finish({ ...job.entry, status: 'in sync', write: false, changes: [], reason, applied: false })
      } else {
        progress.written++
        finish({ ...job.entry, applied: true })
      }
      report('writing', job.organizationId)
    }
  })()

  const handle = (organizationId: OrganizationId, observed: Metadata | undefined, resumeAt: Cursor) => {
    progress.organizations++
    const entry = observed === undefined ? undefined : plan(organizationId, observed)
    if (observed === undefined) {
      const error = new SyncError('auth0-rejected', `Auth0 listed non-text metadata on ${organizationId}`)
      progress.failed++
      finish(failedEntry(organizationId, error))
      return
    }
    if (readStamp(observed)) managed++
    if (!entry) return
    if (!entry.write) return finish(entry)
    progress.planned++
    const revoke = entry.code === 'revoke'
    if (revoke) revokes.push(organizationId)
    if (!apply) return finish(entry)
    const job = { organizationId, entry, resumeAt, seq: seq++ }
    if (revoke) return void held.push(job)
    queue.push(job)
    signalWriter()
  }

  /** The guard's verdict on every revoke the run found: held ones go to the writer in listing order, or fail. */
  const guard = options.revokeGuard ?? {}
  let verdict: RevokeVerdict = { allow: true }
  const judgeHeld = async () => {
    if (revokes.length === 0) return
    const policiesPublished = count > 0 || (await deps.policies.anyPublished())
    verdict = judgeRevokes(
      { policiesPublished, managed, revokes, source: deps.policies.source, share: guard.share },
      guard.settings ?? REVOKE_GUARD_DEFAULTS,
      guard.entry ?? 'reconcile',
    )
    const jobs = held
    held = []
    if (verdict.allow) {
      queue.push(...jobs)
      queue.sort((a, b) => a.seq - b.seq)
      return signalWriter()
    }
    const error = new SyncError(
      verdict.reason,
      `not revoked: the mass-revoke guard refused all ${revokes.length} of this run's revokes (${verdict.reason}); see the run's message`,
    )
    for (const job of jobs) {
      progress.failed++
      if (tracks(job.organizationId))
        tracked.set(job.organizationId, { organizationId: job.organizationId, outcome: 'failed', error })
      finish(failedEntry(job.organizationId, error, job.entry))
    }
  }
  /**
   * A budgeted run stops listing once the revokes it holds would otherwise not get their turn: half its time is
   * gone, or the writes it found already fill its write budget. Without this, a tenant larger than one run's
   * listing would see its revokes put back, run after run.
   */
  const windowFull = () =>
    held.length > 0 && (Date.now() >= startedAt + (deadline - startedAt) / 2 || progress.planned >= maxWrites)

  let listedUpTo: Cursor | undefined
  let listedToEnd = false
  let checkpointRefused: CheckpointRefusal | undefined
  const seen = new Set<string>()
  try {
    if (scope && (scope.byId || !scope.policyIds?.length)) {
      const policyIds = new Set(scope.policyIds ?? [])
      const named = [...byOrganization].flatMap(([organizationId, claimants]) =>
        claimants.some((claimant) => policyIds.has(String(claimant._id))) ? [organizationId] : [],
      )
      for (const id of new Set([...(scope.organizationIds ?? []), ...named])) {
        if (stopWriting() || options.signal?.aborted) break
        if (!isOrganizationId(id)) continue
        seen.add(id)
        try {
          handle(id, await deps.organizations.readMetadata(id), START)
        } catch (error) {
          if (!(error instanceof SyncError)) throw error
          progress.organizations++
          // A deleted Organization nothing grants has nothing to revoke; granting to it is the failure.
          if (
            error.reason === 'organization-not-found' &&
            rankClaimants({ organizationId: id, claimants: claimantsOf(id) }).length === 0
          )
            continue
          progress.failed++
          finish(failedEntry(id, error))
        }
        report('organizations', id)
      }
      listedToEnd = true
    } else {
      const related = scope ? relatedOrganizations(scope, byOrganization) : undefined
      let start = options.cursor ?? START
      let cursor = start
      let pagesListed = 0
      try {
        for (;;) {
          try {
            await listPages()
            break
          } catch (error) {
            // Auth0's checkpoints are opaque and may expire (platform-facts.md "Checkpoint pagination"): a refused
            // one is listed again from the start, once per run, so no cursor can wedge the repair.
            const refused = refusedCheckpoint(error, start, pagesListed)
            if (!refused || checkpointRefused) throw error
            checkpointRefused = refused
            start = START
            cursor = START
          }
        }
      } catch (error) {
        // Listing ran into the deadline (a rate-limit wait that would not fit): the next run lists from here.
        if (!(error instanceof DeadlineError)) throw error
        stopped ??= 'out-of-time'
        listedUpTo = cursor
      }
      async function listPages(): Promise<void> {
        for await (const page of deps.organizations.pages(start.from)) {
          progress.pages++
          pagesListed++
          const todo = page.from === start.from ? remainingInPage(page.organizations, cursor) : page.organizations
          let previous = page.from === start.from ? cursor.after : undefined
          for (const listed of todo) {
            const resumeAt = { from: page.from, after: previous }
            previous = listed.id
            if (!isOrganizationId(listed.id)) continue
            if (related && !related(listed)) continue
            // Listed again after a refused checkpoint: what this run already planned is not planned twice.
            if (seen.has(listed.id)) continue
            seen.add(listed.id)
            handle(listed.id, listed.metadata, resumeAt)
          }
          cursor = { from: page.next, after: undefined }
          report('organizations')
          await backpressure(queue)
          if (page.next === undefined) break
          if (stopWriting() || options.signal?.aborted || windowFull()) {
            listedUpTo = cursor
            break
          }
          if (!canStartWrite({ now: Date.now(), deadline, writes: 0, maxWrites: 1, reserveMs })) {
            stopped ??= 'out-of-time'
            listedUpTo = cursor
            break
          }
        }
      }
      listedToEnd = listedUpTo === undefined
      // A full pass also finds policies granting Organizations Auth0 does not have: those grants cannot happen.
      if (listedToEnd && start.from === undefined && start.after === undefined) {
        for (const [organizationId, claimants] of byOrganization) {
          if (seen.has(organizationId) || (related && !scopeNames(scope, organizationId, claimants))) continue
          if (rankClaimants({ organizationId, claimants }).length === 0) continue
          progress.failed++
          finish(
            failedEntry(organizationId, {
              reason: 'organization-not-found',
              message: `Auth0 has no Organization ${organizationId}: fix auth0OrganizationId on the policy or create the Organization`,
            }),
          )
        }
      }
    }
    await judgeHeld()
  } finally {
    producing = false
    signalWriter()
    await writer
  }
  if (stopped === 'interrupted' && listedUpTo === undefined && !listedToEnd) listedUpTo = START
  report('done')

  const writes = apply ? progress.written : progress.planned
  return {
    apply,
    entries,
    summary: { counts, writes, unapplied: unapplied.length, organizations: progress.organizations, policies: count },
    unapplied,
    cursor: nextCursor({ firstUnfinished: firstUnfinished?.resumeAt, listedUpTo }),
    listedToEnd,
    stopped,
    tracked,
    revokeGuard: verdict,
    ...(checkpointRefused ? { checkpointRefused } : {}),
  }
}

/**
 * A listing refused with a 400 on a page asked for by checkpoint: the checkpoint expired, or its anchor is gone (the
 * page size is fixed and valid, so nothing else of the request can be at fault). Undefined for anything else.
 */
function refusedCheckpoint(error: unknown, start: Cursor, pagesListed: number): CheckpointRefusal | undefined {
  if (!(error instanceof SyncError) || error.reason !== 'auth0-rejected') return undefined
  if (start.from === undefined && pagesListed === 0) return undefined
  return { stored: pagesListed === 0, message: error.message }
}

/** With a policy scope, the listed Organizations that matter: named by those policies, or carrying their keys. */
function relatedOrganizations(
  scope: ReconcileScope,
  byOrganization: ReadonlyMap<string, readonly PolicySource[]>,
): (listed: ListedOrganization) => boolean {
  const policyIds = new Set(scope.policyIds ?? [])
  const organizationIds = new Set(scope.organizationIds ?? [])
  for (const [organizationId, claimants] of byOrganization) {
    if (claimants.some((claimant) => policyIds.has(String(claimant._id)))) organizationIds.add(organizationId)
  }
  return (listed) =>
    organizationIds.has(listed.id) || policyIds.has(listed.metadata?.sanityPolicyId ?? '\u0000not a policy')
}

function scopeNames(scope: ReconcileScope | undefined, organizationId: string, claimants: readonly PolicySource[]) {
  if (!scope) return true
  return (
    (scope.organizationIds ?? []).includes(organizationId) ||
    claimants.some((claimant) => (scope.policyIds ?? []).includes(String(claimant._id)))
  )
}

/** Planning runs ahead of writing; beyond this many queued writes, listing waits, so memory stays bounded. */
const MAX_QUEUED_WRITES = 1000

async function backpressure(queue: readonly Job[]): Promise<void> {
  while (queue.length > MAX_QUEUED_WRITES) await new Promise((resolve) => setTimeout(resolve, 50))
}
