/**
 * Settings, read once from the environment (the blueprint's `env`, `sanity functions env add`, or the shell when
 * run locally). Only the three Auth0 credentials are required. The Sanity project comes from the runtime
 * (`context.clientOptions`) and is checked here too, before anything uses it.
 */
import type { ClientConfig } from '@sanity/client'
import { preview } from './core/auth0-rules.ts'
import { SyncError } from './core/errors.ts'
import { REVOKE_GUARD_DEFAULTS, type RevokeGuardSettings } from './core/revoke-guard.ts'

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

const FUNCTION_HINT =
  'Locally, export the variables; deployed, run `npx sanity functions env add <function> <NAME> <value>`.'

export function readAuth0Config(env: Env): Auth0Config {
  const problems: string[] = []
  const config = collectAuth0Config(env, problems)
  throwIfAny(problems, FUNCTION_HINT)
  return config
}

/** Reads the Auth0 settings, adding every problem to `problems` instead of throwing. */
function collectAuth0Config(env: Env, problems: string[]): Auth0Config {
  const domain = required(env, 'AUTH0_DOMAIN', problems)
  const clientId = required(env, 'AUTH0_CLIENT_ID', problems)
  const clientSecret = required(env, 'AUTH0_CLIENT_SECRET', problems)
  if (domain && !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(domain)) {
    problems.push('AUTH0_DOMAIN must be a bare host name like "acme.eu.auth0.com" (no https://, no path)')
  }
  const timeoutSeconds = numberSetting(env, 'AUTH0_TIMEOUT_SECONDS', DEFAULTS.timeoutSeconds, 1, 60, problems)
  const budgetSeconds = numberSetting(env, 'SYNC_TIME_BUDGET_SECONDS', DEFAULTS.budgetSeconds, 5, 800, problems)
  return { domain, clientId, clientSecret, timeoutSeconds, budgetSeconds }
}

/** Where the reconcile (CLI and scheduled repair) reads policies: a Content Lake outside a function's context. */
export interface SanityConfig {
  readonly projectId: string
  readonly dataset: string
  /** Absent only where the caller supplies one (the scheduled function gets its token from the runtime). */
  readonly token: string | undefined
  /** A full URL used as-is (`useProjectHostname: false`), e.g. an emulator; absent for Sanity's API. */
  readonly apiHost: string | undefined
}

/** The scheduled repair's budget per run; the CLI has none (it runs until done or Ctrl-C). */
export interface RepairConfig {
  /** How long one run may write; keep it under the scheduled function's `timeout` (300 s) with room to spare. */
  readonly budgetSeconds: number
  /** At most this many writes per run; undefined: as many as the time budget and Auth0's rate limits allow. */
  readonly maxWrites: number | undefined
}

export const REPAIR_DEFAULTS = { budgetSeconds: 240 } as const

export interface ReconcileConfig {
  readonly sanity: SanityConfig
  readonly auth0: Auth0Config
  readonly repair: RepairConfig
  /** ALLOW_MASS_REVOKE is read here for the scheduled repair; the CLI takes `--allow-mass-revoke` instead. */
  readonly guard: RevokeGuardSettings
}

/**
 * Settings of the reconcile: SANITY_PROJECT_ID, SANITY_DATASET, SANITY_API_TOKEN (unless `tokenFromRuntime`),
 * optional SANITY_API_HOST, and the function's AUTH0_* settings. One error names every variable at fault.
 */
export function readReconcileConfig(
  env: Env,
  options: { readonly tokenFromRuntime?: boolean; readonly hint?: string } = {},
): ReconcileConfig {
  const problems: string[] = []
  const projectId = required(env, 'SANITY_PROJECT_ID', problems)
  if (projectId && !/^[a-z0-9][a-z0-9-]{0,63}$/.test(projectId)) {
    problems.push('SANITY_PROJECT_ID must be a project ID like "abc123xy" (lowercase letters, digits, dashes)')
  }
  const dataset = required(env, 'SANITY_DATASET', problems)
  if (dataset && !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(dataset)) {
    problems.push('SANITY_DATASET must be a dataset name like "production" (lowercase letters, digits, _ and -)')
  }
  const token = options.tokenFromRuntime
    ? env.SANITY_API_TOKEN?.trim() || undefined
    : required(env, 'SANITY_API_TOKEN', problems)
  const apiHost = env.SANITY_API_HOST?.trim() || undefined
  if (apiHost && !isHttpUrl(apiHost)) {
    problems.push('SANITY_API_HOST must be a full URL like "https://api.sanity.io" or "http://127.0.0.1:4000"')
  }
  const auth0 = collectAuth0Config(env, problems)
  const repair = {
    budgetSeconds: numberSetting(
      env,
      'RECONCILE_TIME_BUDGET_SECONDS',
      REPAIR_DEFAULTS.budgetSeconds,
      10,
      840,
      problems,
    ),
    maxWrites: env.RECONCILE_MAX_WRITES?.trim()
      ? numberSetting(env, 'RECONCILE_MAX_WRITES', 0, 1, 1_000_000, problems)
      : undefined,
  }
  const guard = collectRevokeGuard(env, problems)
  throwIfAny(problems, options.hint ?? 'Export the variables and run again.')
  return { sanity: { projectId, dataset, token, apiHost }, auth0, repair, guard }
}

