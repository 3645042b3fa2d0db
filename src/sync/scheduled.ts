/**
 * The scheduled repair, part of the one shell: each run first retries the policies whose last sync failed
 * (bounded), then continues the pass over the tenant from the durable cursor, writing what fits its time and
 * write budget. Auth0's rate limits are honoured by the gateway's retry policy; a write that would not finish
 * before the deadline is left for the next run, which resumes exactly there. So no Organization starves: the
 * cursor only moves forward past what was handled, and wraps around at the end of the tenant.
 *
 * A run whose revokes the mass-revoke guard refuses records why in its status, then fails (throws), so the
 * refusal shows where invocations are watched; its grants are written all the same.
 *
 * A stored cursor Auth0 refuses (its checkpoint expired, or its Organization is gone) cannot wedge the repair: the
 * pass lists from the start instead (src/sync/reconcile.ts), and the run's status and log say so.
 */
import { SyncError } from '../core/errors.ts'
import { type FailedPolicy, repairFirst } from '../core/reconcile.ts'
import { REVOKE_GUARD_DEFAULTS, type RevokeGuardSettings } from '../core/revoke-guard.ts'
import type { RepairStore } from '../gateways/repair-state.ts'
import { describeRefusal } from '../reconcile-status.ts'
import { type OrganizationResult, policyOutcome } from './organization.ts'
import { type ReconcileDeps, type ReconcileResult, reconcileTenant } from './reconcile.ts'

export interface RepairOptions {
  /** Epoch ms: no write starts unless it can finish before. */
  readonly deadline: number
  readonly maxWrites?: number
  /** Time kept in hand per write, rate-limit waits included. */
  readonly reserveMs?: number
  readonly now?: () => Date
  /** REVOKE_GUARD_* and ALLOW_MASS_REVOKE; default REVOKE_GUARD_DEFAULTS. */
  readonly revokeGuard?: RevokeGuardSettings
  /** Where the run says what an operator should know (a refused checkpoint). Default console.warn. */
  readonly log?: (line: string) => void
}

export interface RepairRun {
  readonly results: readonly ReconcileResult[]
  /** Failed policies whose Organizations are all in sync now, and whose sync status says so again. */
  readonly repairedPolicies: readonly string[]
}

export async function runScheduledRepair(
  deps: ReconcileDeps & { readonly store: RepairStore },
  options: RepairOptions,
): Promise<RepairRun> {
  const now = options.now ?? (() => new Date())
  const runAt = now()
  const state = await deps.store.load()
  const budget = { deadline: options.deadline, reserveMs: options.reserveMs ?? 0 }
  const settings = options.revokeGuard ?? REVOKE_GUARD_DEFAULTS
  const results: ReconcileResult[] = []
  let pass: ReconcileResult | undefined
  let repairedPolicies: string[] = []
  try {
    const first = repairFirst(state.failed)
    let writes = 0
    if (first.length > 0) {
      const organizationIds = [...new Set(first.flatMap((policy) => policy.organizationIds))]
      const retried = await reconcileTenant(deps, {
        ...budget,
        apply: true,
        maxWrites: options.maxWrites,
        scope: {
          byId: true,
          organizationIds,
          policyIds: first.flatMap((policy) => (policy.policyId ? [policy.policyId] : [])),
        },
        track: 'all',
        revokeGuard: { settings, entry: 'scheduled', share: false },
      })
      results.push(retried)
      writes = retried.summary.writes
      repairedPolicies = await recordRepaired(deps.store, first, retried.tracked)
    }
    if (!results.some((result) => result.stopped)) {
      const maxWrites = options.maxWrites === undefined ? undefined : Math.max(0, options.maxWrites - writes)
      pass = await reconcileTenant(deps, {
        ...budget,
        apply: true,
        cursor: state.cursor,
        maxWrites,
        revokeGuard: { settings, entry: 'scheduled' },
      })
      results.push(pass)
      if (pass.checkpointRefused) (options.log ?? console.warn)(`reconcile: ${describeRefusal(pass.checkpointRefused)}`)
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const reason = (error as { reason?: unknown }).reason
    await deps.store.recordRun({
      runAt,
      durationMs: now().getTime() - runAt.getTime(),
      results,
      error: { reason: typeof reason === 'string' ? reason : 'error', message },
      cursor: state.cursor,
    })
    throw error
  }
  const refusal = refusalOf(results)
  await deps.store.recordRun({
    runAt,
    durationMs: now().getTime() - runAt.getTime(),
    results,
    ...(refusal ? { error: { reason: refusal.reason, message: refusal.message } } : {}),
    // A run that ran out of budget while retrying never reached the pass: the cursor stays where it was.
    cursor: pass?.cursor ?? state.cursor,
  })
  if (refusal) throw refusal
  return { results, repairedPolicies }
}

/** The mass-revoke guard's refusal in any of the run's results, as the error the invocation fails with. */
function refusalOf(results: readonly ReconcileResult[]): SyncError | undefined {
  for (const { revokeGuard } of results) {
    if (!revokeGuard.allow) return new SyncError(revokeGuard.reason, `Scheduled repair: ${revokeGuard.message}`)
  }
  return undefined
}

/** Writes a fresh sync status for each failed policy whose Organizations all came out in sync. */
async function recordRepaired(
  store: RepairStore,
  failed: readonly FailedPolicy[],
  tracked: ReadonlyMap<string, OrganizationResult>,
): Promise<string[]> {
  const repaired: string[] = []
  for (const { policyId, organizationIds } of failed) {
    if (policyId === undefined) continue
    const policy = { policyId, organizationIds }
    const mine = [...tracked.values()].filter(
      (result) =>
        policy.organizationIds.includes(result.organizationId) ||
        (result.outcome !== 'failed' &&
          (result.plan.owner?.policyId === policy.policyId || result.plan.conflicts.includes(policy.policyId))),
    )
    if (mine.length === 0 || mine.some((result) => result.outcome === 'failed')) continue
    if (policy.organizationIds.some((id) => !tracked.has(id))) continue
    const owner = mine.flatMap((result) =>
      result.outcome !== 'failed' && result.plan.owner?.policyId === policy.policyId ? [result.plan.owner] : [],
    )[0]
    const written = await store.recordPolicy({
      policyId: policy.policyId,
      revision: owner?.rev,
      outcome: policyOutcome(policy.policyId, owner ? { status: 'active' } : null, mine),
      organizations: mine,
      error: undefined,
      notes: ['repaired by the scheduled reconcile: the last sync had failed'],
    })
    if (written) repaired.push(policy.policyId)
  }
  return repaired
}
