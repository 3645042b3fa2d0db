import process from 'node:process'
import { createClient } from '@sanity/client'
import { documentEventHandler } from '@sanity/functions'
import {
  credentialKey,
  readAuth0Config,
  readRepairStepLimit,
  readRevokeGuard,
  readSanityClientOptions,
} from '../../src/config.ts'
import { SyncError } from '../../src/core/errors.ts'
import type { PolicyEventData } from '../../src/core/event.ts'
import { assertDeployedScope } from '../../src/core/scope.ts'
import { type Auth0Connection, connectAuth0, type OrganizationsGateway } from '../../src/gateways/auth0.ts'
import { backlogAfterLoad, readBacklog } from '../../src/gateways/backlog.ts'
import { createPolicyStore, SANITY_API_VERSION } from '../../src/gateways/sanity.ts'
import { recordSyncStatus } from '../../src/gateways/status.ts'
import { failedBeforeSync, statusReportOf } from '../../src/status.ts'
import { describeReport, type SyncDeps, type SyncReport, syncPolicyEvent } from '../../src/sync/event.ts'
import { runRepairStep } from '../../src/sync/repair-step.ts'

/**
 * The repair step (src/sync/repair-step.ts, SYNC_REPAIR_STEP_LIMIT, default 3): after its own event, an invocation
 * syncs a few policies whose last sync is missing, behind or a retryable failure, so the default deploy (no schedule)
 * converges. Concurrent invocations pick at random among the REPAIR_STEP_WINDOW oldest, so they seldom repair the
 * same policy. It shares the invocation's Auth0 deadline and starts no repair in the second half of the budget. Its
 * backlog query goes out once the event's own read has caught up, alongside its Auth0 requests and status write:
 * when nothing is behind the step adds a request, not a round trip in a row.
 */
const REPAIR_STEP_WINDOW = 50

// Module scope survives between invocations of a warm instance, and so does the SDK's cached Auth0 token.
let auth0: { key: string; connection: Auth0Connection } | undefined

function organizations(started: number): { gateway: OrganizationsGateway; budgetMs: number } {
  const config = readAuth0Config(process.env)
  const key = credentialKey(config)
  if (auth0?.key !== key) auth0 = { key, connection: connectAuth0(config) }
  // A cold instance fetches its token while the policy is queried: one round trip less before the first read.
  auth0.connection.prefetchToken()
  const budgetMs = config.budgetSeconds * 1000
  return { gateway: auth0.connection.forInvocation(started + budgetMs), budgetMs }
}

export const handler = documentEventHandler<PolicyEventData>(async ({ context, event }) => {
  // First: an event from another dataset (a staging copy) must not reach this environment's tenant, nor its
  // status documents; and without a project there is nowhere to read policies from. Nothing else runs then.
  assertDeployedScope(process.env, context)
  const clientOptions = readSanityClientOptions(context.clientOptions)
  const client = createClient({ apiVersion: SANITY_API_VERSION, useCdn: false, ...clientOptions })
  const started = Date.now()
  let report: SyncReport
  let deps: SyncDeps
  let repairLimit = 0
  let budgetMs = 0
  const store = createPolicyStore(client)
  const self = typeof event.data?._id === 'string' ? event.data._id : ''
  const reads = backlogAfterLoad(store, () => readBacklog(client, self, REPAIR_STEP_WINDOW))
  try {
    repairLimit = readRepairStepLimit(process.env)
    const auth0 = organizations(started)
    budgetMs = auth0.budgetMs
    deps = {
      // With the step off, the plain store: no backlog query at all.
      policies: repairLimit > 0 ? reads.store : store,
      organizations: auth0.gateway,
      revokeGuard: readRevokeGuard(process.env),
      local: context.local === true,
    }
    report = await syncPolicyEvent(event.data, deps)
  } catch (error) {
    // Settings are read before the sync starts: editors see that failure in the Studio too.
    if (error instanceof SyncError) await recordSyncStatus(client, event.data, failedBeforeSync(event.data, error))
    throw error
  }
  for (const line of describeReport(report)) console.log(line)
  // Never throws: a status that cannot be written is logged, and the invocation's result stays the sync's own.
  const status = statusReportOf(report)
  if (status) await recordSyncStatus(client, event.data, status)
  // Not while Auth0 or the Content Lake is failing this invocation: its syncs would only add to the outage.
  if (!report.error?.retryable) {
    await runRepairStep(
      {
        backlog: reads.backlog,
        sync: (data) => syncPolicyEvent(data, deps),
        record: (data, repaired) => recordSyncStatus(client, data, repaired),
        statusOf: statusReportOf,
      },
      { limit: repairLimit, startBefore: started + budgetMs / 2 },
    )
  }
  if (report.error) throw report.error
})
