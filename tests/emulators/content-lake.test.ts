import { execFile } from 'node:child_process'
import { request } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient, type SanityClient } from '@sanity/client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type ContentLakeEmulator,
  type MutationChange,
  startContentLakeEmulator,
} from '../../emulators/content-lake.ts'

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const NODE_24 = join(REPO_ROOT, 'node_modules', '.bin', 'node')

const T0 = '2025-06-01T12:00:00.000Z'

const fixtures = [
  { _id: 'role-editor', _type: 'role', slug: { _type: 'slug', current: 'editor' } },
  { _id: 'role-viewer', _type: 'role', slug: { _type: 'slug', current: 'viewer' } },
  {
    _id: 'policy-a',
    _type: 'accessPolicy',
    title: 'Policy A',
    organization: 'org_a',
    role: { _type: 'reference', _ref: 'role-editor' },
  },
  {
    _id: 'policy-b',
    _type: 'accessPolicy',
    title: 'Policy B',
    organization: 'org_b',
    role: { _type: 'reference', _ref: 'role-viewer' },
  },
  { _id: 'drafts.policy-a', _type: 'accessPolicy', title: 'Policy A (draft)', organization: 'org_a' },
  { _id: 'drafts.policy-c', _type: 'accessPolicy', title: 'Policy C (draft only)', organization: 'org_c' },
]

let emulator: ContentLakeEmulator
let clock: Date
let client: SanityClient

beforeEach(async () => {
  clock = new Date(T0)
  emulator = await startContentLakeEmulator({ documents: fixtures, now: () => clock })
  client = createClient(emulator.clientConfig)
})

afterEach(async () => {
  await emulator.close()
})

const toSecond = (iso: string) => iso.replace(/\.\d+Z$/, 'Z')

function advance(ms: number): string {
  clock = new Date(clock.getTime() + ms)
  return clock.toISOString()
}

function queryRequests() {
  return emulator.requests.filter((entry) => entry.path.includes('/data/query/'))
}

function mutateRequests() {
  return emulator.requests.filter((entry) => entry.path.includes('/data/mutate/'))
}

