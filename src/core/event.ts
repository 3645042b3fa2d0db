/**
 * The function's input, validated at the edge. The event only says which policy changed and which
 * organizations it named before and after; what to write is decided from the Content Lake (see planner.ts).
 */
import { isOrganizationId, type OrganizationId, organizationIdProblem } from './auth0-rules.ts'
import { type Issue, isRecord, type Parsed } from './policy.ts'

export type Operation = 'create' | 'update' | 'delete'

export interface PolicyEvent {
  readonly policyId: string
  readonly operation: Operation
  /** The CLI ran the function on one document (`delta::operation()` is null): no later events follow it. */
  readonly byHand: boolean
  readonly revision: string | undefined
  /** Organizations to reconcile: the one the policy names now and, if it changed, the one it named before. */
  readonly organizationIds: readonly OrganizationId[]
  /** The Organization the event's own revision names, if any (the first of `organizationIds`). */
  readonly namedOrganizationId: OrganizationId | undefined
  /** A previous organization ID that is not a valid ID was never written by us; it is skipped, not contacted. */
  readonly skippedPreviousOrganizationId: string | undefined
}

/** The shape of `event.data`, as the blueprint's projection produces it. */
export interface PolicyEventData {
  _id?: unknown
  _rev?: unknown
  operation?: unknown
  auth0OrganizationId?: unknown
  previousOrganizationId?: unknown
}

const OPERATIONS: readonly unknown[] = ['create', 'update', 'delete']

export function parsePolicyEvent(data: unknown): Parsed<PolicyEvent> {
  if (!isRecord(data)) return { ok: false, issues: [{ field: 'event.data', message: 'expected the projected policy' }] }
  const issues: Issue[] = []
  const policyId = data._id
  if (typeof policyId !== 'string' || policyId === '') {
    issues.push({ field: '_id', message: 'the event carries no document ID: check the blueprint projection keeps _id' })
  }
  // `delta::operation()` is null when the CLI runs the function on a single document: treat that as an update.
  const operation = (data.operation ?? 'update') as Operation
  if (!OPERATIONS.includes(operation)) {
    issues.push({ field: 'operation', message: `expected create, update or delete, got ${String(data.operation)}` })
  }
  const organizationIds: OrganizationId[] = []
  const current = data.auth0OrganizationId
  if (current !== undefined && current !== null) {
    const problem = organizationIdProblem(current)
    if (problem) issues.push({ field: 'auth0OrganizationId', message: problem })
    else organizationIds.push(current as OrganizationId)
  }
  const previous = data.previousOrganizationId
  let skippedPreviousOrganizationId: string | undefined
  if (isOrganizationId(previous)) {
    if (!organizationIds.includes(previous)) organizationIds.push(previous)
  } else if (previous !== undefined && previous !== null) {
    skippedPreviousOrganizationId = String(previous)
  }
  if (issues.length > 0) return { ok: false, issues }
  return {
    ok: true,
    value: {
      policyId: policyId as string,
      operation,
      byHand: data.operation === undefined || data.operation === null,
      revision: typeof data._rev === 'string' ? data._rev : undefined,
      organizationIds,
      namedOrganizationId: isOrganizationId(current) ? current : undefined,
      skippedPreviousOrganizationId,
    },
  }
}

/**
 * Whether a later revision of the policy has been published since the event's own, and so the invocation for it
 * owns the Organization the event's revision names. Said as the later revision (or "a deletion"); undefined when
 * the event is the latest, when it cannot be told (no revision in the projection, a delete event), and when the
 * CLI ran the function on a document by hand: the operator asked for that document to be synced.
 *
 * Why the later invocation owns that Organization, and only that one: the first revision published after the
 * event's own has the event's revision as `before()`, so the blueprint's filter
 * (`defined(before().auth0OrganizationId)`) passes it and its event lists this Organization as the previous one.
 * The Organization the event's revision moved away from is in no later event, so its revoke stays with this one.
 * `subject` is the policy as the Content Lake holds it now, read after the event's revision was committed.
 */
export function supersedingRevision(
  event: Pick<PolicyEvent, 'operation' | 'byHand' | 'revision' | 'namedOrganizationId'>,
  subject: { readonly _rev?: unknown } | null,
): string | undefined {
  const handsOver = !event.byHand && event.operation !== 'delete' && event.namedOrganizationId !== undefined
  if (!handsOver || event.revision === undefined) return undefined
  if (subject === null) return 'a deletion'
  return typeof subject._rev === 'string' && subject._rev !== event.revision ? `revision ${subject._rev}` : undefined
}

/**
 * What the policy must look like to a read that has caught up with the event's own commit: its revision, or gone
 * after a delete. Undefined when it cannot be told (no revision in the projection, a run by hand): then no read is
 * held back. Queries lag commits (Sanity docs "Transactions"), so a query that shows anything else has either not
 * caught up yet or sees a later revision; only the Doc API, which reads the document itself, tells which.
 */
export type ExpectedSubject = { readonly revision: string } | { readonly deleted: true }

export function expectedSubject(
  event: Pick<PolicyEvent, 'operation' | 'byHand' | 'revision'>,
): ExpectedSubject | undefined {
  if (event.byHand) return undefined
  if (event.operation === 'delete') return { deleted: true }
  return event.revision === undefined ? undefined : { revision: event.revision }
}

/** Whether a read's view of the subject (its `_rev`, or null when absent) is the one the event expects. */
export function showsExpected(expected: ExpectedSubject, rev: string | null): boolean {
  return 'deleted' in expected ? rev === null : rev === expected.revision
}
