/**
 * One document event: load the state, decide, write. The imperative shell around the planner that the Sanity
 * Function wires; each Organization goes through reconcileOrganization (./organization.ts), as in the reconcile.
 */
import type { OrganizationId } from '../core/auth0-rules.ts'
import { SyncError } from '../core/errors.ts'
import { expectedSubject, type PolicyEvent, parsePolicyEvent, supersedingRevision } from '../core/event.ts'
import { readStamp } from '../core/metadata.ts'
import { formatIssues, type PolicySource, parsePolicy } from '../core/policy.ts'
import { judgeRevokes, REVOKE_GUARD_DEFAULTS, type RevokeGuardSettings, releasedByEvent } from '../core/revoke-guard.ts'
import type { OrganizationsGateway } from '../gateways/auth0.ts'
import type { PolicyState, PolicyStore } from '../gateways/sanity.ts'
import {
  asSyncError,
  type OrganizationResult,
  type PolicyOutcome,
  policyOutcome,
  type Refresh,
  type RevokeCheck,
  reconcileOrganization,
} from './organization.ts'

export interface SyncDeps {
  readonly policies: PolicyStore
  readonly organizations: OrganizationsGateway
  /** How many times to re-check the Content Lake after a write and write again if it moved; 0 turns it off. */
  readonly verifyRounds?: number
  /** The mass-revoke guard's settings (only its empty-read rule concerns one event); default: REVOKE_GUARD_DEFAULTS. */
  readonly revokeGuard?: RevokeGuardSettings
  /** `context.local`: run by `sanity functions test`, so a refusal can say which flag to pass. */
  readonly local?: boolean
}

export const DEFAULT_VERIFY_ROUNDS = 2

/**
 * An Organization this event left to the invocation of a later revision of the policy, which owns it
 * (`supersedingRevision` in src/core/event.ts says why that is safe): nothing was written to it by this one.
 */
export interface SupersededResult {
  readonly organizationId: OrganizationId
  readonly outcome: 'superseded'
  /** The later revision, as `revision <rev>`, or `a deletion`. */
  readonly by: string
}

export type EventOrganizationResult = OrganizationResult | SupersededResult

export interface SyncReport {
  readonly policyId: string | undefined
  readonly revision: string | undefined
  readonly outcome: PolicyOutcome
  readonly organizations: readonly EventOrganizationResult[]
  /** Reconcile rounds run: more than 1 when the policies changed while Auth0 was being written. */
  readonly rounds: number
  /** Set when anything failed; the function throws it so the invocation fails visibly. */
  readonly error: SyncError | undefined
  readonly notes: readonly string[]
}

