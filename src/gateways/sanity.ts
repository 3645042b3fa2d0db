/**
 * The Content Lake side of the shell: for an event, one GROQ query that returns the changed policy and every
 * published, active policy naming the organizations in play; for a reconcile, every published policy, paged.
 */
import { type ClientConfig, createClient, type SanityClient } from '@sanity/client'
import { defineQuery } from 'groq'
import type {
  ANY_POLICY_QUERY_RESULT,
  PLANS_QUERY_RESULT,
  POLICIES_IN_SCOPE_QUERY_RESULT,
  POLICY_PAGE_QUERY_RESULT,
  POLICY_STATE_QUERY_RESULT,
} from '../../sanity.types.ts'
import type { SanityConfig } from '../config.ts'
import type { OrganizationId } from '../core/auth0-rules.ts'
import { SyncError } from '../core/errors.ts'
import { type ExpectedSubject, showsExpected } from '../core/event.ts'
import { withEntitlements } from '../core/plans.ts'
import type { PolicySource } from '../core/policy.ts'
import { lakeFailure } from './lake-failure.ts'

/** The Content Lake API version every entry point pins, whatever version the runtime's client options carry. */
export const SANITY_API_VERSION = '2025-05-01'

/**
 * A client for the Content Lake outside a function's event context (the reconcile, doctor, the scheduled repair):
 * the environment's project, dataset and token; SANITY_API_HOST, when set, is used as-is (an emulator).
 */
export function sanityClient(sanity: SanityConfig, options: Partial<ClientConfig> = {}): SanityClient {
  return createClient({
    apiVersion: SANITY_API_VERSION,
    useCdn: false,
    projectId: sanity.projectId,
    dataset: sanity.dataset,
    token: sanity.token,
    ...(sanity.apiHost ? { apiHost: sanity.apiHost, useProjectHostname: false } : {}),
    ...options,
  })
}

/**
 * Exactly the fields the core reads (see PolicySource); editorial fields never leave the Content Lake. The plan's
 * entitlements are joined in by key from the published plans (PLANS_FIELD, `withEntitlements`): one list of plans
 * per query instead of a lookup per policy.
 */
export const POLICY_FIELDS = `_id, _rev, _createdAt, _updatedAt, auth0OrganizationId, plan, allowedContentTags, status, "role": role->slug.current, "roleRef": role._ref`

/** Every published plan's key and entitlements (a handful of documents). */
const PLANS_PROJECTION = `*[_type == "plan" && defined(key.current)]{ "key": key.current, entitlements }`

export const PLANS_QUERY = defineQuery(PLANS_PROJECTION)

/**
 * Whether the dataset holds any published policy at all, whatever its status: the mass-revoke guard's test for a read
 * that cannot see the policies (core/revoke-guard.ts). The slice stops the count at the first document.
 */
const ANY_POLICY = `count(*[_type == "accessPolicy"][0...1]) > 0`

export const ANY_POLICY_QUERY = defineQuery(ANY_POLICY)

export const POLICY_STATE_QUERY = defineQuery(`{
  "subject": *[_type == "accessPolicy" && _id == $policyId][0]{ ${POLICY_FIELDS} },
  "claimants": *[_type == "accessPolicy" && status == "active" && auth0OrganizationId in $organizationIds]{ ${POLICY_FIELDS} },
  "plans": ${PLANS_PROJECTION},
  "anyPolicy": ${ANY_POLICY}
}`)

export interface PolicyState {
  /** The changed policy as published now; null when it was deleted or unpublished. */
  readonly subject: PolicySource | null
  /** Active published policies naming any of the organizations. */
  readonly claimants: readonly PolicySource[]
  /** Whether the read saw any published policy in the dataset: false is an empty dataset or a read that sees none. */
  readonly anyPolicy: boolean
}

export interface PolicyStore {
  /**
   * With `expected` (the event's own revision, or its deletion), a query that shows the policy otherwise is checked
   * against the Doc API: a query that has not caught up with the event's commit is asked again until it has (a
   * bounded wait), so a lagging read is never taken for a later revision or a deletion.
   */
  load(policyId: string, organizationIds: readonly OrganizationId[], expected?: ExpectedSubject): Promise<PolicyState>
  /** The dataset read, in words, for messages: `dataset "production" of project "abc123"`. */
  readonly source: string
}

/** The dataset a client reads, in words, for messages. */
export function sourceOf(client: SanityClient): string {
  const { projectId, dataset } = client.config()
  return `dataset ${JSON.stringify(dataset ?? '?')} of project ${JSON.stringify(projectId ?? '?')}`
}

