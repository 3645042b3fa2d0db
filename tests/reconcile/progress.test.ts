/** The CLI's progress on stderr: never silent for long, waits shown, a counter with an ETA on a terminal. */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { HEARTBEAT_MS, progressReporter } from '../../cli/progress.ts'

afterEach(() => {
  vi.useRealTimers()
})

function stream(isTTY: boolean) {
  const chunks: string[] = []
  return { chunks, write: (text: string) => chunks.push(text), isTTY }
}
const progress = (over: Record<string, unknown> = {}) => ({
  phase: 'organizations' as const,
  policies: 10,
  organizations: 100,
  pages: 2,
  planned: 4,
  written: 0,
  failed: 0,
  ...over,
})

describe('progress on stderr', () => {
  it('plain lines: a heartbeat at least every HEARTBEAT_MS, and every wait of 0.2 s or more', () => {
    vi.useFakeTimers()
    const out = stream(false)
    const reporter = progressReporter(out, { apply: true, now: () => Date.now() })
    reporter.update(progress())
    const afterPhase = out.chunks.length
    vi.advanceTimersByTime(HEARTBEAT_MS * 4)
    expect(out.chunks.length - afterPhase).toBeGreaterThanOrEqual(3)
    reporter.wait({ operation: 'update', organizationId: 'org_a1', status: 429, delayMs: 1200 })
    expect(out.chunks.at(-1)).toBe('reconcile: waiting 1.2 s (Auth0 rate limit, writing org_a1)\n')
    reporter.stop()
    const stopped = out.chunks.length
    vi.advanceTimersByTime(HEARTBEAT_MS * 4)
    expect(out.chunks.length).toBe(stopped)
  })

  it('on a terminal: one line redrawn in place, with writes done of planned and an ETA', () => {
    vi.useFakeTimers()
    const out = stream(true)
    const reporter = progressReporter(out, { apply: true, now: () => Date.now() })
    reporter.update(progress({ phase: 'writing', written: 0 }))
    vi.advanceTimersByTime(2_000)
    reporter.update(progress({ phase: 'writing', written: 2 }))
    vi.advanceTimersByTime(1_000)
    const last = out.chunks.at(-1) ?? ''
    expect(last.startsWith('\r\x1b[2K')).toBe(true)
    expect(last).toContain('writes 2/4')
    expect(last).toMatch(/ETA \d+(\.\d)? s/)
    reporter.stop()
  })
})
