/**
 * The Auth0 emulator's plan presets, `x-ratelimit-reset` readings and opaque, expiring checkpoints, over raw HTTPS
 * (headers and bodies as a client sees them).
 */
import { afterEach, describe, expect, test } from 'vitest'
import {
  type Auth0Emulator,
  type Auth0EmulatorOptions,
  DEFAULT_CLIENT,
  RATE_LIMIT_PRESETS,
  startAuth0Emulator,
} from '../../emulators/auth0.ts'

const ORGS = Array.from({ length: 5 }, (_, i) => ({ id: `org_${i}`, name: `o${i}` }))

const running: Auth0Emulator[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.close()))
})

async function start(options: Auth0EmulatorOptions = {}) {
  const emulator = await startAuth0Emulator({ organizations: ORGS, ...options })
  running.push(emulator)
  const response = await fetch(`${emulator.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: DEFAULT_CLIENT.clientId,
      client_secret: DEFAULT_CLIENT.clientSecret,
      audience: `https://${emulator.domain}/api/v2/`,
    }),
  })
  const { access_token: token } = (await response.json()) as { access_token: string }
  const call = async (method: string, path: string) => {
    const answer = await fetch(`${emulator.baseUrl}/api/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(method === 'PATCH' ? { body: JSON.stringify({ metadata: { at: String(Date.now()) } }) } : {}),
    })
    return { status: answer.status, headers: answer.headers, body: (await answer.json()) as Record<string, unknown> }
  }
  return { emulator, call }
}

describe('plan presets', () => {
  test('free: one tenant-wide bucket of 2, shared by reads, writes and listing', async () => {
    const { call } = await start({ rateLimitPreset: 'free' })
    const statuses = [
      (await call('GET', '/organizations/org_0')).status,
      (await call('PATCH', '/organizations/org_0')).status,
    ]
    const third = await call('GET', '/organizations?take=2')
    expect(statuses).toEqual([200, 200])
    expect(third.status).toBe(429)
    expect(third.body).toMatchObject({ statusCode: 429, errorCode: 'too_many_requests' })
    expect(third.headers.get('x-ratelimit-limit')).toBe('2')
  })

  test('essentials: per-endpoint buckets, "all other endpoints" included; no tenant-wide one', async () => {
    expect(RATE_LIMIT_PRESETS.essentials.global).toBeUndefined()
    const { call } = await start({ rateLimitPreset: 'essentials' })
    const writes = []
    for (let i = 0; i < 6; i++) writes.push((await call('PATCH', '/organizations/org_1')).status)
    expect(writes).toEqual([200, 200, 200, 200, 200, 429])
    // Reads and Actions still have their own buckets.
    expect((await call('GET', '/organizations/org_1')).status).toBe(200)
    // (403: this client lacks the Actions scopes; the request still drew on the "all other endpoints" bucket.)
    const actions = await call('GET', '/actions/actions')
    expect(actions.headers.get('x-ratelimit-limit')).toBe('10')
  })

  test('enterprise non-production: the tenant-wide 10 is checked first, even when the endpoint has room', async () => {
    const { call } = await start({ rateLimitPreset: 'enterprise-non-production' })
    const reads = []
    for (let i = 0; i < 11; i++) reads.push(await call('GET', `/organizations/org_${i % 5}`))
    expect(reads.slice(0, 10).map((r) => r.status)).toEqual(Array(10).fill(200))
    // The read bucket (20) still had room: the refusal is the tenant's, and its headers say so.
    expect(reads[10]?.status).toBe(429)
    expect(reads[10]?.headers.get('x-ratelimit-limit')).toBe('10')
  })

  test('per-minute limits refill in whole-second steps, 25 per minute being 5/12 of a request a second', () => {
    expect(RATE_LIMIT_PRESETS.essentials.write).toEqual({ capacity: 5, refillPerMinute: 25, perSecond: true })
    expect(RATE_LIMIT_PRESETS['enterprise-production']).toMatchObject({
      global: { capacity: 50, refillPerMinute: 960 },
      write: { capacity: 5, refillPerMinute: 150 },
    })
  })
})

describe('x-ratelimit-reset and Retry-After', () => {
  /** The write bucket emptied, then one more write: the 429's headers. */
  async function refused(options: Auth0EmulatorOptions) {
    const { call } = await start({ rateLimitPreset: 'essentials', ...options })
    for (let i = 0; i < 5; i++) expect((await call('PATCH', '/organizations/org_2')).status).toBe(200)
    const before = Date.now() / 1000
    const { status, headers } = await call('PATCH', '/organizations/org_2')
    expect(status).toBe(429)
    return { reset: Number(headers.get('x-ratelimit-reset')) - before, retryAfter: headers.get('retry-after') }
  }

  test('bucket-full: when all 5 writes are back (12 s); next-token: when one is (3 s: 2.4 s, on a whole second)', async () => {
    const full = await refused({ resetSemantics: 'bucket-full' })
    const next = await refused({ resetSemantics: 'next-token' })
    expect(full.reset).toBeGreaterThan(10)
    expect(next.reset).toBeGreaterThan(1)
    expect(next.reset).toBeLessThan(5)
    expect([full.retryAfter, next.retryAfter]).toEqual([null, null])
  })

  test('global: the tenant-wide bucket says "reset now" while the write bucket is empty', async () => {
    const essentials = await refused({ resetSemantics: 'global' })
    expect(essentials.reset).toBeLessThanOrEqual(0)
  })

  test('Retry-After, when enabled: whole seconds until the refusing bucket has a request again', async () => {
    const { retryAfter } = await refused({ retryAfter: true })
    expect(retryAfter).toBe('3')
  })
})

describe('checkpoints', () => {
  const list = (from?: string) => `/organizations?take=2${from ? `&from=${encodeURIComponent(from)}` : ''}`

  test('are opaque; a checkpoint expired or whose anchor is gone is refused with a 400 in Auth0’s shape', async () => {
    const { emulator, call } = await start()
    const first = await call('GET', list())
    const next = first.body.next as string
    expect(next).not.toMatch(/^org_/)
    expect((await call('GET', list(next))).body.organizations).toEqual([ORGS[2], ORGS[3]])

    emulator.deleteOrganization('org_2')
    const gone = await call('GET', list(next))
    expect(gone.status).toBe(400)
    expect(gone.body).toMatchObject({ statusCode: 400, error: 'Bad Request', errorCode: 'invalid_query_string' })
    expect(gone.body.message).toMatch(/no longer exists/)

    const fresh = (await call('GET', list())).body.next as string
    emulator.expireCheckpoints()
    const expired = await call('GET', list(fresh))
    expect(expired.status).toBe(400)
    expect(expired.body.message).toMatch(/expired/)
    expect((await call('GET', list('org_3'))).status).toBe(400)
  })

  test('expire after checkpointTtlMs', async () => {
    const { call } = await start({ checkpointTtlMs: 50 })
    const next = (await call('GET', list())).body.next as string
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await call('GET', list(next))).status).toBe(400)
  })
})
