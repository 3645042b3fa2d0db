/**
 * The handler P1 compares against, written the way the integration guide writes it
 * (../shared/reference/sanity-auth0-integration-guide.txt, "Code example"): one GROQ fetch of the changed policy,
 * then always `organizations.update` with the fetched fields. Only what a Sanity Function needs differs: the
 * client comes from `context.clientOptions`, and the SDK's current `update(id, body)` signature. The guide builds
 * its ManagementClient at module scope; here it is built on first use (the bench sets the settings after import),
 * which keeps the guide's one client, and its cached token, per warm instance. Never deployed.
 */
import { createClient } from '@sanity/client'
import { documentEventHandler } from '@sanity/functions'
import { ManagementClient } from 'auth0'

let auth0: ManagementClient | undefined

export const naiveHandler = documentEventHandler<{ _id: string }>(async ({ context, event }) => {
  auth0 ??= new ManagementClient({
    domain: process.env.AUTH0_DOMAIN ?? '',
    clientId: process.env.AUTH0_CLIENT_ID ?? '',
    clientSecret: process.env.AUTH0_CLIENT_SECRET ?? '',
  })
  const sanity = createClient({ apiVersion: '2025-01-01', useCdn: false, ...context.clientOptions })
  const policy = await sanity.fetch(
    `*[_id == $id][0]{
      auth0OrganizationId,
      plan,
      allowedContentTags,
      "role": role->slug.current
    }`,
    { id: event.data._id },
  )
  if (!policy?.auth0OrganizationId) return
  await auth0.organizations.update(policy.auth0OrganizationId, {
    metadata: {
      plan: policy.plan || 'free',
      role: policy.role || 'member',
      contentTags: JSON.stringify(policy.allowedContentTags || []),
    },
  })
})
