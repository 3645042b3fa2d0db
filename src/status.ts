/**
 * What the Studio shows about the last sync attempts of a policy, as one `accessPolicySyncStatus` document per
 * policy, built here from the sync report. Pure: report and clock in, Content Lake mutations out; the gateway
 * (gateways/status.ts) only sends them.
 *
 * The document is never an `accessPolicy`: the function is triggered by those, and writing one would loop. Its ID
 * `accessPolicySyncStatus.<policyId>` is deterministic (one per policy, no query needed) and, being a dot path, not
 * publicly readable: a status can carry error reasons and the Organization's metadata. It carries no secrets:
 * SyncError messages never contain credentials, and metadata holds no tokens.
 */
import type { Mutation } from '@sanity/client'
import type { AccessPolicySyncStatus } from '../sanity.types.ts'
import type { SyncError } from './core/errors.ts'
import type { SyncReport } from './sync/event.ts'
import type { OrganizationResult, PolicyOutcome } from './sync/organization.ts'

export const STATUS_TYPE = 'accessPolicySyncStatus'
/** Attempts kept in `history`, newest first; enough to see a flapping sync without growing without bound. */
export const HISTORY_LIMIT = 10

export const SYNC_OUTCOMES = [
  'synced',
  'unchanged',
  'revoked',
  'skipped',
  'conflict',
  'failed',
] as const satisfies readonly PolicyOutcome[]
export const ORGANIZATION_OUTCOMES = [
  'granted',
  'revoked',
  'unchanged',
  'failed',
] as const satisfies readonly OrganizationResult['outcome'][]

/** Longest error message stored; SyncError messages are short, a combined one for two organizations is not. */
const MAX_MESSAGE = 1000
/** Sanity document IDs: letters, digits, `.`, `_`, `-`, at most 128 characters. */
const DOCUMENT_ID = /^[A-Za-z0-9._-]{1,128}$/
const OPERATIONS: readonly string[] = ['create', 'update', 'delete']

export function statusDocumentId(policyId: string): string {
  return `${STATUS_TYPE}.${policyId}`
}

/** The parts of a sync report a status is made of: an attempt that synced something itself. */
export interface StatusReport extends Pick<SyncReport, 'policyId' | 'revision' | 'error' | 'notes'> {
  readonly outcome: Exclude<PolicyOutcome, 'superseded'>
  readonly organizations: readonly OrganizationResult[]
}

/**
 * What of a sync report goes into the status: undefined when the later revision's invocation owns every
 * Organization (its status follows), else the report without the Organizations it handed over.
 */
export function statusReportOf(report: SyncReport): StatusReport | undefined {
  if (report.outcome === 'superseded') return undefined
  const organizations = report.organizations.flatMap((result) => (result.outcome === 'superseded' ? [] : [result]))
  return { ...report, outcome: report.outcome, organizations }
}

/** The report of an attempt that failed before the sync could report anything itself (e.g. missing settings). */
export function failedBeforeSync(data: unknown, error: SyncError): StatusReport {
  const event = (typeof data === 'object' && data !== null ? data : {}) as { _id?: unknown; _rev?: unknown }
  return {
    policyId: typeof event._id === 'string' ? event._id : undefined,
    revision: typeof event._rev === 'string' ? event._rev : undefined,
    outcome: 'failed',
    organizations: [],
    error,
    notes: [],
  }
}

export interface StatusInput {
  readonly report: StatusReport
  /** `operation` from the event's projection, unvalidated (null when the CLI runs the function on a document). */
  readonly operation: unknown
  readonly attemptedAt: Date
  /** A fresh, unique `_key` for this attempt's history entry. */
  readonly key: string
}

// The shapes come from the Studio schema (sanity.types.ts), so the function cannot write a field the Studio lacks.
type HistoryEntry = NonNullable<AccessPolicySyncStatus['history']>[number]
type OrganizationEntry = NonNullable<HistoryEntry['organizations']>[number]
type MetadataEntry = NonNullable<OrganizationEntry['metadata']>[number]
/** An attempt as the top level of the status document holds it. */
export type Attempt = Omit<HistoryEntry, '_key' | '_type'>

