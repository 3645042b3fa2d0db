/**
 * What the Studio lets an editor publish. Every rule the function applies comes from `parsePolicy` itself, run on
 * the form; nothing here repeats a pattern or a limit. The rules added on top are stricter than the function on
 * purpose, because an editor can still fix things before publishing: an explicit role and status,
 * a plan that has a published plan document, no duplicate tags, and one active policy per organization. Pure: the Studio wires these into Sanity's `Rule`.
 */
import { MAX_METADATA_VALUE_LENGTH, preview } from './auth0-rules.ts'
import { encodeContentTags } from './metadata.ts'
import { type PlanOption, planProblem } from './plans.ts'
import { ACTIVE_STATUS, type Issue, type PolicySource, parsePolicy } from './policy.ts'

export const POLICY_STATUSES = [
  { value: ACTIVE_STATUS, title: 'Active: grants access' },
  { value: 'paused', title: 'Paused: access revoked, policy kept' },
  { value: 'archived', title: 'Archived: access revoked for good' },
] as const

/** The policy fields an editor edits, as the Studio form holds them (references unresolved). */
export interface PolicyForm {
  readonly _id?: unknown
  readonly _createdAt?: unknown
  readonly auth0OrganizationId?: unknown
  readonly plan?: unknown
  readonly allowedContentTags?: unknown
  /** A reference: `{_ref}`. */
  readonly role?: unknown
  readonly status?: unknown
}

export type PolicyField = 'auth0OrganizationId' | 'plan' | 'allowedContentTags' | 'role' | 'status'

/** Stands in for the system fields the function reads but an unpublished form does not have yet. */
const UNPUBLISHED = 'unpublished'

/** `drafts.x` and `versions.<release>.x` are edits of the published document `x`. */
export function publishedId(id: string): string {
  if (id.startsWith('drafts.')) return id.slice('drafts.'.length)
  if (id.startsWith('versions.')) return id.slice(id.indexOf('.', 'versions.'.length) + 1)
  return id
}

function referenceId(value: unknown): string | undefined {
  const ref = typeof value === 'object' && value !== null ? (value as { _ref?: unknown })._ref : undefined
  return typeof ref === 'string' && ref !== '' ? ref : undefined
}

/**
 * The form as the function's GROQ query would return it once published. The role's slug is not in the form, only
 * its reference; the Content Lake refuses to publish a reference to a missing document, so a stand-in slug is
 * enough for `parsePolicy`, and the slug itself is checked on the role document (`roleSlugIssues`).
 */
export function toPolicySource(form: PolicyForm): PolicySource {
  const roleRef = referenceId(form.role)
  return {
    _id: typeof form._id === 'string' && form._id !== '' ? publishedId(form._id) : UNPUBLISHED,
    _rev: UNPUBLISHED,
    _createdAt: form._createdAt,
    _updatedAt: UNPUBLISHED,
    auth0OrganizationId: form.auth0OrganizationId,
    plan: form.plan,
    allowedContentTags: form.allowedContentTags,
    role: roleRef ? '<referenced>' : undefined,
    roleRef,
    status: form.status,
  }
}

/**
 * The function's own verdict on the form. A paused or archived policy is checked as if it were active, so that
 * reactivating it later is a status change and nothing else; only "an active policy needs an organization" waits
 * until it is active.
 */
export function functionIssues(form: PolicyForm): Issue[] {
  const source = toPolicySource(form)
  const parsed = parsePolicy({ ...source, status: ACTIVE_STATUS })
  const issues = parsed.ok ? [] : parsed.issues
  const hasOrganization = source.auth0OrganizationId !== undefined && source.auth0OrganizationId !== null
  if (source.status === ACTIVE_STATUS || hasOrganization) return issues
  return issues.filter((issue) => issue.field !== 'auth0OrganizationId')
}

/**
 * The function's issues plus the Studio's stricter rules. Plan, role and status get the Studio's message only where
 * the function raised nothing for the field, so one mistake yields one message; duplicate tags are always named.
 * The plan is checked against `plans`, the published plan documents, when given (the Studio reads them).
 */
