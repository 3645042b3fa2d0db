import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { Management, ManagementClient, ManagementError } from 'auth0'
import { afterEach, describe, expect, test } from 'vitest'
import {
  type Auth0Emulator,
  type Auth0EmulatorOptions,
  DEFAULT_CLIENT,
  startAuth0Emulator,
} from '../../emulators/auth0.ts'
import { ensureTestCertificate } from '../../emulators/tls.ts'

const ORG = { id: 'org_abc123', name: 'acme', display_name: 'Acme', metadata: { keep: 'old', drop: 'me' } }
const ORG_PATH = `/api/v2/organizations/${ORG.id}`

const running: Auth0Emulator[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.close()))
})

async function start(options: Auth0EmulatorOptions = {}): Promise<Auth0Emulator> {
  const emulator = await startAuth0Emulator({ organizations: [ORG], ...options })
  running.push(emulator)
  return emulator
}

function sdk(
  emulator: Auth0Emulator,
  extra: { clientId?: string; clientSecret?: string; maxRetries?: number; timeoutInSeconds?: number } = {},
): ManagementClient {
  return new ManagementClient({
    domain: emulator.domain,
    clientId: extra.clientId ?? DEFAULT_CLIENT.clientId,
    clientSecret: extra.clientSecret ?? DEFAULT_CLIENT.clientSecret,
    ...(extra.maxRetries === undefined ? {} : { maxRetries: extra.maxRetries }),
    ...(extra.timeoutInSeconds === undefined ? {} : { timeoutInSeconds: extra.timeoutInSeconds }),
  })
}

/** Runs `action` and returns what it threw; fails the test if it did not throw. */
async function failure(action: () => Promise<unknown>): Promise<ManagementError> {
  try {
    await action()
  } catch (error) {
    expect(error).toBeInstanceOf(ManagementError)
    return error as ManagementError
  }
  throw new Error('expected the call to fail')
}

async function rawToken(emulator: Auth0Emulator): Promise<string> {
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
  expect(response.status).toBe(200)
  const body = (await response.json()) as { access_token: string }
  return body.access_token
}

describe('TLS certificate', () => {
  test('is a localhost certificate trusted by this forked worker via NODE_EXTRA_CA_CERTS', async () => {
    const { certPath, cert } = await ensureTestCertificate()
    expect(process.env.NODE_EXTRA_CA_CERTS).toBe(certPath)
    expect(await readFile(certPath, 'utf8')).toBe(cert)
    const x509 = new X509Certificate(cert)
    expect(x509.checkHost('localhost')).toBe('localhost')
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(new Date(x509.validTo).getTime()).toBeGreaterThan(Date.now() + 24 * 60 * 60 * 1000)
    // Reused, not regenerated, on a second call.
    expect((await ensureTestCertificate()).cert).toBe(cert)
  })
})

