/**
 * One Organization brought in line with the Content Lake: one read, at most one write. Shared by every entry point
 * that syncs (the event handler in ./event.ts, the reconcile and the scheduled repair), so there is one path to trust.
 */
import type { Metadata, OrganizationId } from '../core/auth0-rules.ts'
import { SyncError } from '../core/errors.ts'
import { type Plan, planOrganization, rankClaimants } from '../core/planner.ts'
import { formatIssues, type PolicySource } from '../core/policy.ts'
import type { OrganizationsGateway, WriteAttempts } from '../gateways/auth0.ts'

export type OrganizationResult =
  | {
      readonly organizationId: OrganizationId
      readonly outcome: 'granted' | 'revoked' | 'unchanged'
      readonly plan: Plan
      /** The Organization's whole metadata map as Auth0 holds it after this attempt. */
      readonly metadata: Metadata
    }
  | { readonly organizationId: OrganizationId; readonly outcome: 'failed'; readonly error: SyncError }

/**
 * How the changed policy fared, in the words an editor would use. `superseded`: every Organization was left to
 * the invocation of a later revision; such an attempt records no sync status, the later one does.
 */
export type PolicyOutcome = 'synced' | 'unchanged' | 'revoked' | 'conflict' | 'skipped' | 'failed' | 'superseded'

/** The claimants as the Content Lake holds them now, for a plan made again after a rate-limit wait. */
export type Refresh = (attempts: WriteAttempts) => Promise<readonly PolicySource[]>

/** Asked right before a revoke is sent (the mass-revoke guard): an error refuses it, and nothing is written. */
export type RevokeCheck = (observed: Metadata) => SyncError | undefined

/**
 * Brings one Organization in line with the Content Lake: one read, at most one write. With `refresh`, a plan made
 * before a rate-limit wait is made again after it, from fresh claimants and a fresh read: during a burst, the
 * invocations queued on Auth0's write limit for one Organization then write its latest state once, and the others
 * find nothing left to write.
 */
export async function reconcileOrganization(
  organizationId: OrganizationId,
  claimants: readonly PolicySource[],
  organizations: OrganizationsGateway,
  refresh?: Refresh,
  checkRevoke?: RevokeCheck,
): Promise<OrganizationResult> {
  let refused: SyncError | undefined
  const refuses = (plan: Plan, observed: Metadata) =>
    plan.action === 'write' && plan.change === 'revoke' ? checkRevoke?.(observed) : undefined
  try {
    // A read that waited on a rate limit plans from the claimants reloaded after its last wait.
    let current = claimants
    const onRateLimited = async () => {
      current = await (refresh as Refresh)({ mayHaveWritten: false })
    }
    let observed = await organizations.readMetadata(organizationId, refresh && { onRateLimited })
    let plan = planOrganization({ organizationId, claimants: current, observed })
    refused = refuses(plan, observed)
    if (plan.action === 'write' && !refused) {
      const revise = async (attempts: WriteAttempts): Promise<Metadata | undefined> => {
        const fresh = await (refresh as Refresh)(attempts)
        observed = await organizations.readMetadata(organizationId)
        plan = planOrganization({ organizationId, claimants: fresh, observed })
        refused = refuses(plan, observed)
        return plan.action === 'write' && !refused ? plan.metadata : undefined
      }
      await organizations.replaceMetadata(organizationId, plan.metadata, refresh && { revise })
    }
    if (refused) return { organizationId, outcome: 'failed', error: refused }
    // A plan revised after a wait can have become a rejection (the policy turned invalid) or nothing to do.
    const final = plan as Plan
    if (final.action === 'reject') {
      const who = final.policyId ? `policy ${final.policyId}` : 'a policy'
      const message = `Organization ${organizationId} was not updated (${who}): ${formatIssues(final.issues)}`
      return { organizationId, outcome: 'failed', error: new SyncError(final.reason, message, { organizationId }) }
    }
    if (final.action === 'none') return { organizationId, outcome: 'unchanged', plan: final, metadata: observed }
    return {
      organizationId,
      outcome: final.change === 'grant' ? 'granted' : 'revoked',
      plan: final,
      metadata: final.metadata,
    }
  } catch (error) {
    const failure = asSyncError(error)
    // A deleted Organization holds nothing to revoke; only granting to one is an error.
    if (failure.reason === 'organization-not-found' && rankClaimants({ organizationId, claimants }).length === 0) {
      const plan: Plan = {
        organizationId,
        owner: undefined,
        conflicts: [],
        action: 'none',
        reason: 'organization-missing',
      }
      return { organizationId, outcome: 'unchanged', plan, metadata: {} }
    }
    return { organizationId, outcome: 'failed', error: failure }
  }
}

/** How a policy fared across its Organizations, in the words of its sync status. */
export function policyOutcome(
  policyId: string,
  subject: Pick<PolicySource, 'status'> | null,
  results: readonly OrganizationResult[],
): Exclude<PolicyOutcome, 'superseded'> {
  if (results.some((result) => result.outcome === 'failed')) return 'failed'
  const plans = results.flatMap((result) => (result.outcome === 'failed' ? [] : [result.plan]))
  if (subject?.status === 'active' && plans.some((plan) => plan.conflicts.includes(policyId))) return 'conflict'
  if (results.some((result) => result.outcome === 'granted')) return 'synced'
  if (results.some((result) => result.outcome === 'revoked')) {
    // A move whose new Organization already holds the grant (written by another copy of the same event, or by the
    // run before) and whose old one was revoked just now: the policy still grants, so its status is not `revoked`.
    const stillGrants =
      subject?.status === 'active' &&
      results.some((result) => result.outcome === 'unchanged' && result.plan.owner?.policyId === policyId)
    return stillGrants ? 'synced' : 'revoked'
  }
  return 'unchanged'
}

/** A SyncError as is; anything else is a bug, rethrown. */
export function asSyncError(error: unknown): SyncError {
  if (error instanceof SyncError) return error
  throw error
}
