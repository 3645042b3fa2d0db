/**
 * The fan-out of a role or plan edit, pure: which event it is, which Organizations it must re-sync, and the
 * bookkeeping that lets a fan-out larger than one invocation's budget be finished by the next ones. The work list
 * (`pending`) is durable in an `accessFanOutStatus` document per role or plan: an invocation claims it (a lease),
 * reconciles what fits its budget with the shared engine, and writes back what is left. The shell is
 * src/sync/fanout.ts; the Content Lake side src/gateways/fanout.ts.
 */
import { isOrganizationId } from './auth0-rules.ts'
import { DEFAULT_PLAN } from './metadata.ts'
import { isRecord, type Parsed } from './policy.ts'

export type FanOutKind = 'role' | 'plan'
export const FANOUT_KINDS: readonly FanOutKind[] = ['role', 'plan']

export const FANOUT_STATUS_TYPE = 'accessFanOutStatus'
/** A dot path: not publicly readable, like the sync statuses. */
export const fanOutStatusId = (subjectId: string): string => `${FANOUT_STATUS_TYPE}.${subjectId}`

/** The blueprint's projection for both the subject's own events and the continuation (status document) events. */
export interface FanOutEventData {
  _id?: unknown
  _type?: unknown
  operation?: unknown
  /** The role's or plan's ID, on a continuation event (the status document's `subjectId`). */
  subjectId?: unknown
  /** Plan events: the key now and before (a deleted plan's key is its last one). */
  keys?: unknown
}

export interface FanOutEvent {
  readonly kind: FanOutKind
  /** The role or plan document (published ID). */
  readonly subjectId: string
  readonly operation: 'create' | 'update' | 'delete'
  /** True for a follow-up on the status document: only the recorded work is done, no new targets are looked up. */
  readonly continuation: boolean
  /** Plan keys whose policies are affected (current and previous); empty for roles. */
  readonly keys: readonly string[]
}

export function parseFanOutEvent(kind: FanOutKind, data: unknown): Parsed<FanOutEvent> {
  const fail = (field: string, message: string): Parsed<never> => ({ ok: false, issues: [{ field, message }] })
  if (!isRecord(data)) return fail('event.data', `expected the projected ${kind} or its fan-out status`)
  const continuation = data._type === FANOUT_STATUS_TYPE
  const subjectId = continuation ? data.subjectId : data._id
  if (typeof subjectId !== 'string' || subjectId === '') {
    return fail(continuation ? 'subjectId' : '_id', 'the event names no document: check the blueprint projection')
  }
  if (!continuation && data._type !== undefined && data._type !== kind) {
    return fail('_type', `expected a ${kind} document, got ${String(data._type)}`)
  }
  const operation = data.operation ?? 'update'
  if (operation !== 'create' && operation !== 'update' && operation !== 'delete') {
    return fail('operation', `expected create, update or delete, got ${String(data.operation)}`)
  }
  const keys = Array.isArray(data.keys)
    ? [...new Set(data.keys.filter((key): key is string => typeof key === 'string' && key !== ''))]
    : []
  return { ok: true, value: { kind, subjectId, operation, continuation, keys } }
}

/** An active published policy the subject feeds, as the targets query returns it. */
export interface FedPolicy {
  readonly _id: string
  readonly auth0OrganizationId: unknown
  readonly plan?: unknown
  /** Whether its role reference (roles) or its plan key (plans) resolves to a published document. */
  readonly resolves?: unknown
}

/** The Organizations to re-sync: those the fed policies name, distinct, in the order given. */
export function targetOrganizations(policies: readonly FedPolicy[]): string[] {
  return [
    ...new Set(
      policies.flatMap((policy) => (isOrganizationId(policy.auth0OrganizationId) ? [policy.auth0OrganizationId] : [])),
    ),
  ]
}

/**
 * Policies the edit leaves invalid, reported on the status: a deleted role's policies (their reference dangles; the
 * planner rejects them and nothing is written), and the policies whose plan key no published plan has any more (the
 * plan was deleted or its key changed; they are synced with no entitlements, fail closed).
 */
export function orphanedPolicies(kind: FanOutKind, policies: readonly FedPolicy[]): InvalidPolicy[] {
  return policies
    .filter((policy) => policy.resolves === false)
    .map((policy) => ({
      policyId: policy._id,
      organizationId: typeof policy.auth0OrganizationId === 'string' ? policy.auth0OrganizationId : undefined,
      message:
        kind === 'role'
          ? 'role: references a role that was deleted or unpublished: pick another role and publish the policy (nothing was written to Auth0)'
          : `plan: "${typeof policy.plan === 'string' ? policy.plan : DEFAULT_PLAN}" is not the key of a published plan any more: the organization gets no entitlements until the policy names a published plan`,
    }))
}

