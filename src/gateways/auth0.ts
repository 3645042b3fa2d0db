/**
 * The Auth0 side of the shell: read and replace one Organization's metadata with the official SDK. Nothing else
 * of Auth0's API is used, so the client needs exactly `read:organizations` and `update:organizations`.
 * Every failure goes through one retry policy (src/core/retry.ts) bounded by the invocation's deadline.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
// The narrowest entries: `auth0`'s main entry brings every Management API client (840 kB bundled; see docs/performance.md).
import { createManagementAuth, ManagementError } from 'auth0/management'
import { OrganizationsClient } from 'auth0/organizations'
import { type Auth0Config, type ClientCredential, credentialSettings, SYNC_CREDENTIAL } from '../config.ts'
import { customDomainFix, NO_GRANT_FIX, type TokenRefusal, tokenRefusal } from '../core/auth0-domain.ts'
import type { Metadata, OrganizationId } from '../core/auth0-rules.ts'
import { SyncError } from '../core/errors.ts'
import { type Decision, decideRetry, type Failure, isTransient, waitHint } from '../core/retry.ts'

export interface OrganizationsGateway {
  readMetadata(organizationId: OrganizationId, options?: ReadOptions): Promise<Metadata>
  /** Replaces the Organization's whole metadata map (Auth0 has no merge for Organizations). */
  replaceMetadata(organizationId: OrganizationId, metadata: Metadata, options?: WriteOptions): Promise<void>
}

export interface ReadOptions {
  /**
   * Awaited after each rate-limit wait, before the read is sent again: what was loaded before is older by then.
   * What it throws ends the read.
   */
  readonly onRateLimited?: () => void | Promise<void>
}

/** What the attempts so far of one write tell. */
export interface WriteAttempts {
  /** An earlier attempt ended without a clear refusal (a timeout, a dropped connection, a 5xx): Auth0 may hold it. */
  readonly mayHaveWritten: boolean
}

export interface WriteOptions {
  /**
   * Called after waiting out a rate limit, before the write is sent again: returns what to write now, or
   * undefined to withdraw the write. During a burst the state planned before the wait may be stale by then.
   */
  readonly revise?: (attempts: WriteAttempts) => Promise<Metadata | undefined>
}

/** One Organization as the list endpoint returns it: enough to plan without a GET. */
export interface ListedOrganization {
  readonly id: string
  /** Undefined when Auth0 returned a non-string value: the Organization is then re-read before anything else. */
  readonly metadata: Metadata | undefined
}

export interface OrganizationPage {
  /** The checkpoint this page was read from; undefined for the first page. Reading it again gives this page. */
  readonly from: string | undefined
  readonly organizations: readonly ListedOrganization[]
  /** The checkpoint of the next page; undefined on the last page. */
  readonly next: string | undefined
}

export interface OrganizationLister {
  /**
   * Every Organization, one page at a time (checkpoint pagination, `take` ≤ 50), from checkpoint `from` on.
   * Stops on a page without `next` and on an empty page: Auth0 can return a `next` with the last page.
   */
  pages(from?: string): AsyncGenerator<OrganizationPage>
}

/** The page size for listing: Auth0's maximum `take` for checkpoint pagination is 100; 50 is its default. */
export const LIST_PAGE_SIZE = 50

/** Told before each wait between attempts, so a long run can say it is waiting on Auth0 (e.g. a rate limit). */
export type RetryObserver = (wait: {
  readonly operation: Operation
  readonly organizationId: string
  readonly status: number | undefined
  readonly delayMs: number
}) => void

/** Lives as long as the warm instance; `forInvocation` binds the calls of one invocation to its deadline. */
export interface Auth0Connection {
  forInvocation(deadline: number, observer?: RetryObserver): OrganizationsGateway & OrganizationLister
  /**
   * Starts fetching the token unless the SDK holds one, so that a cold invocation's token request (and its TLS
   * set-up) overlaps its Content Lake query instead of following it. Never throws: a failure is left to the first
   * call, which fetches again under the retry policy. The SDK shares one request between concurrent callers.
   */
  prefetchToken(): void
}

type Operation = 'read' | 'update' | 'list'

/** The one Management API client this project uses, with the token supplier `createManagementAuth` caches. */
interface Management {
  readonly organizations: OrganizationsClient
  /** The client-credentials token: fetched once, then from the SDK's cache until shortly before it expires. */
  readonly token: () => Promise<string>
  /** The headers of the token endpoint's last refusal, for its wait hint: the SDK's error keeps none. */
  readonly tokenRefusal: () => Headers | undefined
}