/**
 * How long one policy query may wait for an answer. The client's own default (5 minutes) outlasts the function's
 * 120-s timeout; this leaves the 90-s Auth0 budget its time.
 */
export const QUERY_TIMEOUT_MS = 15_000

/**
 * How long a policy read waits for the query layer to catch up with a revision the Doc API already has. Sanity
 * documents the lag but not its size; seconds at most in practice. Past it the invocation fails (retryable) and
 * records a failed status, which the repair path picks up, instead of acting on a stale read.
 */
export const QUERY_CATCH_UP_MS = 10_000

/**
 * The wait before the next catch-up poll, after `elapsed` ms of waiting: 100, 200, then every 250 ms for the first
 * 2 s (a lag of about a second, the usual case, is seen within a quarter second and billed no longer), then
 * doubling up to 1 s, so a long lag costs few requests.
 */
export function nextCatchUpWait(wait: number, elapsed: number): number {
  if (elapsed < 2_000) return Math.min(wait * 2, 250)
  return Math.min(Math.max(wait, 250) * 2, 1_000)
}

export function createPolicyStore(
  client: SanityClient,
  options: { timeoutMs?: number; catchUpMs?: number } = {},
): PolicyStore {
  const timeout = options.timeoutMs ?? QUERY_TIMEOUT_MS
  const catchUpMs = options.catchUpMs ?? QUERY_CATCH_UP_MS
  const query = async (policyId: string, organizationIds: readonly OrganizationId[]) => {
    try {
      // Typed from the Studio schema by typegen; parsePolicy still checks every value, as the Lake enforces no schema.
      const result: POLICY_STATE_QUERY_RESULT | null = await client.fetch(
        POLICY_STATE_QUERY,
        { policyId, organizationIds: [...organizationIds] },
        { perspective: 'published', tag: 'auth0-access-sync', timeout },
      )
      const plans = result?.plans ?? []
      const [subject = null] = result?.subject ? withEntitlements([result.subject], plans) : []
      return {
        subject,
        claimants: withEntitlements(result?.claimants ?? [], plans),
        anyPolicy: result?.anyPolicy === true,
      }
    } catch (error) {
      throw lakeReadError(error, client, timeout)
    }
  }
  const revOf = (doc: { _rev?: unknown } | null | undefined) => (typeof doc?._rev === 'string' ? doc._rev : null)
  return {
    source: sourceOf(client),
    async load(policyId, organizationIds, expected) {
      const started = Date.now()
      const latest = async () => {
        try {
          return revOf(await client.getDocument(policyId, { tag: 'auth0-access-sync.latest' }))
        } catch (error) {
          throw lakeReadError(error, client, timeout)
        }
      }
      let state = await query(policyId, organizationIds)
      if (!expected || showsExpected(expected, revOf(state.subject))) return state
      // The Doc API reads the document itself: a query that shows the same revision has caught up with the event's
      // commit (and a later one); one that shows another has not, or not with a later one: asked again.
      let current = await latest()
      for (let wait = 100; revOf(state.subject) !== current; wait = nextCatchUpWait(wait, Date.now() - started)) {
        if (Date.now() - started + wait > catchUpMs) {
          throw new SyncError(
            'content-lake-unavailable',
            `The Content Lake's queries had not caught up with policy ${policyId} after ${Math.round(catchUpMs / 1000)} s (queries show ${revOf(state.subject) ?? 'no policy'}, the document is at ${current ?? 'deleted'}), so nothing was sent to Auth0. Queries lag commits; a later invocation, or the repair step, syncs it.`,
            { retryable: true },
          )
        }
        await new Promise((resolve) => setTimeout(resolve, wait))
        ;[state, current] = await Promise.all([query(policyId, organizationIds), latest()])
        if (showsExpected(expected, revOf(state.subject))) return state
      }
      return state
    },
  }
}

/**
 * Waits until queries show document `id` at the revision the Doc API has (or both show it absent): from then on,
 * every query of this invocation sees at least the commit that fired it (queries lag commits: Sanity docs
 * "Transactions"). For the fan-outs, whose reads join the role or plan that changed. Bounded by `catchUpMs`; past
 * it, fails retryable, naming the lag, before anything is read for Auth0.
 */