export interface InvalidPolicy {
  readonly policyId: string
  readonly organizationId: string | undefined
  readonly message: string
}

/** Distinct IDs, first occurrence first. */
export function mergePending(...lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())]
}

export interface Lease {
  readonly owner: string
  /** Epoch ms. */
  readonly until: number
}

/**
 * A lease owner names the event and the attempt: `<event key>#<attempt>`. The event key is the same for every
 * delivery of one event (a redelivery, a duplicate copy), so a retried invocation recognises the lease its killed
 * first attempt took instead of waiting for it to run out. No key (the event could not be named): the attempt only.
 */
export function leaseOwnerId(eventKey: string | undefined, attempt: string): string {
  return eventKey ? `${eventKey}#${attempt}` : attempt
}

/** The event a lease owner was claimed for; undefined when it names an attempt only. */
export function leaseEventKey(owner: string): string | undefined {
  const at = owner.lastIndexOf('#')
  return at > 0 ? owner.slice(0, at) : undefined
}

/**
 * Who holds the fan-out's work list now: nobody (no lease, or it ran out), this invocation, another delivery of the
 * same event (a killed attempt or a duplicate copy: taken over; the other copy, if alive, notices and stops), or
 * another event's invocation (its lease is respected).
 */
export function leaseHolder(lease: Lease | undefined, me: string, now: number): 'free' | 'me' | 'same-event' | 'other' {
  if (lease === undefined || lease.owner === '' || lease.until <= now) return 'free'
  if (lease.owner === me) return 'me'
  const key = leaseEventKey(me)
  return key !== undefined && leaseEventKey(lease.owner) === key ? 'same-event' : 'other'
}

/** Whether another event's invocation is working on the fan-out now (its lease has not run out). */
export function heldByOther(lease: Lease | undefined, me: string, now: number): boolean {
  return leaseHolder(lease, me, now) === 'other'
}

/**
 * What is still to do after a run: what the status holds now minus what this run finished. If new work was merged
 * in while the run held the lease (`generation` moved), the subject changed again, so nothing is taken off: the
 * Organizations it finished may have been synced from the older state.
 */
export function remainingAfterRun(
  stored: { readonly pending: readonly string[]; readonly generation: number },
  startedAtGeneration: number,
  finished: ReadonlySet<string>,
): string[] {
  if (stored.generation !== startedAtGeneration) return [...stored.pending]
  return stored.pending.filter((id) => !finished.has(id))
}

/** Failures that a later run can get past without anyone changing anything: such Organizations stay pending. */
export const RETRYABLE_REASONS: readonly string[] = ['auth0-unavailable', 'content-lake-unavailable']

/** Most invalid policies and failures listed on the status; the counts say how many there were. */
export const FANOUT_LIST_LIMIT = 20

/**
 * A chain of function-caused writes stops after this many hops: the 17th is not delivered (`MAX_RECURSION_COUNT`,
 * @sanity/functions invoke.js). Each fan-out invocation is one hop; its write-back starts the next.
 */
export const MAX_CHAIN_HOPS = 16

/**
 * Which hop of its chain an invocation is, from the lineage the platform runs it with (`<chain id>:<count>`,
 * X_SANITY_LINEAGE, @sanity/functions `buildLineageToken`); 1 when it starts a chain or there is no lineage.
 */
export function chainHop(lineage: string | undefined): number {
  const parts = lineage?.trim().split(':') ?? []
  const count = parts.length > 1 ? Number.parseInt(parts.at(-1) ?? '', 10) : Number.NaN
  return Number.isFinite(count) && count > 0 ? count : 1
}

/**
 * An equal share of what is pending over the hops left, this one included: recorded on the status with each hop,
 * so an operator sees whether the chain keeps pace. A hop does as much as its budget allows (a small list finishes
 * in one); the alarm is the pace (src/sync/fanout.ts, `chainProblem`).
 */
export function hopShare(pending: number, hop: number, maxHops: number = MAX_CHAIN_HOPS): number {
  const left = Math.max(1, maxHops - hop + 1)
  return Math.ceil(pending / left)
}

export type FanOutPhase = 'running' | 'pending' | 'done'

/** How the status reads in the Studio: `running` while an invocation holds the lease, `pending` while work is left. */
export function fanOutPhase(pending: number, lease: Lease | undefined, now: number): FanOutPhase {
  if (lease && lease.until > now) return 'running'
  return pending > 0 ? 'pending' : 'done'
}
