import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_RETRY_POLICY, decideRetry, type Failure, waitHintMs } from '../../src/core/retry.ts'

const state = { attempt: 1, tokenRefreshed: false, remainingMs: 60_000, attemptTimeoutMs: 10_000 }
const headers = (entries: Record<string, string>) => new Headers(entries)

describe('decideRetry', () => {
  it('retries transient failures with backoff, and stops after maxAttempts', () => {
    for (const failure of [
      { kind: 'network' },
      { kind: 'timeout' },
      { kind: 'status', status: 408 },
      { kind: 'status', status: 429 },
      { kind: 'status', status: 502 },
    ] as Failure[]) {
      expect(decideRetry(failure, state)).toMatchObject({ retry: true, refreshToken: false })
      expect(decideRetry(failure, { ...state, attempt: DEFAULT_RETRY_POLICY.maxAttempts })).toEqual({
        retry: false,
        why: 'attempts-exhausted',
      })
    }
  })

  it('never retries 400, 403, 404 or 409', () => {
    for (const status of [400, 403, 404, 409]) {
      expect(decideRetry({ kind: 'status', status }, state)).toEqual({ retry: false, why: 'permanent' })
    }
  })

  it('on 401 fetches a fresh token once, immediately; a second 401 is a credentials problem', () => {
    expect(decideRetry({ kind: 'status', status: 401 }, state)).toEqual({ retry: true, delayMs: 0, refreshToken: true })
    expect(decideRetry({ kind: 'status', status: 401 }, { ...state, tokenRefreshed: true })).toEqual({
      retry: false,
      why: 'token-refused',
    })
  })

  it('waits exactly as long as Auth0 asks', () => {
    expect(decideRetry({ kind: 'status', status: 429, hintMs: 2_500 }, state)).toMatchObject({ delayMs: 2_500 })
  })

  it('never plans a wait that cannot finish before the deadline', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Failure>({ kind: 'network' }, { kind: 'timeout' }, { kind: 'status', status: 503 }),
        fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: undefined }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 100, max: 10_000 }),
        (failure, hintMs, attempt, remainingMs, attemptTimeoutMs) => {
          const withHint = failure.kind === 'status' ? { ...failure, hintMs } : failure
          const decision = decideRetry(withHint, { attempt, tokenRefreshed: false, remainingMs, attemptTimeoutMs })
          if (decision.retry) expect(decision.delayMs + attemptTimeoutMs).toBeLessThanOrEqual(remainingMs)
        },
      ),
    )
  })
})

describe('waitHintMs', () => {
  const now = Date.parse('2026-11-26T10:00:00Z')
  it('reads Retry-After in seconds or as a date, else X-RateLimit-Reset', () => {
    expect(waitHintMs(headers({ 'retry-after': '3' }), now)).toBe(3_000)
    expect(waitHintMs(headers({ 'retry-after': 'Thu, 26 Nov 2026 10:00:05 GMT' }), now)).toBe(5_000)
    expect(waitHintMs(headers({ 'x-ratelimit-reset': String(now / 1000 + 7) }), now)).toBe(7_000)
    expect(waitHintMs(headers({ 'x-ratelimit-reset': String(now / 1000 - 7) }), now)).toBe(0)
    expect(waitHintMs(headers({ 'x-ratelimit-reset': (now / 1000 + 0.25).toFixed(3) }), now)).toBe(250)
    expect(waitHintMs(headers({}), now)).toBeUndefined()
    expect(waitHintMs(undefined, now)).toBeUndefined()
  })
})
