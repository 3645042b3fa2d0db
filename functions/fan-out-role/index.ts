import { fanOutHandler } from '../../src/fanout-handler.ts'

/**
 * A role's slug changed, or the role was created or deleted (sanity.blueprint.ts, ROLE_FAN_OUT): every Organization
 * owned by an active policy using the role is re-synced; a fan-out too large for one invocation continues in the
 * next, from its status document.
 */
export const handler = fanOutHandler('role')