describe('queries', () => {
  it('answers a parameterised GROQ query and records how the client sent it', async () => {
    const result = await client.fetch('*[_type == $type && organization == $org][0]{_id, title}', {
      type: 'accessPolicy',
      org: 'org_b',
    })
    expect(result).toEqual({ _id: 'policy-b', title: 'Policy B' })

    const [entry] = queryRequests()
    expect(entry?.method).toBe('GET')
    expect(entry?.path).toBe('/v2025-05-01/data/query/production')
    expect(entry?.query).toMatchObject({ $type: '"accessPolicy"', $org: '"org_b"', returnQuery: 'false' })
    expect(entry?.headers['x-sanity-project-id']).toBe('demo-project')
    expect(entry?.status).toBe(200)
  })

  it('returns the raw { ms, query, result } envelope when asked', async () => {
    const query = 'count(*[_type == "role"])'
    const raw = await client.fetch(query, {}, { filterResponse: false })
    expect(raw.result).toBe(2)
    expect(raw.query).toBe(query)
    expect(typeof raw.ms).toBe('number')
  })

  it('accepts long queries, which the client sends as POST with a JSON body', async () => {
    const ids = Array.from({ length: 1_500 }, (_, i) => `policy-${i}`)
    expect(await client.fetch('count(*[_id in $ids])', { ids: ['policy-a', ...ids] })).toBe(1)
    const [entry] = queryRequests()
    expect(entry?.method).toBe('POST')
    expect(entry?.body).toMatchObject({ query: 'count(*[_id in $ids])', params: { ids: expect.any(Array) } })
  })

  it('dereferences role->slug.current', async () => {
    const result = await client.fetch('*[_type == "accessPolicy"] | order(_id asc){_id, "role": role->slug.current}')
    expect(result).toEqual([
      { _id: 'policy-a', role: 'editor' },
      { _id: 'policy-b', role: 'viewer' },
    ])
  })

  it('defaults to the published perspective, shows drafts in raw and overlays them in drafts', async () => {
    const ids = '*[_type == "accessPolicy"] | order(_id asc)._id'
    expect(await client.fetch(ids)).toEqual(['policy-a', 'policy-b'])
    expect(await client.fetch(ids, {}, { perspective: 'raw' })).toEqual([
      'drafts.policy-a',
      'drafts.policy-c',
      'policy-a',
      'policy-b',
    ])
    const drafts = await client.fetch(
      '*[_type == "accessPolicy"] | order(_id asc){_id, _originalId, title}',
      {},
      {
        perspective: 'drafts',
      },
    )
    expect(drafts).toEqual([
      { _id: 'policy-a', _originalId: 'drafts.policy-a', title: 'Policy A (draft)' },
      { _id: 'policy-b', _originalId: 'policy-b', title: 'Policy B' },
      { _id: 'policy-c', _originalId: 'drafts.policy-c', title: 'Policy C (draft only)' },
    ])
    // Before API version 2025-02-19 the default perspective is raw.
    const legacy = createClient({ ...emulator.clientConfig, apiVersion: '2024-01-01' })
    expect(await legacy.fetch(`count(${ids})`)).toBe(4)
  })

  it('supports sanity:: functions', async () => {
    expect(await client.fetch('sanity::projectId() + "/" + sanity::dataset()')).toBe('demo-project/production')
  })

  it('turns a GROQ syntax error into a 400 the client formats as a parse error', async () => {
    const error = await client.fetch('*[_type == "accessPolicy"').catch((e: unknown) => e)
    expect(error).toMatchObject({ statusCode: 400 })
    expect((error as Error).message).toContain('GROQ query parse error')
    expect(queryRequests()).toHaveLength(1)

    const missing = await client.fetch('*[_type == $type]').catch((e: unknown) => e)
    expect(missing).toMatchObject({ statusCode: 400 })
    expect((missing as Error).message).toContain('param $type referenced, but not provided')
  })

  it('serves getDocument and getDocuments', async () => {
    const doc = await client.getDocument('drafts.policy-a')
    expect(doc?.title).toBe('Policy A (draft)')
    expect(doc?._rev).toEqual(expect.any(String))
    expect(await client.getDocument('nope')).toBeUndefined()
    const docs = await client.getDocuments(['policy-b', 'nope'])
    expect(docs.map((d) => d?._id ?? null)).toEqual(['policy-b', null])
    expect(emulator.requests.at(-1)?.path).toBe('/v2025-05-01/data/doc/production/policy-b,nope')
  })
})

