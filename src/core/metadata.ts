/**
 * The access-metadata format this project writes to an Auth0 Organization: the keys it owns, how a grant is
 * encoded into them, and how they are read back (by the function, the Auth0 Action, the Studio and the tests).
 *
 * | key                     | value                                                        |
 * |-------------------------|--------------------------------------------------------------|
 * | `plan`                  | plan key, default `"free"`                                   |
 * | `role`                  | role slug, default `"member"`                                |
 * | `contentTags`           | JSON array string of the distinct tags, sorted               |
 * | `entitlements`          | the plan's entitlement keys, same codec as `contentTags`     |
 * | `sanityPolicyId`        | `_id` of the accessPolicy that wrote the keys (ownership)    |
 * | `sanityPolicyRev`       | `_rev` of the revision that last changed the access keys     |
 * | `sanityPolicyUpdatedAt` | `_updatedAt` of that revision (orders writes, never go back) |
 *
 * Every other key on the Organization belongs to someone else and is carried through each write untouched.
 * A revision that changes none of the access keys (a title edit) is not written: the stamp keeps naming the
 * revision Auth0's values came from.
 */
import type { Metadata } from './auth0-rules.ts'

export const DEFAULT_PLAN = 'free'
export const DEFAULT_ROLE = 'member'

export const OWNED_KEYS = [
  'plan',
  'role',
  'contentTags',
  'entitlements',
  'sanityPolicyId',
  'sanityPolicyRev',
  'sanityPolicyUpdatedAt',
] as const
export type OwnedKey = (typeof OWNED_KEYS)[number]
export type OwnedMetadata = Readonly<Record<OwnedKey, string>>

/** The keys apps read. The others are bookkeeping: which policy revision last changed these. */
export const ACCESS_KEYS = ['plan', 'role', 'contentTags', 'entitlements'] as const satisfies readonly OwnedKey[]

const owned: ReadonlySet<string> = new Set(OWNED_KEYS)
export const isOwnedKey = (key: string): key is OwnedKey => owned.has(key)

/** What a published, active policy grants its organization, already validated. */
export interface Grant {
  readonly policyId: string
  readonly rev: string
  readonly updatedAt: string
  readonly plan: string
  readonly role: string
  readonly contentTags: readonly string[]
  /** The entitlement keys of the policy's plan document; empty when no plan document has the policy's key. */
  readonly entitlements: readonly string[]
}

/** Distinct tags in a stable order (UTF-16 code unit order, the same in every runtime and locale). */
export function normalizeTags(tags: readonly string[]): string[] {
  return [...new Set(tags)].sort()
}

/** The one list codec, for `contentTags` and `entitlements`: a JSON array string of the distinct values, sorted. */
export function encodeKeyList(values: readonly string[]): string {
  return JSON.stringify(normalizeTags(values))
}

export function decodeKeyList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined
  try {
    const parsed: unknown = JSON.parse(value)
    return Array.isArray(parsed) && parsed.every((tag) => typeof tag === 'string') ? parsed : undefined
  } catch {
    return undefined
  }
}

export const encodeContentTags = encodeKeyList
export const decodeContentTags = decodeKeyList
export const encodeEntitlements = encodeKeyList

/**
 * `entitlements` read back: `[]` when the key is absent (metadata written before plans had entitlements, which
 * grants none), undefined when it is there but not a JSON array of strings.
 */
export function decodeEntitlements(value: string | undefined): string[] | undefined {
  return value === undefined ? [] : decodeKeyList(value)
}

export function encodeGrant(grant: Grant): OwnedMetadata {
  return {
    plan: grant.plan,
    role: grant.role,
    contentTags: encodeContentTags(grant.contentTags),
    entitlements: encodeEntitlements(grant.entitlements),
    sanityPolicyId: grant.policyId,
    sanityPolicyRev: grant.rev,
    sanityPolicyUpdatedAt: grant.updatedAt,
  }
}

/** Splits an Organization's metadata into the keys this project owns and everyone else's. */
export function splitMetadata(metadata: Metadata): { owned: Partial<Record<OwnedKey, string>>; foreign: Metadata } {
  const entries = Object.entries(metadata)
  // fromEntries defines own properties, so a foreign key named "__proto__" survives instead of being swallowed.
  return {
    owned: Object.fromEntries(entries.filter(([key]) => isOwnedKey(key))),
    foreign: Object.fromEntries(entries.filter(([key]) => !isOwnedKey(key))),
  }
}

/** Who wrote the owned keys, if this project did. */
export interface Stamp {
  readonly policyId: string
  readonly rev: string | undefined
  readonly updatedAt: string | undefined
}

export function readStamp(metadata: Metadata): Stamp | undefined {
  const policyId = metadata.sanityPolicyId
  if (!policyId) return undefined
  return { policyId, rev: metadata.sanityPolicyRev, updatedAt: metadata.sanityPolicyUpdatedAt }
}

/** The access claims an app may rely on, read back from metadata; undefined when this project granted nothing. */
export interface AccessClaims {
  readonly plan: string
  readonly role: string
  readonly contentTags: readonly string[]
}

export function decodeAccess(metadata: Metadata): AccessClaims | undefined {
  if (!readStamp(metadata)) return undefined
  const contentTags = decodeContentTags(metadata.contentTags)
  if (!metadata.plan || !metadata.role || !contentTags) return undefined
  return { plan: metadata.plan, role: metadata.role, contentTags }
}
