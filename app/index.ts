/**
 * The app helper: what an app imports (`import { createAccessVerifier } from 'sanity-auth0-access-sync/app'`) to
 * turn an Auth0 token into access to Sanity content.
 *
 * 1. `verify(token)` checks the token with `jose`: signature against the tenant's JWKS, RS256 only, issuer,
 *    audience and expiry; then reads the namespaced claims into typed `AccessClaims`.
 * 2. `gatedContentQuery(claims)` gives the GROQ and its parameters (claims are never put into the query text).
 * 3. Anything missing or wrong is a deny with a typed `reason`, and the app shows no gated content.
 * 4. `applyLivePolicy(decision, rows)` narrows a token's decision to the Organization's policy as published now
 *    (`LIVE_POLICY_QUERY`), so a revoke in the Studio stops access on the next request instead of at token expiry.
 */
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { type AccessClaims, DEFAULT_CLAIM_NAMESPACE, namespaceProblem, readAccessClaims } from '../src/core/claims.ts'

export type { AccessClaims } from '../src/core/claims.ts'
export { CLAIM_NAMES, DEFAULT_CLAIM_NAMESPACE } from '../src/core/claims.ts'
export {
  GATED_CONTENT_QUERY,
  type GatedContent,
  type GatedQueryOptions,
  type GatedQueryParams,
  gatedContentQuery,
} from '../src/core/gating.ts'

/** The only signing algorithm accepted: Auth0 signs with RS256 by default, and nothing else may pass. */
export const ALLOWED_ALGORITHMS = ['RS256'] as const
/** Longer tokens are refused before any parsing (a token with huge claims is an attack, not a login). */
export const MAX_TOKEN_LENGTH = 16 * 1024

export type DenyReason =
  /** No token, or no `Authorization: Bearer …` header. */
  | 'missing-token'
  /** Longer than MAX_TOKEN_LENGTH. */
  | 'token-too-large'
  /** Not a JWS compact token, or its header or payload is not JSON. */
  | 'malformed-token'
  /**
   * Auth0's opaque access token (a JWE with `alg: dir`): issued when the login asked for no `audience`. Only the
   * tenant's /userinfo reads it; the app must request an audience (its API identifier) to get a JWT.
   */
  | 'opaque-token'
  /** Signed with an algorithm other than RS256 (`none`, HS256 …). */
  | 'algorithm-not-allowed'
  /** The signature does not verify with the tenant's key. */
  | 'bad-signature'
  /** No key in the tenant's JWKS matches the token's `kid`. */
  | 'unknown-key'
  /** The JWKS could not be fetched. */
  | 'jwks-unavailable'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-issuer'
  | 'wrong-audience'
  /** A registered claim (`sub`, `iat` …) is missing or wrong. */
  | 'invalid-token'
  /** The token is valid but carries none of the access claims (no access was granted). */
  | 'no-access-claims'
  /** The access claims are there but of the wrong type, or too many or too long. */
  | 'invalid-claims'
  /** (applyLivePolicy) No active, published policy for the token's Organization now: revoked since sign-in. */
  | 'policy-revoked'
  /** (applyLivePolicy) The policy's plan or role is not what the token says: sign in again or refresh. */
  | 'policy-changed'
  /** (applyLivePolicy) The live policy could not be read, or is ambiguous: fail closed. */
  | 'policy-unavailable'
  /** (applyLivePolicy) The token names no Organization (`org_id`), so there is no policy to check it against. */
  | 'no-organization'

export type AccessDecision =
  | {
      readonly allow: true
      readonly claims: AccessClaims
      /** `sub` of the token. */
      readonly subject: string
      /** `org_id`, when the login was for an Organization. */
      readonly organizationId: string | undefined
    }
  | { readonly allow: false; readonly reason: DenyReason; readonly message: string }

export interface AccessVerifierOptions {
  /** The Auth0 tenant domain, e.g. `acme.eu.auth0.com` (or a custom domain); issuer is `https://<domain>/`. */
  readonly domain: string
  /** The API identifier (access tokens) or the application's client ID (ID tokens) the token must be for. */
  readonly audience: string | readonly string[]
  /** The Action's CLAIM_NAMESPACE. Default: the Action's default. */
  readonly namespace?: string
  /** Leeway for `exp`/`nbf`/`iat`, in seconds. Default 5. */
  readonly clockToleranceSeconds?: number
  /** Key source; default: the tenant's `/.well-known/jwks.json`, fetched and cached by jose. */
  readonly jwks?: JWTVerifyGetKey
}

export interface AccessVerifier {
  /** Verifies a raw token (ID or access token). Never throws. */
  verify(token: string | undefined): Promise<AccessDecision>
  /** Verifies the token of an `Authorization: Bearer …` header. Never throws. */
  verifyAuthorization(header: string | undefined): Promise<AccessDecision>
}

