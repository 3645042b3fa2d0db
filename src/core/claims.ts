/**
 * Organization metadata → token claims, and token claims → typed access: the one decision shared by the Auth0
 * Action (compiled into auth0/actions/access-claims.js), the emulator's login and the app helper. Pure, no
 * imports beyond the codec and Auth0's limits, so the Action bundle stays small and has no dependencies.
 *
 * | claim                  | type     | from the metadata key                                  |
 * |------------------------|----------|--------------------------------------------------------|
 * | `<ns>plan`             | string   | `plan`                                                 |
 * | `<ns>role`             | string   | `role`                                                 |
 * | `<ns>contentTags`      | string[] | `contentTags` (JSON array string)                      |
 * | `<ns>entitlements`     | string[] | `entitlements` (same codec), `[]` when the key is absent |
 *
 * Fails closed: anything but well-formed metadata carrying our marker gives no access claims at all.
 */
import { MAX_METADATA_KEYS, MAX_METADATA_VALUE_LENGTH, type Metadata, metadataProblems } from './auth0-rules.ts'
import { decodeAccess, decodeEntitlements, type AccessClaims as MetadataAccess, readStamp } from './metadata.ts'

/** Used when the Action secret `CLAIM_NAMESPACE` is not set. */
export const DEFAULT_CLAIM_NAMESPACE = 'https://sanity-access-sync.example/'

export const CLAIM_NAMES = ['plan', 'role', 'contentTags', 'entitlements'] as const
export type ClaimName = (typeof CLAIM_NAMES)[number]

/** What a token grants: the metadata's access keys plus the entitlements (empty when the metadata has none). */
export interface AccessClaims extends MetadataAccess {
  readonly entitlements: readonly string[]
}

/** Longest namespace accepted; Auth0 caps custom claims at 100 KB in all, this keeps names short. */
const MAX_NAMESPACE_LENGTH = 200
/** Hosts Auth0 reserves: claims namespaced under them are dropped silently. */
const RESERVED_HOSTS = ['auth0.com', 'webtask.io', 'webtask.run']

/** Why `namespace` cannot prefix our claims; undefined when it can. */
export function namespaceProblem(namespace: string): string | undefined {
  if (namespace.length > MAX_NAMESPACE_LENGTH) return `is longer than ${MAX_NAMESPACE_LENGTH} characters`
  let url: URL
  try {
    url = new URL(namespace)
  } catch {
    return 'is not a URL'
  }
  if (url.protocol !== 'https:') return 'must start with https://'
  if (url.href !== namespace) return 'must be a plain URL (no spaces, credentials, query or fragment; lower-case host)'
  if (url.search || url.hash || url.username || url.password) return 'must not carry a query, fragment or credentials'
  if (!namespace.endsWith('/')) return 'must end with "/"'
  const host = url.hostname
  if (RESERVED_HOSTS.some((reserved) => host === reserved || host.endsWith(`.${reserved}`))) {
    return `must not use ${host}: Auth0 drops claims under auth0.com, webtask.io and webtask.run`
  }
  return undefined
}

export type NoClaimsReason =
  /** CLAIM_NAMESPACE is set to something Auth0 would drop or that is not an https URL ending in "/". */
  | 'invalid-namespace'
  /** The login is not for an Organization. */
  | 'no-organization'
  /** The Organization's metadata does not carry `sanityPolicyId`: this project granted nothing. */
  | 'no-marker'
  /** The metadata breaks Auth0's limits (more than 25 keys, a value over 255 characters). */
  | 'oversized'
  /** The marker is there but an access key is missing, empty or not in the codec's format. */
  | 'malformed'

export type ClaimsDecision =
  | {
      readonly grant: true
      readonly claims: Readonly<Record<string, string | readonly string[]>>
    }
  | { readonly grant: false; readonly reason: NoClaimsReason; readonly log: string }

/** The slice of Auth0's `event.organization` the decision reads. */
export interface OrganizationLike {
  readonly id?: unknown
  readonly metadata?: unknown
}

/**
 * The claims to set for a login, or why none, with the one log line to write. Never throws, whatever the input.
 * The log line names the Organization and the reason, never a metadata value.
 */
