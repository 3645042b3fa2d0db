import type { Auth0Organization } from '../../emulators/auth0.ts'
import { encodeGrant, type Grant } from '../../src/core/metadata.ts'

/** Acme's Organization as a sync of `policy-acme` leaves it: our keys for the grant given, plus any keys of its own. */
export function acmeOrganization(
  grant: Pick<Grant, 'contentTags' | 'entitlements'>,
  own: Record<string, string> = {},
): Auth0Organization {
  return {
    id: 'org_acme123',
    name: 'acme',
    metadata: {
      ...encodeGrant({
        policyId: 'policy-acme',
        rev: 'r1',
        updatedAt: '2026-02-01T10:00:00Z',
        plan: 'pro',
        role: 'editor',
        ...grant,
      }),
      ...own,
    },
  }
}
