/**
 * What the handler records in `accessPolicySyncStatus.<policyId>` after each attempt, against both emulators (real
 * `auth0` SDK, real `@sanity/client`), one section per outcome; then that a failing status write leaves the sync
 * and the invocation's result alone, and that status documents never trigger the function.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { projectEvent } from '../../emulators/functions-runtime.ts'
import { type LocalStack, startLocalStack } from '../../emulators/stack.ts'
import { SYNC_FUNCTION } from '../../sanity.blueprint.ts'
import { HISTORY_LIMIT, STATUS_TYPE, statusDocumentId } from '../../src/status.ts'
import { policyDocument, roleDocuments } from '../support/policies.ts'

const ACME = 'org_acme123'
const acmeForeign = { crmAccount: 'ACME-0042', supportTier: 'gold' }
const organizations = [
  { id: ACME, name: 'acme', metadata: acmeForeign },
  { id: 'org_globex456', name: 'globex', metadata: { crmAccount: 'GLX-0007' } },
]
const acme = policyDocument()

let bed: LocalStack
beforeEach(async () => {
  bed = await startLocalStack({ documents: roleDocuments(), auth0: { organizations } })
})
afterEach(async () => {
  await bed.close()
  vi.restoreAllMocks()
})

type Status = {
  _id: string
  _type: string
  outcome?: string
  reason?: string
  message?: string
  attemptedAt?: string
  policyId?: string
  policyRevision?: string
  operation?: string
  notes?: string[]
  organizations?: Array<Record<string, unknown> & { metadata?: { key: string; value: string }[] }>
  history?: Array<Record<string, unknown>>
}
const status = (policyId = 'policy-acme') => bed.lake.getDocument(statusDocumentId(policyId)) as Status | null
const revision = (id = 'policy-acme') => bed.lake.getDocument(id)?._rev

/** Publishes `doc`, delivers the event, and returns the invocation plus the time window it ran in. */
async function publish(doc: Record<string, unknown>) {
  await bed.sanity.createOrReplace(doc as { _id: string; _type: string })
  return run()
}
async function run() {
  const from = new Date().toISOString()
  const [invocation, ...rest] = await bed.deliver()
  expect(rest).toEqual([])
  return { invocation, from, to: new Date().toISOString() }
}
const entries = (metadata: Record<string, string> | undefined) =>
  Object.entries(metadata ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, value]) => ({ key, value }))

describe('synced', () => {
  it('records the outcome, time, revision, operation and the metadata Auth0 now holds', async () => {
    const { invocation, from, to } = await publish(acme)
    expect(invocation?.error).toBeUndefined()
    const recorded = status()
    expect(recorded).toMatchObject({
      _id: `accessPolicySyncStatus.policy-acme`,
      _type: STATUS_TYPE,
      policy: { _type: 'reference', _ref: 'policy-acme', _weak: true },
      policyId: 'policy-acme',
      outcome: 'synced',
      policyRevision: revision(),
      operation: 'create',
    })
    expect(recorded?.attemptedAt && recorded.attemptedAt >= from && recorded.attemptedAt <= to).toBe(true)
    expect(recorded).not.toHaveProperty('reason')
    expect(recorded).not.toHaveProperty('message')
    expect(recorded?.organizations).toEqual([
      expect.objectContaining({
        _key: ACME,
        organizationId: ACME,
        outcome: 'granted',
        ownerPolicyId: 'policy-acme',
        metadata: entries(bed.metadata(ACME)).map((entry) => expect.objectContaining(entry)),
      }),
    ])
    expect(recorded?.organizations?.[0]?.metadata?.find((entry) => entry.key === 'contentTags')?.value).toBe(
      '["docs","reports","webinars"]',
    )
    expect(recorded?.history).toEqual([
      expect.objectContaining({ outcome: 'synced', policyRevision: revision(), attemptedAt: recorded?.attemptedAt }),
    ])
  })

  it('holds no secret and no Auth0 token', async () => {
    await publish(acme)
    const text = JSON.stringify(status())
    expect(text).not.toContain(process.env.AUTH0_CLIENT_SECRET)
    expect(bed.auth0.issuedTokens().length).toBeGreaterThan(0)
    for (const token of bed.auth0.issuedTokens()) expect(text).not.toContain(token)
    expect(text).not.toMatch(/Dana|Renewal|internalNotes/)
  })
})