/**
 * The mass-revoke guard's settings (src/core/revoke-guard.ts): REVOKE_GUARD_MAX_PERCENT (0–100, default 20),
 * REVOKE_GUARD_MIN_COUNT (default 5) and ALLOW_MASS_REVOKE (`true` lets a refused revoke through).
 */
export function readRevokeGuard(env: Env): RevokeGuardSettings {
  const problems: string[] = []
  const guard = collectRevokeGuard(env, problems)
  throwIfAny(problems, FUNCTION_HINT)
  return guard
}

function collectRevokeGuard(env: Env, problems: string[]): RevokeGuardSettings {
  const defaults = REVOKE_GUARD_DEFAULTS
  const maxPercent = numberSetting(env, 'REVOKE_GUARD_MAX_PERCENT', defaults.maxPercent, 0, 100, problems)
  const minCount = numberSetting(env, 'REVOKE_GUARD_MIN_COUNT', defaults.minCount, 0, 1_000_000, problems)
  const raw = env.ALLOW_MASS_REVOKE?.trim().toLowerCase()
  if (raw && raw !== 'true' && raw !== 'false') {
    problems.push(`ALLOW_MASS_REVOKE must be "true" or "false", got "${raw.slice(0, 20)}"`)
  }
  return { maxPercent, minCount, allowMassRevoke: raw === 'true' }
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === ''
  } catch {
    return false
  }
}

function required(env: Env, name: string, problems: string[]): string {
  const value = env[name]?.trim()
  if (!value) problems.push(`${name} is not set`)
  return value ?? ''
}

function throwIfAny(problems: readonly string[], hint: string): void {
  if (problems.length > 0) throw new SyncError('configuration', `Configuration: ${problems.join('; ')}. ${hint}`)
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

/** The client options the runtime passes in `context.clientOptions`, with the project and dataset checked. */
export type SanityClientOptions = ClientConfig & { readonly projectId: string; readonly dataset: string }

/**
 * Deployed, the runtime always sets the project and dataset. `sanity functions test` leaves them out unless told,
 * and `@sanity/client` would then fail with a stack trace: say instead what to pass.
 */
export function readSanityClientOptions(options: unknown): SanityClientOptions {
  const given = (typeof options === 'object' && options !== null ? options : {}) as Record<string, unknown>
  const problems: string[] = []
  const check = (name: 'projectId' | 'dataset', valid: RegExp, rule: string): string => {
    const value = given[name]
    if (typeof value === 'string' && valid.test(value)) return value
    if (value === undefined || value === null || value === '') problems.push(`no ${name}`)
    else problems.push(`${name} ${JSON.stringify(preview(String(value)))} is not valid (${rule})`)
    return ''
  }
  // The client's own rules (@sanity/client config.ts), checked here so that they fail with a message, not a stack.
  const projectId = check('projectId', /^[-a-z0-9]+$/i, 'letters, digits and dashes')
  const dataset = check('dataset', /^~?[a-z0-9][-\w]{0,63}$/, 'lowercase letters, digits, _ and -, at most 64')
  if (problems.length > 0) {
    throw new SyncError(
      'configuration',
      `Configuration: the function was given no usable Sanity project (context.clientOptions: ${problems.join('; ')}), so it cannot read policies and sent nothing to Auth0. ` +
        'With `npx sanity functions test`, pass `--project-id <id> --dataset <name>` (and `--with-user-token` for a private dataset), ' +
        'or run it against the local emulators: `npm run functions:test -- --file <policy.json>`. Deployed, the runtime sets both.',
    )
  }
  return { ...given, projectId, dataset }
}

/**
 * FANOUT_MAX_WRITES: at most this many Auth0 writes per fan-out invocation (a role or plan edit); the rest is left
 * for the next invocation. Unset: as many as SYNC_TIME_BUDGET_SECONDS and Auth0's rate limits allow.
 */
export function readFanOutMaxWrites(env: Env): number | undefined {
  if (!env.FANOUT_MAX_WRITES?.trim()) return undefined
  const problems: string[] = []
  const value = numberSetting(env, 'FANOUT_MAX_WRITES', 0, 1, 100_000, problems)
  throwIfAny(problems, FUNCTION_HINT)
  return value
}
