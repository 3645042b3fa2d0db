/**
 * The entry logic shared by the two fan-out functions (functions/fan-out-role, functions/fan-out-plan): wire the
 * Content Lake and Auth0 gateways to the fan-out shell, log, fail the invocation visibly when something failed.
 */
import { randomUUID } from 'node:crypto'
import process from 'node:process'
import { createClient } from '@sanity/client'
import { documentEventHandler } from '@sanity/functions'
import {
  credentialKey,
  readAuth0Config,
  readFanOutBudgetSeconds,
  readFanOutMaxWrites,
  readRevokeGuard,
  readSanityClientOptions,
} from './config.ts'
import { chainHop, type FanOutEventData, type FanOutKind, leaseOwnerId } from './core/fanout.ts'
import { assertDeployedScope } from './core/scope.ts'
import { type Auth0Connection, connectAuth0 } from './gateways/auth0.ts'
import { createFanOutStore } from './gateways/fanout.ts'
import { awaitQueryCaughtUp, createPolicyReader } from './gateways/sanity.ts'
import { describeFanOut, runFanOutEvent } from './sync/fanout.ts'

const SANITY_API_VERSION = '2025-05-01'
/** Time kept for the status write after the last Auth0 write may start. */
const LEASE_MARGIN_MS = 25_000
// Module scope survives between invocations of a warm instance, and so does the SDK's cached Auth0 token.
let auth0: { key: string; connection: Auth0Connection } | undefined

export function fanOutHandler(kind: FanOutKind) {
  return documentEventHandler<FanOutEventData>(async ({ context, event }) => {
    assertDeployedScope(process.env, context)
    const client = createClient({
      apiVersion: SANITY_API_VERSION,
      useCdn: false,
      ...readSanityClientOptions(context.clientOptions),
    })
    // The reads below join the role or plan that changed: held until queries show the commit that fired this.
    if (typeof event.data?._id === 'string') await awaitQueryCaughtUp(client, event.data._id)
    const config = readAuth0Config(process.env)
    const maxWrites = readFanOutMaxWrites(process.env)
    const revokeGuard = readRevokeGuard(process.env)
    const key = credentialKey(config)
    if (auth0?.key !== key) auth0 = { key, connection: connectAuth0(config) }
    const deadline = Date.now() + readFanOutBudgetSeconds(process.env) * 1000
    const report = await runFanOutEvent(
      kind,
      event.data,
      {
        reconcile: { policies: createPolicyReader(client), organizations: auth0.connection.forInvocation(deadline) },
        store: createFanOutStore(client),
        invocationId: leaseOwnerId(eventKey(kind, event.data, process.env.X_SANITY_LINEAGE), randomUUID()),
      },
      {
        deadline,
        maxWrites,
        leaseMarginMs: LEASE_MARGIN_MS,
        revokeGuard,
        ...(process.env.X_SANITY_LINEAGE?.trim() ? { hop: chainHop(process.env.X_SANITY_LINEAGE) } : {}),
      },
    )
    for (const line of describeFanOut(report)) console.log(line)
    if (report.error) throw report.error
  })
}

/**
 * What names one event across its deliveries: the function, the document that fired it and the lineage the
 * platform runs the invocation with (X_SANITY_LINEAGE, the chain's id and hop count, which a redelivery of the same
 * event carries again; assumption, as the platform documents no redelivery). Without a lineage, none: the lease
 * then names the attempt only, as before.
 */
function eventKey(
  kind: FanOutKind,
  data: FanOutEventData | undefined,
  lineage: string | undefined,
): string | undefined {
  const id = data?._id
  if (typeof id !== 'string' || !lineage?.trim()) return undefined
  return `fan-out-${kind}:${id}:${lineage.trim()}`
}
