import { fanOutHandler } from '../../src/fanout-handler.ts'

/**
 * A plan's key or entitlements changed, or the plan was created or deleted (sanity.blueprint.ts, PLAN_FAN_OUT):
 * every Organization owned by an active policy on the plan (old or new key) is re-synced; a fan-out too large for
 * one invocation continues in the next, from its status document.
 */
export const handler = fanOutHandler('plan')
