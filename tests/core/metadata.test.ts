import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { metadataProblems } from '../../src/core/auth0-rules.ts'
import {
  decodeAccess,
  decodeContentTags,
  decodeEntitlements,
  encodeContentTags,
  encodeEntitlements,
  encodeGrant,
  type Grant,
  OWNED_KEYS,
  splitMetadata,
} from '../../src/core/metadata.ts'

const grant: Grant = {
  policyId: 'policy-acme',
  rev: 'r1',
  updatedAt: '2026-02-01T10:00:00Z',
  plan: 'pro',
  role: 'editor',
  contentTags: ['reports', 'docs', 'docs'],
  entitlements: ['sso', 'audit-log', 'sso'],
}

describe('metadata codec', () => {
  it('encodes a grant into exactly the owned keys, tags distinct and sorted', () => {
    expect(encodeGrant(grant)).toEqual({
      plan: 'pro',
      role: 'editor',
      contentTags: '["docs","reports"]',
      entitlements: '["audit-log","sso"]',
      sanityPolicyId: 'policy-acme',
      sanityPolicyRev: 'r1',
      sanityPolicyUpdatedAt: '2026-02-01T10:00:00Z',
    })
    expect(Object.keys(encodeGrant(grant)).sort()).toEqual([...OWNED_KEYS].sort())
  })

  it('round-trips any tag list, unicode included, as the distinct sorted set', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' })), (tags) => {
        const decoded = decodeContentTags(encodeContentTags(tags))
        expect(decoded).toEqual([...new Set(tags)].sort())
      }),
    )
  })

  it('rejects contentTags that are not a JSON array of strings', () => {
    expect(decodeContentTags('not json')).toBeUndefined()
    expect(decodeContentTags('[1,2]')).toBeUndefined()
    expect(decodeContentTags('{"a":1}')).toBeUndefined()
    expect(decodeContentTags(undefined)).toBeUndefined()
  })

  it('encodes entitlements with the contentTags codec; absent reads as none, malformed as undefined', () => {
    expect(encodeEntitlements(['sso', 'audit-log', 'sso'])).toBe(encodeContentTags(['sso', 'audit-log', 'sso']))
    expect(decodeEntitlements(encodeEntitlements(['sso', 'audit-log']))).toEqual(['audit-log', 'sso'])
    expect(decodeEntitlements(undefined)).toEqual([])
    expect(decodeEntitlements('"sso"')).toBeUndefined()
    expect(decodeEntitlements('[1]')).toBeUndefined()
  })

  it('splits owned keys from everyone else’s', () => {
    const { owned, foreign } = splitMetadata({ plan: 'pro', crmAccount: 'A-1', sanityPolicyId: 'p' })
    expect(owned).toEqual({ plan: 'pro', sanityPolicyId: 'p' })
    expect(foreign).toEqual({ crmAccount: 'A-1' })
  })

  it('decodes access claims only from metadata this project wrote', () => {
    expect(decodeAccess(encodeGrant(grant))).toEqual({ plan: 'pro', role: 'editor', contentTags: ['docs', 'reports'] })
    expect(decodeAccess({ plan: 'pro', role: 'editor', contentTags: '[]' })).toBeUndefined()
  })
})

describe('Auth0 metadata limits', () => {
  it('accepts 25 pairs of 255 characters', () => {
    const metadata = Object.fromEntries(
      Array.from({ length: 25 }, (_, i) => [`${String(i).padStart(2, '0')}${'k'.repeat(253)}`, 'v'.repeat(255)]),
    )
    expect(metadataProblems(metadata)).toEqual([])
  })

  it('names each broken limit', () => {
    const tooMany = Object.fromEntries(Array.from({ length: 26 }, (_, i) => [`k${i}`, 'v']))
    expect(metadataProblems(tooMany)).toEqual([expect.stringContaining('26 metadata keys')])
    expect(metadataProblems({ ['k'.repeat(256)]: 'v' })).toEqual([expect.stringContaining('256 characters')])
    expect(metadataProblems({ key: 'v'.repeat(256) })).toEqual([expect.stringMatching(/"key" is 256 characters/)])
    expect(metadataProblems({ key: 42 })).toEqual([expect.stringMatching(/"key" must be a string/)])
  })
})