describe('mutations', () => {
  it('create / patch / createOrReplace / delete maintain _rev, _createdAt and _updatedAt', async () => {
    const created = await client.create({ _id: 'policy-x', _type: 'accessPolicy', title: 'X', members: ['a'], n: 1 })
    // Revisions are stamped to the second, as Sanity stores them (platform-facts.md "Timestamps").
    expect(created._createdAt).toBe(toSecond(T0))
    expect(created._updatedAt).toBe(toSecond(T0))
    expect(created._rev).toMatch(/^[A-Za-z0-9]{22}$/)
    expect(emulator.getDocument('policy-x')).toEqual(created)
    expect(mutateRequests()[0]?.query).toMatchObject({ returnIds: 'true', returnDocuments: 'true', visibility: 'sync' })

    const t1 = advance(1_000)
    const patched = await client
      .patch('policy-x')
      .set({ title: 'X2', 'meta.source': 'test' })
      .inc({ n: 2 })
      .setIfMissing({ title: 'ignored', tags: [] })
      .insert('after', 'members[-1]', ['b'])
      .commit()
    expect(patched).toMatchObject({ title: 'X2', meta: { source: 'test' }, n: 3, tags: [], members: ['a', 'b'] })
    expect(patched._rev).not.toBe(created._rev)
    expect(patched._updatedAt).toBe(toSecond(t1))
    expect(patched._createdAt).toBe(toSecond(T0))

    const unset = await client.patch('policy-x').unset(['meta', 'tags']).commit()
    expect(unset).not.toHaveProperty('meta')
    expect(unset).not.toHaveProperty('tags')

    const t2 = advance(1_000)
    const replaced = await client.createOrReplace({ _id: 'policy-x', _type: 'accessPolicy', title: 'Y' })
    expect(replaced).toMatchObject({ title: 'Y', _createdAt: toSecond(T0), _updatedAt: toSecond(t2) })
    expect(replaced).not.toHaveProperty('members')

    const duplicate = await client.create({ _id: 'policy-x', _type: 'accessPolicy' }).catch((e: unknown) => e)
    expect(duplicate).toMatchObject({ statusCode: 409 })
    expect((duplicate as Error).message).toContain('Document by ID "policy-x" already exists')

    const deleted = await client.delete('policy-x')
    expect(deleted).toMatchObject({ results: [{ id: 'policy-x', operation: 'delete' }] })
    expect(emulator.getDocument('policy-x')).toBeNull()
    expect(await client.getDocument('policy-x')).toBeUndefined()
  })

  it('rejects an ifRevisionID mismatch with 409 and leaves the document alone', async () => {
    const before = emulator.getDocument('policy-a')
    const error = await client
      .patch('policy-a')
      .ifRevisionId('stale-revision')
      .set({ title: 'changed' })
      .commit()
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ statusCode: 409, details: { type: 'mutationError' } })
    expect((error as Error).message).toContain('unexpected revision ID')
    expect(emulator.getDocument('policy-a')).toEqual(before)

    const ok = await client
      .patch('policy-a')
      .ifRevisionId(before?._rev ?? '')
      .set({ title: 'changed' })
      .commit()
    expect(ok.title).toBe('changed')
  })

  it('commits transactions atomically', async () => {
    const error = await client
      .transaction()
      .create({ _id: 'policy-new', _type: 'accessPolicy' })
      .patch('policy-missing', (p) => p.set({ title: 'x' }))
      .commit()
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ statusCode: 409 })
    expect(emulator.getDocument('policy-new')).toBeNull()

    const result = await client
      .transaction()
      .create({ _id: 'policy-new', _type: 'accessPolicy' })
      .delete('policy-b')
      .commit()
    expect(result.results.map((r) => [r.id, r.operation])).toEqual([
      ['policy-new', 'create'],
      ['policy-b', 'delete'],
    ])
    expect(emulator.getDocument('policy-new')?._rev).toBe(result.transactionId)
    expect(emulator.getDocument('policy-b')).toBeNull()
  })

  it('supports createIfNotExists, delete by query and dryRun', async () => {
    const kept = await client.createIfNotExists({ _id: 'policy-a', _type: 'accessPolicy', title: 'other' })
    expect(kept.title).toBe('Policy A')
    const dry = await client.create({ _id: 'dry', _type: 'role' }, { dryRun: true })
    expect(dry._id).toBe('dry')
    expect(emulator.getDocument('dry')).toBeNull()

    const result = await client.mutate([{ delete: { query: '*[_type == "role"]' } }])
    expect(result).toMatchObject({
      results: [
        { id: 'role-editor', operation: 'delete' },
        { id: 'role-viewer', operation: 'delete' },
      ],
    })
    expect(emulator.documents().map((d) => d._type)).not.toContain('role')
  })

  it('calls onMutation with before/after for every changed document', async () => {
    const changes: MutationChange[] = []
    const stop = emulator.onMutation((change) => {
      changes.push(change)
    })
    const before = emulator.getDocument('policy-a')
    const patched = await client.patch('policy-a').set({ title: 'renamed' }).commit()
    await client.delete('policy-b')
    await emulator.settled()

    expect(changes).toHaveLength(2)
    expect(changes[0]).toEqual({
      dataset: 'production',
      id: 'policy-a',
      before,
      after: patched,
      transactionId: patched._rev,
    })
    expect(changes[1]).toMatchObject({ id: 'policy-b', before: { title: 'Policy B' }, after: null })

    // A patch that changes nothing keeps the revision and produces no event.
    const noop = await client.patch('policy-a').set({ title: 'renamed' }).commit()
    expect(noop._rev).toBe(patched._rev)
    await emulator.settled()
    expect(changes).toHaveLength(2)

    stop()
    await client.patch('policy-a').set({ title: 'after unsubscribe' }).commit()
    await emulator.settled()
    expect(changes).toHaveLength(2)
  })

  it('reports listener failures from settled()', async () => {
    emulator.onMutation(() => {
      throw new Error('listener boom')
    })
    await client.patch('policy-a').set({ title: 'x' }).commit()
    await expect(emulator.settled()).rejects.toThrow(AggregateError)
    await expect(emulator.settled()).resolves.toBeUndefined()
  })
})

