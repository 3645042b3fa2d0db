/**
 * The Content Lake side of the shell: one GROQ query that returns the changed policy and every published, active
 * policy naming the organizations in play.
 */
import type { SanityClient } from '@sanity/client'
import { defineQuery } from 'groq'
import type { POLICY_STATE_QUERY_RESULT } from '../../sanity.types.ts'
import type { OrganizationId } from '../core/auth0-rules.ts'
import { SyncError } from '../core/errors.ts'
import type { PolicySource } from '../core/policy.ts'

/** Exactly the fields the core reads (see PolicySource); editorial fields never leave the Content Lake. */
export const POLICY_FIELDS = `_id, _rev, _createdAt, _updatedAt, auth0OrganizationId, plan, allowedContentTags, status, "role": role->slug.current, "roleRef": role._ref`

export const POLICY_STATE_QUERY = defineQuery(`{
  "subject": *[_type == "accessPolicy" && _id == $policyId][0]{ ${POLICY_FIELDS} },
  "claimants": *[_type == "accessPolicy" && status == "active" && auth0OrganizationId in $organizationIds]{ ${POLICY_FIELDS} }
}`)

export interface PolicyState {
  /** The changed policy as published now; null when it was deleted or unpublished. */
  readonly subject: PolicySource | null
  /** Active published policies naming any of the organizations. */
  readonly claimants: readonly PolicySource[]
}

export interface PolicyStore {
  load(policyId: string, organizationIds: readonly OrganizationId[]): Promise<PolicyState>
}

export function createPolicyStore(client: SanityClient): PolicyStore {
  return {
    async load(policyId, organizationIds) {
      try {
        // Typed from the Studio schema by typegen; parsePolicy still checks every value, as the Lake enforces no schema.
        const result: POLICY_STATE_QUERY_RESULT | null = await client.fetch(
          POLICY_STATE_QUERY,
          { policyId, organizationIds: [...organizationIds] },
          { perspective: 'published', tag: 'auth0-access-sync' },
        )
        return { subject: result?.subject ?? null, claimants: result?.claimants ?? [] }
      } catch (error) {
        const status = (error as { statusCode?: unknown }).statusCode
        throw new SyncError(
          'content-lake-unavailable',
          `Could not read access policies from the Content Lake${typeof status === 'number' ? ` (HTTP ${status})` : ''}: nothing was sent to Auth0`,
          { retryable: true, cause: error },
        )
      }
    },
  }
}
