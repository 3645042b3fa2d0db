import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { STATUS_CODES } from 'node:http'
import { createServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { compactVerify, decodeProtectedHeader } from 'jose'
import { type ActionsApi, Created, createActionsApi, NOT_HANDLED } from './auth0-actions.ts'
import { createLoginService, type LoginOptions, type LoginResult } from './auth0-login.ts'
import { createOidcService, type OidcControl, type OidcOptions } from './auth0-oidc.ts'
import { ensureTestCertificate } from './tls.ts'

// Local emulator of the slice of the Auth0 Management API this project uses, reached by the unmodified `auth0`
// SDK over HTTPS at `localhost:PORT` (the certificate is trusted through NODE_EXTRA_CA_CERTS, see tests/setup).

/** A Machine-to-Machine application: authenticates with its client secret, or with Private Key JWT credentials. */
export type TenantClient = Auth0ClientConfig | KeyClientConfig

/** An application that authenticates with its client secret. */
export interface Auth0ClientConfig {
  clientId: string
  clientSecret: string
  scopes: string[]
  credentials?: undefined
}

/**
 * An application whose token endpoint authentication is Private Key JWT: it has no secret Auth0 accepts, only
 * client assertions signed by one of its credentials (Auth0 lets an application hold two, for rotation).
 */
export interface KeyClientConfig {
  clientId: string
  clientSecret?: undefined
  scopes: string[]
  credentials: KeyCredential[]
}

/** A public key registered on an application, with the algorithm it was registered for (RS256, RS384 or PS256). */
export interface KeyCredential {
  publicKey: string | KeyObject
  alg: 'RS256' | 'RS384' | 'PS256'
  /** Auth0 generates one per credential; an assertion may name it in its header. */
  kid?: string
}

export interface Auth0Organization {
  id: string
  name: string
  display_name?: string
  branding?: Record<string, unknown>
  metadata?: Record<string, string>
}

/**
 * Token bucket: `capacity` requests at once, refilled at `refillPerMinute` (emulated minutes): continuously, or with
 * `perSecond` in whole-second steps of refillPerMinute/60, as Auth0 refills its limits (platform-facts.md, "Rate
 * limits": "Per-minute limits refill per second").
 */
export interface Bucket {
  capacity: number
  refillPerMinute: number
  perSecond?: boolean
}

/**
 * Which requests draw on which bucket, on /api/v2 only. `global` is the tenant-wide limit, checked before the others;
 * list = GET /organizations, read = any other GET /organizations/…, write = any other method on /organizations/…,
 * other = every other Management API endpoint (Actions). Without `list`, listing draws on `read`; without `other`,
 * other endpoints draw on `read` (GET) or `write`.
 */
export type RateLimitClass = 'global' | 'list' | 'read' | 'write' | 'other'
export type RateLimits = Partial<Record<RateLimitClass, Bucket | false>>

/**
 * Auth0's Management API limits per plan (burst, per minute), all refilled per second. Sources: platform-facts.md
 * "Rate limits" (Auth0 docs-v2 rate-limit policy and rate-limit-configurations pages).
 * - free: only the tenant-wide 2 burst / 2 per s.
 * - essentials (Essentials and Professional): per endpoint, org list 5 / 50, by ID 20 / 200, writes 5 / 25, all other
 *   endpoints 10 / 150; no tenant-wide limit is documented for these plans.
 * - enterprise-production: tenant-wide 50 / 16 per s first; writes 5 / 150. The docs list no other per-endpoint
 *   figure for Enterprise, so list, read and other are Essentials' (an assumption, the strictest known).
 * - enterprise-non-production: tenant-wide 10 / 2 per s; per endpoint as enterprise-production.
 */
export type RateLimitPreset = 'free' | 'essentials' | 'enterprise-production' | 'enterprise-non-production'
const perSecond = (capacity: number, refillPerMinute: number): Bucket => ({
  capacity,
  refillPerMinute,
  perSecond: true,
})
const ESSENTIALS_ENDPOINTS = {
  list: perSecond(5, 50),
  read: perSecond(20, 200),
  write: perSecond(5, 25),
  other: perSecond(10, 150),
}
export const RATE_LIMIT_PRESETS: Record<RateLimitPreset, RateLimits> = {
  free: { global: perSecond(2, 2 * 60) },
  essentials: ESSENTIALS_ENDPOINTS,
  'enterprise-production': { ...ESSENTIALS_ENDPOINTS, global: perSecond(50, 16 * 60), write: perSecond(5, 150) },
  'enterprise-non-production': { ...ESSENTIALS_ENDPOINTS, global: perSecond(10, 2 * 60), write: perSecond(5, 150) },
}

/**
 * What `x-ratelimit-reset` reports; Auth0 documents it only as "UTC epoch seconds until the limit resets"
 * (platform-facts.md "Rate limits"), so the product must be right under each reading:
 * - bucket-full: when the bucket that answered is full again (the emulator's historical behaviour);
 * - next-token: when that bucket next has a request to give;
 * - global: the tenant-wide bucket's full time, even when a per-endpoint bucket refused (now, without one), so a
 *   429 can say "reset now" while the endpoint's bucket is still empty.
 */
export type ResetSemantics = 'bucket-full' | 'next-token' | 'global'

/** Auth0's Professional tier Management API limits (burst, per minute), per class. */
export const PROFESSIONAL_RATE_LIMITS = {
  list: { capacity: 5, refillPerMinute: 50 },
  read: { capacity: 20, refillPerMinute: 200 },
  write: { capacity: 5, refillPerMinute: 25 },
} as const satisfies Record<'list' | 'read' | 'write', Bucket>

export interface Auth0EmulatorOptions {
  clients?: TenantClient[]
  organizations?: Auth0Organization[]
  /** `expires_in` of issued tokens, in real seconds (not scaled). Default 86400. */
  tokenTtlSeconds?: number
  /**
   * Rate limits per class, on /api/v2 only: list = GET /organizations, read = any other GET, write = any other
   * method. Default: all off. Without `list`, listing draws on the `read` bucket.
   */
  rateLimits?: RateLimits
  /** A plan's limits (RATE_LIMIT_PRESETS); `rateLimits` overrides them per class (false removes one). */
  rateLimitPreset?: RateLimitPreset
  /** What `x-ratelimit-reset` means. Default 'bucket-full'. */
  resetSemantics?: ResetSemantics
  /**
   * Send `Retry-After` (whole real seconds until the refusing bucket has a request again) with rate-limit 429s.
   * Default false: Auth0's Management API documents only the X-RateLimit-* headers.
   */
  retryAfter?: boolean
  /**
   * How long a `next` checkpoint stays valid, in real ms; Auth0 documents no lifetime (platform-facts.md
   * "Checkpoint pagination"). Default: no expiry. A checkpoint whose anchor Organization is gone is refused anyway.
   */
  checkpointTtlMs?: number
  /** Checkpoint pagination also returns a `next` with the last page (Auth0 can); it leads to an empty page. */
  nextOnLastPage?: boolean
  /** Speeds up bucket refill: 60 makes an emulated minute last one real second. Default 1. */
  timeScale?: number
  /**
   * Report `x-ratelimit-reset` to 1/timeScale s (decimal epoch seconds) instead of whole seconds, so a time-scaled
   * run keeps Auth0's resolution relative to a refill cycle (benchmarks). Default false: whole seconds, as Auth0.
   */
  scaledReset?: boolean
  /** How long a new or updated Action draft takes to reach `built`, in ms (emulators/auth0-actions.ts). Default 300. */
  actionBuildDelayMs?: number
  /** The Authentication API sign-in: users, applications, APIs, token settings (emulators/auth0-oidc.ts). */
  oidc?: OidcOptions
}

export interface FaultSpec {
  method?: string
  /** Exact pathname (no query string) or a RegExp tested against it. */
  path?: string | RegExp
  /** How many matching requests this fault applies to. Default 1; Infinity = every time. */
  times?: number
  status?: number
  headers?: Record<string, string>
  /** Response body for a status fault (a string is sent verbatim). Default: Auth0's error body for the status. */
  body?: unknown
  delayMs?: number
  /** Destroy the socket without answering (connection reset). */
  reset?: boolean
  /** Never answer (until close()). */
  hang?: boolean
}

export interface LoggedRequest {
  method: string
  path: string
  query: Record<string, string>
  /** Response status; 0 when no response was sent (reset, hang). */
  status: number
  /** Arrival time, ms since epoch. */
  at: number
  /** Parsed body. Token requests keep only grant_type, client_id and audience. */
  body: unknown
  clientId?: string
  /** Which injected fault handled this request, e.g. 'status:429', 'reset', 'hang', 'delay:200'. */
  fault?: string
}

export interface RequestFilter {
  method?: string
  path?: string | RegExp
}

export interface Auth0Emulator {
  /** `localhost:PORT`, for `new ManagementClient({ domain })`. */
  readonly domain: string
  /**
   * `127.0.0.1:PORT`: the same tenant reached as a custom domain would be. Its token endpoint refuses the Management
   * API audience (`https://127.0.0.1:PORT/api/v2/`, which the SDK asks for) with 403 "Service not enabled within
   * domain", as Auth0 does for a custom domain (../shared/reference/platform-facts.md, "Management API audience":
   * the audience is the canonical domain's; a custom AUTH0_DOMAIN gets a 403 at the token endpoint).
   */
  readonly customDomain: string
  /** `https://localhost:PORT`. */
  readonly baseUrl: string
  readonly port: number
  readonly requests: LoggedRequest[]
  injectFault(fault: FaultSpec): void
  clearFaults(): void
  /** Every token issued so far is rejected with 401 from now on. */
  revokeTokens(): void
  /** Every access token issued so far, so tests can prove none of them leaks into logs or errors. */
  issuedTokens(): string[]
  getOrganization(id: string): Auth0Organization | undefined
  putOrganization(org: Auth0Organization): void
  deleteOrganization(id: string): boolean
  listOrganizations(): Auth0Organization[]
  clearRequests(): void
  /** Every `next` checkpoint issued so far is refused from now on, as once its lifetime has passed. */
  expireCheckpoints(): void
  /** TCP connections accepted so far: how often clients had to connect (and handshake) rather than reuse one. */
  connectionCount(): number
  filterRequests(filter?: RequestFilter): LoggedRequest[]
  count(filter?: RequestFilter): number
  /** `https://localhost:PORT/`: the `iss` of issued ID and access tokens; JWKS at `.well-known/jwks.json`. */
  readonly issuer: string
  /** Actions and trigger bindings (emulators/auth0-actions.ts). */
  readonly actions: ActionsApi
  /** Sign-in users, memberships and signing keys of the Authentication API (emulators/auth0-oidc.ts). */
  readonly oidc: OidcControl
  /** Signs a test user in, runs the bound post-login Actions, returns RS256 tokens (emulators/auth0-login.ts). */
  login(options?: LoginOptions): Promise<LoginResult>
  close(): Promise<void>
}

export const DEFAULT_CLIENT: Auth0ClientConfig = {
  clientId: 'test-client-id',
  clientSecret: 'test-client-secret',
  scopes: ['read:organizations', 'update:organizations'],
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** Rate-limit headers reported for a class whose limit is off: a nominal bucket that never runs dry. */
const UNLIMITED = 1000
const MAX_METADATA_KEYS = 25
const MAX_METADATA_LENGTH = 255
const UPDATE_FIELDS = new Set([
  'name',
  'display_name',
  'branding',
  'metadata',
  'token_quota',
  'third_party_client_access',
  'is_app_entitlement_active',
])

interface IssuedToken {
  clientId: string
  scopes: string[]
  expiresAt: number
  revoked: boolean
}

interface ActiveFault {
  spec: FaultSpec
  remaining: number
}

interface BucketState {
  capacity: number
  perMs: number
  /** Whole-second steps (emulated seconds): this many real ms per step; 0 for a continuous refill. */
  stepMs: number
  tokens: number
  updatedAt: number
}

class HttpError extends Error {
  status: number
  body: unknown
  constructor(status: number, body: unknown) {
    super(typeof body === 'object' && body !== null && 'message' in body ? String(body.message) : String(status))
    this.status = status
    this.body = body
  }
}

function apiError(status: number, message: string, errorCode?: string, extra?: Record<string, unknown>): HttpError {
  const body = { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, ...extra }
  return new HttpError(status, errorCode === undefined ? body : { ...body, errorCode })
}

function invalidBody(problem: string): HttpError {
  return apiError(400, `Payload validation error: ${problem}`, 'invalid_body')
}

function errorCodeFor(status: number): string | undefined {
  // No code for 404: the recorded Organization and Action 404s have none (tests/contract/fixtures).
  const codes: Record<number, string> = { 429: 'too_many_requests', 400: 'invalid_body' }
  return codes[status]
}

function jsonType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return jsonType(value) === 'object'
}

function matches(filter: RequestFilter, method: string, path: string): boolean {
  if (filter.method !== undefined && filter.method.toUpperCase() !== method) return false
  if (filter.path === undefined) return true
  return typeof filter.path === 'string' ? filter.path === path : filter.path.test(path)
}

/** Validates a PATCH /organizations/{id} body the way Auth0 does (400 invalid_body) and returns it typed. */
function validateUpdate(body: unknown): Record<string, unknown> {
  if (!isRecord(body)) throw invalidBody(`'Expected type object but found type ${jsonType(body)}'.`)
  const extra = Object.keys(body).filter((key) => !UPDATE_FIELDS.has(key))
  if (extra.length > 0) throw invalidBody(`'Additional properties not allowed: ${extra.join(',')}'.`)
  const { name, display_name: displayName, branding, metadata } = body
  if (name !== undefined) {
    if (typeof name !== 'string')
      throw invalidBody(`'Expected type string but found type ${jsonType(name)}' on property name.`)
    if (name.length > 50) throw invalidBody(`'String is too long (${name.length} chars), maximum 50' on property name.`)
    if (!/^[a-z0-9_-]+$/.test(name))
      throw invalidBody(`'String does not match pattern ^[a-z0-9_-]+$: ${name}' on property name.`)
  }
  if (displayName !== undefined) {
    if (typeof displayName !== 'string')
      throw invalidBody(`'Expected type string but found type ${jsonType(displayName)}' on property display_name.`)
    if (displayName.length > MAX_METADATA_LENGTH)
      throw invalidBody(`'String is too long (${displayName.length} chars), maximum 255' on property display_name.`)
  }
  if (branding !== undefined && !isRecord(branding))
    throw invalidBody(`'Expected type object but found type ${jsonType(branding)}' on property branding.`)
  if (metadata !== undefined) {
    if (!isRecord(metadata))
      throw invalidBody(`'Expected type object but found type ${jsonType(metadata)}' on property metadata.`)
    const keys = Object.keys(metadata)
    if (keys.length > MAX_METADATA_KEYS)
      throw invalidBody(`'Too many properties (${keys.length}), maximum ${MAX_METADATA_KEYS}' on property metadata.`)
    for (const key of keys) {
      if (key.length > MAX_METADATA_LENGTH)
        throw invalidBody(`'Property name is too long (${key.length} chars), maximum 255' on property metadata.`)
      const value = metadata[key]
      if (value !== null && typeof value !== 'string')
        throw invalidBody(`'Expected type string but found type ${jsonType(value)}' on property metadata.${key}.`)
      if (typeof value === 'string' && value.length > MAX_METADATA_LENGTH)
        throw invalidBody(`'String is too long (${value.length} chars), maximum 255' on property metadata.${key}.`)
    }
  }
  return body
}

function parseBody(raw: string, contentType: string): unknown {
  if (raw.length === 0) return undefined
  if (contentType.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw))
  try {
    return JSON.parse(raw) as unknown
  } catch {
    return raw
  }
}