/** Handles one document event. Never throws a SyncError: failures are in the report (and `report.error`). */
export async function syncPolicyEvent(data: unknown, deps: SyncDeps): Promise<SyncReport> {
  const parsed = parsePolicyEvent(data)
  if (!parsed.ok) {
    const error = new SyncError('invalid-event', `Event not processed: ${formatIssues(parsed.issues)}`)
    return failedReport(data, error)
  }
  const event = parsed.value
  const notes: string[] = []
  if (event.skippedPreviousOrganizationId !== undefined) {
    notes.push(`previous auth0OrganizationId is not an Auth0 Organization ID, so it was never synced: skipped`)
  }
  const base = { policyId: event.policyId, revision: event.revision, notes }
  if (event.organizationIds.length === 0) {
    return { ...base, outcome: 'skipped', organizations: [], rounds: 0, error: undefined }
  }

  let state: PolicyState
  try {
    // A read that has not caught up with the event's own commit waits until it has (or fails visibly): a lagging
    // query must never pass for a later revision (a hand-over) or a deletion (a revoke).
    state = await deps.policies.load(event.policyId, event.organizationIds, expectedSubject(event))
  } catch (error) {
    return { ...base, outcome: 'failed', organizations: [], rounds: 0, error: asSyncError(error) }
  }
  // During a burst of publishes, an invocation whose revision has been published over leaves the Organization it
  // names to the later revision's invocation instead of competing with it for Auth0's rate limit.
  const supersededBy = supersedingRevision(event, state.subject)
  const handedOver: SupersededResult[] =
    supersededBy !== undefined && event.namedOrganizationId !== undefined
      ? [{ organizationId: event.namedOrganizationId, outcome: 'superseded', by: supersededBy }]
      : []
  const remaining = event.organizationIds.filter((id) => id !== handedOver[0]?.organizationId)
  if (remaining.length === 0) {
    return { ...base, outcome: 'superseded', organizations: handedOver, rounds: 0, error: undefined }
  }
  // An invalid policy stops the whole event before Auth0 is contacted. One that names no organization any more
  // has nothing to grant: its old organization is still revoked below.
  if (state.subject?.auth0OrganizationId != null) {
    const subject = parsePolicy(state.subject)
    if (!subject.ok) {
      const error = new SyncError(
        'invalid-policy',
        `Policy ${event.policyId} was not synced (nothing was sent to Auth0): ${formatIssues(subject.issues)}`,
      )
      return { ...base, outcome: 'failed', organizations: [], rounds: 0, error }
    }
  }

  if (state.subject?.status === 'active' && state.subject.auth0OrganizationId == null) {
    notes.push('policy is active but names no auth0OrganizationId: it grants nothing until one is set')
  }
  const reconciled = await reconcileUntilStable(event, remaining, state, deps, notes)
  const organizations = [...handedOver, ...reconciled.organizations]
  const own = organizations.flatMap((result) => (result.outcome === 'superseded' ? [] : [result]))
  const failures = own.flatMap((result) => (result.outcome === 'failed' ? [result.error] : []))
  return {
    ...base,
    outcome: own.length === 0 ? 'superseded' : policyOutcome(event.policyId, state.subject, own),
    organizations,
    rounds: reconciled.rounds,
    error: combine(failures),
  }
}

/** Thrown by a re-plan that finds the event's revision published over: ends that Organization's attempt. */
class Superseded extends Error {
  readonly by: string
  constructor(by: string) {
    super(`superseded by ${by}`)
    this.by = by
  }
}

/**
 * Reconciles each organization; then, because Auth0 has no conditional update and an invocation that read the
 * Content Lake before ours may land its write after ours, whoever wrote re-reads the policies and writes again
 * where they moved since its read. That second round never hands over: a write of ours may be what is stale.
 */
