/**
 * The rate-limit matrix the burst, ordering and fault suites run under (describe.each), so each suite's claims are
 * checked under every plan and every reading of `x-ratelimit-reset` (emulators/auth0.ts, RATE_LIMIT_PRESETS and
 * ResetSemantics). Not the full 4 × 3 × 2 product: each plan once, each reset reading at least once, Retry-After
 * both present and absent, chosen so the hostile pairs are in (a per-endpoint plan whose reset is the tenant's,
 * i.e. "now" while the endpoint's bucket is empty; a tenant-wide plan with Retry-After). Plus `none`, the suites'
 * original setting (no limits, whole-second resets).
 */
import type { Auth0EmulatorOptions, RateLimitPreset, ResetSemantics } from '../../emulators/auth0.ts'

export interface LimitsRow {
  readonly name: string
  readonly preset?: RateLimitPreset
  readonly resetSemantics: ResetSemantics
  readonly retryAfter: boolean
}

export const NO_LIMITS: LimitsRow = { name: 'no limits', resetSemantics: 'bucket-full', retryAfter: false }

export const PLAN_ROWS: readonly LimitsRow[] = [
  {
    name: 'essentials, reset = the tenant bucket’s',
    preset: 'essentials',
    resetSemantics: 'global',
    retryAfter: false,
  },
  { name: 'free, reset = next token, Retry-After', preset: 'free', resetSemantics: 'next-token', retryAfter: true },
  {
    name: 'enterprise production, reset = bucket full',
    preset: 'enterprise-production',
    resetSemantics: 'bucket-full',
    retryAfter: false,
  },
  {
    name: 'enterprise non-production, reset = bucket full, Retry-After',
    preset: 'enterprise-non-production',
    resetSemantics: 'bucket-full',
    retryAfter: true,
  },
]

export const LIMITS_MATRIX: readonly LimitsRow[] = [NO_LIMITS, ...PLAN_ROWS]

/** The emulator options for a row (no rate limits for `none`). */
export function limitsOptions(row: LimitsRow): Auth0EmulatorOptions {
  if (!row.preset) return {}
  return { rateLimitPreset: row.preset, resetSemantics: row.resetSemantics, retryAfter: row.retryAfter }
}
