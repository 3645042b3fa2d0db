/**
 * The fan-out's Content Lake side: one query for the role or plan, the active policies it feeds and its fan-out
 * status; and the status writes, each conditional on the revision read (`ifRevisionID`), so two invocations never
 * overwrite each other's work list.
 */
import type { SanityClient } from '@sanity/client'
import { defineQuery } from 'groq'
import { SyncError } from '../core/errors.ts'
import {
  FANOUT_STATUS_TYPE,
  type FanOutEvent,
  type FanOutKind,
  type FedPolicy,
  fanOutStatusId,
} from '../core/fanout.ts'
import { lakeFailure } from './lake-failure.ts'

const STATUS_FIELDS = `_id, _rev, pending, generation, round, leaseOwner, leaseUntil, startedAt, targeted, written, failedCount, invalidCount, invocations, invalidPolicies, failures`

/** A role's policies: active, naming an Organization, referencing the role (the reference may dangle). */
export const ROLE_FANOUT_QUERY = defineQuery(`{
  "subject": *[_type == "role" && _id == $subjectId][0]{ _id, title },
  "policies": *[$withPolicies && _type == "accessPolicy" && status == "active" && defined(auth0OrganizationId) && role._ref == $subjectId]{
    _id, auth0OrganizationId, plan, "resolves": defined(role->_id)
  },
  "status": *[_id == $statusId][0]{ ${STATUS_FIELDS} }
}`)

/** A plan's policies: active, naming an Organization, whose plan (default "free") is one of the keys. */
export const PLAN_FANOUT_QUERY = defineQuery(`{
  "subject": *[_type == "plan" && _id == $subjectId][0]{ _id, title },
  "policies": *[$withPolicies && _type == "accessPolicy" && status == "active" && defined(auth0OrganizationId) && coalesce(plan, "free") in $keys]{
    _id, auth0OrganizationId, plan, "resolves": defined(*[_type == "plan" && key.current == coalesce(^.plan, "free")][0]._id)
  },
  "status": *[_id == $statusId][0]{ ${STATUS_FIELDS} }
}`)

export interface StoredFanOut {
  readonly _id: string
  readonly _rev: string
  readonly pending: readonly string[]
  readonly generation: number
  readonly round: number
  readonly leaseOwner: string | undefined
  readonly leaseUntil: number | undefined
  readonly startedAt: string | undefined
  readonly targeted: number
  readonly written: number
  readonly failedCount: number
  readonly invalidCount: number
  readonly invocations: number
  readonly invalidPolicies: readonly Record<string, unknown>[]
  readonly failures: readonly Record<string, unknown>[]
}

export interface FanOutSnapshot {
  /** The role or plan as published now; null when it was deleted or unpublished. */
  readonly subject: { readonly _id: string; readonly title: string | null } | null
  readonly policies: readonly FedPolicy[]
  readonly status: StoredFanOut | null
}

export interface FanOutStore {
  /** The subject, the policies it feeds (none for a continuation) and its fan-out status. */
  load(event: FanOutEvent): Promise<FanOutSnapshot>
  /** Re-reads the status only, from the Doc API: current, where queries lag commits. */
  status(subjectId: string): Promise<StoredFanOut | null>
  /** Writes the status if it is still at `rev` (null: if it does not exist yet); false when someone wrote first. */
  save(subjectId: string, rev: string | null, fields: Record<string, unknown>): Promise<boolean>
  /** Fan-outs with work left and no live lease (their last run died before recording), oldest first. */
  stalled(now: number): Promise<{ subjectId: string; kind: FanOutKind }[]>
}

export const STALLED_FANOUTS_QUERY = defineQuery(
  `*[_type == "accessFanOutStatus" && count(pending) > 0 && coalesce(leaseUntil, 0) < $now] | order(_updatedAt asc) [0...20]{ subjectId, subjectType }`,
)

const OPTIONS = { perspective: 'published', tag: 'auth0-access-sync.fan-out', timeout: 15_000 } as const