export function studioIssues(form: PolicyForm, plans?: readonly PlanOption[]): Issue[] {
  const issues = functionIssues(form)
  const flagged = (field: PolicyField) => issues.some((issue) => issueField(issue) === field)
  const extra: Issue[] = []
  if (!flagged('plan') && plans !== undefined) {
    const problem = planProblem(form.plan, plans)
    if (problem) extra.push({ field: 'plan', message: problem })
  }
  if (!flagged('role') && referenceId(form.role) === undefined) {
    extra.push({ field: 'role', message: 'pick the role this policy grants (Auth0 gets its slug, e.g. "member")' })
  }
  if (!flagged('status') && !POLICY_STATUSES.some((status) => status.value === form.status)) {
    const known = POLICY_STATUSES.map((status) => status.value).join(', ')
    extra.push({ field: 'status', message: `pick one of ${known}; only "${ACTIVE_STATUS}" grants access` })
  }
  return [...issues, ...extra, ...duplicateTagIssues(form.allowedContentTags)]
}

export function duplicateTagIssues(tags: unknown): Issue[] {
  if (!Array.isArray(tags)) return []
  const firstIndex = new Map<unknown, number>()
  const issues: Issue[] = []
  tags.forEach((tag: unknown, index) => {
    const first = firstIndex.get(tag)
    if (first === undefined) firstIndex.set(tag, index)
    else if (typeof tag === 'string') {
      issues.push({
        field: `allowedContentTags[${index}]`,
        message: `"${preview(tag)}" is already tag ${first + 1}: remove the duplicate`,
      })
    }
  })
  return issues
}

/** Issues of one field, keyed by their position inside it (`allowedContentTags[2]` → 2), for the Studio's markers. */
export function issuesForField(issues: readonly Issue[], field: PolicyField): { message: string; index?: number }[] {
  return issues.flatMap((issue) => {
    if (issueField(issue) !== field) return []
    const index = /^\w+\[(\d+)\]$/.exec(issue.field)?.[1]
    return [index === undefined ? { message: issue.message } : { message: issue.message, index: Number(index) }]
  })
}

function issueField(issue: Issue): string {
  const bracket = issue.field.indexOf('[')
  return bracket === -1 ? issue.field : issue.field.slice(0, bracket)
}

/** How much of Auth0's per-value limit the encoded `contentTags` uses: the counter under the tags field. */
export function contentTagsBudget(tags: unknown): { readonly used: number; readonly max: number } {
  const texts = Array.isArray(tags) ? tags.filter((tag): tag is string => typeof tag === 'string') : []
  return { used: encodeContentTags(texts).length, max: MAX_METADATA_VALUE_LENGTH }
}

/**
 * A role's slug is what Auth0 receives as `role`: it must pass the same check as a policy's role does. Runs the
 * function's validation on a policy granting that slug.
 */
export function roleSlugIssues(slug: unknown): Issue[] {
  const parsed = parsePolicy({
    _id: 'role-check',
    _rev: UNPUBLISHED,
    _updatedAt: UNPUBLISHED,
    auth0OrganizationId: 'org_rolecheck',
    status: ACTIVE_STATUS,
    role: slug ?? '',
  })
  return parsed.ok ? [] : parsed.issues.filter((issue) => issue.field === 'role')
}

/** Another published, active policy naming the same organization, as the conflict query returns it. */
export interface ConflictingPolicy {
  readonly _id: string
  readonly title: string | null
}

/**
 * The function would sync only the oldest active policy for an organization and report the others as conflicts.
 * The Studio refuses to publish a second one instead, so that which policy grants access is never a surprise.
 */
export function conflictIssue(organizationId: string, others: readonly ConflictingPolicy[]): Issue | undefined {
  const [first] = others
  if (!first) return undefined
  const name = first.title ? `"${preview(first.title)}" (${first._id})` : first._id
  const more = others.length > 1 ? ` and ${others.length - 1} more` : ''
  return {
    field: 'auth0OrganizationId',
    message: `${organizationId} is already granted by the published, active policy ${name}${more}. An organization takes one active policy: archive that one, or name another organization`,
  }
}
