/**
 * When to try an Auth0 call again, decided in one place for every failure the function can meet. Pure: the
 * gateway classifies what happened and sleeps; this module decides.
 *
 * Why not the SDK's own retries: they cover 408/429/5xx only (not connection resets, timeouts or a revoked
 * token), and their waits (up to 60 s each, unabortable) cannot be bounded by the invocation's deadline. Here
 * every wait is checked against the time left, so retries always end inside the function's timeout.
 */

export interface RetryPolicy {
  /** Attempts per call, the first included. */
  readonly maxAttempts: number
  /** Backoff before attempt n+1 without a server hint: base·2^(n-1), capped, with jitter. */
  readonly baseDelayMs: number
  readonly maxDelayMs: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 300, maxDelayMs: 8_000 }

export type Failure =
  /** Auth0 answered with an error status; `hintMs` is how long it asked us to wait, if it said. */
  | { readonly kind: 'status'; readonly status: number; readonly hintMs?: number | undefined }
  /** The connection failed or was reset before an answer. */
  | { readonly kind: 'network' }
  /** No answer within the per-attempt timeout. */
  | { readonly kind: 'timeout' }

export interface AttemptState {
  /** Attempts made so far, the failed one included (1 after the first failure). */
  readonly attempt: number
  /** Whether a fresh token was already fetched during this call. */
  readonly tokenRefreshed: boolean
  /** Time left before the invocation's deadline. */
  readonly remainingMs: number
  /** How long the next attempt may take at most. */
  readonly attemptTimeoutMs: number
}

export type Decision =
  | { readonly retry: true; readonly delayMs: number; readonly refreshToken: boolean }
  | { readonly retry: false; readonly why: GiveUp }

export type GiveUp = 'permanent' | 'attempts-exhausted' | 'out-of-time' | 'token-refused'

export function isTransient(failure: Failure): boolean {
  return failure.kind !== 'status' || failure.status === 408 || failure.status === 429 || failure.status >= 500
}

export function decideRetry(
  failure: Failure,
  state: AttemptState,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  random: () => number = Math.random,
): Decision {
  if (failure.kind === 'status' && failure.status === 401) {
    // Once: the cached token may have been revoked or rotated. A second 401 means the credentials are wrong.
    return state.tokenRefreshed ? { retry: false, why: 'token-refused' } : retryAfter(0, state, true)
  }
  if (!isTransient(failure)) return { retry: false, why: 'permanent' }
  if (state.attempt >= policy.maxAttempts) return { retry: false, why: 'attempts-exhausted' }
  const hint = failure.kind === 'status' ? failure.hintMs : undefined
  return retryAfter(hint ?? backoff(state.attempt, policy, random), state, false)
}

function retryAfter(delayMs: number, state: AttemptState, refreshToken: boolean): Decision {
  if (delayMs + state.attemptTimeoutMs > state.remainingMs) return { retry: false, why: 'out-of-time' }
  return { retry: true, delayMs, refreshToken }
}

/** Exponential backoff with "equal jitter": never less than half the step, so retries cannot bunch at zero. */
export function backoff(attempt: number, policy: RetryPolicy, random: () => number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return Math.round(step / 2 + (random() * step) / 2)
}

/**
 * How long Auth0 asked us to wait: `Retry-After` (seconds or an HTTP date), else `X-RateLimit-Reset` (epoch
 * seconds). Undefined when it did not say.
 */
export function waitHintMs(headers: { get(name: string): string | null } | undefined, now: number): number | undefined {
  const retryAfter = headers?.get('retry-after')
  if (retryAfter) {
    if (/^\d+$/.test(retryAfter.trim())) return Number(retryAfter) * 1000
    const date = Date.parse(retryAfter)
    if (Number.isFinite(date)) return Math.max(0, date - now)
  }
  const reset = headers?.get('x-ratelimit-reset')
  // Auth0 sends whole seconds; a fraction (a time-scaled emulator) is honoured to the millisecond.
  if (reset && /^\d+(\.\d+)?$/.test(reset.trim())) return Math.max(0, Math.ceil(Number(reset) * 1000 - now))
  return undefined
}