describe('Auth0 emulator through the real auth0 SDK', () => {
  test('issues one client-credentials token and reuses it across calls', async () => {
    const emulator = await start()
    const client = sdk(emulator)
    expect((await client.organizations.get(ORG.id)).name).toBe('acme')
    await client.organizations.update(ORG.id, { display_name: 'Acme Inc' })
    await client.organizations.get(ORG.id)

    const tokenRequests = emulator.filterRequests({ path: '/oauth/token' })
    expect(tokenRequests).toHaveLength(1)
    expect(tokenRequests[0]).toMatchObject({
      method: 'POST',
      status: 200,
      clientId: 'test-client-id',
      body: {
        grant_type: 'client_credentials',
        client_id: 'test-client-id',
        audience: `https://${emulator.domain}/api/v2/`,
      },
    })
    expect(emulator.count({ path: ORG_PATH })).toBe(3)
    expect(emulator.filterRequests({ path: /^\/api\/v2\// }).every((r) => r.clientId === 'test-client-id')).toBe(true)
  })

  test('asks for a new token on every call when the token lives less than the SDK 10 s refresh leeway', async () => {
    const emulator = await start({ tokenTtlSeconds: 5 })
    const client = sdk(emulator)
    await client.organizations.get(ORG.id)
    await client.organizations.get(ORG.id)
    expect(emulator.count({ path: '/oauth/token' })).toBe(2)
  })

  test('PATCH metadata replaces the whole map; a PATCH without metadata keeps it', async () => {
    const emulator = await start()
    const client = sdk(emulator)
    const updated = await client.organizations.update(ORG.id, { metadata: { keep: 'new', added: 'yes' } })
    expect(updated.metadata).toEqual({ keep: 'new', added: 'yes' })
    expect((await client.organizations.get(ORG.id)).metadata).toEqual({ keep: 'new', added: 'yes' })

    await client.organizations.update(ORG.id, { display_name: 'Renamed' })
    expect(emulator.getOrganization(ORG.id)).toEqual({
      id: ORG.id,
      name: 'acme',
      display_name: 'Renamed',
      metadata: { keep: 'new', added: 'yes' },
    })
    // A null value means "absent" under replace semantics; {} clears everything, and Auth0 then omits metadata.
    await client.organizations.update(ORG.id, { metadata: { keep: null, other: 'x' } })
    expect(emulator.getOrganization(ORG.id)?.metadata).toEqual({ other: 'x' })
    await client.organizations.update(ORG.id, { metadata: {} })
    expect(emulator.getOrganization(ORG.id)).not.toHaveProperty('metadata')
    expect(emulator.filterRequests({ method: 'PATCH' })[0]?.body).toEqual({ metadata: { keep: 'new', added: 'yes' } })
  })

  test('accepts metadata exactly at the limits (25 keys, 255-char key and value)', async () => {
    const emulator = await start()
    const metadata: Record<string, string> = Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`k${i}`, 'v']))
    metadata['k'.repeat(255)] = 'v'.repeat(255)
    await sdk(emulator).organizations.update(ORG.id, { metadata })
    expect(Object.keys(emulator.getOrganization(ORG.id)?.metadata ?? {})).toHaveLength(25)
  })

  test.each([
    [
      '26 keys',
      Object.fromEntries(Array.from({ length: 26 }, (_, i) => [`k${i}`, 'v'])),
      /Too many properties \(26\), maximum 25/,
    ],
    ['a 256-char key', { ['k'.repeat(256)]: 'v' }, /Property name is too long \(256 chars\), maximum 255/],
    [
      'a 256-char value',
      { policy: 'v'.repeat(256) },
      /String is too long \(256 chars\), maximum 255' on property metadata\.policy/,
    ],
    ['a non-string value', { count: 3 }, /Expected type string but found type integer' on property metadata\.count/],
  ])('rejects metadata with %s: 400 invalid_body, stored org untouched', async (_, metadata, message) => {
    const emulator = await start()
    const error = await failure(() =>
      sdk(emulator).organizations.update(ORG.id, { metadata: metadata as Record<string, string> }),
    )
    expect(error).toBeInstanceOf(Management.BadRequestError)
    expect(error.statusCode).toBe(400)
    expect(error.body).toMatchObject({ statusCode: 400, error: 'Bad Request', errorCode: 'invalid_body' })
    const body = error.body as { message: string }
    expect(body.message).toMatch(/^Payload validation error: /)
    expect(body.message).toMatch(message)
    expect(error.message).toContain('Status code: 400')
    expect(emulator.getOrganization(ORG.id)?.metadata).toEqual(ORG.metadata)
    expect(emulator.count({ method: 'PATCH' })).toBe(1) // 400 is not retried
  })

  test('unknown organization: 404 without errorCode, as recorded (NotFoundError on get, plain ManagementError on update)', async () => {
    const emulator = await start()
    const client = sdk(emulator)
    const notFound = { statusCode: 404, error: 'Not Found', message: 'No organization found by that id or name' }
    const onGet = await failure(() => client.organizations.get('org_missing'))
    expect(onGet).toBeInstanceOf(Management.NotFoundError)
    expect(onGet.statusCode).toBe(404)
    expect(onGet.body).toEqual(notFound)
    const onUpdate = await failure(() => client.organizations.update('org_missing', { metadata: {} }))
    expect(onUpdate.statusCode).toBe(404)
    expect(onUpdate.body).toEqual(notFound)
    expect(emulator.getOrganization('org_missing')).toBeUndefined()
  })

  test('revokeTokens(): the cached token gets 401 and the SDK does not fetch a new one', async () => {
    const emulator = await start()
    const client = sdk(emulator)
    await client.organizations.get(ORG.id)
    emulator.revokeTokens()
    const error = await failure(() => client.organizations.update(ORG.id, { metadata: { a: 'b' } }))
    expect(error).toBeInstanceOf(Management.UnauthorizedError)
    expect(error.statusCode).toBe(401)
    expect(error.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: 'Invalid token' })
    expect(emulator.count({ path: '/oauth/token' })).toBe(1)
    expect(emulator.getOrganization(ORG.id)?.metadata).toEqual(ORG.metadata)
    // A fresh client obtains a new, valid token.
    await sdk(emulator).organizations.update(ORG.id, { metadata: { a: 'b' } })
    expect(emulator.getOrganization(ORG.id)?.metadata).toEqual({ a: 'b' })
  })

  test('403 insufficient_scope for a client without update:organizations', async () => {
    const reader = { clientId: 'reader', clientSecret: 'reader-secret', scopes: ['read:organizations'] }
    const emulator = await start({ clients: [DEFAULT_CLIENT, reader] })
    const client = sdk(emulator, reader)
    expect((await client.organizations.get(ORG.id)).id).toBe(ORG.id)
    const error = await failure(() => client.organizations.update(ORG.id, { metadata: {} }))
    expect(error).toBeInstanceOf(Management.ForbiddenError)
    expect(error.statusCode).toBe(403)
    expect(error.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: 'Insufficient scope, expected any of: update:organizations',
      errorCode: 'insufficient_scope',
    })
    expect(emulator.filterRequests({ method: 'PATCH' })[0]).toMatchObject({ status: 403, clientId: 'reader' })
  })

  test('token endpoint rejects a wrong secret with 401 access_denied (SDK ManagementError, no retry)', async () => {
    const emulator = await start()
    const error = await failure(() => sdk(emulator, { clientSecret: 'wrong' }).organizations.get(ORG.id))
    expect(error.statusCode).toBe(401)
    expect(error.body).toEqual({ error: 'access_denied', error_description: 'Unauthorized' })
    expect(error.message).toContain('token request failed')
    expect(emulator.count()).toBe(1)
  })

  test('an injected 429 with Retry-After: 1 is retried by the SDK after ~1 s and succeeds', async () => {
    const emulator = await start()
    const client = sdk(emulator)
    await client.organizations.get(ORG.id)
    emulator.injectFault({ method: 'PATCH', path: ORG_PATH, status: 429, headers: { 'retry-after': '1' } })
    const updated = await client.organizations.update(ORG.id, { metadata: { after: 'retry' } })
    expect(updated.metadata).toEqual({ after: 'retry' })
    const patches = emulator.filterRequests({ method: 'PATCH' })
    expect(patches.map((r) => [r.status, r.fault])).toEqual([
      [429, 'status:429'],
      [200, undefined],
    ])
    const [first, second] = patches
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(990)
  })

  test('an injected 503 is retried with backoff and succeeds; with maxRetries 0 it surfaces as statusCode 503', async () => {
    const emulator = await start()
    await sdk(emulator).organizations.update(ORG.id, { metadata: { one: '1' } }) // warm up the token
    emulator.injectFault({ method: 'PATCH', status: 503 })
    await sdk(emulator).organizations.update(ORG.id, { metadata: { two: '2' } })
    const statuses = emulator.filterRequests({ method: 'PATCH' }).map((r) => r.status)
    expect(statuses).toEqual([200, 503, 200])
    expect(emulator.getOrganization(ORG.id)?.metadata).toEqual({ two: '2' })

    emulator.injectFault({ method: 'PATCH', status: 503, times: Number.POSITIVE_INFINITY })
    const error = await failure(() => sdk(emulator, { maxRetries: 0 }).organizations.update(ORG.id, { metadata: {} }))
    expect(error.statusCode).toBe(503)
    expect(error.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'Service Unavailable' })
    expect(emulator.count({ method: 'PATCH' })).toBe(4)
  })

  test('write bucket: 429 after capacity is exhausted, with consistent x-ratelimit headers', async () => {
    const emulator = await start({ rateLimits: { write: { capacity: 5, refillPerMinute: 25 } } })
    const client = sdk(emulator, { maxRetries: 0 })
    const remaining: string[] = []
    for (let i = 0; i < 5; i++) {
      const { rawResponse } = await client.organizations.update(ORG.id, { metadata: { i: `${i}` } }).withRawResponse()
      expect(rawResponse.headers.get('x-ratelimit-limit')).toBe('5')
      remaining.push(rawResponse.headers.get('x-ratelimit-remaining') ?? '')
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0'])

    const before = Date.now() / 1000
    const error = await failure(() => client.organizations.update(ORG.id, { metadata: { i: 'x' } }))
    expect(error).toBeInstanceOf(Management.TooManyRequestsError)
    expect(error.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: 'Global limit has been reached',
      errorCode: 'too_many_requests',
    })
    const headers = error.rawResponse?.headers
    expect(headers?.get('x-ratelimit-limit')).toBe('5')
    expect(headers?.get('x-ratelimit-remaining')).toBe('0')
    // An empty bucket refills completely in 5 / 25 min = 12 s.
    const reset = Number(headers?.get('x-ratelimit-reset'))
    expect(reset).toBeGreaterThan(before + 11)
    expect(reset).toBeLessThanOrEqual(Math.ceil(before + 12) + 1)
    expect(emulator.getOrganization(ORG.id)?.metadata).toEqual({ i: '4' })

    // Reads have their own (here unlimited) class.
    const { rawResponse } = await client.organizations.get(ORG.id).withRawResponse()
    expect(rawResponse.status).toBe(200)
    expect(rawResponse.headers.get('x-ratelimit-limit')).toBe('1000')
  })

  test('with timeScale the SDK waits until x-ratelimit-reset and its retry succeeds', async () => {
    // 25 per emulated minute at timeScale 12 is 5 per real second: an empty bucket is full again after 1 s.
    const emulator = await start({ rateLimits: { write: { capacity: 5, refillPerMinute: 25 } }, timeScale: 12 })
    const client = sdk(emulator)
    await client.organizations.get(ORG.id)
    for (let i = 0; i < 6; i++) await client.organizations.update(ORG.id, { display_name: `n${i}` })
    const patches = emulator.filterRequests({ method: 'PATCH' })
    expect(patches.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 200])
    const rejected = patches[5]?.at ?? 0
    const retried = patches[6]?.at ?? 0
    // With < 1 token left, the bucket needs > 800 ms to be full; the SDK waits for the advertised (whole-second) reset.
    expect(retried).toBeGreaterThanOrEqual(Math.ceil((rejected + 800) / 1000) * 1000)
    expect(retried - rejected).toBeLessThan(2600)
    expect(emulator.getOrganization(ORG.id)?.display_name).toBe('n5')
  })

  test('a connection reset surfaces as a ManagementError without statusCode and is not retried', async () => {
    const emulator = await start()
    const client = sdk(emulator)
    await client.organizations.get(ORG.id)
    emulator.injectFault({ method: 'PATCH', reset: true })
    const error = await failure(() => client.organizations.update(ORG.id, { metadata: { x: 'y' } }))
    expect(error.statusCode).toBeUndefined()
    expect(error.message).toBe('fetch failed')
    expect(emulator.filterRequests({ method: 'PATCH' }).map((r) => [r.status, r.fault])).toEqual([[0, 'reset']])
    expect(emulator.getOrganization(ORG.id)?.metadata).toEqual(ORG.metadata)
    // The client recovers on the next call.
    await client.organizations.update(ORG.id, { metadata: { x: 'y' } })
    expect(emulator.getOrganization(ORG.id)?.metadata).toEqual({ x: 'y' })
  })

  test('a hung request hits the SDK timeout (ManagementError "timeout", not retried); close() is still prompt', async () => {
    const emulator = await start()
    const client = sdk(emulator, { timeoutInSeconds: 0.3 })
    await client.organizations.get(ORG.id)
    emulator.injectFault({ method: 'GET', hang: true })
    const error = await failure(() => client.organizations.get(ORG.id))
    expect(error.statusCode).toBeUndefined()
    expect(error.cause).toBe('timeout')
    expect(emulator.count({ method: 'GET' })).toBe(2)
    emulator.injectFault({ method: 'GET', hang: true })
    const pending = fetch(`${emulator.baseUrl}${ORG_PATH}`).catch((e: unknown) => e)
    while (emulator.count({ method: 'GET' }) < 3) await new Promise((resolve) => setTimeout(resolve, 10))
    const started = Date.now()
    await emulator.close()
    expect(Date.now() - started).toBeLessThan(500)
    expect(await pending).toBeInstanceOf(TypeError)
  })

  test('delayMs alone only slows the response down', async () => {
    const emulator = await start()
    const token = await rawToken(emulator)
    emulator.injectFault({ path: /^\/api\/v2\/organizations\//, delayMs: 150 })
    const started = Date.now()
    const response = await fetch(`${emulator.baseUrl}${ORG_PATH}`, { headers: { authorization: `Bearer ${token}` } })
    expect(response.status).toBe(200)
    expect(Date.now() - started).toBeGreaterThanOrEqual(145)
    expect(emulator.requests.at(-1)).toMatchObject({ status: 200, fault: 'delay:150' })
  })

  test('list: the SDK pages through checkpoint pagination; page/per_page/include_totals work over raw fetch', async () => {
    const organizations = Array.from({ length: 5 }, (_, i) => ({ id: `org_${i}`, name: `o${i}` }))
    const emulator = await start({ organizations })
    const ids: string[] = []
    for await (const org of await sdk(emulator).organizations.list({ take: 2 })) ids.push(org.id ?? '')
    expect(ids).toEqual(['org_0', 'org_1', 'org_2', 'org_3', 'org_4'])
    expect(emulator.filterRequests({ path: '/api/v2/organizations' }).map((r) => r.query)).toEqual([
      { include_totals: 'true', take: '2' },
      { include_totals: 'true', take: '2', from: expect.any(String) },
      { include_totals: 'true', take: '2', from: expect.any(String) },
    ])
    // Checkpoints are opaque, as Auth0's: not the next Organization's ID.
    const froms = emulator.filterRequests({ path: '/api/v2/organizations' }).map((r) => r.query.from)
    expect(froms.filter((from) => from?.startsWith('org_'))).toEqual([])

    const token = await rawToken(emulator)
    const get = async (query: string): Promise<unknown> => {
      const response = await fetch(`${emulator.baseUrl}/api/v2/organizations?${query}`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(response.status).toBe(200)
      return response.json()
    }
    expect(await get('page=1&per_page=2&include_totals=true')).toEqual({
      organizations: [organizations[2], organizations[3]],
      start: 2,
      limit: 2,
      total: 5,
    })
    expect(await get('page=2&per_page=2')).toEqual([organizations[4]])
  })

  test('raw HTTP: 401 shapes, rate-limit headers on every API response, form-encoded token request', async () => {
    const emulator = await start()
    const missing = await fetch(`${emulator.baseUrl}${ORG_PATH}`)
    expect(missing.status).toBe(401)
    expect(await missing.json()).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Missing authentication' })
    expect(missing.headers.get('x-ratelimit-remaining')).toBe('1000')
    const invalid = await fetch(`${emulator.baseUrl}${ORG_PATH}`, { headers: { authorization: 'Bearer nope' } })
    expect(invalid.status).toBe(401)
    expect(Number(invalid.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 - 2)

    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: DEFAULT_CLIENT.clientId,
      client_secret: DEFAULT_CLIENT.clientSecret,
      audience: 'https://wrong.example/api/v2/',
    })
    const wrongAudience = await fetch(`${emulator.baseUrl}/oauth/token`, { method: 'POST', body: form })
    expect(wrongAudience.status).toBe(403)
    form.set('audience', `https://${emulator.domain}/api/v2/`)
    const ok = await fetch(`${emulator.baseUrl}/oauth/token`, { method: 'POST', body: form })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({
      token_type: 'Bearer',
      expires_in: 86400,
      scope: 'read:organizations update:organizations',
    })
  })

  test('the request log never contains the client secret or an access token', async () => {
    const emulator = await start()
    const client = sdk(emulator)
    await client.organizations.update(ORG.id, { metadata: { a: 'b' } })
    emulator.injectFault({ path: '/oauth/token', status: 500 })
    await failure(() => sdk(emulator).organizations.get(ORG.id))
    const token = await rawToken(emulator)
    await fetch(`${emulator.baseUrl}${ORG_PATH}`, { headers: { authorization: `Bearer ${token}` } })
    const log = JSON.stringify(emulator.requests)
    expect(emulator.count({ path: '/oauth/token' })).toBe(3)
    expect(log).not.toContain(DEFAULT_CLIENT.clientSecret)
    expect(log).not.toContain(token)
    expect(log).not.toMatch(/authorization|bearer|client_secret/i)
    emulator.clearRequests()
    expect(emulator.count()).toBe(0)
  })
})