export async function awaitQueryCaughtUp(
  client: SanityClient,
  id: string,
  catchUpMs: number = QUERY_CATCH_UP_MS,
): Promise<void> {
  const started = Date.now()
  const revOf = (value: unknown) =>
    typeof value === 'string'
      ? value
      : typeof (value as { _rev?: unknown } | null)?._rev === 'string'
        ? (value as { _rev: string })._rev
        : null
  for (let wait = 100; ; wait = nextCatchUpWait(wait, Date.now() - started)) {
    const [queried, latest] = await lakeCall(client, () =>
      Promise.all([
        client.fetch<unknown>(
          '*[_id == $id][0]._rev',
          { id },
          { perspective: 'raw', tag: 'auth0-access-sync.catch-up' },
        ),
        client.getDocument(id, { tag: 'auth0-access-sync.latest' }),
      ]),
    )
    if (revOf(queried) === revOf(latest)) return
    if (Date.now() - started + wait > catchUpMs) {
      throw new SyncError(
        'content-lake-unavailable',
        `The Content Lake's queries had not caught up with ${id} after ${Math.round(catchUpMs / 1000)} s (queries show ${revOf(queried) ?? 'nothing'}, the document is at ${revOf(latest) ?? 'deleted'}), so nothing was read or sent to Auth0. Queries lag commits; run it again, or let the repair step take it.`,
        { retryable: true },
      )
    }
    await new Promise((resolve) => setTimeout(resolve, wait))
  }
}

/** A failed policy read as a SyncError that names its cause (DNS, token, HTTP status, timeout) and the fix. */
export function lakeReadError(error: unknown, client: SanityClient, timeoutMs?: number): SyncError {
  const { url, projectId, dataset } = client.config()
  const failure = lakeFailure(error, { url, projectId, dataset, timeoutMs })
  return new SyncError(
    failure.reason,
    `Could not read access policies from the Content Lake: ${failure.description}. Nothing was sent to Auth0.`,
    { retryable: failure.retryable, cause: error },
  )
}

/** Published policies in `_id` order after `$after`; the reconcile reads the whole dataset this way. */
export const POLICY_PAGE_QUERY = defineQuery(
  `*[_type == "accessPolicy" && _id > $after] | order(_id) [0...$limit]{ ${POLICY_FIELDS} }`,
)

/** Published policies that have one of the IDs or name one of the organizations (any status). */
export const POLICIES_IN_SCOPE_QUERY = defineQuery(
  `*[_type == "accessPolicy" && (_id in $policyIds || auth0OrganizationId in $organizationIds)]{ ${POLICY_FIELDS} }`,
)

/** Page size for reading every policy: one query per 1 000 documents keeps 50 000 policies at 50 queries. */
export const POLICY_PAGE_SIZE = 1000

export interface PolicyReader {
  /** Every published policy, page by page in `_id` order. */
  pages(pageSize?: number): AsyncGenerator<readonly PolicySource[]>
  /** The published policies with these IDs, and every published policy naming these organizations. */
  inScope(policyIds: readonly string[], organizationIds: readonly string[]): Promise<readonly PolicySource[]>
  /** Whether the dataset holds any published policy at all (any status), for runs that read only some. */
  anyPublished(): Promise<boolean>
  /** The dataset read, in words, for messages. */
  readonly source: string
}

export function createPolicyReader(client: SanityClient): PolicyReader {
  const options = { perspective: 'published', tag: 'auth0-access-sync.reconcile' } as const
  return {
    source: sourceOf(client),
    async *pages(pageSize = POLICY_PAGE_SIZE) {
      const plans = await lakeCall(client, () => client.fetch(PLANS_QUERY, {}, options))
      let after = ''
      for (;;) {
        const page: POLICY_PAGE_QUERY_RESULT = await lakeCall(client, () =>
          client.fetch(POLICY_PAGE_QUERY, { after, limit: pageSize }, options),
        )
        if (page.length > 0) yield withEntitlements(page, plans)
        const last = page.at(-1)
        if (page.length < pageSize || !last) return
        after = last._id
      }
    },
    async inScope(policyIds, organizationIds) {
      const params = { policyIds: [...policyIds], organizationIds: [...organizationIds] }
      const [result, plans]: [POLICIES_IN_SCOPE_QUERY_RESULT, PLANS_QUERY_RESULT] = await lakeCall(client, () =>
        Promise.all([client.fetch(POLICIES_IN_SCOPE_QUERY, params, options), client.fetch(PLANS_QUERY, {}, options)]),
      )
      return withEntitlements(result, plans)
    },
    async anyPublished() {
      const result: ANY_POLICY_QUERY_RESULT = await lakeCall(client, () => client.fetch(ANY_POLICY_QUERY, {}, options))
      return result === true
    },
  }
}

async function lakeCall<T>(client: SanityClient, fetch: () => Promise<T>): Promise<T> {
  try {
    return await fetch()
  } catch (error) {
    throw lakeReadError(error, client)
  }
}
