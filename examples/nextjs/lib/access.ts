import {
  type AccessDecision,
  applyLivePolicy,
  createAccessVerifier,
  type GatedContent,
  gatedContentQuery,
  LIVE_POLICY_QUERY,
  type LivePolicyRead,
} from 'sanity-auth0-access-sync/app'
import { auth0 } from './auth0.ts'
import { sanity } from './sanity.ts'

const verifier = createAccessVerifier({
  // AUTH0_DOMAIN is a hostname, or for the emulator https://localhost:PORT (see lib/auth0.ts).
  domain: required('AUTH0_DOMAIN')
    .replace(/^https:\/\//, '')
    .replace(/\/$/, ''),
  audience: required('AUTH0_AUDIENCE'),
  ...(process.env.CLAIM_NAMESPACE ? { namespace: process.env.CLAIM_NAMESPACE } : {}),
})

function required(name: string): string {
  const value = process.env[name]?.trim()
  if (!value) throw new Error(`${name} is not set (see examples/nextjs/README.md)`)
  return value
}

/**
 * Every gated read is uncached (`cache: 'no-store'`): Next's data cache keys a fetch by its URL and body, not by who
 * asked, so a cached gated result could be served to anyone whose query looks the same. The page is dynamic (it
 * reads the session cookie) and Next marks it `private, no-store`.
 */
const UNCACHED = { cache: 'no-store' } as const

export interface PageAccess {
  readonly signedIn: true
  readonly user: { sub: string; email?: string | undefined; name?: string | undefined; orgName?: string | undefined }
  /** What the token alone allows (before the live policy). */
  readonly token: AccessDecision
  /** The decision served: the token narrowed to the Organization's policy as published now. */
  readonly decision: AccessDecision
  readonly content: GatedContent
}

const NOTHING: GatedContent = { content: [], onboarding: [] }

/** The signed-in user's decision and what it lets them read; undefined when nobody is signed in. */
export async function pageAccess(): Promise<PageAccess | undefined> {
  const session = await auth0.getSession()
  if (!session) return undefined
  const user = {
    sub: session.user.sub,
    email: session.user.email,
    name: session.user.name,
    orgName: typeof session.user.org_name === 'string' ? session.user.org_name : undefined,
  }
  let token: AccessDecision
  try {
    token = await verifier.verify((await auth0.getAccessToken()).token)
  } catch (error) {
    const message = error instanceof Error ? error.message : 'the access token could not be read'
    token = { allow: false, reason: 'missing-token', message: `no usable access token: ${message}` }
  }
  let live: LivePolicyRead = { ok: false }
  if (token.allow && token.organizationId) {
    try {
      live = {
        ok: true,
        rows: await sanity.fetch(LIVE_POLICY_QUERY, { organizationId: token.organizationId }, UNCACHED),
      }
    } catch {
      live = { ok: false }
    }
  }
  const decision = applyLivePolicy(token, live)
  if (!decision.allow) return { signedIn: true, user, token, decision, content: NOTHING }
  const { query, params } = gatedContentQuery(decision.claims)
  const content = await sanity.fetch<GatedContent>(query, { ...params }, UNCACHED)
  return { signedIn: true, user, token, decision, content }
}
