/**
 * Auth0's rules for what this project sends it, in one place: the Organization ID format we are willing to put in
 * a request path, and the documented limits of Organization metadata. Pure; shared by the function, the Studio
 * validation and the tests.
 */

/** Auth0 stores at most this many metadata pairs on an Organization. */
export const MAX_METADATA_KEYS = 25
/** Auth0's maximum length of one metadata key, and of one metadata value. */
export const MAX_METADATA_KEY_LENGTH = 255
export const MAX_METADATA_VALUE_LENGTH = 255

/**
 * Auth0 Organization IDs are `org_` followed by letters and digits. Anything else never reaches a request path:
 * that closes path traversal (`org_x/../clients`), query and header injection in one check.
 */
const ORGANIZATION_ID = /^org_[A-Za-z0-9]{1,64}$/

export type OrganizationId = string & { readonly __brand: 'Auth0OrganizationId' }

export function isOrganizationId(value: unknown): value is OrganizationId {
  return typeof value === 'string' && ORGANIZATION_ID.test(value)
}

/** Why a value is not a safe Organization ID, worded for an editor; undefined when it is one. */
export function organizationIdProblem(value: unknown): string | undefined {
  if (isOrganizationId(value)) return undefined
  if (typeof value !== 'string') return `must be a string like "org_abc123", got ${describe(value)}`
  return `"${preview(value)}" is not an Auth0 Organization ID: copy the ID (org_ followed by letters and digits) from Auth0 Dashboard > Organizations`
}

export type Metadata = Readonly<Record<string, string>>

/**
 * Every way `metadata` breaks Auth0's limits, as sentences naming the key. Lengths are counted in UTF-16 code
 * units, which is never less than Auth0's character count, so what passes here passes there.
 */
export function metadataProblems(metadata: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = []
  const keys = Object.keys(metadata)
  if (keys.length > MAX_METADATA_KEYS) {
    problems.push(`the organization would hold ${keys.length} metadata keys; Auth0 allows at most ${MAX_METADATA_KEYS}`)
  }
  for (const key of keys) {
    const value = metadata[key]
    if (key.length > MAX_METADATA_KEY_LENGTH) {
      problems.push(
        `metadata key "${preview(key)}" is ${key.length} characters; Auth0 allows ${MAX_METADATA_KEY_LENGTH}`,
      )
    }
    if (typeof value !== 'string') {
      problems.push(`metadata value of "${preview(key)}" must be a string, got ${describe(value)}`)
    } else if (value.length > MAX_METADATA_VALUE_LENGTH) {
      problems.push(
        `metadata value of "${preview(key)}" is ${value.length} characters; Auth0 allows ${MAX_METADATA_VALUE_LENGTH}`,
      )
    }
  }
  return problems
}

export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'string' ? `"${preview(value)}"` : `a ${typeof value}`
}

/** A short, printable excerpt of untrusted text for error messages (no control characters, bounded length). */
export function preview(text: string, max = 40): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const printable = text.replace(/[\u0000-\u001f\u007f]/g, '?')
  return printable.length > max ? `${printable.slice(0, max)}…` : printable
}
