/**
 * The handler against both emulators: real `auth0` SDK over HTTPS, real `@sanity/client` over HTTP, events
 * produced by the blueprint's own filter and projection. One section per behaviour of the core issue.
 */
import { readFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type LocalStack, startLocalStack } from '../../emulators/stack.ts'
import { OWNED_KEYS } from '../../src/core/metadata.ts'

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../functions/sync-access-policy/fixtures/${name}`, import.meta.url), 'utf8'))
const dataset: Array<{ _id: string; _type: string }> = fixture('dataset.json')
const roles = dataset.filter((doc) => doc._type === 'role')
const organizations = fixture('organizations.json')
const acme = fixture('policy-acme.json')

const ACME = 'org_acme123'
const GLOBEX = 'org_globex456'
const acmeForeign = { crmAccount: 'ACME-0042', supportTier: 'gold' }
const acmeGrant = { plan: 'pro', role: 'editor', contentTags: '["docs","reports","webinars"]' }

let bed: LocalStack
beforeEach(async () => {
  bed = await startLocalStack({ documents: roles, auth0: { organizations } })
})
afterEach(async () => {
  await bed.close()
})

const writes = (org?: string) =>
  bed.auth0.count({ method: 'PATCH', ...(org ? { path: `/api/v2/organizations/${org}` } : {}) })
const orgRequests = () => bed.auth0.count({ path: /^\/api\/v2\/organizations/ })

async function publish(doc: Record<string, unknown>) {
  await bed.sanity.createOrReplace(doc as { _id: string; _type: string })
  return bed.deliver()
}

async function expectOk(promise: ReturnType<LocalStack['deliver']>) {
  const invocations = await promise
  for (const invocation of invocations) expect(invocation.error).toBeUndefined()
  return invocations
}

describe('1. publishing an active policy', () => {
  it('writes plan, role and contentTags to the named organization and keeps every other key', async () => {
    await expectOk(publish(acme))
    const metadata = bed.metadata(ACME)
    expect(metadata).toMatchObject({ ...acmeForeign, ...acmeGrant, sanityPolicyId: 'policy-acme' })
    expect(Object.keys(metadata ?? {}).sort()).toEqual([...Object.keys(acmeForeign), ...OWNED_KEYS].sort())
    expect(bed.metadata(GLOBEX)).toEqual({ crmAccount: 'GLX-0007' })
  })

  it('uses the defaults "free" and "member" when plan and role are empty', async () => {
    await expectOk(publish({ ...acme, plan: undefined, role: undefined, allowedContentTags: [] }))
    expect(bed.metadata(ACME)).toMatchObject({ plan: 'free', role: 'member', contentTags: '[]' })
  })

  it('ignores drafts: only the published document counts', async () => {
    await bed.sanity.createOrReplace({ ...acme, _id: 'drafts.policy-acme', plan: 'enterprise' })
    expect(await bed.deliver()).toEqual([])
    await expectOk(publish(acme))
    expect(bed.metadata(ACME)?.plan).toBe('pro')
  })
})

describe('2. republishing without a synced change', () => {
  it('makes zero Auth0 writes', async () => {
    await expectOk(publish(acme))
    const before = writes()
    await expectOk(publish({ ...acme, title: 'Acme — renamed', internalNotes: 'edited' }))
    expect(bed.invocations).toHaveLength(2)
    expect(writes()).toBe(before)
  })
})

describe('3. revoking', () => {
  it.each([
    ['deleted or unpublished', async () => bed.sanity.delete('policy-acme')],
    ['status no longer active', async () => bed.sanity.patch('policy-acme').set({ status: 'archived' }).commit()],
    ['organization ID removed', async () => bed.sanity.patch('policy-acme').unset(['auth0OrganizationId']).commit()],
  ])('%s: the owned keys go, the others stay', async (_name, revoke) => {
    await expectOk(publish(acme))
    await revoke()
    await expectOk(bed.deliver())
    expect(bed.metadata(ACME)).toEqual(acmeForeign)
  })

  it('leaves the organization alone when another policy owns it', async () => {
    const owner = { ...acme, _id: 'policy-owner', _createdAt: '2025-01-01T00:00:00Z', plan: 'team' }
    await bed.lake.seed([owner])
    await expectOk(publish({ ...acme, _id: 'policy-newcomer' }))
    expect(bed.metadata(ACME)).toMatchObject({ plan: 'team', sanityPolicyId: 'policy-owner' })
    const before = writes()
    await bed.sanity.delete('policy-newcomer')
    await expectOk(bed.deliver())
    expect(writes()).toBe(before)
    expect(bed.metadata(ACME)).toMatchObject({ plan: 'team', sanityPolicyId: 'policy-owner' })
  })
})

describe('4. moving a policy to another organization', () => {
  it('grants the new organization and revokes the old one', async () => {
    await expectOk(publish(acme))
    await bed.sanity.patch('policy-acme').set({ auth0OrganizationId: GLOBEX }).commit()
    await expectOk(bed.deliver())
    expect(bed.metadata(GLOBEX)).toMatchObject({ crmAccount: 'GLX-0007', ...acmeGrant, sanityPolicyId: 'policy-acme' })
    expect(bed.metadata(ACME)).toEqual(acmeForeign)
  })
})

describe('4b. an Organization deleted in Auth0', () => {
  it('moving away from it revokes nothing and fails nothing; granting to it fails naming it', async () => {
    const [toMissing] = await publish({ ...acme, auth0OrganizationId: 'org_missing999' })
    expect(String(toMissing?.error)).toContain('Auth0 has no Organization org_missing999')
    await expectOk(publish(acme))
    expect(bed.metadata(ACME)).toMatchObject({ ...acmeGrant, sanityPolicyId: 'policy-acme' })
    await expectOk(publish({ ...acme, plan: 'team' }))
    expect(bed.metadata(ACME)?.plan).toBe('team')
  })
})

describe('5. late, duplicated and retried events', () => {
  it('never overwrite newer data', async () => {
    const [first] = await expectOk(publish(acme))
    await expectOk(publish({ ...acme, plan: 'enterprise' }))
    const current = bed.metadata(ACME)
    expect(current?.plan).toBe('enterprise')
    const before = writes()
    if (!first) throw new Error('no invocation for the first publish')
    const late = await bed.redeliver(first.change)
    expect(late?.error).toBeUndefined()
    expect(bed.metadata(ACME)).toEqual(current)
    expect(writes()).toBe(before)
  })

  it('a late publish after a delete does not bring access back', async () => {
    const [published] = await expectOk(publish(acme))
    await bed.sanity.delete('policy-acme')
    await expectOk(bed.deliver())
    if (!published) throw new Error('no invocation')
    await bed.redeliver(published.change)
    expect(bed.metadata(ACME)).toEqual(acmeForeign)
  })
})

describe('6. two active policies naming one organization', () => {
  it('the older policy owns it, whatever the publish order, without flip-flopping', async () => {
    const older = { ...acme, _id: 'policy-older', _createdAt: '2026-01-01T00:00:00Z', plan: 'team' }
    const newer = { ...acme, _id: 'policy-newer', _createdAt: '2026-03-01T00:00:00Z', plan: 'enterprise' }
    await expectOk(publish(newer))
    await expectOk(publish(older))
    expect(bed.metadata(ACME)).toMatchObject({ plan: 'team', sanityPolicyId: 'policy-older' })
    const before = writes()
    for (const doc of [newer, older, newer]) await expectOk(publish({ ...doc, title: `${doc.title} again` }))
    expect(writes()).toBe(before)
    expect(bed.metadata(ACME)).toMatchObject({ plan: 'team', sanityPolicyId: 'policy-older' })
  })
})

describe('7. invalid input', () => {
  it.each([
    ['auth0OrganizationId', { auth0OrganizationId: 'acme' }],
    ['auth0OrganizationId', { auth0OrganizationId: 'org_acme123/../../clients' }],
    ['allowedContentTags[1]', { allowedContentTags: ['docs', 42] }],
    ['allowedContentTags', { allowedContentTags: Array.from({ length: 30 }, (_, i) => `topic-number-${i}`) }],
    ['role', { role: { _type: 'reference', _ref: 'role-deleted', _weak: true } }],
  ])('%s: fails naming the field and sends nothing to the org API', async (field, patch) => {
    const [invocation] = await publish({ ...acme, ...patch })
    expect(String(invocation?.error)).toContain(`${field}:`)
    expect(orgRequests()).toBe(0)
  })

  it('metadata beyond Auth0 limits: fails, no write, existing keys untouched', async () => {
    // 7 owned keys leave room for 18 of the organization's own: 19 is one too many.
    const crowded = Object.fromEntries(Array.from({ length: 19 }, (_, i) => [`key${i}`, 'v']))
    bed.auth0.putOrganization({ id: ACME, name: 'acme', metadata: crowded })
    const [invocation] = await publish(acme)
    expect(String(invocation?.error)).toMatch(/26 metadata keys; Auth0 allows at most 25/)
    expect(writes()).toBe(0)
    expect(bed.metadata(ACME)).toEqual(crowded)
  })
})

describe('8. secrets and the allowlist', () => {
  it('nothing but the owned keys and the organization’s own keys is ever sent', async () => {
    await expectOk(publish(acme))
    await expectOk(publish({ ...acme, plan: 'enterprise' }))
    const sent = bed.auth0.filterRequests({ method: 'PATCH' }).map((request) => request.body)
    expect(sent.length).toBe(2)
    const allowed = new Set<string>([...OWNED_KEYS, ...Object.keys(acmeForeign)])
    for (const body of sent) {
      expect(Object.keys(body as object)).toEqual(['metadata'])
      for (const key of Object.keys((body as { metadata: object }).metadata)) expect(allowed).toContain(key)
      expect(JSON.stringify(body)).not.toMatch(/Dana|internalNotes|Renewal/)
    }
  })

  it('neither the client secret nor the access token appears in logs or errors', async () => {
    const lines: string[] = []
    const capture = (...args: unknown[]) => {
      lines.push(args.map(String).join(' '))
    }
    const spies = (['log', 'info', 'warn', 'error'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation(capture),
    )
    try {
      await expectOk(publish(acme))
      bed.auth0.revokeTokens()
      bed.auth0.injectFault({ method: 'PATCH', status: 403, times: Infinity })
      const [failed] = await publish({ ...acme, plan: 'enterprise' })
      expect(failed?.error).toBeDefined()
      const error = failed?.error as Error
      const everything = [...lines, error.message, String(error.stack), JSON.stringify(error)].join('\n')
      expect(everything).not.toContain(process.env.AUTH0_CLIENT_SECRET)
      expect(everything).not.toMatch(/Bearer\s+\S{10,}/)
      expect(lines.join('\n')).toContain('policy policy-acme')
    } finally {
      for (const spy of spies) spy.mockRestore()
    }
  })
})

describe('9. Auth0 tokens', () => {
  it('one token request per warm instance, not per event', async () => {
    await expectOk(publish(acme))
    await expectOk(publish({ ...acme, plan: 'team' }))
    await expectOk(publish({ ...acme, plan: 'enterprise' }))
    expect(bed.invocations).toHaveLength(3)
    expect(bed.auth0.count({ path: '/oauth/token' })).toBe(1)
  })
})

describe('Auth0 requests per event', () => {
  it('cold: token + read + write; warm: read + write; nothing to change: one read', async () => {
    const perEvent: number[] = []
    for (const doc of [acme, { ...acme, plan: 'team' }, { ...acme, plan: 'team', title: 'renamed' }]) {
      const before = bed.auth0.requests.length
      await expectOk(publish(doc))
      perEvent.push(bed.auth0.requests.length - before)
    }
    expect(perEvent).toEqual([3, 2, 1])
  })
})

describe('Content Lake failures', () => {
  it('a 5xx from the Content Lake fails the invocation and sends nothing to Auth0', async () => {
    bed.lake.injectFault({ path: '/data/query/', status: 503, times: Infinity })
    const [invocation] = await publish(acme)
    expect(invocation?.error).toMatchObject({ reason: 'content-lake-unavailable' })
    expect(orgRequests()).toBe(0)
  })
})
