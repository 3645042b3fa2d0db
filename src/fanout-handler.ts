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
  readFanOutMaxWrites,
  readRevokeGuard,
  readSanityClientOptions,
} from './config.ts'
import { SyncError } from './core/errors.ts'
import { chainHop, type FanOutEventData, type FanOutKind, leaseOwnerId } from './core/fanout.ts'
import { assertDeployedScope } from './core/scope.ts'
import { type Auth0Connection, connectAuth0 } from './gateways/auth0.ts'
import { createFanOutStore } from './gateways/fanout.ts'
import { awaitQueryCaughtUp, createPolicyReader } from './gateways/sanity.ts'
import { describeFanOut, runFanOutEvent } from './sync/fanout.ts'

const SANITY_API_VERSION = '2025-05-01'
/** Time kept for the status write after the last Auth0 write may start. */
const LEASE_MARGIN_MS = 25_000
/**
 * The fan-outs' `timeout` in sanity.blueprint.ts (FAN_OUT_SETTINGS), the platform's maximum: a chain is 16 hops, so a
 * hop must be long for 5 000 Organizations at 25 writes a minute (README, Reliability, "Fan-out past 16 hops").
 */
export const FANOUT_TIMEOUT_SECONDS = 900
/** Default time for the Auth0 work of one hop: the timeout less a minute for the reads and the status write. */
export const FANOUT_BUDGET_DEFAULT_SECONDS = FANOUT_TIMEOUT_SECONDS - 60

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

/**
 * FANOUT_TIME_BUDGET_SECONDS: how long one fan-out hop may spend on Auth0 (default 840 s). Its own setting, not
 * SYNC_TIME_BUDGET_SECONDS: a fan-out hop is sized to the chain (16 hops), a policy event to one write.
 */
export function readFanOutBudgetSeconds(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.FANOUT_TIME_BUDGET_SECONDS?.trim()
  if (!raw) return FANOUT_BUDGET_DEFAULT_SECONDS
  const seconds = Number(raw)
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > FANOUT_BUDGET_DEFAULT_SECONDS) {
    throw new SyncError(
      'configuration',
      `Configuration: FANOUT_TIME_BUDGET_SECONDS is "${raw}": expected seconds above 0 and at most ${FANOUT_BUDGET_DEFAULT_SECONDS} (the fan-outs' ${FANOUT_TIMEOUT_SECONDS} s timeout less a minute for the status write). Unset it for the default.`,
    )
  }
  return seconds
}