export async function startAuth0Emulator(options: Auth0EmulatorOptions = {}): Promise<Auth0Emulator> {
  const { cert, key } = await ensureTestCertificate()
  const clients = options.clients ?? [DEFAULT_CLIENT]
  const tokenTtlSeconds = options.tokenTtlSeconds ?? 86_400
  const timeScale = options.timeScale ?? 1
  const organizations = new Map<string, Auth0Organization>()
  for (const org of options.organizations ?? []) organizations.set(org.id, structuredClone(org))
  const tokens = new Map<string, IssuedToken>()
  const faults: ActiveFault[] = []
  const requests: LoggedRequest[] = []
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const limits: RateLimits = {
    ...(options.rateLimitPreset ? RATE_LIMIT_PRESETS[options.rateLimitPreset] : {}),
    ...options.rateLimits,
  }
  const buckets = {
    global: makeBucket(limits.global),
    read: makeBucket(limits.read),
    write: makeBucket(limits.write),
    list: makeBucket(limits.list),
    other: makeBucket(limits.other),
  }
  const resetSemantics = options.resetSemantics ?? 'bucket-full'
  /** Checkpoints issued before this instant are refused (expireCheckpoints). */
  let checkpointsValidFrom = 0
  let domain = ''
  let customDomain = ''
  const actions = createActionsApi({ buildDelayMs: options.actionBuildDelayMs }, (status, message, errorCode) => {
    throw apiError(status, message, errorCode)
  })
  const logins = await createLoginService({
    issuer: () => `https://${domain}/`,
    organization: (id) => organizations.get(id),
    postLoginActions: () => actions.bound('post-login'),
  })
  const oidc = createOidcService(options.oidc ?? {}, {
    issuer: () => `https://${domain}/`,
    organization: (idOrName) =>
      organizations.get(idOrName) ?? [...organizations.values()].find((org) => org.name === idOrName),
    logins,
  })

  function makeBucket(config: Bucket | false | undefined): BucketState | undefined {
    if (!config) return undefined
    const perMs = (config.refillPerMinute * timeScale) / 60_000
    const stepMs = config.perSecond ? 1000 / timeScale : 0
    return { capacity: config.capacity, perMs, stepMs, tokens: config.capacity, updatedAt: Date.now() }
  }

  function refill(bucket: BucketState, now: number): void {
    if (bucket.stepMs > 0) {
      // Whole steps since the last update, on the clock's step boundaries, each adding refillPerMinute/60.
      const steps = Math.floor(now / bucket.stepMs) - Math.floor(bucket.updatedAt / bucket.stepMs)
      bucket.tokens = Math.min(bucket.capacity, bucket.tokens + steps * bucket.stepMs * bucket.perMs)
    } else {
      bucket.tokens = Math.min(bucket.capacity, bucket.tokens + (now - bucket.updatedAt) * bucket.perMs)
    }
    bucket.updatedAt = now
  }

  /** When the (refilled) bucket will hold `target` tokens: now if it does, far away if it never refills. */
  function timeToHold(bucket: BucketState, target: number, now: number): number {
    const missing = target - bucket.tokens
    if (missing <= 1e-9) return now
    if (bucket.perMs <= 0) return now + 86_400_000
    if (bucket.stepMs === 0) return now + missing / bucket.perMs
    const steps = Math.ceil(missing / (bucket.stepMs * bucket.perMs) - 1e-9)
    return (Math.floor(now / bucket.stepMs) + steps) * bucket.stepMs
  }

  /**
   * Headers describing `bucket` (the one that answered: the refusing one on a 429) right now; x-ratelimit-reset
   * follows `resetSemantics`. Retry-After, when enabled, only on a 429.
   */
  function rateLimitHeaders(bucket: BucketState | undefined, limited = false): Record<string, string> {
    const now = Date.now()
    for (const known of Object.values(buckets)) if (known) refill(known, now)
    const reset = (at: number) => (at <= now ? String(Math.floor(now / 1000)) : resetAt(at))
    // A full bucket reports a reset in the past (floor), so the SDK's retry falls back to its own backoff.
    const headers = bucket
      ? {
          'x-ratelimit-limit': String(bucket.capacity),
          'x-ratelimit-remaining': String(Math.floor(bucket.tokens)),
        }
      : { 'x-ratelimit-limit': `${UNLIMITED}`, 'x-ratelimit-remaining': `${UNLIMITED}` }
    const resetTime =
      resetSemantics === 'global'
        ? buckets.global
          ? timeToHold(buckets.global, buckets.global.capacity, now)
          : now
        : bucket
          ? timeToHold(bucket, resetSemantics === 'next-token' ? 1 : bucket.capacity, now)
          : now
    const retryAfter: Record<string, string> =
      limited && options.retryAfter && bucket
        ? { 'retry-after': String(Math.max(1, Math.ceil((timeToHold(bucket, 1, now) - now) / 1000))) }
        : {}
    return { ...headers, 'x-ratelimit-reset': reset(resetTime), ...retryAfter }
  }

  /** Auth0's whole epoch seconds, or with `scaledReset` the same resolution in emulated time (1/timeScale s). */
  function resetAt(fullAt: number): string {
    if (!options.scaledReset || timeScale <= 1) return String(Math.ceil(fullAt / 1000))
    const step = 1000 / timeScale
    return ((Math.ceil(fullAt / step) * step) / 1000).toFixed(3)
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        resolve()
      }, ms)
      timers.add(timer)
    })
  }

  function send(
    res: ServerResponse,
    entry: LoggedRequest,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    entry.status = status
    if (res.destroyed) return
    const payload = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    res.end(payload)
  }

  function takeFault(method: string, path: string): FaultSpec | undefined {
    const index = faults.findIndex((fault) => matches(fault.spec, method, path))
    const fault = faults[index]
    if (!fault) return undefined
    fault.remaining -= 1
    if (fault.remaining <= 0) faults.splice(index, 1)
    return fault.spec
  }

  /** Client assertions seen (client ID and `jti`) until they expire: each may be used once. */
  const usedAssertions = new Map<string, number>()

  /**
   * Private Key JWT client authentication, as Auth0 documents it ("Authenticate with Private Key JWT",
   * auth0.com/docs/get-started/authentication-and-authorization-flow/authenticate-with-private-key-jwt): a JWT
   * signed with the algorithm of one of the application's credentials (`kid` optional); `iss` and `sub` the client
   * ID; `aud` the tenant's URL with its trailing slash (or a custom domain's); `exp` at most 5 minutes after `iat`,
   * 10 s of clock skew; `jti` unique; `iss`, `sub`, `jti` at most 64 characters. Refusals are 401 `invalid_client`,
   * the body the Authentication API's OpenAPI file gives (auth0/docs-v2 authentication-api-oas.json, in
   * tests/contract/fixtures/openapi.json); the `exp` message is Auth0's (community.auth0.com/t/191217), the other
   * descriptions are this emulator's own wording.
   */
  async function authenticateWithAssertion(assertion: string, clientIdParam: string | undefined) {
    const refuse = (description: string) =>
      new HttpError(401, { error: 'invalid_client', error_description: description })
    let header: { alg?: unknown; kid?: unknown }
    let claims: Record<string, unknown>
    try {
      header = decodeProtectedHeader(assertion)
      const payload = assertion.split('.')[1] ?? ''
      const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
      if (!isRecord(parsed)) throw new Error('not an object')
      claims = parsed
    } catch {
      throw refuse('client_assertion is not a valid JWT')
    }
    const { iss, sub, aud, exp, iat, nbf, jti } = claims
    if (typeof iss !== 'string' || iss.length > 64)
      throw refuse("'iss' claim must be the client ID (at most 64 characters)")
    if (sub !== iss) throw refuse("'sub' claim must be the client ID, as 'iss'")
    if (clientIdParam !== undefined && clientIdParam !== iss) throw refuse("'iss' claim must match client_id")
    const client = clients.find((candidate) => candidate.clientId === iss)
    if (!client?.credentials?.length) throw refuse('Client is not configured for Private Key JWT authentication')
    const alg = typeof header.alg === 'string' ? header.alg : ''
    const candidates = client.credentials.filter(
      (credential) => credential.alg === alg && (header.kid === undefined || credential.kid === header.kid),
    )
    let verified = false
    for (const credential of candidates) {
      const key =
        typeof credential.publicKey === 'string' ? createPublicKey(credential.publicKey) : credential.publicKey
      try {
        await compactVerify(assertion, key, { algorithms: [credential.alg] })
        verified = true
        break
      } catch {}
    }
    if (!verified) throw refuse(`Invalid signature for client_assertion (alg ${alg || 'none'})`)
    const accepted = [`https://${domain}/`, `https://${customDomain}/`]
    const audiences = Array.isArray(aud) ? aud : [aud]
    if (!audiences.some((value) => typeof value === 'string' && accepted.includes(value))) {
      throw refuse(`'aud' claim must be the tenant's URL, ${accepted[0]}`)
    }
    const now = Math.floor(Date.now() / 1000)
    const SKEW = 10
    if (typeof exp !== 'number') throw refuse("'exp' claim is required")
    if (now > exp + SKEW) throw refuse('client_assertion has expired')
    if (iat !== undefined && (typeof iat !== 'number' || iat > now + SKEW)) throw refuse("'iat' claim is in the future")
    if (exp - (typeof iat === 'number' ? iat : now) > 300) {
      throw refuse(`'exp' claim must specify a time that is no more than 5 minutes after 'iat': ${exp}`)
    }
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + SKEW)) throw refuse("'nbf' claim is in the future")
    if (typeof jti !== 'string' || jti === '' || jti.length > 64)
      throw refuse("'jti' claim is required (at most 64 characters)")
    for (const [used, until] of usedAssertions) if (until < now) usedAssertions.delete(used)
    const used = `${iss}\n${jti}`
    if (usedAssertions.has(used)) throw refuse("'jti' claim has already been used: a client assertion is single-use")
    usedAssertions.set(used, exp + SKEW)
    return client
  }

  async function issueToken(body: unknown, authorization: string | undefined, entry: LoggedRequest): Promise<unknown> {
    const params = isRecord(body) ? body : {}
    const str = (name: string): string | undefined => {
      const value = params[name]
      return typeof value === 'string' ? value : undefined
    }
    let clientId = str('client_id')
    let clientSecret = str('client_secret')
    if (authorization?.startsWith('Basic ')) {
      const decoded = Buffer.from(authorization.slice(6), 'base64').toString()
      const colon = decoded.indexOf(':')
      clientId = decodeURIComponent(decoded.slice(0, colon < 0 ? undefined : colon))
      clientSecret = colon < 0 ? undefined : decodeURIComponent(decoded.slice(colon + 1))
    }
    if (clientId !== undefined) entry.clientId = clientId
    const grantType = str('grant_type')
    if (grantType !== 'client_credentials') {
      throw new HttpError(400, {
        error: 'unsupported_grant_type',
        error_description: `Unsupported grant type: ${grantType}`,
      })
    }
    const assertionType = str('client_assertion_type')
    const assertion = str('client_assertion')
    let client: TenantClient | undefined
    if (assertionType !== undefined || assertion !== undefined) {
      if (assertionType !== JWT_BEARER || !assertion) {
        throw new HttpError(400, {
          error: 'invalid_request',
          error_description: `client_assertion_type must be ${JWT_BEARER}, with a client_assertion`,
        })
      }
      if (clientSecret !== undefined) {
        throw new HttpError(400, {
          error: 'invalid_request',
          error_description: 'client_secret and client_assertion cannot be sent together',
        })
      }
      client = await authenticateWithAssertion(assertion, clientId)
      entry.clientId = client.clientId
    } else {
      // A Private Key JWT application has no secret Auth0 accepts.
      client = clients.find((c) => c.clientId === clientId)
      if (!client || client.clientSecret === undefined || client.clientSecret !== clientSecret) {
        throw new HttpError(401, { error: 'access_denied', error_description: 'Unauthorized' })
      }
    }
    // Only the canonical domain's audience is served; asked on any other host name (customDomain), the SDK asks
    // for that host's audience and is refused, as a custom domain is.
    const audience = `https://${domain}/api/v2/`
    if (str('audience') !== audience) {
      throw new HttpError(403, {
        error: 'access_denied',
        error_description: `Service not enabled within domain: ${str('audience')}`,
      })
    }
    if (client.scopes.length === 0) {
      throw new HttpError(403, {
        error: 'access_denied',
        error_description: `Client is not authorized to access "${audience}". You need to create a "client-grant" associated to this API.`,
      })
    }
    const accessToken = randomBytes(32).toString('base64url')
    const scopes = [...client.scopes]
    tokens.set(accessToken, {
      clientId: client.clientId,
      scopes,
      expiresAt: Date.now() + tokenTtlSeconds * 1000,
      revoked: false,
    })
    return { access_token: accessToken, token_type: 'Bearer', expires_in: tokenTtlSeconds, scope: scopes.join(' ') }
  }

  function authorize(authorization: string | undefined, scope: string, entry: LoggedRequest): void {
    if (!authorization) throw apiError(401, 'Missing authentication')
    const match = /^Bearer (.+)$/.exec(authorization)
    const token = match?.[1] !== undefined ? tokens.get(match[1]) : undefined
    if (!token || token.revoked)
      throw apiError(401, 'Invalid token', undefined, { attributes: { error: 'Invalid token' } })
    entry.clientId = token.clientId
    if (Date.now() >= token.expiresAt) {
      const message = 'Expired token received for JSON Web Token validation'
      throw apiError(401, message, undefined, { attributes: { error: message } })
    }
    if (!token.scopes.includes(scope)) {
      throw apiError(403, `Insufficient scope, expected any of: ${scope}`, 'insufficient_scope')
    }
  }

  function findOrganization(id: string): Auth0Organization {
    const org = organizations.get(id)
    // No errorCode: auth0/terraform-provider-auth0 test/data/recordings/TestAccDataSourceOrganization.yaml #0.
    if (!org) throw apiError(404, 'No organization found by that id or name')
    return org
  }

  /**
   * An opaque `next`, as Auth0's is (platform-facts.md "Checkpoint pagination"): the anchor Organization (null: past
   * the end) and when it was issued, base64url-encoded so no client can build one from an Organization ID.
   */
  function issueCheckpoint(anchor: string | null): string {
    return Buffer.from(JSON.stringify({ o: anchor, t: Date.now() })).toString('base64url')
  }

  function readCheckpoint(from: string): { id: string | null } {
    let decoded: unknown
    try {
      decoded = JSON.parse(Buffer.from(from, 'base64url').toString('utf8'))
    } catch {
      throw refusedCheckpoint(from, 'it is not a checkpoint this tenant issued')
    }
    const { o, t } = isRecord(decoded) ? decoded : {}
    if ((typeof o !== 'string' && o !== null) || typeof t !== 'number')
      throw refusedCheckpoint(from, 'it is not a checkpoint this tenant issued')
    const ttl = options.checkpointTtlMs ?? Number.POSITIVE_INFINITY
    if (t < checkpointsValidFrom || Date.now() - t > ttl) throw refusedCheckpoint(from, 'it has expired')
    return { id: o }
  }

  /** Auth0's 400 shape for a query it refuses (the emulator's wording; Auth0 documents none for checkpoints). */
  function refusedCheckpoint(from: string | null, why: string): HttpError {
    return apiError(
      400,
      `Query validation error: 'Invalid checkpoint ${from}' on property from (${why}).`,
      'invalid_query_string',
    )
  }

  function listOrganizations(query: URLSearchParams): unknown {
    const all = [...organizations.values()]
    const intParam = (name: string, fallback: number, max: number): number => {
      const raw = query.get(name)
      if (raw === null) return fallback
      const value = Number(raw)
      if (!Number.isInteger(value) || value < 0 || value > max) {
        throw apiError(
          400,
          `Query validation error: 'Invalid value ${raw}' on property ${name}.`,
          'invalid_query_string',
        )
      }
      return value
    }
    if (query.has('from') || query.has('take')) {
      // Checkpoint pagination: `from` is a `next` this tenant issued; include_totals is ignored.
      const take = intParam('take', 50, 100)
      const from = query.get('from')
      const anchor = from ? readCheckpoint(from) : { id: all[0]?.id ?? null }
      if (anchor.id === null) return { organizations: [] }
      const start = all.findIndex((org) => org.id === anchor.id)
      if (start < 0) throw refusedCheckpoint(from, 'its Organization no longer exists')
      const page = all.slice(start, start + take).map((org) => structuredClone(org))
      const next = all[start + take]
      if (next) return { organizations: page, next: issueCheckpoint(next.id) }
      return options.nextOnLastPage ? { organizations: page, next: issueCheckpoint(null) } : { organizations: page }
    }
    const perPage = intParam('per_page', 50, 100)
    const page = intParam('page', 0, Number.MAX_SAFE_INTEGER)
    const items = all.slice(page * perPage, page * perPage + perPage).map((org) => structuredClone(org))
    if (query.get('include_totals') !== 'true') return items
    return { organizations: items, start: page * perPage, limit: perPage, total: all.length }
  }

  function handleApi(req: IncomingMessage, url: URL, entry: LoggedRequest): unknown {
    const method = entry.method
    const authorization = req.headers.authorization
    if (url.pathname === '/api/v2/organizations' && method === 'GET') {
      authorize(authorization, 'read:organizations', entry)
      return listOrganizations(url.searchParams)
    }
    const match = /^\/api\/v2\/organizations\/([^/]+)$/.exec(url.pathname)
    const id = match?.[1] !== undefined ? decodeURIComponent(match[1]) : undefined
    if (id !== undefined && method === 'GET') {
      authorize(authorization, 'read:organizations', entry)
      return structuredClone(findOrganization(id))
    }
    if (id !== undefined && method === 'PATCH') {
      authorize(authorization, 'update:organizations', entry)
      if (typeof entry.body === 'string') throw apiError(400, 'Invalid request payload JSON format', 'invalid_body')
      const update = validateUpdate(entry.body ?? {})
      const org = findOrganization(id)
      if (typeof update.name === 'string') org.name = update.name
      if (typeof update.display_name === 'string') org.display_name = update.display_name
      if (isRecord(update.branding)) org.branding = structuredClone(update.branding)
      if (isRecord(update.metadata)) {
        // Auth0 replaces the whole metadata map; a null value just means the key is absent.
        const entries = Object.entries(update.metadata).filter(
          (pair): pair is [string, string] => typeof pair[1] === 'string',
        )
        // An empty map is not kept: after `metadata: {}` Auth0 answers, and reads, without `metadata`
        // (auth0/terraform-provider-auth0 test/data/recordings/TestAccOrganization.yaml #38, #40).
        if (entries.length > 0) org.metadata = Object.fromEntries(entries)
        else delete org.metadata
      }
      return structuredClone(org)
    }
    if (url.pathname.startsWith('/api/v2/actions/')) {
      if (typeof entry.body === 'string') throw apiError(400, 'Invalid request payload JSON format', 'invalid_body')
      const answer = actions.handle(method, url, entry.body, (scope) => authorize(authorization, scope, entry))
      if (answer !== NOT_HANDLED) return answer
    }
    throw apiError(404, 'Not Found')
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now()
    const url = new URL(req.url ?? '/', 'https://localhost')
    const method = (req.method ?? 'GET').toUpperCase()
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = parseBody(Buffer.concat(chunks).toString('utf8'), req.headers['content-type'] ?? '')
    const entry: LoggedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      at,
      body,
    }
    if (url.pathname === '/oauth/token') {
      // Never log the client secret (or an assertion): keep only the non-secret parameters.
      const params = isRecord(body) ? body : {}
      entry.body = {
        grant_type: params.grant_type,
        client_id: params.client_id,
        audience: params.audience,
        ...(params.client_assertion_type === undefined ? {} : { client_assertion_type: params.client_assertion_type }),
      }
      if (typeof params.client_id === 'string') entry.clientId = params.client_id
    }
    requests.push(entry)
    try {
      await route(req, res, url, entry, body)
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      if (!res.headersSent) send(res, entry, 500, apiError(500, message).body)
      else res.destroy()
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL, entry: LoggedRequest, body: unknown) {
    const { method } = entry
    const isToken = url.pathname === '/oauth/token'
    const isApi = url.pathname.startsWith('/api/v2/')
    const listing = method === 'GET' && url.pathname === '/api/v2/organizations'
    const organizationsPath =
      url.pathname === '/api/v2/organizations' || url.pathname.startsWith('/api/v2/organizations/')
    const endpointBucket =
      !organizationsPath && buckets.other
        ? buckets.other
        : method !== 'GET'
          ? buckets.write
          : listing
            ? (buckets.list ?? buckets.read)
            : buckets.read
    // The headers of a request that passed describe its endpoint's bucket, or the tenant's when it has none.
    const bucket = endpointBucket ?? buckets.global

    const fault = takeFault(method, url.pathname)
    if (fault) {
      const labels = fault.delayMs !== undefined ? [`delay:${fault.delayMs}`] : []
      if (fault.reset) labels.push('reset')
      else if (fault.hang) labels.push('hang')
      else if (fault.status !== undefined) labels.push(`status:${fault.status}`)
      entry.fault = labels.join(',')
      if (fault.delayMs !== undefined) await sleep(fault.delayMs)
      if (fault.reset) {
        req.socket.destroy()
        return
      }
      if (fault.hang) return
      if (fault.status !== undefined) {
        const { status } = fault
        const message = status === 429 ? 'Global limit has been reached' : (STATUS_CODES[status] ?? 'Error')
        const oauthBody = { error: errorCodeFor(status) ?? 'server_error', error_description: message }
        const defaultBody = isToken ? oauthBody : apiError(status, message, errorCodeFor(status)).body
        const errorBody = fault.body !== undefined ? fault.body : defaultBody
        const limitHeaders = isApi ? rateLimitHeaders(bucket, status === 429) : {}
        send(res, entry, status, errorBody, { ...limitHeaders, ...fault.headers })
        return
      }
    }

    if (await oidc.handle(req, res, url, entry, body)) return
    if (isToken) {
      if (method !== 'POST') return send(res, entry, 404, apiError(404, 'Not Found').body)
      try {
        const issued = await issueToken(body, req.headers.authorization, entry)
        send(res, entry, 200, issued, { 'cache-control': 'no-store' })
      } catch (error) {
        if (!(error instanceof HttpError)) throw error
        send(res, entry, error.status, error.body)
      }
      return
    }
    const wellKnown = method === 'GET' ? await logins.wellKnown(url.pathname) : undefined
    if (wellKnown !== undefined) return send(res, entry, 200, wellKnown)
    if (!isApi) return send(res, entry, 404, apiError(404, 'Not Found').body)

    // The tenant-wide bucket is checked first (platform-facts.md "Rate limits"); a refused request takes no token.
    const now = Date.now()
    const drawn = [buckets.global, endpointBucket].filter((b): b is BucketState => b !== undefined)
    for (const b of drawn) refill(b, now)
    const refusing = drawn.find((b) => b.tokens < 1)
    if (refusing) {
      const tooMany = apiError(429, 'Global limit has been reached', 'too_many_requests').body
      return send(res, entry, 429, tooMany, rateLimitHeaders(refusing, true))
    }
    for (const b of drawn) b.tokens -= 1
    try {
      const answer = handleApi(req, url, entry)
      if (answer instanceof Created) send(res, entry, 201, answer.body, rateLimitHeaders(bucket))
      else send(res, entry, 200, answer, rateLimitHeaders(bucket))
    } catch (error) {
      if (!(error instanceof HttpError)) throw error
      send(res, entry, error.status, error.body, rateLimitHeaders(bucket))
    }
  }

  const server = createServer({ cert, key }, (req, res) => void handle(req, res))
  let connections = 0
  server.on('connection', (socket: Socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  domain = `localhost:${port}`
  customDomain = `127.0.0.1:${port}`

  return {
    domain,
    customDomain,
    baseUrl: `https://${domain}`,
    port,
    issuer: `https://${domain}/`,
    actions,
    login: (login) => logins.login(login),
    oidc: oidc.control,
    requests,
    injectFault(fault) {
      faults.push({ spec: { ...fault }, remaining: fault.times ?? 1 })
    },
    clearFaults() {
      faults.length = 0
    },
    issuedTokens() {
      return [...tokens.keys()]
    },
    revokeTokens() {
      for (const token of tokens.values()) token.revoked = true
    },
    getOrganization(id) {
      const org = organizations.get(id)
      return org ? structuredClone(org) : undefined
    },
    putOrganization(org) {
      organizations.set(org.id, structuredClone(org))
    },
    deleteOrganization(id) {
      return organizations.delete(id)
    },
    listOrganizations() {
      return [...organizations.values()].map((org) => structuredClone(org))
    },
    clearRequests() {
      requests.length = 0
    },
    expireCheckpoints() {
      checkpointsValidFrom = Date.now() + 1
    },
    connectionCount: () => connections,
    filterRequests(filter = {}) {
      return requests.filter((r) => matches(filter, r.method, r.path))
    },
    count(filter = {}) {
      return requests.filter((r) => matches(filter, r.method, r.path)).length
    },
    async close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}