/**
 * When the attempt that started a token request must end (epoch ms). The SDK's token request runs under its own
 * fixed 10 s timeout, outside the per-attempt timeout and the invocation's deadline; its `fetch` option is the one
 * way in, and this is how that fetch learns the limit of the attempt that started it.
 */
const tokenAttemptEnd = new AsyncLocalStorage<number>()

/** The SDK's own options for the credential: a client secret, or a private key for Private Key JWT. */
export function credentialOptions(credential: ClientCredential) {
  return 'clientAssertionSigningKey' in credential
    ? {
        clientAssertionSigningKey: credential.clientAssertionSigningKey,
        clientAssertionSigningAlg: credential.clientAssertionSigningAlg,
      }
    : { clientSecret: credential.clientSecret }
}

/**
 * A `createManagementAuth` for the token request alone (the API calls never use this `fetch`): its timeout is the
 * attempt's limit instead of the SDK's fixed 10 s; a connection failure is marked as the token request's.
 */
function createAuth(config: Auth0Config) {
  let refusal: Headers | undefined
  const tokenFetch: typeof fetch = async (input, init) => {
    const end = tokenAttemptEnd.getStore() ?? Date.now() + config.timeoutSeconds * 1000
    // Aborted by a TimeoutError, which the SDK turns into its 408 "token request timed out".
    const signal = AbortSignal.timeout(Math.max(1, end - Date.now()))
    let response: Response
    try {
      response = await fetch(input, { ...init, signal })
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') throw error
      throw new TokenRequestError('the token request failed', { cause: error })
    }
    refusal = response.ok ? undefined : response.headers
    return response
  }
  const auth = createManagementAuth({
    domain: config.domain,
    clientId: config.clientId,
    ...credentialOptions(config),
    timeoutInSeconds: config.timeoutSeconds,
    maxRetries: 0,
    fetch: tokenFetch,
  })
  return { auth, tokenRefusal: () => refusal }
}