/**
 * One transaction: create the status document if it is new, overwrite the latest attempt, prepend it to `history`
 * and drop the entry that falls off the end. Each write adds one entry and removes at most one, so `history`
 * never exceeds HISTORY_LIMIT. Undefined when the report names no policy that could carry a status.
 */
export function statusMutations(input: StatusInput): Mutation[] | undefined {
  const { policyId } = input.report
  if (policyId === undefined) return undefined
  const id = statusDocumentId(policyId)
  if (!DOCUMENT_ID.test(id)) return undefined
  const latest = latestAttempt(input)
  const seed: Pick<AccessPolicySyncStatus, '_id' | '_type' | 'policy' | 'policyId' | 'history'> = {
    _id: id,
    _type: STATUS_TYPE,
    policy: { _type: 'reference', _ref: policyId, _weak: true },
    policyId,
    history: [],
  }
  const absent = (['reason', 'message', 'policyRevision', 'operation'] as const).filter((field) => !latest[field])
  const entry: HistoryEntry = {
    _key: input.key,
    _type: 'accessPolicySyncAttempt',
    ...latest,
    organizations: latest.organizations?.map(({ metadata: _metadata, ...rest }) => rest),
  }
  const notes = input.report.notes.length > 0 ? [...input.report.notes] : undefined
  return [
    { createIfNotExists: seed },
    {
      patch: {
        id,
        setIfMissing: { history: [] },
        set: { ...latest, ...(notes ? { notes } : {}) },
        unset: [...absent, ...(notes ? [] : ['notes'])],
      },
    },
    { patch: { id, insert: { before: 'history[0]', items: [entry] } } },
    { patch: { id, unset: [`history[${HISTORY_LIMIT}]`] } },
  ]
}

/** The latest attempt, as stored at the top level of the status document. */
export function latestAttempt({ report, operation, attemptedAt }: StatusInput): Attempt {
  const attempt: Attempt = {
    outcome: report.outcome,
    attemptedAt: attemptedAt.toISOString(),
    organizations: report.organizations.map(organizationEntry),
  }
  if (report.error) attempt.reason = report.error.reason
  const message = messageOf(report)
  if (message) attempt.message = message
  if (report.revision) attempt.policyRevision = report.revision
  const op = operation ?? 'update'
  if (typeof op === 'string' && OPERATIONS.includes(op)) attempt.operation = op
  return attempt
}

function organizationEntry(result: OrganizationResult): OrganizationEntry {
  const base = {
    _key: result.organizationId,
    _type: 'accessPolicySyncOrganization',
    organizationId: result.organizationId,
  } as const
  if (result.outcome === 'failed') {
    return {
      ...base,
      outcome: 'failed',
      reason: result.error.reason,
      message: truncate(result.error.message),
    }
  }
  const { plan } = result
  const entry: OrganizationEntry = {
    ...base,
    outcome: result.outcome,
    metadata: metadataEntries(result.metadata),
  }
  if (plan.action === 'none') entry.reason = plan.reason
  if (plan.owner) entry.ownerPolicyId = plan.owner.policyId
  if (plan.conflicts.length > 0) entry.conflicts = [...plan.conflicts]
  return entry
}

function metadataEntries(metadata: Readonly<Record<string, string>>): MetadataEntry[] {
  return Object.keys(metadata)
    .sort()
    .map((key, index) => ({
      _key: `m${index}`,
      _type: 'accessPolicySyncMetadataEntry',
      key,
      value: metadata[key] ?? '',
    }))
}

function messageOf(report: StatusReport): string | undefined {
  if (report.error) return truncate(report.error.message)
  if (report.outcome === 'skipped') {
    return 'The policy names no Auth0 Organization, now or before this revision: there was nothing to sync.'
  }
  if (report.outcome === 'conflict') {
    const owners = report.organizations.flatMap((result) =>
      result.outcome !== 'failed' && result.plan.owner && result.plan.owner.policyId !== report.policyId
        ? [`${result.organizationId} is granted by the older active policy ${result.plan.owner.policyId}`]
        : [],
    )
    return `${owners.join('; ') || 'Another active policy owns the organization'}. This policy is not synced there until that one is archived or names another organization.`
  }
  return undefined
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text
}
