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
import { readBacklog } from '../../src/gateways/backlog.ts'
import { createPolicyStore, SANITY_API_VERSION } from '../../src/gateways/sanity.ts'
import { recordSyncStatus } from '../../src/gateways/status.ts'
import { failedBeforeSync, statusReportOf } from '../../src/status.ts'
import { describeReport, type SyncDeps, type SyncReport, syncPolicyEvent } from '../../src/sync.ts'

/**
 * The repair step (SYNC_REPAIR_STEP_LIMIT, default 0: off): after its own event, an invocation syncs up to this many
 * policies whose status is missing or behind (their own event was dropped by the invocation caps, failed before
 * recording, or was killed), so a deploy without the scheduled repair converges. Cost per event: one query; when a
 * backlog exists, up to this many policy syncs more (each a policy query and a read, a write only where Auth0
 * differs, a status write). Off by default until the suites that count requests are checked with it on.
 */
/** Concurrent invocations pick at random among this many of the oldest, so they seldom repair the same policy. */
const REPAIR_STEP_WINDOW = 50

// Module scope survives between invocations of a warm instance, and so does the SDK's cached Auth0 token.
let auth0: { key: string; connection: Auth0Connection } | undefined

function organizations(): OrganizationsGateway {
  const config = readAuth0Config(process.env)
  const key = credentialKey(config)
  if (auth0?.key !== key) auth0 = { key, connection: connectAuth0(config) }
  // A cold instance fetches its token while the policy is queried: one round trip less before the first read.
  auth0.connection.prefetchToken()
  return auth0.connection.forInvocation(Date.now() + config.budgetSeconds * 1000)
}

export const handler = documentEventHandler<PolicyEventData>(async ({ context, event }) => {
  // First: an event from another dataset (a staging copy) must not reach this environment's tenant, nor its
  // status documents; and without a project there is nowhere to read policies from. Nothing else runs then.
  assertDeployedScope(process.env, context)
  const clientOptions = readSanityClientOptions(context.clientOptions)
  const client = createClient({ apiVersion: SANITY_API_VERSION, useCdn: false, ...clientOptions })
  let report: SyncReport
  let repairLimit = 0
  try {
    repairLimit = readRepairStepLimit(process.env)
    report = await syncPolicyEvent(event.data, {
      policies: createPolicyStore(client),
      organizations: organizations(),
      revokeGuard: readRevokeGuard(process.env),
      local: context.local === true,
    })
  } catch (error) {
    // Settings are read before the sync starts: editors see that failure in the Studio too.
    if (error instanceof SyncError) await recordSyncStatus(client, event.data, failedBeforeSync(event.data, error))
    throw error
  }
  for (const line of describeReport(report)) console.log(line)
  // Never throws: a status that cannot be written is logged, and the invocation's result stays the sync's own.
  const status = statusReportOf(report)
  if (status) await recordSyncStatus(client, event.data, status)
  if (repairLimit > 0)
    await repairStep(client, typeof event.data?._id === 'string' ? event.data._id : '', repairLimit, {
      policies: createPolicyStore(client),
      organizations: organizations(),
      revokeGuard: readRevokeGuard(process.env),
      local: context.local === true,
    })
  if (report.error) throw report.error
})

/** Syncs a few policies left behind (SYNC_REPAIR_STEP_LIMIT); logs what it did, never fails the invocation. */
async function repairStep(
  client: ReturnType<typeof createClient>,
  self: string,
  limit: number,
  deps: SyncDeps,
): Promise<void> {
  let backlog: Awaited<ReturnType<typeof readBacklog>>
  try {
    backlog = await readBacklog(client, self, REPAIR_STEP_WINDOW)
  } catch (error) {
    console.log(`repair step: backlog not read (${error instanceof Error ? error.message : String(error)})`)
    return
  }
  if (backlog.length === 0) return
  const picked = backlog
    .map((entry) => ({ entry, order: Math.random() }))
    .sort((a, b) => a.order - b.order)
    .slice(0, limit)
  let synced = 0
  for (const { entry } of picked) {
    const data = {
      _id: entry._id,
      _rev: entry._rev,
      operation: 'update',
      auth0OrganizationId: entry.auth0OrganizationId,
    }
    const report = await syncPolicyEvent(data, deps)
    const status = statusReportOf(report)
    if (status) await recordSyncStatus(client, data, status)
    if (!report.error) synced++
    // The invocation's own event comes first: stop at the first sign of a limit or an outage.
    else if (report.error.retryable) break
  }
  console.log(`repair step: ${backlog.length} behind (of the ${REPAIR_STEP_WINDOW} oldest read), ${synced} synced`)
}
