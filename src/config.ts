/**
 * Settings, read once from the environment (the blueprint's `env`, `sanity functions env add`, or the shell when
 * run locally). Only the three Auth0 credentials are required. The Sanity project comes from the runtime
 * (`context.clientOptions`) and is checked here too, before anything uses it.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { ClientConfig } from '@sanity/client'
import { preview } from './core/auth0-rules.ts'
import { SyncError } from './core/errors.ts'
import { REVOKE_GUARD_DEFAULTS, type RevokeGuardSettings } from './core/revoke-guard.ts'

/** Algorithms Auth0 accepts for a Private Key JWT credential (its `alg`: RS256, RS384, PS256). */
export const SIGNING_ALGS = ['RS256', 'RS384', 'PS256'] as const
export type SigningAlg = (typeof SIGNING_ALGS)[number]

/**
 * How a Machine-to-Machine application proves who it is at /oauth/token: a client secret, or (recommended) a
 * private key signing a client assertion (Private Key JWT). The SDK's own options, so they are passed on as-is.
 */
export type ClientCredential =
  | { readonly clientSecret: string }
  | {
      /** A PKCS#8 PEM (the SDK's `importPKCS8` takes nothing else); read from any accepted form and checked. */
      readonly clientAssertionSigningKey: string
      readonly clientAssertionSigningAlg: SigningAlg
    }

export type Auth0Config = Auth0Settings & ClientCredential

export interface Auth0Settings {
  /** Tenant domain such as `acme.eu.auth0.com` (no scheme); `host:port` is accepted for local emulators. */
  readonly domain: string
  readonly clientId: string
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
  const credential = collectCredential(env, SYNC_CREDENTIAL, problems)
  if (domain && !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(domain)) {
    problems.push('AUTH0_DOMAIN must be a bare host name like "acme.eu.auth0.com" (no https://, no path)')
  }
  const timeoutSeconds = numberSetting(env, 'AUTH0_TIMEOUT_SECONDS', DEFAULTS.timeoutSeconds, 1, 60, problems)
  const budgetSeconds = numberSetting(env, 'SYNC_TIME_BUDGET_SECONDS', DEFAULTS.budgetSeconds, 5, 800, problems)
  return { domain, clientId, ...credential, timeoutSeconds, budgetSeconds }
}

/** The settings that hold one client's credential: the sync client's, or the deploy client's. */
export interface CredentialNames {
  readonly id: string
  readonly secret: string
  readonly key: string
  readonly alg: string
}

export const SYNC_CREDENTIAL: CredentialNames = {
  id: 'AUTH0_CLIENT_ID',
  secret: 'AUTH0_CLIENT_SECRET',
  key: 'AUTH0_CLIENT_ASSERTION_SIGNING_KEY',
  alg: 'AUTH0_CLIENT_ASSERTION_SIGNING_ALG',
}

export const DEPLOY_CREDENTIAL: CredentialNames = {
  id: 'AUTH0_DEPLOY_CLIENT_ID',
  secret: 'AUTH0_DEPLOY_CLIENT_SECRET',
  key: 'AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY',
  alg: 'AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_ALG',
}

/**
 * Exactly one of the client secret and the private key. Both set is refused rather than preferring one: Auth0
 * gives an application one authentication method, so one of the two is stale, and which one is a guess.
 */
