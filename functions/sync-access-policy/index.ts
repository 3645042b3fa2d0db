import process from 'node:process'
import { createClient } from '@sanity/client'
import { documentEventHandler } from '@sanity/functions'
import { credentialKey, readAuth0Config, readRevokeGuard, readSanityClientOptions } from '../../src/config.ts'
import { SyncError } from '../../src/core/errors.ts'
import type { PolicyEventData } from '../../src/core/event.ts'
import { assertDeployedScope } from '../../src/core/scope.ts'
import { type Auth0Connection, connectAuth0, type OrganizationsGateway } from '../../src/gateways/auth0.ts'
import { createPolicyStore, SANITY_API_VERSION } from '../../src/gateways/sanity.ts'
import { recordSyncStatus } from '../../src/gateways/status.ts'
import { failedBeforeSync, statusReportOf } from '../../src/status.ts'
import { describeReport, type SyncReport, syncPolicyEvent } from '../../src/sync.ts'

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
  try {
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
  if (report.error) throw report.error
})
