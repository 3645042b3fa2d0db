/**
 * The scheduled repair's Content Lake side: where the last run stopped (the durable cursor, in the
 * `accessPolicyReconcileStatus` document), which policies' last sync failed, and the best-effort writes of the
 * run's status and of each repaired policy's sync status.
 */
import { randomUUID } from 'node:crypto'
import type { SanityClient } from '@sanity/client'
import { defineQuery } from 'groq'
import type { REPAIR_STATE_QUERY_RESULT } from '../../sanity.types.ts'
import { SyncError } from '../core/errors.ts'
import type { Cursor, FailedPolicy } from '../core/reconcile.ts'
import { RECONCILE_STATUS_ID, type RunInput, reconcileStatusMutations, storedCursor } from '../reconcile-status.ts'
import type { StatusReport } from '../status.ts'
import { lakeFailure } from './lake-failure.ts'
import { recordSyncStatus } from './status.ts'

/** Failed policies read per run: the repair retries at most REPAIR_FIRST_LIMIT of them, oldest first. */
const FAILED_READ_LIMIT = 200
const STATUS_TIMEOUT_MS = 10_000

export const REPAIR_STATE_QUERY = defineQuery(`{
  "status": *[_id == $statusId][0]{ cursor, runAt, "failed": failed[]{ organizationId } },
  "failed": *[_type == "accessPolicySyncStatus" && outcome == "failed"] | order(attemptedAt asc) [0...$limit]{
    policyId, attemptedAt, "organizationIds": organizations[].organizationId
  }
}`)

export interface RepairState {
  readonly cursor: Cursor
  readonly failed: readonly FailedPolicy[]
}

export interface RepairStore {
  load(): Promise<RepairState>
  /** Best effort: false (and one log line) when the status could not be written. */
  recordRun(input: Omit<RunInput, 'key'>): Promise<boolean>
  recordPolicy(report: StatusReport): Promise<boolean>
}

export function createRepairStore(client: SanityClient, log: (line: string) => void = console.warn): RepairStore {
  const target = () => {
    const { url, projectId, dataset } = client.config()
    return { url, projectId, dataset }
  }
  return {
    async load() {
      let result: REPAIR_STATE_QUERY_RESULT
      try {
        result = await client.fetch(
          REPAIR_STATE_QUERY,
          { statusId: RECONCILE_STATUS_ID, limit: FAILED_READ_LIMIT },
          { perspective: 'published', tag: 'auth0-access-sync.repair', timeout: STATUS_TIMEOUT_MS },
        )
      } catch (error) {
        const failure = lakeFailure(error, { ...target(), timeoutMs: STATUS_TIMEOUT_MS })
        throw new SyncError(failure.reason, `Could not read the repair state: ${failure.description}`, {
          retryable: failure.retryable,
          cause: error,
        })
      }
      const failed = (result.failed ?? []).flatMap((status) =>
        typeof status.policyId === 'string'
          ? [
              {
                policyId: status.policyId,
                organizationIds: (status.organizationIds ?? []).filter((id): id is string => typeof id === 'string'),
                attemptedAt: status.attemptedAt ?? undefined,
              },
            ]
          : [],
      )
      // Organizations the last run could not write are retried first too, so a fixed cause is repaired next run.
      const runAt = result.status?.runAt ?? undefined
      const lastRun = (result.status?.failed ?? []).flatMap((entry) =>
        typeof entry.organizationId === 'string'
          ? [{ policyId: undefined, organizationIds: [entry.organizationId], attemptedAt: runAt }]
          : [],
      )
      return { cursor: storedCursor(result.status), failed: [...failed, ...lastRun] }
    },
    async recordRun(input) {
      try {
        const mutations = reconcileStatusMutations({ ...input, key: randomUUID().slice(0, 12) })
        await client.mutate(mutations, {
          visibility: 'async',
          tag: 'auth0-access-sync.repair',
          timeout: STATUS_TIMEOUT_MS,
        })
        return true
      } catch (error) {
        const { description } = lakeFailure(error, { ...target(), timeoutMs: STATUS_TIMEOUT_MS })
        log(`scheduled repair status not recorded: ${description}; the next run starts over from the stored cursor`)
        return false
      }
    },
    recordPolicy: (report) => recordSyncStatus(client, { _id: report.policyId }, report, { log }),
  }
}
