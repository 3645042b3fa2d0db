/**
 * Malformed documents and events, hand-picked and generated, through the handler against both emulators. Each
 * must end in a SyncError that names the field, or in a valid sync — never an invalid value sent to Auth0, never
 * a request to an organization path that is not a plain Auth0 Organization ID.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { contextFor } from '../../emulators/functions-runtime.ts'
import { type LocalStack, startLocalStack } from '../../emulators/stack.ts'
import { handler } from '../../functions/sync-access-policy/index.ts'
import { metadataProblems } from '../../src/core/auth0-rules.ts'
import { decodeAccess, normalizeTags, OWNED_KEYS } from '../../src/core/metadata.ts'
import { policyDocument, roleDocuments } from '../support/policies.ts'

const ORG = 'org_acme123'
// Parsed from JSON so "__proto__" is a real own key, as it would be in Auth0's answer.
const foreign: Record<string, string> = JSON.parse(
  '{"crmAccount":"ACME-0042","__proto__":"kept","constructor":"kept too"}',
)
const FIELDS =
  /\b(auth0OrganizationId|plan|allowedContentTags(\[\d+\])?|role|_id|_rev|_updatedAt|operation|event\.data|document): /

let bed: LocalStack
beforeAll(async () => {
  bed = await startLocalStack({ documents: roleDocuments(), auth0: { organizations: [] } })
})
afterAll(async () => {
  await bed.close()
})
beforeEach(async () => {
  bed.auth0.putOrganization({ id: ORG, name: 'acme', metadata: JSON.parse(JSON.stringify(foreign)) })
  bed.auth0.clearRequests()
})

/** Publishes `doc` (any shape: the Content Lake stores what the API is given) and checks the invariants. */
type Outcome = 'synced' | 'rejected' | 'skipped'
/** Auth0's metadata right after the publish, before the clean-up delete revokes it. */
let granted: Record<string, string> | undefined

async function publishAndCheck(doc: Record<string, unknown>): Promise<Outcome> {
  await bed.sanity.createOrReplace({ _type: 'accessPolicy', ...doc, _id: 'policy-fuzz' } as {
    _id: string
    _type: string
  })
  const invocations = await bed.deliver()
  granted = bed.metadata(ORG)
  await bed.sanity.delete('policy-fuzz')
  await bed.deliver()
  checkAuth0Traffic()
  const [invocation] = invocations
  if (!invocation) return 'skipped'
  if (invocation.error) {
    expect(invocation.error).toMatchObject({ name: 'SyncError' })
    expect((invocation.error as Error).message).toMatch(FIELDS)
    return 'rejected'
  }
  return 'synced'
}

/** Every request went to a safe path, and every write would pass Auth0's validation. */
function checkAuth0Traffic() {
  for (const request of bed.auth0.requests) {
    expect(request.path).toMatch(/^\/oauth\/token$|^\/api\/v2\/organizations\/org_[A-Za-z0-9]+$/)
    expect(request.status).not.toBe(400)
    if (request.method === 'PATCH') {
      const { metadata } = request.body as { metadata: Record<string, unknown> }
      expect(metadataProblems(metadata)).toEqual([])
      for (const [key, value] of Object.entries(foreign))
        expect(Object.getOwnPropertyDescriptor(metadata, key)?.value).toBe(value)
      for (const key of Object.keys(metadata)) expect([...OWNED_KEYS, ...Object.keys(foreign)]).toContain(key)
    }
  }
}