export function collectCredential(
  env: Env,
  names: CredentialNames,
  problems: string[],
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): ClientCredential {
  const secret = env[names.secret]?.trim()
  const rawKey = env[names.key]?.trim()
  const rawAlg = env[names.alg]?.trim()
  if (secret && rawKey) {
    problems.push(
      `${names.secret} and ${names.key} are both set: set one. With Private Key JWT (recommended), remove ${names.secret} from the settings (\`access-sync deploy\` then removes it from the functions too); to keep the secret, remove ${names.key} and ${names.alg}`,
    )
    return { clientSecret: secret }
  }
  if (!rawKey) {
    if (rawAlg)
      problems.push(`${names.alg} is set but ${names.key} is not: set the private key, or remove ${names.alg}`)
    if (!secret) {
      problems.push(
        `no credential for ${names.id}: ${names.key} is not set (Private Key JWT, recommended: the PEM private key, its base64, or a file path) and ${names.secret} is not set; set one of them`,
      )
    }
    return { clientSecret: secret ?? '' }
  }
  const alg = (rawAlg || 'RS256').toUpperCase()
  if (!(SIGNING_ALGS as readonly string[]).includes(alg)) {
    problems.push(
      `${names.alg} must be one of ${SIGNING_ALGS.join(', ')} (the credential's algorithm in Auth0), got "${rawAlg?.slice(0, 20)}"`,
    )
  }
  const decoded = decodeSigningKey(rawKey, readFile)
  if (decoded.kind === 'problem') {
    problems.push(`${names.key} ${decoded.problem}`)
    return { clientAssertionSigningKey: '', clientAssertionSigningAlg: 'RS256' }
  }
  return { clientAssertionSigningKey: decoded.pem, clientAssertionSigningAlg: alg as SigningAlg }
}

type DecodedKey =
  | { readonly kind: 'key'; readonly pem: string }
  | { readonly kind: 'problem'; readonly problem: string }

const PEM_START = '-----BEGIN'
const KEY_FORMS =
  'a PEM private key (-----BEGIN PRIVATE KEY-----, multi-line in double quotes or with \\n escapes), the base64 of one (one line: `base64 -w0 key.pem`), or the path of a file holding one'

/**
 * The forms a private key can take in a setting, in this order: a PEM (real newlines, or `\n` escapes as a one-line
 * .env value or `sanity functions env add` argument keeps them), the PEM's base64 (one line, nothing to escape: what
 * `access-sync deploy` sends to the functions), or a path to a PEM file (local runs; a deployed function has no
 * files of yours). The key is checked here, so a wrong one is named at start-up, not at the first token request,
 * and returned as PKCS#8, the only form the SDK's `importPKCS8` reads. The value itself is never echoed.
 */
