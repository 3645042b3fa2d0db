import { randomUUID } from 'node:crypto'
import process from 'node:process'
import { scheduledEventHandler } from '@sanity/functions'
import { readReconcileConfig } from '../../src/config.ts'
import { assertDeployedScope } from '../../src/core/scope.ts'
import { connectAuth0 } from '../../src/gateways/auth0.ts'
import { createFanOutStore } from '../../src/gateways/fanout.ts'
import { createRepairStore } from '../../src/gateways/repair-state.ts'
import { createPolicyReader, sanityClient } from '../../src/gateways/sanity.ts'
import { describeFanOut, resumeStalledFanOuts } from '../../src/sync/fanout.ts'
import { runScheduledRepair } from '../../src/sync/scheduled.ts'

/** Time left for the run's status write after the last Auth0 write may start. */
const RESERVE_MS = 15_000

/**
 * The scheduled repair (opt-in, see sanity.blueprint.ts): reconciles Auth0 with what is published, within its time
 * budget, resuming where the previous run stopped. A scheduled function's context carries only a token, so the
 * project and dataset come from SANITY_PROJECT_ID / SANITY_DATASET.
 */
export const handler = scheduledEventHandler(async ({ context }) => {
  const started = Date.now()
  assertDeployedScope(process.env, context)
  const hint = 'Deployed, run `npx sanity functions env add reconcile-access <NAME> <value>`.'
  const { sanity, auth0, repair, guard } = readReconcileConfig(process.env, { tokenFromRuntime: true, hint })
  // The runtime's token, and its API host unless SANITY_API_HOST names another.
  const apiHost = sanity.apiHost ? undefined : context.clientOptions?.apiHost
  const client = sanityClient(
    { ...sanity, token: context.clientOptions?.token || sanity.token },
    apiHost ? { apiHost } : {},
  )
  const deadline = started + repair.budgetSeconds * 1000
  const organizations = connectAuth0(auth0).forInvocation(deadline)
  const { results, repairedPolicies } = await runScheduledRepair(
    {
      policies: createPolicyReader(client),
      organizations,
      store: createRepairStore(client),
    },
    {
      deadline,
      reserveMs: RESERVE_MS,
      revokeGuard: guard,
      ...(repair.maxWrites ? { maxWrites: repair.maxWrites } : {}),
    },
  )
  for (const result of results) {
    const { counts, writes } = result.summary
    console.log(
      `reconcile: ${writes} written, ${counts.failed} failed, ${counts.invalid} invalid, ${result.unapplied.length} left for the next run${result.stopped ? ` (stopped: ${result.stopped})` : ''}`,
    )
  }
  if (repairedPolicies.length > 0) console.log(`reconcile: sync status repaired for ${repairedPolicies.join(', ')}`)
  // Role and plan fan-outs whose last invocation died before recording (no event follows): continued here.
  const fanOuts = await resumeStalledFanOuts(
    {
      reconcile: { policies: createPolicyReader(client), organizations },
      store: createFanOutStore(client),
      invocationId: randomUUID(),
    },
    { deadline, reserveMs: RESERVE_MS, leaseMarginMs: RESERVE_MS, revokeGuard: guard },
  )
  for (const line of fanOuts.flatMap(describeFanOut)) console.log(line)
})
