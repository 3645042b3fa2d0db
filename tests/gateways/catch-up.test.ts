/** The catch-up poll schedule (src/gateways/sanity.ts): how long a read waits out the query lag, and at what cost. */
import { describe, expect, it } from 'vitest'
import { nextCatchUpWait, QUERY_CATCH_UP_MS } from '../../src/gateways/sanity.ts'

/** When each poll is sent, in ms after the first query, up to `until`. */
function pollTimes(until: number): number[] {
  const times: number[] = []
  for (let wait = 100, at = wait; at <= until; wait = nextCatchUpWait(wait, at), at += wait) times.push(at)
  return times
}

describe('the catch-up poll schedule', () => {
  it('polls every quarter second after the first two for 2 s: a 1-s lag is seen by 1.05 s', () => {
    expect(pollTimes(2_000)).toEqual([100, 300, 550, 800, 1_050, 1_300, 1_550, 1_800, 2_050].filter((t) => t <= 2_000))
    expect(pollTimes(2_000).find((at) => at >= 1_000)).toBe(1_050)
  })

  it('then backs off to one poll a second: the whole 10-s bound costs at most 17 polls', () => {
    const polls = pollTimes(QUERY_CATCH_UP_MS)
    const gaps = polls.slice(1).map((at, index) => at - (polls[index] as number))
    expect(gaps.filter((gap) => gap > 250).every((gap) => gap <= 1_000)).toBe(true)
    expect(gaps.at(-1)).toBe(1_000)
    expect(polls.length).toBeLessThanOrEqual(17)
  })
})
