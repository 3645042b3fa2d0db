/**
 * Validation of `accessPolicy` data as it arrives from outside (a Content Lake query, an event payload, a Studio
 * form): every rule lives here once, and every problem names the field and the fix. After `parsePolicy` the
 * rest of the code trusts the value.
 */
import {
  describe,
  MAX_METADATA_VALUE_LENGTH,
  type OrganizationId,
  organizationIdProblem,
  preview,
} from './auth0-rules.ts'
import { DEFAULT_PLAN, DEFAULT_ROLE, encodeKeyList, type Grant } from './metadata.ts'

/** The fields the function reads from a policy; the GROQ projections select exactly these. */
export interface PolicySource {
  _id?: unknown
  _rev?: unknown
  _createdAt?: unknown
  _updatedAt?: unknown
  auth0OrganizationId?: unknown
  plan?: unknown
  allowedContentTags?: unknown
  /** `role->slug.current`: null when the reference is missing or dangling. */
  role?: unknown
  /** `role._ref`: tells a dangling reference (an error) from no role at all (the default role). */
  roleRef?: unknown
  status?: unknown
  /**
   * The entitlements of the published plan whose `key.current` is the policy's plan (joined in by the gateway,
   * `withEntitlements`): null when no published plan has that key, which grants no entitlements.
   */
  entitlements?: unknown
}

export interface Issue {
  /** The document field at fault, e.g. `allowedContentTags[2]`. */
  readonly field: string
  readonly message: string
}

export interface Policy {
  readonly id: string
  readonly createdAt: string
  readonly organizationId: OrganizationId | undefined
  /** Present only when the policy is active: what it grants. */
  readonly grant: Grant | undefined
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: Issue[] }

export const ACTIVE_STATUS = 'active'

/** Reporting every bad tag of a 100 000-element array helps nobody. */
const MAX_TAG_ISSUES = 5

/** Longest plan/role/tag text we accept; Auth0's per-value limit bounds it anyway. */
const MAX_TEXT = MAX_METADATA_VALUE_LENGTH

/**
 * Checks a policy. Identity and the organization ID are always checked (they end up in request paths); the
 * granted values only when the policy is active, since an inactive policy sends nothing but a revocation.
 */
export function parsePolicy(source: unknown): Parsed<Policy> {
  if (!isRecord(source)) return fail('document', `expected an accessPolicy document, got ${describe(source)}`)
  const issues: Issue[] = []
  const id = requiredText(source, '_id', issues)
  const createdAt = typeof source._createdAt === 'string' ? source._createdAt : ''
  let organizationId: OrganizationId | undefined
  if (source.auth0OrganizationId !== undefined && source.auth0OrganizationId !== null) {
    const problem = organizationIdProblem(source.auth0OrganizationId)
    if (problem) issues.push({ field: 'auth0OrganizationId', message: problem })
    else organizationId = source.auth0OrganizationId as OrganizationId
  }

  const active = source.status === ACTIVE_STATUS
  let grant: Grant | undefined
  if (active) {
    if (source.auth0OrganizationId === undefined || source.auth0OrganizationId === null) {
      issues.push({
        field: 'auth0OrganizationId',
        message: 'an active policy needs the Auth0 Organization ID it grants',
      })
    }
    const rev = requiredText(source, '_rev', issues)
    const updatedAt = requiredText(source, '_updatedAt', issues)
    const plan = optionalKey(source.plan, 'plan', DEFAULT_PLAN, issues)
    const role = roleSlug(source, issues)
    const contentTags = textList(source.allowedContentTags, LISTS.allowedContentTags, issues)
    const entitlements = textList(source.entitlements, LISTS.entitlements, issues)
    if (issues.length === 0) grant = { policyId: id, rev, updatedAt, plan, role, contentTags, entitlements }
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: { id, createdAt, organizationId, grant } }
}

/** One line per issue, for logs and thrown errors. */
export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ')
}

function roleSlug(source: Record<string, unknown>, issues: Issue[]): string {
  const dangling = source.role == null && typeof source.roleRef === 'string' && source.roleRef !== ''
  if (dangling) {
    issues.push({
      field: 'role',
      message: `references role document "${preview(String(source.roleRef))}", which does not exist or is not published: publish the role or pick another`,
    })
    return ''
  }
  return optionalKey(source.role, 'role', DEFAULT_ROLE, issues)
}

function optionalKey(value: unknown, field: string, fallback: string, issues: Issue[]): string {
  if (value === undefined || value === null) return fallback
  const problem = textProblem(value)
  if (problem) {
    issues.push({ field, message: problem })
    return ''
  }
  return value as string
}

/** The two lists Auth0 gets as one JSON text each: the policy's tags and its plan's entitlements. */
const LISTS = {
  allowedContentTags: { field: 'allowedContentTags', what: 'tags', fix: 'remove or shorten tags' },
  entitlements: {
    field: 'entitlements',
    what: 'entitlements',
    fix: "remove or shorten entitlements on the policy's plan document",
  },
} as const

function textList(value: unknown, list: (typeof LISTS)[keyof typeof LISTS], issues: Issue[]): string[] {
  const { field, what } = list
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) {
    issues.push({ field, message: `must be a list of ${what}, got ${describe(value)}` })
    return []
  }
  const result: string[] = []
  let bad = 0
  value.forEach((item: unknown, index) => {
    const problem = textProblem(item)
    if (!problem) result.push(item as string)
    else if (++bad <= MAX_TAG_ISSUES) issues.push({ field: `${field}[${index}]`, message: problem })
  })
  if (bad > MAX_TAG_ISSUES) {
    issues.push({ field, message: `${bad - MAX_TAG_ISSUES} more ${what} are invalid too` })
  }
  if (result.length === value.length) {
    const encoded = encodeKeyList(result).length
    if (encoded > MAX_METADATA_VALUE_LENGTH) {
      issues.push({
        field,
        message: `the ${what} encode to ${encoded} characters; Auth0 allows ${MAX_METADATA_VALUE_LENGTH} per value: ${list.fix}`,
      })
    }
  }
  return result
}

function textProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be text, got ${describe(value)}`
  if (value.trim() === '') return 'must not be empty'
  if (value.length > MAX_TEXT) return `is ${value.length} characters; at most ${MAX_TEXT}`
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  if (/[\u0000-\u001f\u007f]/.test(value)) return `"${preview(value)}" contains control characters`
  if (!value.isWellFormed()) return 'contains broken Unicode (a lone surrogate)'
  return undefined
}

function requiredText(source: Record<string, unknown>, field: string, issues: Issue[]): string {
  const value = source[field]
  if (typeof value === 'string' && value !== '') return value
  issues.push({ field, message: `must be a non-empty string, got ${describe(value)}` })
  return ''
}

function fail(field: string, message: string): Parsed<never> {
  return { ok: false, issues: [{ field, message }] }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
