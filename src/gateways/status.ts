/**
 * Sends the status document built by src/status.ts. Best effort by design: a status that cannot be written is
 * logged in one line and dropped. It never fails the invocation, so it can never make the runtime retry a sync that
 * succeeded, and it gives up after STATUS_TIMEOUT_MS so it cannot eat the function's time budget.
 */
import { randomUUID } from 'node:crypto'
import type { SanityClient } from '@sanity/client'
import { type StatusReport, statusMutations } from '../status.ts'
import { lakeFailure } from './lake-failure.ts'

const STATUS_TIMEOUT_MS = 10_000

export interface RecordOptions {
  readonly now?: () => Date
  readonly log?: (line: string) => void
}

/** True when the status was written. Never throws. */
export async function recordSyncStatus(
  client: SanityClient,
  eventData: unknown,
  report: StatusReport,
  options: RecordOptions = {},
): Promise<boolean> {
  const log = options.log ?? console.warn
  try {
    const operation = (eventData as { operation?: unknown } | null)?.operation
    const attemptedAt = (options.now ?? (() => new Date()))()
    const mutations = statusMutations({ report, operation, attemptedAt, key: randomUUID().slice(0, 12) })
    if (!mutations) {
      log('sync status not recorded: the event names no usable policy ID')
      return false
    }
    await client.mutate(mutations, { visibility: 'async', tag: 'auth0-access-sync.status', timeout: STATUS_TIMEOUT_MS })
    return true
  } catch (error) {
    // The cause and its fix (HTTP status, DNS, timeout): enough to act on, never a header or a token.
    const { url, projectId, dataset } = client.config()
    const { description } = lakeFailure(error, { url, projectId, dataset, timeoutMs: STATUS_TIMEOUT_MS })
    log(`sync status not recorded for policy ${report.policyId ?? '?'}: ${description}; the sync itself is unaffected`)
    return false
  }
}
