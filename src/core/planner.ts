/**
 * The decision at the heart of the product, pure and total: given what the Content Lake says about one Auth0
 * Organization (the published, active policies naming it) and the metadata Auth0 holds for it now, which single
 * metadata write — if any — brings Auth0 in line. Level-triggered like a Kubernetes controller: it never looks
 * at the event that woke it, so late, duplicated and reordered events all converge to the same state.
 */
import { type Metadata, metadataProblems, type OrganizationId } from './auth0-rules.ts'
import { ACCESS_KEYS, encodeGrant, type Grant, readStamp, splitMetadata } from './metadata.ts'
import { ACTIVE_STATUS, type Issue, type PolicySource, parsePolicy } from './policy.ts'

export interface OrganizationState {
  readonly organizationId: OrganizationId
  /** Published policies naming this organization, unvalidated, in any order. Inactive ones are ignored. */
  readonly claimants: readonly PolicySource[]
  /** The Organization's metadata as Auth0 holds it now. */
  readonly observed: Metadata
}

interface Base {
  readonly organizationId: OrganizationId
  /** The policy that owns the organization: the oldest active one naming it. */
  readonly owner: Grant | undefined
  /** Other active policies naming the organization; they lose to the owner and are not synced. */
  readonly conflicts: readonly string[]
}

export type Plan =
  | (Base & { readonly action: 'write'; readonly change: 'grant' | 'revoke'; readonly metadata: Metadata })
  | (Base & { readonly action: 'none'; readonly reason: NoWriteReason })
  | (Base & {
      readonly action: 'reject'
      readonly reason: 'invalid-policy' | 'metadata-limits'
      readonly policyId: string | undefined
      readonly issues: readonly Issue[]
    })

export type NoWriteReason =
  /** Auth0 already holds exactly the desired metadata. */
  | 'in-sync'
  /** Auth0 reflects a newer revision of the owning policy than the Content Lake returned: never go back. */
  | 'newer-in-auth0'
  /** Nothing to grant and the access keys were not written by this project: leave them alone. */
  | 'not-ours'
  /** The Organization no longer exists in Auth0 and no policy grants it: there is nothing to revoke. */
  | 'organization-missing'

export function planOrganization(state: OrganizationState): Plan {
  const { organizationId, observed } = state
  const ranked = rankClaimants(state)
  const conflicts = ranked.slice(1).map((claimant) => String(claimant._id))
  const winner = ranked[0]

  let owner: Grant | undefined
  if (winner) {
    const parsed = parsePolicy(winner)
    if (!parsed.ok || !parsed.value.grant) {
      const issues = parsed.ok ? [] : parsed.issues
      const policyId = typeof winner._id === 'string' ? winner._id : undefined
      return { action: 'reject', reason: 'invalid-policy', organizationId, owner, conflicts, policyId, issues }
    }
    owner = parsed.value.grant
  }
  const base = { organizationId, owner, conflicts }
  const stamp = readStamp(observed)
  const { owned, foreign } = splitMetadata(observed)

  if (!owner) {
    if (!stamp) {
      return { ...base, action: 'none', reason: Object.keys(owned).length > 0 ? 'not-ours' : 'in-sync' }
    }
    return { ...base, action: 'write', change: 'revoke', metadata: foreign }
  }
  if (stamp?.policyId === owner.policyId && isNewer(stamp.updatedAt, owner.updatedAt)) {
    return { ...base, action: 'none', reason: 'newer-in-auth0' }
  }
  const desired = encodeGrant(owner)
  if (stamp?.policyId === owner.policyId && ACCESS_KEYS.every((key) => observed[key] === desired[key])) {
    return { ...base, action: 'none', reason: 'in-sync' }
  }
  const metadata: Metadata = { ...foreign, ...desired }
  const problems = metadataProblems(metadata)
  if (problems.length > 0) {
    const issues = problems.map((message) => ({ field: 'auth0 metadata', message }))
    return { ...base, action: 'reject', reason: 'metadata-limits', policyId: owner.policyId, issues }
  }
  return { ...base, action: 'write', change: 'grant', metadata }
}

/**
 * Active policies naming the organization, oldest first (`_createdAt`, then `_id`): the first one owns it. The
 * order depends only on the documents, never on which event arrived first, so two policies cannot flip-flop.
 */
export function rankClaimants(state: Pick<OrganizationState, 'claimants' | 'organizationId'>): PolicySource[] {
  return state.claimants
    .filter((claimant) => claimant.status === ACTIVE_STATUS && claimant.auth0OrganizationId === state.organizationId)
    .sort((a, b) => compareText(a._createdAt, b._createdAt) || compareText(a._id, b._id))
}

function compareText(a: unknown, b: unknown): number {
  const x = typeof a === 'string' ? a : ''
  const y = typeof b === 'string' ? b : ''
  return x < y ? -1 : x > y ? 1 : 0
}

/** True when timestamp `a` is strictly later than `b`; unparseable stamps never block a write. */
function isNewer(a: string | undefined, b: string): boolean {
  const x = a === undefined ? Number.NaN : Date.parse(a)
  const y = Date.parse(b)
  return Number.isFinite(x) && Number.isFinite(y) && x > y
}
