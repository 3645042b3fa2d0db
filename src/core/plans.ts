/**
 * Plans are content: `plan` documents (title, `key` slug, `entitlements`, description). A policy's `plan` is a
 * plan's `key.current`, and Auth0 gets that key as `plan` and the plan's entitlements as `entitlements`. The
 * function resolves the entitlements by key in its query; a key no published plan has grants no entitlements
 * (the Studio refuses such a key, so only a deleted plan or an API write leads there). Pure.
 */
import { preview } from './auth0-rules.ts'
import { DEFAULT_PLAN } from './metadata.ts'
import { ACTIVE_STATUS, type Issue, type PolicySource, parsePolicy } from './policy.ts'

export { DEFAULT_PLAN }

export const PLAN_TYPE = 'plan'

/** What the Studio accepts as an entitlement key: short, lower-case, e.g. `sso`, `audit-log`, `api:write`. */
export const ENTITLEMENT_KEY = /^[a-z0-9][a-z0-9._:-]{0,63}$/

/** A published plan as the function's queries return it. */
export interface PlanEntitlements {
  readonly key: string | null
  readonly entitlements?: unknown
}

/**
 * Each policy with its plan's entitlements (`entitlements`), by key: the policy's `plan`, or the default plan when it
 * has none. A key no plan has gives null, which grants no entitlements.
 */
export function withEntitlements<T extends PolicySource>(
  policies: readonly T[],
  plans: readonly PlanEntitlements[],
): T[] {
  const byKey = new Map<string, unknown>()
  for (const plan of plans)
    if (plan.key !== null && !byKey.has(plan.key)) byKey.set(plan.key, plan.entitlements ?? null)
  return policies.map((policy) => {
    const key = policy.plan === undefined || policy.plan === null ? DEFAULT_PLAN : policy.plan
    return { ...policy, entitlements: typeof key === 'string' ? (byKey.get(key) ?? null) : null }
  })
}

/** A published plan as the Studio's plan query returns it. */
export interface PlanOption {
  readonly key: string
  readonly title: string | null
}

/** Runs the function's own validation on a policy of this plan, so the plan document is held to the same rules. */
function asPolicy(fields: { plan?: unknown; entitlements?: unknown }): Issue[] {
  const parsed = parsePolicy({
    _id: 'plan-check',
    _rev: 'unpublished',
    _updatedAt: 'unpublished',
    auth0OrganizationId: 'org_plancheck',
    status: ACTIVE_STATUS,
    ...fields,
  })
  return parsed.ok ? [] : parsed.issues
}

/** The plan's key is what Auth0 gets as `plan`: the function's rules for a policy's `plan`. */
export function planKeyIssues(key: unknown): Issue[] {
  return asPolicy({ plan: key ?? '' }).filter((issue) => issue.field === 'plan')
}

/**
 * The function's rules for the entitlements (text, no control characters, ≤ 255 characters encoded), plus the
 * Studio's: short lower-case keys, no duplicates. Fields are `entitlements[i]` or `entitlements`.
 */
export function entitlementsIssues(entitlements: unknown): Issue[] {
  const issues = asPolicy({ entitlements }).filter((issue) => issue.field.startsWith('entitlements'))
  if (!Array.isArray(entitlements)) return issues
  const seen = new Map<string, number>()
  entitlements.forEach((value: unknown, index) => {
    if (typeof value !== 'string' || issues.some((issue) => issue.field === `entitlements[${index}]`)) return
    const first = seen.get(value)
    if (first !== undefined) {
      issues.push({
        field: `entitlements[${index}]`,
        message: `"${preview(value)}" is already entitlement ${first + 1}: remove the duplicate`,
      })
    } else if (!ENTITLEMENT_KEY.test(value)) {
      seen.set(value, index)
      issues.push({
        field: `entitlements[${index}]`,
        message: `"${preview(value)}" is not a short key: use lower-case letters, digits and - _ : . (at most 64), e.g. "audit-log"`,
      })
    } else seen.set(value, index)
  })
  return issues
}

/** The Studio's check of a policy's plan against the published plans' keys. */
export function planProblem(plan: unknown, plans: readonly PlanOption[]): string | undefined {
  if (typeof plan === 'string' && plans.some((option) => option.key === plan)) return undefined
  const pick =
    plans.length > 0
      ? `pick one of ${plans.map((option) => option.key).join(', ')}`
      : 'no plan is published yet: publish a plan document first'
  if (plan === undefined || plan === null || plan === '') return `pick a plan: ${pick.replace(/^pick /, '')}`
  const what = typeof plan === 'string' ? `"${preview(plan)}"` : 'this'
  return `${what} is not the key of a published plan: ${pick}`
}

/**
 * A plan's key is how policies name it: changing the key of a published plan that policies use would leave them on
 * a key no plan has (no entitlements). The Studio refuses it; move the policies first, or create a new plan.
 */
export function keyChangeProblem(publishedKey: string | null, key: unknown, policies: number): string | undefined {
  if (!publishedKey || key === publishedKey || policies === 0) return undefined
  const used = policies === 1 ? '1 published policy uses' : `${policies} published policies use`
  return `${used} the key "${preview(publishedKey)}": changing it would leave them on a key no plan has (no entitlements). Move them to another plan first, or create a new plan`
}