describe('unchanged', () => {
  it('a title-only republish records "unchanged" (in-sync), newest attempt first in the history', async () => {
    await publish(acme)
    const first = status()
    await publish({ ...acme, title: 'Acme — renamed' })
    const recorded = status()
    expect(recorded).toMatchObject({ outcome: 'unchanged', policyRevision: revision(), operation: 'update' })
    expect(recorded?.organizations?.[0]).toMatchObject({ outcome: 'unchanged', reason: 'in-sync' })
    expect(recorded?.history?.map((attempt) => attempt.outcome)).toEqual(['unchanged', 'synced'])
    expect(recorded?.history?.[1]?.policyRevision).toBe(first?.policyRevision)
  })
})

describe('revoked', () => {
  it('archiving records "revoked" and the organization keeps only its own keys', async () => {
    await publish(acme)
    await bed.sanity.patch('policy-acme').set({ status: 'archived' }).commit()
    await run()
    expect(status()).toMatchObject({ outcome: 'revoked', policyRevision: revision() })
    expect(status()?.organizations?.[0]).toMatchObject({
      outcome: 'revoked',
      metadata: entries(acmeForeign).map((entry) => expect.objectContaining(entry)),
    })
  })

  it('deleting the policy records "revoked" on the deleted policy’s status (operation delete)', async () => {
    await publish(acme)
    await bed.sanity.delete('policy-acme')
    await run()
    expect(status()).toMatchObject({ outcome: 'revoked', operation: 'delete' })
  })
})

describe('skipped', () => {
  it('a policy that never named a valid organization records "skipped" with the reason', async () => {
    await publish({ ...acme, auth0OrganizationId: 'acme' }) // fails: not an Organization ID
    await bed.sanity.patch('policy-acme').unset(['auth0OrganizationId']).commit()
    const { invocation } = await run()
    expect(invocation?.error).toBeUndefined()
    expect(status()).toMatchObject({
      outcome: 'skipped',
      message: expect.stringMatching(/names no Auth0 Organization/),
      notes: [expect.stringMatching(/previous auth0OrganizationId is not an Auth0 Organization ID/)],
      organizations: [],
    })
    expect(status()).not.toHaveProperty('reason')
  })
})

describe('conflict', () => {
  it('a newer active policy for an owned organization records "conflict" naming the owner', async () => {
    const owner = { ...acme, _id: 'policy-owner', _createdAt: '2025-01-01T00:00:00Z', plan: 'team' }
    await publish(owner)
    await publish({ ...acme, _id: 'policy-newcomer' })
    expect(status('policy-newcomer')).toMatchObject({
      outcome: 'conflict',
      message: expect.stringMatching(/^org_acme123 is granted by the older active policy policy-owner/),
      organizations: [
        expect.objectContaining({
          organizationId: ACME,
          ownerPolicyId: 'policy-owner',
          conflicts: ['policy-newcomer'],
        }),
      ],
    })
    expect(bed.metadata(ACME)).toMatchObject({ plan: 'team', sanityPolicyId: 'policy-owner' })
  })
})

describe('failed', () => {
  it('Auth0 has no such organization: reason, message and a per-organization failure without metadata', async () => {
    const { invocation } = await publish({ ...acme, auth0OrganizationId: 'org_missing999' })
    expect(invocation?.error).toMatchObject({ reason: 'organization-not-found' })
    const recorded = status()
    expect(recorded).toMatchObject({
      outcome: 'failed',
      reason: 'organization-not-found',
      message: (invocation?.error as Error | undefined)?.message,
      policyRevision: revision(),
    })
    expect(recorded?.organizations).toEqual([
      expect.objectContaining({
        organizationId: 'org_missing999',
        outcome: 'failed',
        reason: 'organization-not-found',
      }),
    ])
    expect(recorded?.organizations?.[0]).not.toHaveProperty('metadata')
  })

  it('the next successful attempt clears the failure’s reason and message', async () => {
    bed.auth0.injectFault({ method: 'PATCH', status: 403, times: 1 })
    await publish(acme)
    expect(status()).toMatchObject({ outcome: 'failed', reason: 'auth0-forbidden', message: expect.any(String) })
    await publish({ ...acme, plan: 'team' })
    expect(status()).toMatchObject({ outcome: 'synced' })
    expect(status()).not.toHaveProperty('reason')
    expect(status()).not.toHaveProperty('message')
    expect(status()?.history?.map((attempt) => [attempt.outcome, attempt.reason])).toEqual([
      ['synced', undefined],
      ['failed', 'auth0-forbidden'],
    ])
  })

  it('an invalid policy: the message names the field, nothing reached Auth0', async () => {
    const { invocation } = await publish({ ...acme, allowedContentTags: ['docs', 42] })
    expect(invocation?.error).toMatchObject({ reason: 'invalid-policy' })
    expect(status()).toMatchObject({
      outcome: 'failed',
      reason: 'invalid-policy',
      message: expect.stringContaining('allowedContentTags[1]: must be text, got a number'),
    })
  })

  it('missing settings fail before the sync starts, and are recorded too, without the secret', async () => {
    const secret = process.env.AUTH0_CLIENT_SECRET
    process.env.AUTH0_CLIENT_SECRET = ''
    try {
      const { invocation } = await publish(acme)
      expect(invocation?.error).toMatchObject({ reason: 'configuration' })
      expect(status()).toMatchObject({
        outcome: 'failed',
        reason: 'configuration',
        message: expect.stringContaining('AUTH0_CLIENT_SECRET is not set'),
        policyRevision: revision(),
        organizations: [],
      })
    } finally {
      process.env.AUTH0_CLIENT_SECRET = secret
    }
    expect(JSON.stringify(status())).not.toContain(secret)
  })

  it('Auth0 refuses the write: the invocation fails as before and the status says why', async () => {
    bed.auth0.injectFault({ method: 'PATCH', status: 403, times: Infinity })
    const { invocation } = await publish(acme)
    expect(invocation?.error).toMatchObject({ reason: 'auth0-forbidden' })
    expect(status()).toMatchObject({ outcome: 'failed', reason: 'auth0-forbidden' })
  })
})