export function createFanOutStore(client: SanityClient): FanOutStore {
  const fail = (error: unknown, doing: string) => {
    const { url, projectId, dataset } = client.config()
    const failure = lakeFailure(error, { url, projectId, dataset, timeoutMs: OPTIONS.timeout })
    return new SyncError(failure.reason, `Could not ${doing}: ${failure.description}.`, {
      retryable: failure.retryable,
      cause: error,
    })
  }
  const query = async (event: FanOutEvent, withPolicies: boolean): Promise<FanOutSnapshot> => {
    const params = {
      subjectId: event.subjectId,
      statusId: fanOutStatusId(event.subjectId),
      withPolicies,
      keys: [...event.keys],
    }
    try {
      const result = await client.fetch(event.kind === 'role' ? ROLE_FANOUT_QUERY : PLAN_FANOUT_QUERY, params, OPTIONS)
      return {
        subject: result?.subject ?? null,
        policies: (result?.policies ?? []) as FedPolicy[],
        status: storedStatus(result?.status),
      }
    } catch (error) {
      throw fail(error, `read the ${event.kind} ${event.subjectId} and the policies it feeds`)
    }
  }
  return {
    load: (event) => query(event, !event.continuation),
    async status(subjectId) {
      try {
        // A conditional save needs the latest `_rev`: a lagging query would give a stale one and every save would fail.
        return storedStatus(await client.getDocument(fanOutStatusId(subjectId), { tag: OPTIONS.tag }))
      } catch (error) {
        throw fail(error, `read the fan-out status of ${subjectId}`)
      }
    },
    async stalled(now) {
      try {
        const result = await client.fetch(STALLED_FANOUTS_QUERY, { now }, OPTIONS)
        return result.flatMap((status) =>
          typeof status.subjectId === 'string' && (status.subjectType === 'role' || status.subjectType === 'plan')
            ? [{ subjectId: status.subjectId, kind: status.subjectType }]
            : [],
        )
      } catch (error) {
        throw fail(error, 'read the fan-out statuses')
      }
    },
    async save(subjectId, rev, fields) {
      const _id = fanOutStatusId(subjectId)
      try {
        const options = { visibility: 'sync', tag: 'auth0-access-sync.fan-out', timeout: OPTIONS.timeout } as const
        if (rev === null) await client.create({ _id, _type: FANOUT_STATUS_TYPE, subjectId, ...fields }, options)
        else await client.patch(_id).ifRevisionId(rev).set(fields).commit(options)
        return true
      } catch (error) {
        if ((error as { statusCode?: unknown }).statusCode === 409) return false
        throw fail(error, `record the fan-out status of ${subjectId}`)
      }
    },
  }
}

function storedStatus(value: unknown): StoredFanOut | null {
  if (typeof value !== 'object' || value === null) return null
  const doc = value as Record<string, unknown>
  const count = (key: string) => (typeof doc[key] === 'number' ? (doc[key] as number) : 0)
  const list = (key: string) => (Array.isArray(doc[key]) ? (doc[key] as unknown[]) : [])
  return {
    _id: String(doc._id),
    _rev: String(doc._rev),
    pending: list('pending').filter((id): id is string => typeof id === 'string'),
    generation: count('generation'),
    round: count('round'),
    leaseOwner: typeof doc.leaseOwner === 'string' ? doc.leaseOwner : undefined,
    leaseUntil: typeof doc.leaseUntil === 'number' ? doc.leaseUntil : undefined,
    startedAt: typeof doc.startedAt === 'string' ? doc.startedAt : undefined,
    targeted: count('targeted'),
    written: count('written'),
    failedCount: count('failedCount'),
    invalidCount: count('invalidCount'),
    invocations: count('invocations'),
    invalidPolicies: list('invalidPolicies') as Record<string, unknown>[],
    failures: list('failures') as Record<string, unknown>[],
  }
}
