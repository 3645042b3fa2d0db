import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_RETRY_POLICY, decideRetry, type Failure, hintJitterWindow, waitHintMs } from '../../src/core/retry.ts'

const state = { attempt: 1, tokenRefreshed: false, remainingMs: 60_000, attemptTimeoutMs: 10_000 }
const headers = (entries: Record<string, string>) => new Headers(entries)

describe('decideRetry', () => {
  it('retries transient failures with backoff, and stops after maxAttempts', () => {
    for (const failure of [
      { kind: 'network' },
      { kind: 'timeout' },
      { kind: 'status', status: 408 },
      { kind: 'status', status: 502 },
    ] as Failure[]) {
      expect(decideRetry(failure, state)).toMatchObject({ retry: true, refreshToken: false })
      expect(decideRetry(failure, { ...state, attempt: DEFAULT_RETRY_POLICY.maxAttempts })).toEqual({
        retry: false,
        why: 'attempts-exhausted',
      })
    }
  })

  it('a 429 is bounded by the deadline, not by maxAttempts (the attempts cap is only a safety net)', () => {
    const limited = { kind: 'status', status: 429 } as const
    expect(decideRetry(limited, { ...state, attempt: DEFAULT_RETRY_POLICY.maxAttempts })).toMatchObject({ retry: true })
    expect(decideRetry(limited, { ...state, attempt: 50 })).toEqual({ retry: false, why: 'attempts-exhausted' })
    expect(decideRetry(limited, { ...state, attempt: 5, remainingMs: 10_100 })).toEqual({
      retry: false,
      why: 'out-of-time',
    })
  })

  it('X-RateLimit-Reset is a loose hint: a reset already past backs off; one past the time left is probed within it', () => {
    const past = { kind: 'status', status: 429, hintMs: 0, hintFrom: 'reset' } as const
    const waits = [1, 2, 3, 4].map((attempt) => decideRetry(past, { ...state, attempt }, DEFAULT_RETRY_POLICY, () => 0))
    expect(waits.map((decision) => (decision.retry ? decision.delayMs : undefined))).toEqual([150, 300, 600, 1_200])
    const far = { kind: 'status', status: 429, hintMs: 60_000, hintFrom: 'reset' } as const
    expect(decideRetry(far, { ...state, remainingMs: 15_000 })).toEqual({
      retry: true,
      delayMs: 5_000,
      refreshToken: false,
    })
    // Retry-After is Auth0's word: a wait past the deadline is given up on at once.
    expect(decideRetry({ ...far, hintFrom: 'retry-after' }, { ...state, remainingMs: 15_000 })).toEqual({
      retry: false,
      why: 'out-of-time',
    })
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

  it('waits at least as long as Auth0 asks: exactly that on the first retry, then up to 1, 3 × more, drawn at random', () => {
    const limited = { kind: 'status', status: 429, hintMs: 2_500 } as const
    const wait = (attempt: number, random: number) => {
      const decision = decideRetry(limited, { ...state, attempt }, DEFAULT_RETRY_POLICY, () => random)
      return decision.retry ? decision.delayMs : undefined
    }
    expect([wait(1, 0), wait(1, 0.99)]).toEqual([2_500, 2_500])
    expect([wait(2, 0), wait(2, 0.5), wait(2, 0.999)]).toEqual([2_500, 3_750, 4_997])
    expect([wait(3, 0), wait(3, 0.5), wait(3, 0.999)]).toEqual([2_500, 6_250, 9_992])
  })

  it('spreads waiters told the same instant, instead of waking them together', () => {
    const waits = new Set(
      Array.from({ length: 50 }, () => {
        const decision = decideRetry({ kind: 'status', status: 429, hintMs: 600 }, { ...state, attempt: 2 })
        return decision.retry ? decision.delayMs : undefined
      }),
    )
    expect(waits.size).toBeGreaterThan(25)
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(600)
  })

  it('cuts the jitter to the time left rather than give up a wait that fits', () => {
    const tight = { ...state, attempt: 3, remainingMs: 13_000, attemptTimeoutMs: 10_000 }
    expect(
      decideRetry({ kind: 'status', status: 429, hintMs: 2_500 }, tight, DEFAULT_RETRY_POLICY, () => 0.999),
    ).toEqual({ retry: true, delayMs: 2_999, refreshToken: false })
    expect(decideRetry({ kind: 'status', status: 429, hintMs: 3_001 }, tight)).toEqual({
      retry: false,
      why: 'out-of-time',
    })
  })

  it('never plans a wait that cannot finish before the deadline, nor one shorter than the hint', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Failure>(
          { kind: 'network' },
          { kind: 'timeout' },
          { kind: 'status', status: 503 },
          { kind: 'status', status: 429 },
        ),
        fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: undefined }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 100, max: 10_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (failure, hintMs, attempt, remainingMs, attemptTimeoutMs, random) => {
          const withHint = failure.kind === 'status' ? { ...failure, hintMs } : failure
          const decision = decideRetry(
            withHint,
            { attempt, tokenRefreshed: false, remainingMs, attemptTimeoutMs },
            DEFAULT_RETRY_POLICY,
            () => random,
          )
          if (!decision.retry) return
          expect(decision.delayMs + attemptTimeoutMs).toBeLessThanOrEqual(remainingMs)
          if (withHint.kind === 'status' && withHint.hintMs !== undefined) {
            // The hint is the least wait, never cut; the jitter on top stays inside its window.
            expect(decision.delayMs).toBeGreaterThanOrEqual(withHint.hintMs)
            const window = hintJitterWindow(withHint.hintMs, attempt, DEFAULT_RETRY_POLICY)
            expect(decision.delayMs).toBeLessThanOrEqual(withHint.hintMs + window)
          }
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
