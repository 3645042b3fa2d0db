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
  readonly revision: string | undefined
  /** Organizations to reconcile: the one the policy names now and, if it changed, the one it named before. */
  readonly organizationIds: readonly OrganizationId[]
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
      revision: typeof data._rev === 'string' ? data._rev : undefined,
      organizationIds,
      skippedPreviousOrganizationId,
    },
  }
}