const huge = 'x'.repeat(100_000)
const cases: Array<[string, Record<string, unknown>, 'synced' | 'rejected' | 'skipped']> = [
  ['org ID: number', { auth0OrganizationId: 42 }, 'rejected'],
  ['org ID: object', { auth0OrganizationId: { id: ORG } }, 'rejected'],
  ['org ID: array', { auth0OrganizationId: [ORG] }, 'rejected'],
  ['org ID: boolean', { auth0OrganizationId: true }, 'rejected'],
  ['org ID: empty string', { auth0OrganizationId: '' }, 'rejected'],
  ['org ID: path traversal', { auth0OrganizationId: 'org_acme123/../../clients' }, 'rejected'],
  ['org ID: encoded traversal', { auth0OrganizationId: 'org_acme123%2F..%2Fclients' }, 'rejected'],
  ['org ID: query injection', { auth0OrganizationId: 'org_acme123?fields=id' }, 'rejected'],
  ['org ID: fragment', { auth0OrganizationId: 'org_acme123#x' }, 'rejected'],
  ['org ID: header injection CRLF', { auth0OrganizationId: 'org_acme123\r\nX-Evil: 1' }, 'rejected'],
  ['org ID: trailing newline', { auth0OrganizationId: 'org_acme123\n' }, 'rejected'],
  ['org ID: leading space', { auth0OrganizationId: ' org_acme123' }, 'rejected'],
  ['org ID: unicode look-alike', { auth0OrganizationId: 'org_аcme123' }, 'rejected'],
  ['org ID: 100 000 characters', { auth0OrganizationId: `org_${huge}` }, 'rejected'],
  ['org ID: missing on an active policy', { auth0OrganizationId: undefined }, 'skipped'],
  ['plan: number', { plan: 3 }, 'rejected'],
  ['plan: object', { plan: { key: 'pro' } }, 'rejected'],
  ['plan: empty', { plan: '' }, 'rejected'],
  ['plan: whitespace', { plan: '   ' }, 'rejected'],
  ['plan: 256 characters', { plan: 'p'.repeat(256) }, 'rejected'],
  ['plan: 100 000 characters', { plan: huge }, 'rejected'],
  ['plan: control character', { plan: 'pro\u0007' }, 'rejected'],
  ['plan: null (default applies)', { plan: null }, 'synced'],
  ['plan: __proto__', { plan: '__proto__' }, 'synced'],
  ['tags: string instead of list', { allowedContentTags: 'docs' }, 'rejected'],
  ['tags: object', { allowedContentTags: { 0: 'docs' } }, 'rejected'],
  ['tags: number inside', { allowedContentTags: ['docs', 1] }, 'rejected'],
  ['tags: null inside', { allowedContentTags: ['docs', null] }, 'rejected'],
  ['tags: nested list', { allowedContentTags: [['docs']] }, 'rejected'],
  ['tags: object inside', { allowedContentTags: [{ _key: 'a', value: 'docs' }] }, 'rejected'],
  ['tags: empty string', { allowedContentTags: [''] }, 'rejected'],
  ['tags: lone surrogate', { allowedContentTags: ['\ud800'] }, 'rejected'],
  ['tags: 10 000 tags', { allowedContentTags: Array.from({ length: 10_000 }, (_, i) => `t${i}`) }, 'rejected'],
  ['tags: 100 000 numbers', { allowedContentTags: Array.from({ length: 100_000 }, (_, i) => i) }, 'rejected'],
  ['tags: encode to 256 characters', { allowedContentTags: ['a'.repeat(252)] }, 'rejected'],
  ['tags: encode to exactly 255 characters', { allowedContentTags: ['a'.repeat(251)] }, 'synced'],
  [
    'tags: unicode (synced intact)',
    { allowedContentTags: ['研究', 'økonomi', '👩🏽‍💻', 'עברית', 'e\u0301'] },
    'synced',
  ],
  ['tags: prototype keys as tags', { allowedContentTags: ['__proto__', 'constructor', 'toString'] }, 'synced'],
  ['tags: JSON-looking tag', { allowedContentTags: ['"],"plan":"enterprise'] }, 'synced'],
  ['tags: duplicates collapse', { allowedContentTags: ['b', 'a', 'b', 'a'] }, 'synced'],
  ['role: dangling reference', { role: { _type: 'reference', _ref: 'role-missing', _weak: true } }, 'rejected'],
  [
    'role: reference to a draft-only role',
    { role: { _type: 'reference', _ref: 'drafts.role-x', _weak: true } },
    'rejected',
  ],
  ['role: string instead of reference', { role: 'admin' }, 'synced'],
  ['status: uppercase ACTIVE grants nothing', { status: 'ACTIVE' }, 'synced'],
  ['status: boolean grants nothing', { status: true }, 'synced'],
  ['_createdAt: garbage', { _createdAt: 'not a date' }, 'synced'],
  ['extra field __proto__ in document', JSON.parse('{"__proto__": {"plan": "enterprise"}}'), 'synced'],
]

describe('hand-picked malformed documents', () => {
  it.each(cases)('%s', async (_name, patch, expected) => {
    const doc = { ...policyDocument(), ...patch }
    const outcome = await publishAndCheck(doc)
    expect(outcome).toBe(expected)
    if (outcome === 'synced' && doc.status === 'active') {
      const access = decodeAccess(granted ?? {})
      const tags = Array.isArray(doc.allowedContentTags) ? normalizeTags(doc.allowedContentTags as string[]) : []
      expect(access?.contentTags).toEqual(tags)
      expect(access?.plan).toBe(typeof doc.plan === 'string' ? doc.plan : 'free')
    }
  })
})

describe('malformed events', () => {
  it.each([
    ['null', null],
    ['an array', [{ _id: 'p' }]],
    ['a string', 'policy-acme'],
    ['no _id', { auth0OrganizationId: ORG }],
    ['_id as number', { _id: 7, auth0OrganizationId: ORG }],
    ['unknown operation', { _id: 'p', operation: 'publish', auth0OrganizationId: ORG }],
    ['org ID injection', { _id: 'p', auth0OrganizationId: 'org_a/../../users' }],
    ['org ID object', { _id: 'p', auth0OrganizationId: { $ne: null } }],
  ])('event.data is %s: fails naming the field, nothing sent', async (_name, data) => {
    const context = contextFor(bed.lake.clientConfig)
    await expect(handler({ context, event: { data: data as never } })).rejects.toThrow(FIELDS)
    expect(bed.auth0.requests).toHaveLength(0)
  })
})

describe('generated documents (fast-check)', () => {
  const value = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.string(),
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 30 }),
    fc.array(fc.anything(), { maxLength: 5 }),
    fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
  )
  const policy = fc.record({
    auth0OrganizationId: fc.oneof(fc.constant(ORG), fc.constant(`${ORG}/x`), value),
    plan: fc.oneof(fc.constantFrom('pro', 'free', 'enterprise'), value),
    allowedContentTags: fc.oneof(
      fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), { maxLength: 8 }),
      value,
    ),
    role: fc.oneof(
      fc.constant({ _type: 'reference', _ref: 'role-editor' }),
      fc.constant({ _type: 'reference', _ref: 'nope', _weak: true }),
      value,
    ),
    status: fc.oneof(fc.constant('active'), value),
  })

  it('always end in a named error or a valid sync', async () => {
    const seen = { synced: 0, rejected: 0, skipped: 0 }
    await fc.assert(
      fc.asyncProperty(policy, async (fields) => {
        bed.auth0.putOrganization({ id: ORG, name: 'acme', metadata: JSON.parse(JSON.stringify(foreign)) })
        bed.auth0.clearRequests()
        const doc = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))
        seen[await publishAndCheck({ ...doc, _createdAt: '2026-01-01T00:00:00Z' })]++
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 60) },
    )
    expect(seen.synced).toBeGreaterThan(0)
    expect(seen.rejected).toBeGreaterThan(0)
  })
})
