/**
 * Settings, read once from the environment (the blueprint's `env`, `sanity functions env add`, or the shell when
 * run locally). Only the three Auth0 credentials are required.
 */
import { SyncError } from './core/errors.ts'

export interface Auth0Config {
  /** Tenant domain such as `acme.eu.auth0.com` (no scheme); `host:port` is accepted for local emulators. */
  readonly domain: string
  readonly clientId: string
  readonly clientSecret: string
  /** Per-request timeout for Auth0 calls. */
  readonly timeoutSeconds: number
  /**
   * How long one invocation may spend on Auth0, retries and rate-limit waits included. Keep it well under the
   * blueprint's function `timeout` (120 s): the default leaves 30 s to spare.
   */
  readonly budgetSeconds: number
}

export const DEFAULTS = { timeoutSeconds: 10, budgetSeconds: 90 } as const

type Env = Readonly<Record<string, string | undefined>>

export function readAuth0Config(env: Env): Auth0Config {
  const problems: string[] = []
  const required = (name: string): string => {
    const value = env[name]?.trim()
    if (!value) problems.push(`${name} is not set`)
    return value ?? ''
  }
  const domain = required('AUTH0_DOMAIN')
  const clientId = required('AUTH0_CLIENT_ID')
  const clientSecret = required('AUTH0_CLIENT_SECRET')
  if (domain && !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(domain)) {
    problems.push('AUTH0_DOMAIN must be a bare host name like "acme.eu.auth0.com" (no https://, no path)')
  }
  const timeoutSeconds = numberSetting(env, 'AUTH0_TIMEOUT_SECONDS', DEFAULTS.timeoutSeconds, 1, 60, problems)
  const budgetSeconds = numberSetting(env, 'SYNC_TIME_BUDGET_SECONDS', DEFAULTS.budgetSeconds, 5, 800, problems)
  if (problems.length > 0) {
    throw new SyncError(
      'configuration',
      `Configuration: ${problems.join('; ')}. Locally, export the variables; deployed, run \`npx sanity functions env add <function> <NAME> <value>\`.`,
    )
  }
  return { domain, clientId, clientSecret, timeoutSeconds, budgetSeconds }
}

function numberSetting(env: Env, name: string, fallback: number, min: number, max: number, problems: string[]) {
  const raw = env[name]?.trim()
  if (!raw) return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw.slice(0, 20)}"`)
    return fallback
  }
  return value
}
