/**
 * When to try an Auth0 call again, decided in one place for every failure the function can meet. Pure: the
 * gateway classifies what happened and sleeps; this module decides.
 *
 * Why not the SDK's own retries: they cover 408/429/5xx only (not connection resets, timeouts or a revoked
 * token), and their waits (up to 60 s each, unabortable) cannot be bounded by the invocation's deadline. Here
 * every wait is checked against the time left, so retries always end inside the function's timeout.
 *
 * A server's wait hint (`Retry-After`, `X-RateLimit-Reset`) is the least we wait, never the exact time: every caller
 * the bucket turned away is told the same instant, so waking exactly then makes them collide again and use up their
 * attempts together (a thundering herd). See `hintJitterWindow`.
 *
 * A 429 is bounded by the deadline, not by `maxAttempts`: Auth0 is up and says when to come back, so giving up with
 * time left would fail an invocation that could have finished (under a tenant-wide limit every caller is refused in
 * turn). `Retry-After` is authoritative. `X-RateLimit-Reset` is documented only loosely (platform-facts.md "Rate
 * limits") and is read three ways: when the bucket is full (later than needed), when it next has a request, or the
 * tenant-wide bucket's (possibly "now" while the endpoint's bucket is still empty). So a reset in the past backs
 * off exponentially, and one later than the time left is probed within that time rather than given up on.
 */

export interface RetryPolicy {
  /** Attempts per call, the first included. */
  readonly maxAttempts: number
  /** Backoff before attempt n+1 without a server hint: base·2^(n-1), capped, with jitter. */
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  /** Attempts per call while Auth0 answers 429: a safety net only, the deadline is what ends them. Default 50. */
  readonly maxRateLimitedAttempts?: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 300, maxDelayMs: 8_000 }
const MAX_RATE_LIMITED_ATTEMPTS = 50

export type Failure =
  /**
   * Auth0 answered with an error status; `hintMs` is how long it asked us to wait, if it said, and `hintFrom` which
   * header said so (undefined: treated as `Retry-After`, authoritative).
   */
  | {
      readonly kind: 'status'
      readonly status: number
      readonly hintMs?: number | undefined
      readonly hintFrom?: HintSource | undefined
    }
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

export type HintSource = 'retry-after' | 'reset'

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
  const limited = failure.kind === 'status' && failure.status === 429
  const maxAttempts = limited ? (policy.maxRateLimitedAttempts ?? MAX_RATE_LIMITED_ATTEMPTS) : policy.maxAttempts
  if (state.attempt >= maxAttempts) return { retry: false, why: 'attempts-exhausted' }
  const hint = failure.kind === 'status' ? failure.hintMs : undefined
  if (hint === undefined) return retryAfter(backoff(state.attempt, policy, random), state, false)
  if (failure.kind === 'status' && failure.hintFrom === 'reset') {
    // A 429 whose reset has passed says nothing about the bucket that refused: back off and ask again.
    if (hint === 0) return retryAfter(backoff(state.attempt, policy, random), state, false)
    const probe = state.remainingMs - state.attemptTimeoutMs
    // A reset past the time left may be the full bucket's: try once more just inside the deadline, not give up.
    if (hint > probe && probe >= backoff(1, policy, () => 0)) return retryAfter(probe, state, false)
  }
  // Only the hint has to fit: the jitter is cut to the time left rather than giving up a wait that fits.
  const slackMs = state.remainingMs - state.attemptTimeoutMs - hint
  const jitterMs = Math.max(0, Math.min(hintJitterWindow(hint, state.attempt, policy), slackMs))
  return retryAfter(hint + Math.floor(random() * jitterMs), state, false)
}

function retryAfter(delayMs: number, state: AttemptState, refreshToken: boolean): Decision {
  if (delayMs + state.attemptTimeoutMs > state.remainingMs) return { retry: false, why: 'out-of-time' }
  return { retry: true, delayMs, refreshToken }
}

/**
 * How much later than the server's hint a retry may wake, after `attempt` attempts: the wait is drawn uniformly
 * from [hint, hint + window] ("full jitter" on top of the hint), window = hint·(2^(attempt−1) − 1), so 0, 1, 3, 7 ×
 * the hint. The first retry wakes at the hint: a lone caller (a reconcile draining the write bucket) then loses
 * none of the bucket's refill, and the callers woken together at the hint use the full bucket. Those it turned
 * away again spread over a window that doubles with each collision, so they stop colliding. A zero hint (e.g.
 * `Retry-After: 0`) takes the backoff base as its unit. Bounded by the time left, see `decideRetry`.
 */
export function hintJitterWindow(hintMs: number, attempt: number, policy: RetryPolicy): number {
  const unit = hintMs > 0 ? hintMs : policy.baseDelayMs
  return unit * (2 ** (attempt - 1) - 1)
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
  return waitHint(headers, now).hintMs
}

/** `waitHintMs` and which header it came from. */
export function waitHint(
  headers: { get(name: string): string | null } | undefined,
  now: number,
): { hintMs?: number; hintFrom?: HintSource } {
  const retryAfter = headers?.get('retry-after')
  if (retryAfter) {
    if (/^\d+$/.test(retryAfter.trim())) return { hintMs: Number(retryAfter) * 1000, hintFrom: 'retry-after' }
    const date = Date.parse(retryAfter)
    if (Number.isFinite(date)) return { hintMs: Math.max(0, date - now), hintFrom: 'retry-after' }
  }
  const reset = headers?.get('x-ratelimit-reset')
  // Auth0 sends whole seconds; a fraction (a time-scaled emulator) is honoured to the millisecond.
  if (reset && /^\d+(\.\d+)?$/.test(reset.trim()))
    return { hintMs: Math.max(0, Math.ceil(Number(reset) * 1000 - now)), hintFrom: 'reset' }
  return {}
}