export function connectAuth0(config: Auth0Config): Auth0Connection {
  // The SDK caches the client-credentials token inside the instance; a new instance means a new token.
  const create = (): Management => {
    const { auth, tokenRefusal } = createAuth(config)
    return { organizations: new OrganizationsClient(auth.clientOptions), token: auth.getToken, tokenRefusal }
  }
  let management = create()

  async function call<T>(
    operation: Operation,
    organizationId: string,
    deadline: number,
    send: (client: Management, timeoutInSeconds: number) => Promise<T>,
    observer?: RetryObserver,
    /** After a 429 wait, before the next attempt; false: send nothing more (throws Withdrawn). */
    afterRateLimit?: (attempts: WriteAttempts) => Promise<boolean>,
  ): Promise<T> {
    const started = Date.now()
    let tokenRefreshed = false
    let mayHaveWritten = false
    for (let attempt = 1; ; attempt++) {
      const remainingMs = deadline - Date.now()
      const attemptTimeoutMs = Math.min(config.timeoutSeconds * 1000, remainingMs)
      let phase: Phase = 'token'
      try {
        if (attemptTimeoutMs < MIN_ATTEMPT_MS) throw new OutOfTime()
        // Node's fetch hands a keep-alive connection back to its pool a turn of the event loop after the response
        // was read; a request sent sooner (the call right after the SDK fetched its token, the write right after
        // the read) opens another TCP + TLS connection to the tenant. So: the token first, one turn, then the call.
        await tokenWithin(management, Date.now() + attemptTimeoutMs)
        phase = 'call'
        await new Promise<void>((resolve) => setImmediate(resolve))
        return await send(management, attemptTimeoutMs / 1000)
      } catch (error) {
        if (error instanceof OutOfTime) throw outOfTime(operation, organizationId, attempt - 1, started)
        const failure = phase === 'token' ? classifyToken(error, management.tokenRefusal()) : classify(error)
        const decision = decideRetry(failure, {
          attempt,
          tokenRefreshed,
          remainingMs: deadline - Date.now(),
          attemptTimeoutMs: config.timeoutSeconds * 1000,
        })
        if (!decision.retry) {
          throw explain(error, failure, decision, {
            operation,
            organizationId,
            attempt,
            started,
            domain: config.domain,
            phase,
            credential: config,
          })
        }
        if (decision.refreshToken) {
          tokenRefreshed = true
          management = create()
        }
        const status = failure.kind === 'status' ? failure.status : undefined
        if (phase === 'call' && (status === undefined || status === 408 || status >= 500)) mayHaveWritten = true
        observer?.({ operation, organizationId, status, delayMs: decision.delayMs })
        await sleep(decision.delayMs)
        if (status === 429 && afterRateLimit && !(await afterRateLimit({ mayHaveWritten }))) throw new Withdrawn()
      }
    }
  }

  return {
    prefetchToken() {
      management.token().catch(() => undefined)
    },
    forInvocation(deadline, observer) {
      return {
        async readMetadata(organizationId, options) {
          const onRateLimited = options?.onRateLimited
          const organization = await call(
            'read',
            organizationId,
            deadline,
            (client, timeoutInSeconds) => client.organizations.get(organizationId, { timeoutInSeconds, maxRetries: 0 }),
            observer,
            onRateLimited &&
              (async () => {
                await onRateLimited()
                return true
              }),
          )
          return stringMetadata(organization.metadata ?? {}, organizationId)
        },
        async replaceMetadata(organizationId, metadata, options) {
          let current = metadata
          const revise = options?.revise
          try {
            await call(
              'update',
              organizationId,
              deadline,
              (client, timeoutInSeconds) =>
                client.organizations.update(
                  organizationId,
                  { metadata: { ...current } },
                  { timeoutInSeconds, maxRetries: 0 },
                ),
              observer,
              revise &&
                (async (attempts) => {
                  const revised = await revise(attempts)
                  if (revised === undefined) return false
                  current = revised
                  return true
                }),
            )
          } catch (error) {
            if (!(error instanceof Withdrawn)) throw error
          }
        },
        async *pages(start) {
          let from = start
          for (;;) {
            // One SDK call per page, so every page goes through the retry policy (the SDK's own iterator would not).
            const page = await call(
              'list',
              from ?? 'first page',
              deadline,
              (client, timeoutInSeconds) =>
                client.organizations.list({ from, take: LIST_PAGE_SIZE }, { timeoutInSeconds, maxRetries: 0 }),
              observer,
            )
            const organizations = page.data.map((organization) => ({
              id: String(organization.id),
              metadata: listedMetadata(organization.metadata),
            }))
            const next =
              typeof page.response.next === 'string' && page.response.next !== '' ? page.response.next : undefined
            if (organizations.length === 0) return
            yield { from, organizations, next }
            if (next === undefined) return
            from = next
          }
        },
      }
    },
  }
}

/**
 * The token, within the attempt's time: a request this attempt starts is aborted at its end (through the token
 * fetch); one already under way for another caller (the SDK shares it) is waited for until then, not longer.
 */
async function tokenWithin(management: Management, end: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TokenRequestError('timeout')), Math.max(0, end - Date.now()))
  })
  try {
    await Promise.race([tokenAttemptEnd.run(end, management.token), late])
  } finally {
    clearTimeout(timer)
  }
}

/** What the client-credentials grant gave: the scopes Auth0 granted (undefined when it did not say). */
export interface ManagementGrant {
  readonly scopes: readonly string[] | undefined
}

/**
 * Fetches one Management API token the way every call does (the SDK's token supplier, same request) and reads
 * what was granted: the token response's `scope`, else the JWT's `scope` claim. Used by `access-sync doctor`.
 * Throws the SyncError a sync would (a custom domain, a missing grant, wrong credentials), never the secret.
 */
