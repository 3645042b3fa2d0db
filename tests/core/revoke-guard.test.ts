import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  judgeRevokes,
  REVOKE_GUARD_DEFAULTS,
  type RevokeEntry,
  releasedByEvent,
  revokeLimit,
} from '../../src/core/revoke-guard.ts'

const ids = (n: number) => Array.from({ length: n }, (_, i) => `org_${String(i).padStart(5, '0')}`)
const defaults = REVOKE_GUARD_DEFAULTS
const source = 'dataset "production" of project "abc123"'

describe('the empty-read rule', () => {
  it('refuses every revoke when the read saw no published policy, naming the causes and the override', () => {
    const verdict = judgeRevokes(
      { policiesPublished: false, managed: 3, revokes: ids(1), source },
      defaults,
      'reconcile',
    )
    expect(verdict).toMatchObject({ allow: false, reason: 'untrusted-read' })
    if (verdict.allow) return
    expect(verdict.message).toContain('nothing was revoked')
    expect(verdict.message).toContain(source)
    expect(verdict.message).toContain('a robot token without read access')
    expect(verdict.message).toContain('a private dataset read without a token')
    expect(verdict.message).toContain('SANITY_PROJECT_ID / SANITY_DATASET')
    expect(verdict.message).toContain('--allow-mass-revoke')
  })

  it('under `sanity functions test` says to pass --with-user-token', () => {
    const verdict = judgeRevokes({ policiesPublished: false, managed: 1, revokes: ids(1) }, defaults, 'local-test')
    expect(verdict).toMatchObject({ allow: false, reason: 'untrusted-read' })
    expect(verdict.allow || verdict.message).toContain('--with-user-token')
  })

  it('names the setting for the scheduled repair and the functions', () => {
    for (const entry of ['scheduled', 'function', 'fan-out'] as const) {
      const verdict = judgeRevokes({ policiesPublished: false, managed: 1, revokes: ids(1) }, defaults, entry)
      expect(verdict.allow || verdict.message).toContain('ALLOW_MASS_REVOKE=true')
    }
  })

  it('applies whatever the share and the limits, even to a single revoke', () => {
    const settings = { maxPercent: 100, minCount: 1_000, allowMassRevoke: false }
    const verdict = judgeRevokes(
      { policiesPublished: false, managed: 1, revokes: ids(1), share: false },
      settings,
      'function',
    )
    expect(verdict).toMatchObject({ allow: false, reason: 'untrusted-read' })
  })

  it('the platform’s event that the policy let go of the Organization is evidence the read cannot fake', () => {
    const deleted = { operation: 'delete', byHand: false, policyId: 'policy-acme', namedOrganizationId: 'org_a' }
    expect(releasedByEvent(deleted, 'org_a', false, 'policy-acme')).toBe(true)
    const moved = { ...deleted, operation: 'update', namedOrganizationId: 'org_b' }
    expect(releasedByEvent(moved, 'org_a', false, 'policy-acme')).toBe(true) // moved from org_a to org_b
    expect(releasedByEvent({ ...moved, namedOrganizationId: undefined }, 'org_a', false, 'policy-acme')).toBe(true)
    expect(releasedByEvent(moved, 'org_b', false, 'policy-acme')).toBe(false) // it names org_b now
    expect(releasedByEvent(deleted, 'org_a', true, 'policy-acme')).toBe(false) // `sanity functions test` sends anything
    expect(releasedByEvent({ ...deleted, byHand: true }, 'org_a', false, 'policy-acme')).toBe(false)
    expect(releasedByEvent(deleted, 'org_a', false, 'policy-other')).toBe(false) // another policy's keys
    const census = { policiesPublished: false, managed: 1, revokes: ids(1), share: false }
    expect(judgeRevokes({ ...census, releasedByEvent: true }, defaults, 'function')).toEqual({ allow: true })
  })
})

describe('the mass-revoke rule', () => {
  it('defaults: at most 5, or 20 % of the managed Organizations when that is more', () => {
    expect(revokeLimit(0, defaults)).toBe(5)
    expect(revokeLimit(10, defaults)).toBe(5)
    expect(revokeLimit(25, defaults)).toBe(5)
    expect(revokeLimit(30, defaults)).toBe(6)
    expect(revokeLimit(1_000, defaults)).toBe(200)
  })

  it('one over the limit is refused, naming the numbers, the settings and the override; the limit itself passes', () => {
    const census = { policiesPublished: true, managed: 100, source }
    expect(judgeRevokes({ ...census, revokes: ids(20) }, defaults, 'reconcile')).toEqual({ allow: true })
    const verdict = judgeRevokes({ ...census, revokes: ids(21) }, defaults, 'reconcile')
    expect(verdict).toMatchObject({ allow: false, reason: 'mass-revoke' })
    if (verdict.allow) return
    expect(verdict.message).toContain('21 of the 100 Organizations')
    expect(verdict.message).toContain('REVOKE_GUARD_MAX_PERCENT=20 % of 100')
    expect(verdict.message).toContain('REVOKE_GUARD_MIN_COUNT=5')
    expect(verdict.message).toContain('org_00000, org_00001, org_00002 and 18 more')
    expect(verdict.message).toContain('wrong dataset or project')
    expect(verdict.message).toContain('--allow-mass-revoke')
  })

  it('does not apply where the run is no sample of the tenant (share: false)', () => {
    const census = { policiesPublished: true, managed: 10, revokes: ids(10), share: false }
    expect(judgeRevokes(census, defaults, 'scheduled')).toEqual({ allow: true })
  })

  it('the override lets a refused run through and says what it let through', () => {
    const settings = { ...defaults, allowMassRevoke: true }
    const empty = judgeRevokes({ policiesPublished: false, managed: 4, revokes: ids(4) }, settings, 'reconcile')
    expect(empty).toMatchObject({ allow: true, overridden: { reason: 'untrusted-read' } })
    const mass = judgeRevokes({ policiesPublished: true, managed: 10, revokes: ids(9) }, settings, 'reconcile')
    expect(mass).toMatchObject({ allow: true, overridden: { reason: 'mass-revoke' } })
  })

  it('property: refused exactly when over max(minCount, ⌊percent × managed⌋) or the read is empty, never without revokes', () => {
    const entries: RevokeEntry[] = ['function', 'local-test', 'reconcile', 'scheduled', 'fan-out']
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 50 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(...entries),
        (managedExtra, revokeCount, maxPercent, minCount, policiesPublished, allowMassRevoke, entry) => {
          const revokes = ids(Math.min(revokeCount, 300))
          const managed = revokes.length + managedExtra
          const settings = { maxPercent, minCount, allowMassRevoke }
          const verdict = judgeRevokes({ policiesPublished, managed, revokes }, settings, entry)
          const limit = Math.max(minCount, Math.floor((managed * maxPercent) / 100))
          const refusable = revokes.length > 0 && (!policiesPublished || revokes.length > limit)
          expect(verdict.allow).toBe(!refusable || allowMassRevoke)
          if (refusable) {
            const reason = policiesPublished ? 'mass-revoke' : 'untrusted-read'
            const refusal = verdict.allow ? verdict.overridden : verdict
            expect(refusal?.reason).toBe(reason)
            expect(refusal?.message).toContain('nothing was revoked')
          }
          // More managed Organizations never turn an allowed run into a refused one.
          if (verdict.allow && !verdict.overridden) {
            const more = judgeRevokes({ policiesPublished, managed: managed + 1, revokes }, settings, entry)
            expect(more.allow && !more.overridden).toBe(true)
          }
        },
      ),
    )
  })
})