export function decideClaims(
  organization: OrganizationLike | undefined | null,
  namespaceSecret: unknown,
): ClaimsDecision {
  const namespace = typeof namespaceSecret === 'string' && namespaceSecret !== '' ? namespaceSecret : undefined
  const orgId = typeof organization?.id === 'string' ? organization.id.slice(0, 80) : 'unknown organization'
  const none = (reason: NoClaimsReason, why: string): ClaimsDecision => ({
    grant: false,
    reason,
    log: `access-claims: no access claims (${reason}) for ${orgId}: ${why}`,
  })
  if (namespace !== undefined) {
    const problem = namespaceProblem(namespace)
    if (problem) return none('invalid-namespace', `the Action secret CLAIM_NAMESPACE ${problem}`)
  }
  if (!organization || typeof organization !== 'object') {
    return none('no-organization', 'the login is not for an Organization')
  }
  const metadata = organization.metadata ?? {}
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    return none('malformed', 'organization.metadata is not a map')
  }
  const problems = metadataProblems(metadata as Record<string, unknown>)
  if (problems.length > 0) {
    const keys = Object.keys(metadata).length
    const why =
      keys > MAX_METADATA_KEYS
        ? `${keys} metadata keys, more than Auth0's ${MAX_METADATA_KEYS}`
        : `a metadata key or value breaks Auth0's limits (${MAX_METADATA_VALUE_LENGTH} characters, strings only)`
    return none('oversized', why)
  }
  const map = metadata as Metadata
  if (!readStamp(map)) return none('no-marker', 'no sanityPolicyId in the metadata: this project granted nothing')
  const access = decodeAccess(map)
  if (!access) return none('malformed', 'plan, role or contentTags is missing, empty or not a JSON array of strings')
  const entitlements = decodeEntitlements(map.entitlements)
  if (!entitlements) return none('malformed', 'entitlements is not a JSON array of strings')
  const ns = namespace ?? DEFAULT_CLAIM_NAMESPACE
  return {
    grant: true,
    claims: {
      [`${ns}plan`]: access.plan,
      [`${ns}role`]: access.role,
      [`${ns}contentTags`]: [...access.contentTags],
      [`${ns}entitlements`]: [...entitlements],
    },
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the claims back from a verified token (the app helper)

/** Most elements a claim array may hold. 255 characters of JSON hold at most 63 distinct one-letter tags. */
export const MAX_CLAIM_ARRAY_LENGTH = 128

export type ClaimsProblem =
  /** None of the access claims is in the token: the Action gave none (fail closed), or the namespace differs. */
  | { readonly reason: 'no-access-claims'; readonly message: string }
  /** Some claims are there but of the wrong type, empty, too long or too many. */
  | { readonly reason: 'invalid-claims'; readonly message: string }

/** Typed access from a verified token payload, or why there is none. Does not verify the token. */
export function readAccessClaims(
  payload: Readonly<Record<string, unknown>>,
  namespace: string = DEFAULT_CLAIM_NAMESPACE,
): { readonly ok: true; readonly claims: AccessClaims } | ({ readonly ok: false } & ClaimsProblem) {
  const present = CLAIM_NAMES.filter((name) => Object.hasOwn(payload, `${namespace}${name}`))
  if (present.length === 0) {
    return { ok: false, reason: 'no-access-claims', message: `the token carries no ${namespace}* access claims` }
  }
  const invalid = (message: string) => ({ ok: false as const, reason: 'invalid-claims' as const, message })
  const text = (name: ClaimName): string | undefined => {
    const value = payload[`${namespace}${name}`]
    return typeof value === 'string' && value !== '' && value.length <= MAX_METADATA_VALUE_LENGTH ? value : undefined
  }
  const list = (name: ClaimName): string[] | undefined => {
    const value = payload[`${namespace}${name}`]
    if (!Array.isArray(value) || value.length > MAX_CLAIM_ARRAY_LENGTH) return undefined
    return value.every((item) => typeof item === 'string' && item.length <= MAX_METADATA_VALUE_LENGTH)
      ? value
      : undefined
  }
  const plan = text('plan')
  if (plan === undefined) return invalid(`${namespace}plan must be a non-empty string of at most 255 characters`)
  const role = text('role')
  if (role === undefined) return invalid(`${namespace}role must be a non-empty string of at most 255 characters`)
  const contentTags = list('contentTags')
  if (contentTags === undefined) {
    return invalid(`${namespace}contentTags must be an array of at most ${MAX_CLAIM_ARRAY_LENGTH} strings`)
  }
  const entitlements = list('entitlements')
  if (entitlements === undefined) {
    return invalid(`${namespace}entitlements must be an array of at most ${MAX_CLAIM_ARRAY_LENGTH} strings`)
  }
  return { ok: true, claims: { plan, role, contentTags, entitlements } }
}