export async function fetchManagementGrant(config: Auth0Config): Promise<ManagementGrant> {
  let granted: string | undefined
  let refusal: Headers | undefined
  // The SDK keeps only access_token and expires_in; watching its own request is how `scope` is seen.
  const watch: typeof fetch = async (input, init) => {
    let response: Response
    try {
      response = await fetch(input, { ...init, signal: AbortSignal.timeout(config.timeoutSeconds * 1000) })
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') throw error
      throw new TokenRequestError('the token request failed', { cause: error })
    }
    refusal = response.ok ? undefined : response.headers
    if (response.ok) {
      const body: unknown = await response
        .clone()
        .json()
        .catch(() => undefined)
      const scope = typeof body === 'object' && body !== null && 'scope' in body ? body.scope : undefined
      if (typeof scope === 'string') granted = scope
    }
    return response
  }
  const auth = createManagementAuth({
    domain: config.domain,
    clientId: config.clientId,
    ...credentialOptions(config),
    timeoutInSeconds: config.timeoutSeconds,
    maxRetries: 0,
    fetch: watch,
  })
  const started = Date.now()
  let token: string
  try {
    token = await auth.getToken()
  } catch (error) {
    const call = {
      operation: 'token' as const,
      organizationId: '',
      attempt: 1,
      started,
      domain: config.domain,
      phase: 'token' as const,
      credential: config,
    }
    throw explain(error, classifyToken(error, refusal), { retry: false, why: 'permanent' }, call)
  }
  const scope = granted ?? jwtScope(token)
  return { scopes: scope === undefined ? undefined : scope.split(' ').filter((name) => name !== '') }
}

/** The `scope` claim of a JWT access token; undefined for an opaque token. */
function jwtScope(token: string): string | undefined {
  const payload = token.split('.')[1]
  if (payload === undefined) return undefined
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    const scope = typeof claims === 'object' && claims !== null && 'scope' in claims ? claims.scope : undefined
    return typeof scope === 'string' ? scope : undefined
  } catch {
    return undefined
  }
}

class OutOfTime extends Error {}
/** The token request failed before an answer (no connection, or the attempt's time ran out). */
class TokenRequestError extends Error {}

/** Whether a failure happened getting the token (the SDK's /oauth/token request) or in the API call itself. */
type Phase = 'token' | 'call'
/** A write its caller withdrew after a rate-limit wait: there was nothing left to write. */
class Withdrawn extends Error {}

/** No attempt starts with less time than this left before the deadline. */
export const MIN_ATTEMPT_MS = 1_000

/**
 * The call failed only because the caller's deadline would pass first (a wait, or an attempt, would not fit):
 * nothing is wrong with this Organization, and a later run with time left can make the same call.
 */
export class DeadlineError extends SyncError {}

/** Auth0 refused the Management API audience at AUTH0_DOMAIN, as it does at a custom domain. */
export class CustomDomainError extends SyncError {}

/** What went wrong, in the retry policy's terms. */
export function classify(error: unknown): Failure {
  if (!(error instanceof ManagementError)) throw error
  if (typeof error.statusCode === 'number') {
    return { kind: 'status', status: error.statusCode, ...waitHint(error.rawResponse?.headers, Date.now()) }
  }
  return error.cause === 'timeout' || error.message === 'timeout' ? { kind: 'timeout' } : { kind: 'network' }
}

/**
 * A failure of the token request, in the retry policy's terms: a timeout (the SDK's 408, or the attempt's end
 * while waiting for a shared request), no connection, or the status /oauth/token answered with its wait hint.
 */
export function classifyToken(error: unknown, refusal: Headers | undefined): Failure {
  if (error instanceof TokenRequestError) return error.message === 'timeout' ? { kind: 'timeout' } : { kind: 'network' }
  if (error instanceof ManagementError && error.message.startsWith(TOKEN_REQUEST_TIMED_OUT)) return { kind: 'timeout' }
  if (!isTokenRequest(error)) return classify(error)
  const status = (error as ManagementError).statusCode ?? 0
  return { kind: 'status', status, ...waitHint(refusal, Date.now()) }
}

function listedMetadata(metadata: Record<string, unknown> | undefined): Metadata | undefined {
  const entries = Object.entries(metadata ?? {})
  return entries.every(([, value]) => typeof value === 'string') ? (Object.fromEntries(entries) as Metadata) : undefined
}

function stringMetadata(metadata: Record<string, unknown>, organizationId: string): Metadata {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new SyncError(
        'auth0-rejected',
        `Auth0 returned a non-string metadata value for "${key}" on ${organizationId}`,
        {
          organizationId,
        },
      )
    }
  }
  return metadata as Metadata
}

interface CallInfo {
  readonly operation: Operation | 'token'
  readonly organizationId: string
  readonly attempt: number
  readonly started: number
  /** AUTH0_DOMAIN, to tell a custom domain's token refusal from a missing scope. */
  readonly domain: string
  readonly phase: Phase
  /** Which credential was used, to name its settings. */
  readonly credential: ClientCredential
}

