/**
 * The handler P1 compares against, written the way the integration guide writes it
 * (../shared/reference/sanity-auth0-integration-guide.txt, "Code example"): one GROQ fetch of the changed policy,
 * then always `organizations.update` with the fetched fields. Only what a Sanity Function needs differs: the
 * client comes from `context.clientOptions`, and the SDK's current `update(id, body)` signature. The guide builds
 * its ManagementClient at module scope; here it is built on first use (the bench sets the settings after import),
 * which keeps the guide's one client, and its cached token, per warm instance. Never deployed.
 *
 * The query and the metadata it writes are exported so the benchmarks judge the naive handler by its own mapping
 * (what it would write for the final published policy), not by this product's.
 */
import { createClient } from '@sanity/client'
import { documentEventHandler } from '@sanity/functions'
import { ManagementClient } from 'auth0'

let auth0: ManagementClient | undefined

export const NAIVE_QUERY = `*[_id == $id][0]{
      auth0OrganizationId,
      plan,
      allowedContentTags,
      "role": role->slug.current
    }`

export interface NaivePolicy {
  readonly auth0OrganizationId?: string | null
  readonly plan?: string | null
  readonly allowedContentTags?: unknown[] | null
  readonly role?: string | null
}

/** The guide's metadata for a policy, as `organizations.update` sends it (the whole map). */
export function naiveMetadata(policy: NaivePolicy): Record<string, string> {
  return {
    plan: policy.plan || 'free',
    role: policy.role || 'member',
    contentTags: JSON.stringify(policy.allowedContentTags || []),
  }
}

export const naiveHandler = documentEventHandler<{ _id: string }>(async ({ context, event }) => {
  auth0 ??= new ManagementClient({
    domain: process.env.AUTH0_DOMAIN ?? '',
    clientId: process.env.AUTH0_CLIENT_ID ?? '',
    clientSecret: process.env.AUTH0_CLIENT_SECRET ?? '',
  })
  const sanity = createClient({ apiVersion: '2025-01-01', useCdn: false, ...context.clientOptions })
  const policy: NaivePolicy | null = await sanity.fetch(NAIVE_QUERY, { id: event.data._id })
  if (!policy?.auth0OrganizationId) return
  await auth0.organizations.update(policy.auth0OrganizationId, { metadata: naiveMetadata(policy) })
})
