/**
 * A Content Lake that cannot answer: the real handler (real `@sanity/client`, real `auth0` SDK) must fail with a
 * SyncError that names the cause and the fix — DNS, a refused token, a missing project or dataset, a 5xx, a
 * timeout — send nothing to Auth0, and log the same cause when the status document cannot be written either.
 */
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createClient } from '@sanity/client'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { contextFor } from '../../emulators/functions-runtime.ts'
import { handler } from '../../functions/sync-access-policy/index.ts'
import { SyncError } from '../../src/core/errors.ts'
import { createPolicyStore } from '../../src/gateways/sanity.ts'

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../functions/sync-access-policy/fixtures/${name}`, import.meta.url), 'utf8'))
const acme = fixture('policy-acme.json')
const roles = fixture('dataset.json').filter((doc: { _type: string }) => doc._type === 'role')
const TOKEN = 'lake-robot-token-0123456789'
const event = {
  data: { _id: acme._id, _rev: acme._rev, operation: 'update', auth0OrganizationId: acme.auth0OrganizationId },
}

let auth0: Auth0Emulator
let lake: ContentLakeEmulator
beforeAll(async () => {
  ;[auth0, lake] = await Promise.all([
    startAuth0Emulator({ organizations: fixture('organizations.json') }),
    startContentLakeEmulator({ token: TOKEN, documents: [...roles, acme] }),
  ])
  process.env.AUTH0_DOMAIN = auth0.domain
  process.env.AUTH0_CLIENT_ID = DEFAULT_CLIENT.clientId
  process.env.AUTH0_CLIENT_SECRET = DEFAULT_CLIENT.clientSecret
  process.env.SANITY_PROJECT_ID = lake.projectId
  process.env.SANITY_DATASET = lake.dataset
})
afterAll(async () => {
  await Promise.all([auth0.close(), lake.close()])
})
beforeEach(() => {
  auth0.clearRequests()
  lake.clearFaults()
})

/** Runs the handler with the runtime's client options changed by `options`; returns its error and warnings. */
async function invoke(options: Record<string, unknown>) {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  try {
    const clientOptions = { ...lake.clientConfig, ...options } as typeof lake.clientConfig
    // Deployed for the dataset it is invoked for (each case breaks the Content Lake, not the scope).
    Object.assign(process.env, { SANITY_PROJECT_ID: clientOptions.projectId, SANITY_DATASET: clientOptions.dataset })
    const context = contextFor(clientOptions)
    const error = await Promise.resolve(handler({ context, event })).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(SyncError)
    expect(auth0.count({ path: /organizations/ })).toBe(0)
    const message = (error as SyncError).message
    for (const secret of [TOKEN, 'revoked-token-42']) expect(message).not.toContain(secret)
    return { error: error as SyncError, warnings: warn.mock.calls.map((call) => String(call[0])) }
  } finally {
    warn.mockRestore()
  }
}

describe('the function names the Content Lake failure and its fix', () => {
  it('control: with the right options it syncs', async () => {
    await handler({ context: contextFor(lake.clientConfig), event })
    expect(auth0.getOrganization('org_acme123')?.metadata).toMatchObject({ sanityPolicyId: 'policy-acme' })
  })

  it('DNS: an unresolvable host is named, with what to check; the status log line says the same', async () => {
    const { error, warnings } = await invoke({ apiHost: 'http://nonexistent.invalid' })
    expect(error).toMatchObject({ reason: 'content-lake-unavailable', retryable: true })
    // The runtime's client reaches the project by hostname: `<projectId>.nonexistent.invalid`.
    expect(error.message).toContain(`DNS lookup of ${lake.projectId}.nonexistent.invalid failed (ENOTFOUND)`)
    expect(error.message).toContain('Check the API host and project ID')
    expect(error.message).toContain('Nothing was sent to Auth0.')
    expect(warnings).toEqual([
      expect.stringMatching(
        /^sync status not recorded for policy policy-acme: DNS lookup of demo-project\.nonexistent\.invalid/,
      ),
    ])
  })

  it('401: the token was refused, with how to get a valid one', async () => {
    const { error, warnings } = await invoke({ token: 'revoked-token-42' })
    expect(error).toMatchObject({ reason: 'content-lake-credentials', retryable: false })
    expect(error.message).toMatch(/HTTP 401 \(.*\): the Content Lake refused the token/)
    expect(error.message).toContain('`npx sanity login`, then pass `--with-user-token`')
    expect(warnings[0]).toContain('HTTP 401')
  })

  it('403: the token’s role is not enough, with the role it needs', async () => {
    // Every query fails alike (the event's and the repair step's backlog query, sent with it).
    lake.injectFault({ path: '/data/query/', status: 403, times: Number.POSITIVE_INFINITY })
    const { error } = await invoke({})
    expect(error).toMatchObject({ reason: 'content-lake-credentials', retryable: false })
    expect(error.message).toContain('HTTP 403')
    expect(error.message).toContain('read accessPolicy and write accessPolicySyncStatus')
  })

  it('404: the project and dataset it looked for are named', async () => {
    const { error } = await invoke({ dataset: 'staging' })
    expect(error).toMatchObject({ reason: 'configuration', retryable: false })
    expect(error.message).toContain('project "demo-project", dataset "staging" was not found')
    expect(error.message).toContain('check --project-id and --dataset')
  })

  it('5xx: the status, the server’s message, and that running it again can help', async () => {
    lake.injectFault({ path: '/data/query/', status: 500, times: Number.POSITIVE_INFINITY })
    const { error } = await invoke({})
    expect(error).toMatchObject({ reason: 'content-lake-unavailable', retryable: true })
    expect(error.message).toContain('HTTP 500 (Internal Server Error - Injected fault): the Content Lake is failing')
  })
})

it('timeout: a query with no answer in time fails, saying how long it waited', async () => {
  lake.injectFault({ path: '/data/query/', delayMs: 2_000 })
  const store = createPolicyStore(createClient(lake.clientConfig), { timeoutMs: 300 })
  const error = await store.load('policy-acme', []).catch((caught: unknown) => caught)
  expect(error).toMatchObject({ name: 'SyncError', reason: 'content-lake-unavailable', retryable: true })
  expect((error as Error).message).toContain(`timeout: no answer from ${new URL(lake.url).host} within 0.3 s`)
})

it('connection refused: the host is named, with what to check', async () => {
  // A port that was just free: nothing listens there. (undici refuses port 9 itself, as a "bad port".)
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  const apiHost = `http://127.0.0.1:${port}`
  const store = createPolicyStore(createClient({ ...lake.clientConfig, apiHost, maxRetries: 0 }))
  const error = await store.load('policy-acme', []).catch((caught: unknown) => caught)
  expect(error).toMatchObject({ name: 'SyncError', reason: 'content-lake-unavailable', retryable: true })
  expect((error as Error).message).toContain(`127.0.0.1:${port} refused the connection (ECONNREFUSED)`)
})