function outOfTime(operation: Operation, organizationId: string, attempts: number, started: number): SyncError {
  const doing = describeCall(operation, organizationId)
  return new DeadlineError(
    'auth0-unavailable',
    `Ran out of time ${doing} (${attempts} attempts over ${seconds(Date.now() - started)}): raise SYNC_TIME_BUDGET_SECONDS and the function timeout together, or retry later`,
    { organizationId, retryable: true },
  )
}

/** Turns the final failure into a reason an operator can act on, without echoing tokens or secrets. */
function explain(error: unknown, failure: Failure, decision: Decision & { retry: false }, call: CallInfo): SyncError {
  if (call.phase === 'token') return explainToken(error, failure, decision, call)
  const { operation, organizationId } = call
  const doing = describeCall(operation, organizationId)
  const Unavailable = decision.why === 'out-of-time' ? DeadlineError : SyncError
  const tries = `${call.attempt} attempt${call.attempt === 1 ? '' : 's'} over ${seconds(Date.now() - call.started)}`
  const options = { organizationId, cause: error }
  if (failure.kind !== 'status') {
    const what = failure.kind === 'timeout' ? 'timed out' : `could not be reached (${networkCode(error)})`
    return new Unavailable('auth0-unavailable', `Auth0 ${what} ${doing}, ${tries}`, { ...options, retryable: true })
  }
  const scope = operation === 'update' ? 'update:organizations' : 'read:organizations'
  switch (failure.status) {
    case 400:
      return new SyncError('auth0-rejected', `Auth0 rejected ${doing}: ${auth0Message(error)}`, options)
    case 401:
      return new SyncError(
        'auth0-credentials',
        `Auth0 refused the credentials ${doing}, even with a fresh token: check ${credentialSettings(call.credential, SYNC_CREDENTIAL)} and that the application is authorized for the Management API`,
        options,
      )
    case 403: {
      const refusal = isTokenRequest(error) ? tokenRefusal(call.domain, tokenErrorDescription(error)) : undefined
      const refused = tokenRefusalError(refusal, call.domain, doing, options)
      if (refused) return refused
      return new SyncError(
        'auth0-forbidden',
        `Auth0 denied ${doing}: grant the scope ${scope} to the application (Applications > APIs > Auth0 Management API > Machine to Machine Applications)`,
        options,
      )
    }
    case 404:
      return new SyncError(
        'organization-not-found',
        `Auth0 has no Organization ${organizationId}: fix auth0OrganizationId on the policy or create the Organization`,
        options,
      )
  }
  if (!isTransient(failure)) {
    return new SyncError('auth0-rejected', `Auth0 answered ${failure.status} ${doing}: ${auth0Message(error)}`, options)
  }
  const limited = failure.status === 429 ? ' (rate limited)' : ''
  const why =
    // A reset already past (hint 0) is not why the time ran out: the backoff after it was.
    decision.why === 'out-of-time' && failure.hintMs !== undefined && failure.hintMs > 0
      ? `; it asked to wait ${seconds(failure.hintMs)}, more than this invocation has left`
      : decision.why === 'out-of-time'
        ? '; no time left in this invocation for another attempt'
        : ''
  return new Unavailable('auth0-unavailable', `Auth0 answered ${failure.status}${limited} ${doing}, ${tries}${why}`, {
    ...options,
    retryable: true,
  })
}

/**
 * The token request's final failure. Never a missing scope: a token endpoint that was slow, unreachable or rate
 * limited is `auth0-unavailable` (retryable) and says so; only a refusal of the credentials names them.
 */