describe('history', () => {
  it(`keeps the last ${HISTORY_LIMIT} attempts, newest first; the top level is the latest`, async () => {
    const plans = ['free', 'team', 'pro', 'enterprise']
    for (let i = 0; i < HISTORY_LIMIT + 2; i++) await publish({ ...acme, plan: plans[i % plans.length] })
    const recorded = status()
    expect(recorded?.history).toHaveLength(HISTORY_LIMIT)
    expect(recorded?.history?.[0]).toMatchObject({
      policyRevision: recorded?.policyRevision,
      outcome: recorded?.outcome,
    })
    const times = recorded?.history?.map((attempt) => String(attempt.attemptedAt)) ?? []
    expect(times).toEqual([...times].sort().reverse())
    expect(new Set(recorded?.history?.map((attempt) => attempt._key)).size).toBe(HISTORY_LIMIT)
  })
})

describe('a failing status write', () => {
  it('leaves Auth0 synced and the invocation without error; one log line, tried once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    await bed.sanity.createOrReplace(acme)
    bed.lake.injectFault({ method: 'POST', path: '/data/mutate/', status: 503, times: Infinity })
    const { invocation } = await run()
    expect(invocation?.error).toBeUndefined()
    expect(bed.metadata(ACME)).toMatchObject({ ...acmeForeign, plan: 'pro', sanityPolicyId: 'policy-acme' })
    expect(status()).toBeNull()
    expect(
      bed.lake.requests.filter((request) => request.path.includes('/data/mutate/') && request.status === 503),
    ).toHaveLength(1)
    expect(warn).toHaveBeenCalledTimes(1)
    const [line] = warn.mock.calls[0] ?? []
    expect(line).toMatch(
      /^sync status not recorded for policy policy-acme: HTTP 503 .*; the sync itself is unaffected$/,
    )
    expect(String(line)).not.toContain(process.env.AUTH0_CLIENT_SECRET)
  })

  it('a failed sync still fails with its own error, not the status write’s', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    await bed.sanity.createOrReplace({ ...acme, auth0OrganizationId: 'org_missing999' })
    bed.lake.injectFault({ method: 'POST', path: '/data/mutate/', reset: true, times: Infinity })
    const { invocation } = await run()
    expect(invocation?.error).toMatchObject({ name: 'SyncError', reason: 'organization-not-found' })
  })
})

describe('status documents never trigger the function', () => {
  it('the blueprint filter drops them (delta mode, as the runtime evaluates it)', async () => {
    await publish(acme)
    const doc = bed.lake.getDocument(statusDocumentId('policy-acme'))
    expect(doc?._type).toBe(STATUS_TYPE)
    for (const [before, after] of [
      [null, doc],
      [doc, doc],
      [doc, null],
    ] as const) {
      expect(
        await projectEvent(SYNC_FUNCTION, { id: String(doc?._id), before, after }, bed.lake.documents()),
      ).toBeUndefined()
    }
  })

  it('a sync writes its status, and delivering that write invokes nothing', async () => {
    await publish(acme)
    expect(status()).not.toBeNull()
    expect(await bed.deliver()).toEqual([])
    expect(bed.invocations).toHaveLength(1)
  })
})