export function createAccessVerifier(options: AccessVerifierOptions): AccessVerifier {
  const issuer = `https://${options.domain}/`
  const namespace = options.namespace ?? DEFAULT_CLAIM_NAMESPACE
  const problem = namespaceProblem(namespace)
  if (problem) throw new TypeError(`createAccessVerifier: namespace ${problem}`)
  const jwks = options.jwks ?? createRemoteJWKSet(new URL(`${issuer}.well-known/jwks.json`))
  const audience = typeof options.audience === 'string' ? options.audience : [...options.audience]

  async function verify(token: string | undefined): Promise<AccessDecision> {
    if (!token) return deny('missing-token', 'no token')
    if (token.length > MAX_TOKEN_LENGTH) {
      return deny('token-too-large', `the token is ${token.length} characters; at most ${MAX_TOKEN_LENGTH}`)
    }
    if (isOpaqueToken(token)) {
      return deny(
        'opaque-token',
        'the access token is opaque (Auth0 issues one when the login names no API): request an audience, e.g. authorizationParams.audience = your API identifier, to get a JWT access token',
      )
    }
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, jwks, {
        issuer,
        audience,
        algorithms: [...ALLOWED_ALGORITHMS],
        clockTolerance: options.clockToleranceSeconds ?? 5,
        requiredClaims: ['sub', 'iat', 'exp'],
      }))
    } catch (error) {
      return explain(error)
    }
    const read = readAccessClaims(payload, namespace)
    if (!read.ok) return deny(read.reason, read.message)
    return {
      allow: true,
      claims: read.claims,
      subject: payload.sub as string,
      organizationId: typeof payload.org_id === 'string' ? payload.org_id : undefined,
    }
  }

  return {
    verify,
    verifyAuthorization: (header) => verify(bearerToken(header)),
  }
}

/** A JWE compact token with `alg: dir` (five parts), the outline of Auth0's opaque access tokens. */
function isOpaqueToken(token: string): boolean {
  const parts = token.split('.')
  if (parts.length !== 5) return false
  try {
    const header = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8')) as { alg?: unknown }
    return header.alg === 'dir'
  } catch {
    return false
  }
}

/**
 * The Organization's policy as published now: active, not a draft or a release version. The role is the referenced
 * role's slug and the entitlements are the published plan's, as the sync function writes them to Auth0. Run it with
 * `{ organizationId: decision.organizationId }` on the published perspective, uncached (see examples/nextjs).
 */
export const LIVE_POLICY_QUERY = `*[_type == "accessPolicy" && auth0OrganizationId == $organizationId && status == "active"
  && !(_id in path("drafts.**")) && !(_id in path("versions.**"))] {
  plan, "role": role->slug.current, "contentTags": allowedContentTags,
  "entitlements": *[_type == "plan" && key.current == ^.plan && !(_id in path("drafts.**"))][0].entitlements
}`

/** What LIVE_POLICY_QUERY returned, or that it failed (a network error, a timeout): both are read fail-closed. */
export type LivePolicyRead = { readonly ok: true; readonly rows: unknown } | { readonly ok: false }

const stringList = (value: unknown): string[] | undefined =>
  Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined

/**
 * The token's decision narrowed to the live policy. Revokes take effect at once: no active published policy, or a
 * different plan or role, denies; tags and entitlements are the intersection of the token's and the policy's. Grants
 * (a new tag) wait for the next sign-in or refresh, since the token's claims are the upper bound. Pure; never throws.
 */
export function applyLivePolicy(decision: AccessDecision, read: LivePolicyRead): AccessDecision {
  if (!decision.allow) return decision
  if (decision.organizationId === undefined) {
    return deny('no-organization', 'the token names no Organization (org_id), so no policy can confirm its claims')
  }
  if (!read.ok)
    return deny('policy-unavailable', "the Organization's live policy could not be read; access is denied until it can")
  const rows = Array.isArray(read.rows) ? read.rows : []
  if (rows.length === 0) {
    return deny(
      'policy-revoked',
      'the Organization has no active, published access policy now (archived, paused or deleted since sign-in)',
    )
  }
  if (rows.length > 1) {
    return deny('policy-unavailable', 'the Organization has more than one active policy; an editor must archive one')
  }
  const row = rows[0] as { plan?: unknown; role?: unknown; contentTags?: unknown; entitlements?: unknown }
  const { claims } = decision
  if (row.plan !== claims.plan || row.role !== claims.role) {
    return deny(
      'policy-changed',
      "the Organization's plan or role changed since sign-in: refresh the session or sign in again",
    )
  }
  const liveTags = new Set(stringList(row.contentTags) ?? [])
  const liveEntitlements = new Set(stringList(row.entitlements) ?? [])
  return {
    ...decision,
    claims: {
      ...claims,
      contentTags: claims.contentTags.filter((tag) => liveTags.has(tag)),
      entitlements: claims.entitlements.filter((entitlement) => liveEntitlements.has(entitlement)),
    },
  }
}

/** The token of an `Authorization: Bearer <token>` header, if that is what it holds. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header?.trim() ?? '')
  return match?.[1]
}

function deny(reason: DenyReason, message: string): AccessDecision {
  return { allow: false, reason, message }
}

/** jose's error → a reason an app can act on (and log), without echoing the token. */
function explain(error: unknown): AccessDecision {
  if (error instanceof errors.JWTExpired) return deny('expired', 'the token has expired')
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return deny('wrong-issuer', 'the token was not issued by this tenant')
    if (error.claim === 'aud') return deny('wrong-audience', 'the token is not for this audience')
    if (error.claim === 'nbf' || (error.claim === 'iat' && error.reason === 'check_failed')) {
      return deny('not-yet-valid', `the token is not valid yet (${error.claim})`)
    }
    return deny('invalid-token', `claim ${error.claim}: ${error.reason}`)
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return deny('algorithm-not-allowed', 'only RS256 tokens are accepted')
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return deny('bad-signature', 'the signature does not verify')
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return deny('unknown-key', "no key in the tenant's JWKS matches the token")
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error instanceof TypeError) {
    return deny('jwks-unavailable', "the tenant's JWKS could not be fetched")
  }
  if (error instanceof errors.JOSEError) return deny('malformed-token', `the token is not a valid JWT (${error.code})`)
  return deny('invalid-token', 'the token could not be verified')
}