export function decodeSigningKey(raw: string, readFile: (path: string) => string): DecodedKey {
  let text = raw.trim()
  let from = ''
  if (!text.startsWith(PEM_START)) {
    const decoded = /^[A-Za-z0-9+/=_\s-]{100,}$/.test(text) ? Buffer.from(text, 'base64').toString('utf8') : ''
    if (decoded.trimStart().startsWith(PEM_START)) text = decoded.trim()
    else {
      const looksLikePath = text.length < 300 && !/\s/.test(text)
      if (!looksLikePath) return { kind: 'problem', problem: `is not ${KEY_FORMS}` }
      try {
        text = readFile(text).trim()
        from = ` (read from ${raw.trim()})`
      } catch {
        return { kind: 'problem', problem: `is not ${KEY_FORMS}: no readable file at "${raw.trim()}"` }
      }
    }
  }
  text = text.replaceAll('\\n', '\n')
  let key: KeyObject
  try {
    key = createPrivateKey(text)
  } catch (error) {
    const why = (error as { code?: unknown }).code
    const hint = /PUBLIC KEY/.test(text)
      ? "it is a public key: this setting takes the private key, and the public key goes into Auth0 (the application's Credentials tab)"
      : why === 'ERR_MISSING_PASSPHRASE' || /ENCRYPTED/.test(text)
        ? 'it is encrypted: export it without a passphrase (`openssl pkey -in key.pem -out plain.pem`) and keep it secret instead'
        : `it could not be read as ${KEY_FORMS}`
    return { kind: 'problem', problem: `is not usable${from}: ${hint}` }
  }
  if (key.asymmetricKeyType !== 'rsa') {
    return {
      kind: 'problem',
      problem: `is a ${key.asymmetricKeyType ?? 'non-RSA'} key${from}; Auth0's Private Key JWT credentials are RSA (RS256, RS384, PS256): \`openssl genrsa -out key.pem 2048\``,
    }
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
  if (bits < 2048) {
    return {
      kind: 'problem',
      problem: `is a ${bits}-bit RSA key${from}; use 2048 bits or more (\`openssl genrsa -out key.pem 2048\`)`,
    }
  }
  return { kind: 'key', pem: String(key.export({ type: 'pkcs8', format: 'pem' })) }
}

/** What tells one credential from another, for a warm instance to notice changed settings; never printed. */
export function credentialKey(config: Auth0Config): string {
  const secret = 'clientSecret' in config ? config.clientSecret : undefined
  const key =
    'clientAssertionSigningKey' in config
      ? `${config.clientAssertionSigningAlg}:${config.clientAssertionSigningKey}`
      : ''
  return `${config.domain}\n${config.clientId}\n${secret ?? key}`
}

/** The credential as one line of base64 (a PEM's base64), to hand to `sanity functions env add`. */
export function portableSigningKey(credential: ClientCredential): string | undefined {
  if (!('clientAssertionSigningKey' in credential)) return undefined
  return Buffer.from(credential.clientAssertionSigningKey, 'utf8').toString('base64')
}

/** Which settings hold this credential, for messages that name the fix. */
export function credentialSettings(credential: ClientCredential, names: CredentialNames): string {
  return 'clientAssertionSigningKey' in credential
    ? `${names.id} / ${names.key} (its public key must be a credential of that application in Auth0, with algorithm ${credential.clientAssertionSigningAlg})`
    : `${names.id} / ${names.secret}`
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
 * The fan-outs' `timeout` in sanity.blueprint.ts, the platform's maximum: a chain is 16 hops, so a hop must be long
 * for 5 000 Organizations at 25 writes a minute (README, Reliability, "Fan-out past 16 hops").
 */
export const FANOUT_TIMEOUT_SECONDS = 900
/** Default time for the Auth0 work of one hop: the timeout less a minute for the reads and the status write. */
export const FANOUT_BUDGET_DEFAULT_SECONDS = FANOUT_TIMEOUT_SECONDS - 60

/**
 * FANOUT_TIME_BUDGET_SECONDS: how long one fan-out hop may spend on Auth0. Its own setting, not
 * SYNC_TIME_BUDGET_SECONDS: a fan-out hop is sized to the chain (16 hops), a policy event to one write.
 */
export function readFanOutBudgetSeconds(env: Env): number {
  const raw = env.FANOUT_TIME_BUDGET_SECONDS?.trim()
  if (!raw) return FANOUT_BUDGET_DEFAULT_SECONDS
  // Seconds, fractions allowed (time-scaled tests run a hop in a few real seconds).
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0 || value > FANOUT_BUDGET_DEFAULT_SECONDS) {
    throwIfAny(
      [
        `FANOUT_TIME_BUDGET_SECONDS must be seconds above 0 and at most ${FANOUT_BUDGET_DEFAULT_SECONDS} (the fan-outs' ${FANOUT_TIMEOUT_SECONDS} s timeout less a minute for the status write), got "${raw.slice(0, 20)}"`,
      ],
      FUNCTION_HINT,
    )
  }
  return value
}

/**
 * SYNC_REPAIR_STEP_LIMIT: at most this many left-behind policies one sync invocation repairs after its own event
 * (src/sync/repair-step.ts); 0 turns the step off. The default is small because during a burst every invocation
 * finds something behind (its neighbours still in flight) and pays for the whole limit: 3 policy syncs more per
 * event at most, while a burst's admitted invocations still cover what the caps dropped (a fifth of the events at
 * the platform's 200 per 30 s: tests/platform/release-burst.test.ts).
 */
export const REPAIR_STEP_DEFAULT = 3
export const REPAIR_STEP_MAX = 50

export function readRepairStepLimit(env: Env): number {
  const problems: string[] = []
  const value = numberSetting(env, 'SYNC_REPAIR_STEP_LIMIT', REPAIR_STEP_DEFAULT, 0, REPAIR_STEP_MAX, problems)
  throwIfAny(problems, FUNCTION_HINT)
  return value
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
