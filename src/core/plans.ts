/**
 * The plan keys apps understand. The function passes any valid text through (the default is `DEFAULT_PLAN`); the
 * Studio only offers, and only accepts, these. Adding a plan here is a product decision: the Auth0 Action and the
 * apps reading the `plan` claim must know it too.
 */
export const PLANS = [
  { key: 'free', title: 'Free' },
  { key: 'team', title: 'Team' },
  { key: 'pro', title: 'Pro' },
  { key: 'enterprise', title: 'Enterprise' },
] as const satisfies readonly { key: string; title: string }[]

export type PlanKey = (typeof PLANS)[number]['key']

export const PLAN_KEYS: readonly string[] = PLANS.map((plan) => plan.key)

export function isPlanKey(value: unknown): value is PlanKey {
  return typeof value === 'string' && PLAN_KEYS.includes(value)
}
