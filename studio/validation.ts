/**
 * Sanity `Rule.custom` validators over the pure rules in src/core/authoring.ts (which run the function's own
 * `parsePolicy`). Only the wiring lives here: turning issues into markers and running the conflict query.
 */
import type { CustomValidator, CustomValidatorResult, ValidationContext } from 'sanity'
import { isOrganizationId } from '../src/core/auth0-rules.ts'
import {
  conflictIssue,
  issuesForField,
  type PolicyField,
  type PolicyForm,
  publishedId,
  roleSlugIssues,
  studioIssues,
} from '../src/core/authoring.ts'
import { entitlementsIssues, keyChangeProblem, type PlanOption, planKeyIssues } from '../src/core/plans.ts'
import { ACTIVE_STATUS } from '../src/core/policy.ts'
import { CONFLICTING_POLICIES_QUERY, PLAN_KEY_IN_USE_QUERY, PUBLISHED_PLANS_QUERY } from './queries.ts'

export const VALIDATION_API_VERSION = '2025-05-01'

function toResult(issues: readonly { message: string; index?: number }[]): CustomValidatorResult {
  if (issues.length === 0) return true
  return issues.map(({ message, index }) => (index === undefined ? { message } : { message, path: [index] }))
}

const formOf = (context: ValidationContext): PolicyForm => (context.document ?? {}) as PolicyForm

/** The issues the function and the Studio's stricter rules find in the whole form, for one field. */
export function fieldRule(field: PolicyField): CustomValidator<unknown> {
  return (_value, context) => toResult(issuesForField(studioIssues(formOf(context)), field))
}

/** The published plans, from their documents: what a policy's plan may be. */
export async function publishedPlans(context: ValidationContext): Promise<PlanOption[]> {
  return context
    .getClient({ apiVersion: VALIDATION_API_VERSION })
    .fetch(PUBLISHED_PLANS_QUERY, {}, { perspective: 'published', tag: 'access-policy-plans' })
    .then((plans) => plans.flatMap((plan) => (plan.key ? [{ key: plan.key, title: plan.title }] : [])))
}

/** The plan's own rules, then whether a published plan has that key (a key with no plan grants no entitlements). */
export const planRule: CustomValidator<unknown> = async (_value, context) => {
  const form = formOf(context)
  const issues = issuesForField(studioIssues(form), 'plan')
  if (issues.length > 0) return toResult(issues)
  return toResult(issuesForField(studioIssues(form, await publishedPlans(context)), 'plan'))
}

/**
 * The organization ID's format, then, for an active policy, whether another published active policy already
 * grants the same organization. Reads the published perspective: drafts of other policies grant nothing.
 */
export const organizationRule: CustomValidator<unknown> = async (value, context) => {
  const form = formOf(context)
  const issues = issuesForField(studioIssues(form), 'auth0OrganizationId')
  if (issues.length > 0 || form.status !== ACTIVE_STATUS || !isOrganizationId(value)) return toResult(issues)
  const others = await context
    .getClient({ apiVersion: VALIDATION_API_VERSION })
    .fetch(
      CONFLICTING_POLICIES_QUERY,
      { organizationId: value, publishedId: publishedId(typeof form._id === 'string' ? form._id : '') },
      { perspective: 'published', tag: 'access-policy-conflict' },
    )
  const conflict = conflictIssue(value, others)
  return conflict ? conflict.message : true
}

/** The function's rules for `plan`, then: a published plan's key cannot change while published policies use it. */
export const planKeyRule: CustomValidator<{ current?: unknown } | undefined> = async (value, context) => {
  if (value?.current === undefined) return true
  const issues = planKeyIssues(value.current)
  if (issues.length > 0) return toResult(issues.map(({ message }) => ({ message })))
  const id = typeof context.document?._id === 'string' ? publishedId(context.document._id) : ''
  const published = await context
    .getClient({ apiVersion: VALIDATION_API_VERSION })
    .fetch(PLAN_KEY_IN_USE_QUERY, { id }, { perspective: 'published', tag: 'access-plan-key' })
  return keyChangeProblem(published?.key ?? null, value.current, published?.policies ?? 0) ?? true
}

/** The function's rules for the entitlements (as Auth0 gets them) plus short keys and no duplicates. */
export const entitlementsRule: CustomValidator<unknown> = (value) => {
  const issues = entitlementsIssues(value ?? [])
  return toResult(
    issues.map(({ field, message }) => {
      const index = /^entitlements\[(\d+)\]$/.exec(field)?.[1]
      return index === undefined ? { message } : { message, index: Number(index) }
    }),
  )
}

export const roleSlugRule: CustomValidator<{ current?: unknown } | undefined> = (value) => {
  if (value?.current === undefined) return true
  return toResult(roleSlugIssues(value.current))
}