function explainToken(
  error: unknown,
  failure: Failure,
  decision: Decision & { retry: false },
  call: CallInfo,
): SyncError {
  const { operation, organizationId } = call
  const doing = operation === 'token' ? 'when asking for a token' : `before ${describeCall(operation, organizationId)}`
  const Unavailable = decision.why === 'out-of-time' ? DeadlineError : SyncError
  const tries = `${call.attempt} attempt${call.attempt === 1 ? '' : 's'} over ${seconds(Date.now() - call.started)}`
  const options = { organizationId: organizationId || undefined, cause: error }
  const endpoint = "Auth0's token endpoint (/oauth/token)"
  const left =
    decision.why === 'out-of-time' && failure.kind === 'status' && failure.hintMs !== undefined
      ? `; it asked to wait ${seconds(failure.hintMs)}, more than this invocation has left`
      : decision.why === 'out-of-time'
        ? '; no time left in this invocation for another attempt'
        : ''
  const unavailable = (what: string) =>
    new Unavailable(
      'auth0-unavailable',
      `${endpoint} ${what} ${doing}, ${tries}${left}: Auth0 is slow or limiting this tenant's token requests; the next run retries`,
      {
        ...options,
        retryable: true,
      },
    )
  if (failure.kind === 'timeout') return unavailable('did not answer in time')
  if (failure.kind === 'network') return unavailable(`could not be reached (${networkCode(error)})`)
  if (isTransient(failure))
    return unavailable(`answered ${failure.status}${failure.status === 429 ? ' (rate limited)' : ''}`)
  const said = tokenErrorDescription(error)
  const auth0Said = said ? ` (Auth0: "${said}")` : ''
  if (failure.status === 401) {
    return new SyncError(
      'auth0-credentials',
      `Auth0 refused the credentials ${doing}${auth0Said}: check ${credentialSettings(call.credential, SYNC_CREDENTIAL)}, and that the application is authorized for the Management API`,
      options,
    )
  }
  if (failure.status === 403) {
    const refused = tokenRefusalError(tokenRefusal(call.domain, said), call.domain, doing, options)
    if (refused) return refused
    return new SyncError('auth0-credentials', `Auth0 refused a Management API token (${doing})${auth0Said}`, options)
  }
  return new SyncError(
    'auth0-rejected',
    `${endpoint} answered ${failure.status} ${doing}${auth0Said}: check ${credentialSettings(call.credential, SYNC_CREDENTIAL)}`,
    options,
  )
}

/** The error for a 403 at the token endpoint whose reason is known: a custom domain, or no grant for the API. */
function tokenRefusalError(
  refusal: TokenRefusal | undefined,
  domain: string,
  doing: string,
  options: { organizationId?: string | undefined; cause: unknown },
): SyncError | undefined {
  if (refusal === 'custom-domain') {
    const message = `Auth0 refused a Management API token (${doing}): ${customDomainFix(domain)}`
    return new CustomDomainError('configuration', message, options)
  }
  if (refusal === 'no-grant') {
    return new SyncError('auth0-forbidden', `Auth0 refused a Management API token (${doing}): ${NO_GRANT_FIX}`, options)
  }
  return undefined
}

/** Why Auth0's token endpoint answered 403 (undefined: the error is something else), for the Actions gateway too. */
export function tokenRefusalOf(error: unknown, domain: string): TokenRefusal | undefined {
  if (!isTokenRequest(error) || (error as ManagementError).statusCode !== 403) return undefined
  return tokenRefusal(domain, tokenErrorDescription(error))
}

/** The SDK's token supplier failed (not an API call): its error says so, with the OAuth error body. */
function isTokenRequest(error: unknown): boolean {
  return error instanceof ManagementError && error.message.startsWith(TOKEN_REQUEST_FAILED)
}

function tokenErrorDescription(error: unknown): string | undefined {
  const body = (error as { body?: unknown }).body
  if (typeof body !== 'object' || body === null || !('error_description' in body)) return undefined
  return String(body.error_description).slice(0, 300)
}

/** How the message of auth0 7.1.0's TokenProvider error starts when /oauth/token answers an error (wrapper/token-provider). */
const TOKEN_REQUEST_FAILED = 'ManagementClient: token request failed'
/** How the message of auth0 7.1.0's TokenProvider error (status 408) starts when its token request was aborted by a timeout (ManagementError appends "Status code: 408"). */
const TOKEN_REQUEST_TIMED_OUT = 'ManagementClient: token request timed out'

function describeCall(operation: Operation | 'token', organizationId: string): string {
  if (operation === 'token') return 'when asking for a token'
  if (operation === 'list') return `listing Organizations (${organizationId})`
  return `${operation === 'read' ? 'reading' : 'updating'} Organization ${organizationId}`
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function auth0Message(error: unknown): string {
  const body = (error as { body?: unknown }).body
  if (typeof body === 'object' && body !== null && 'message' in body) return String(body.message).slice(0, 300)
  return 'no details'
}

function networkCode(error: unknown): string {
  let cause: unknown = (error as { cause?: unknown }).cause
  for (let depth = 0; depth < 3 && cause; depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === 'string') return code
    cause = (cause as { cause?: unknown }).cause
  }
  return 'network error'
}