async function reconcileUntilStable(
  event: PolicyEvent,
  organizationIds: readonly OrganizationId[],
  state: PolicyState,
  deps: SyncDeps,
  notes: string[],
): Promise<{ organizations: EventOrganizationResult[]; rounds: number }> {
  const { policyId } = event
  const results = new Map<OrganizationId, EventOrganizationResult>()
  let pending = organizationIds
  let claimants = state.claimants
  // Whether any read of this invocation saw a published policy. The guard asks whether this reader (token, dataset)
  // can see the policies at all: once one read did, a later empty one is a dataset emptied meanwhile, and the
  // revoke of a grant this invocation just wrote must still go out.
  let anyPolicy = state.anyPolicy
  const local = deps.local === true
  const checkRevoke =
    (organizationId: OrganizationId): RevokeCheck =>
    (observed) => {
      const verdict = judgeRevokes(
        {
          policiesPublished: anyPolicy,
          releasedByEvent: releasedByEvent(event, organizationId, local, readStamp(observed)?.policyId),
          managed: 1,
          revokes: [organizationId],
          share: false,
          source: deps.policies.source,
        },
        deps.revokeGuard ?? REVOKE_GUARD_DEFAULTS,
        local ? 'local-test' : 'function',
      )
      if (verdict.allow) {
        if (verdict.overridden) notes.push(`ALLOW_MASS_REVOKE let through: ${verdict.overridden.message}`)
        return undefined
      }
      return new SyncError(verdict.reason, verdict.message, { organizationId })
    }
  // The claimants each Organization was last planned from: a plan revised after a rate-limit wait used newer ones.
  const basis = new Map<OrganizationId, readonly PolicySource[]>()
  let rounds = 0
  for (;;) {
    rounds++
    const wrote: OrganizationId[] = []
    for (const organizationId of pending) {
      basis.set(organizationId, claimants)
      const mayHandOver = rounds === 1 && organizationId === event.namedOrganizationId
      const refresh: Refresh = async ({ mayHaveWritten }) => {
        const reloaded = await deps.policies.load(policyId, [organizationId], expectedSubject(event))
        const by = mayHandOver && !mayHaveWritten ? supersedingRevision(event, reloaded.subject) : undefined
        if (by !== undefined) throw new Superseded(by)
        anyPolicy ||= reloaded.anyPolicy
        basis.set(organizationId, reloaded.claimants)
        return reloaded.claimants
      }
      let result: EventOrganizationResult
      try {
        result = await reconcileOrganization(
          organizationId,
          claimants,
          deps.organizations,
          refresh,
          checkRevoke(organizationId),
        )
      } catch (error) {
        if (!(error instanceof Superseded)) throw error
        result = { organizationId, outcome: 'superseded', by: error.by }
      }
      // A re-check that finds nothing to change must not hide the write this invocation made.
      if (result.outcome !== 'unchanged' || !results.has(organizationId)) results.set(organizationId, result)
      if (result.outcome === 'granted' || result.outcome === 'revoked') wrote.push(organizationId)
    }
    if (wrote.length === 0 || rounds > (deps.verifyRounds ?? DEFAULT_VERIFY_ROUNDS)) break
    const fresh = await deps.policies.load(policyId, wrote, expectedSubject(event)).catch(() => undefined)
    if (!fresh) break
    pending = wrote.filter(
      (id) => claimantsSignature(fresh.claimants, id) !== claimantsSignature(basis.get(id) ?? claimants, id),
    )
    claimants = fresh.claimants
    anyPolicy ||= fresh.anyPolicy
    if (pending.length === 0) break
    notes.push(`policies changed while ${pending.join(', ')} was being written: synced again`)
  }
  return { organizations: [...results.values()], rounds }
}

/** Which policy revisions claim the organization: equal signatures mean the decision would be the same. */
function claimantsSignature(claimants: readonly PolicySource[], organizationId: OrganizationId): string {
  return claimants
    .filter((claimant) => claimant.auth0OrganizationId === organizationId && claimant.status === 'active')
    .map((claimant) => `${String(claimant._id)}@${String(claimant._rev)}`)
    .sort()
    .join(',')
}

function combine(errors: readonly SyncError[]): SyncError | undefined {
  const [first] = errors
  if (!first || errors.length === 1) return first
  return new SyncError(first.reason, errors.map((error) => error.message).join(' | '), {
    retryable: errors.every((error) => error.retryable),
    cause: errors,
  })
}

function failedReport(data: unknown, error: SyncError): SyncReport {
  const id = (data as { _id?: unknown } | null)?._id
  return {
    policyId: typeof id === 'string' ? id : undefined,
    revision: undefined,
    outcome: 'failed',
    organizations: [],
    rounds: 0,
    error,
    notes: [],
  }
}

/** One line per organization, for function logs. Contains IDs and outcomes only: no metadata values, no secrets. */
export function describeReport(report: SyncReport): string[] {
  const lines = [`policy ${report.policyId ?? '?'}${report.revision ? `@${report.revision}` : ''}: ${report.outcome}`]
  for (const result of report.organizations) {
    if (result.outcome === 'failed') lines.push(`  ${result.organizationId}: failed (${result.error.reason})`)
    else if (result.outcome === 'superseded') {
      lines.push(`  ${result.organizationId}: superseded by ${result.by}, whose invocation syncs it`)
    } else {
      const why = result.plan.action === 'none' ? ` (${result.plan.reason})` : ''
      const conflicts = result.plan.conflicts.length > 0 ? `; also claimed by ${result.plan.conflicts.join(', ')}` : ''
      lines.push(`  ${result.organizationId}: ${result.outcome}${why}${conflicts}`)
    }
  }
  for (const note of report.notes) lines.push(`  note: ${note}`)
  return lines
}