describe('auth', () => {
  it('requires the bearer token when configured and never logs it', async () => {
    const secret = 'sk-emulator-secret'
    const locked = await startContentLakeEmulator({ token: secret, documents: fixtures })
    try {
      const { token: _omit, ...noToken } = locked.clientConfig
      const anonymous = await createClient(noToken)
        .fetch('count(*)')
        .catch((e: unknown) => e)
      expect(anonymous).toMatchObject({ statusCode: 401, message: 'Unauthorized - Missing bearer token' })
      const wrong = await createClient({ ...locked.clientConfig, token: 'wrong' })
        .fetch('count(*)')
        .catch((e: unknown) => e)
      expect(wrong).toMatchObject({ statusCode: 401, message: 'Unauthorized - Session not found' })

      const authed = createClient(locked.clientConfig)
      expect(await authed.fetch('count(*[_type == "role"])')).toBe(2)
      await authed.create({ _id: 'with-token', _type: 'role' })
      expect(locked.requests.map((r) => r.status)).toEqual([401, 401, 200, 200])
      expect(JSON.stringify(locked.requests)).not.toContain(secret)
    } finally {
      await locked.close()
    }
  })
})

describe('fault injection and client retries', () => {
  it('retries a query on 503 (observed: 2 faults + 1 success = 3 requests)', async () => {
    emulator.injectFault({ method: 'GET', path: '/data/query', status: 503, times: 2 })
    expect(await client.fetch('count(*[_type == "role"])')).toBe(2)
    expect(queryRequests().map((r) => r.status)).toEqual([503, 503, 200])
  })

  it('surfaces the 503 when retries are exhausted (default maxRetries 5 → 6 attempts) or disabled', async () => {
    emulator.injectFault({ path: '/data/query', status: 503, times: Number.POSITIVE_INFINITY })
    const fast = createClient({ ...emulator.clientConfig, retryDelay: () => 1 })
    const exhausted = await fast.fetch('count(*)').catch((e: unknown) => e)
    expect(exhausted).toMatchObject({ statusCode: 503 })
    expect((exhausted as Error).message).toContain('Service Unavailable - Injected fault')
    expect(queryRequests()).toHaveLength(6)

    emulator.clearRequests()
    const noRetry = createClient({ ...emulator.clientConfig, maxRetries: 0 })
    await expect(noRetry.fetch('count(*)')).rejects.toMatchObject({ statusCode: 503 })
    expect(queryRequests()).toHaveLength(1)
  })

  it('does not retry a 500 on queries nor a 503 on mutations', async () => {
    emulator.injectFault({ path: '/data/query', status: 500 })
    await expect(client.fetch('count(*)')).rejects.toMatchObject({ statusCode: 500 })
    expect(queryRequests()).toHaveLength(1)

    emulator.injectFault({ method: 'POST', path: /\/data\/mutate\//, status: 503 })
    await expect(client.create({ _id: 'r', _type: 'role' })).rejects.toMatchObject({ statusCode: 503 })
    expect(mutateRequests()).toHaveLength(1)
    expect(emulator.getDocument('r')).toBeNull()
  })

  it('retries a GET after a connection reset but not a mutation POST', async () => {
    emulator.injectFault({ method: 'GET', path: '/data/query', reset: true })
    expect(await client.fetch('count(*[_type == "role"])')).toBe(2)
    expect(queryRequests().map((r) => r.status)).toEqual([0, 200])

    emulator.injectFault({ method: 'POST', path: '/data/mutate', reset: true })
    await expect(client.create({ _id: 'r', _type: 'role' })).rejects.toThrow()
    expect(mutateRequests().map((r) => r.status)).toEqual([0])
  })

  it('delays without failing when only delayMs is given', async () => {
    emulator.injectFault({ path: '/data/query', delayMs: 150 })
    const started = Date.now()
    expect(await client.fetch('count(*[_type == "role"])')).toBe(2)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
  })
})

describe('forward proxy', () => {
  function run(script: string, env: NodeJS.ProcessEnv): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        NODE_24,
        ['--input-type=module', '-e', script],
        { cwd: REPO_ROOT, env, timeout: 10_000 },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
      )
    })
  }

  it('serves an unmodified client in a fresh Node process that only has HTTP_PROXY pointing at it', async () => {
    const script = `
      import { createClient } from '@sanity/client'
      const client = createClient({ projectId: 'demo-project', dataset: 'production', apiHost: 'http://api.lake.test',
        useCdn: false, apiVersion: '2025-05-01' })
      const result = await client.fetch('*[_type == $type] | order(_id asc){_id, "role": role->slug.current}',
        { type: 'accessPolicy' })
      process.stdout.write(JSON.stringify({ node: process.version, result }))
    `
    const env: NodeJS.ProcessEnv = { ...process.env, HTTP_PROXY: emulator.url, http_proxy: emulator.url }
    for (const name of ['NO_PROXY', 'no_proxy', 'HTTPS_PROXY', 'https_proxy', 'NODE_OPTIONS']) delete env[name]
    const output = JSON.parse(await run(script, env))

    expect(output.node).toMatch(/^v24\./)
    expect(output.result).toEqual([
      { _id: 'policy-a', role: 'editor' },
      { _id: 'policy-b', role: 'viewer' },
    ])
    // undici's ProxyAgent tunnels plain-http targets with CONNECT (proxyTunnel defaults to true).
    expect(emulator.tunnels).toEqual([
      { target: 'demo-project.api.lake.test:80', at: expect.any(String), action: 'serve' },
    ])
    const [entry] = queryRequests()
    expect(entry).toMatchObject({ via: 'connect', host: 'demo-project.api.lake.test', status: 200 })
    expect(entry?.headers).not.toHaveProperty('x-sanity-project-id')
  })

  it('also answers absolute-form proxy requests and checks the project subdomain', async () => {
    const get = (host: string) =>
      new Promise<{ status: number; body: unknown }>((resolve, reject) => {
        const { port } = new URL(emulator.url)
        const query = new URLSearchParams({ query: 'count(*[_type == $t])', $t: '"role"' })
        const req = request({
          host: '127.0.0.1',
          port,
          path: `http://${host}/v2025-05-01/data/query/production?${query}`,
          headers: { host },
        })
        req.on('response', (res) => {
          let text = ''
          res.on('data', (chunk) => {
            text += chunk
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
        })
        req.on('error', reject)
        req.end()
      })

    expect(await get('demo-project.api.lake.test')).toMatchObject({ status: 200, body: { result: 2 } })
    expect(await get('other-project.api.lake.test')).toMatchObject({ status: 404 })
    expect(queryRequests().map((r) => r.via)).toEqual(['absolute-form', 'absolute-form'])
  })
})
