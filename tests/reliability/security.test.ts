/**
 * Security: least privilege, no secret or token in logs or errors, and nothing outside the allowlist reaching
 * Auth0 — even if the blueprint's projection or the function's query were widened by mistake.
 */
import { inspect } from 'node:util'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DEFAULT_CLIENT } from '../../emulators/auth0.ts'
import { createFunctionsRuntime } from '../../emulators/functions-runtime.ts'
import { type LocalStack, startLocalStack } from '../../emulators/stack.ts'
import { handler } from '../../functions/sync-access-policy/index.ts'
import { SYNC_FUNCTION } from '../../sanity.blueprint.ts'
import type { OrganizationId } from '../../src/core/auth0-rules.ts'
import { OWNED_KEYS } from '../../src/core/metadata.ts'
import { planOrganization } from '../../src/core/planner.ts'
import { policyDocument, policySource, roleDocuments } from '../support/policies.ts'

const ORG = 'org_acme123'
const foreign = { crmAccount: 'ACME-0042' }
const allowed = new Set<string>([...OWNED_KEYS, ...Object.keys(foreign)])
const secret = DEFAULT_CLIENT.clientSecret

let bed: LocalStack
beforeEach(async () => {
  bed = await startLocalStack({
    documents: roleDocuments(),
    auth0: { organizations: [{ id: ORG, name: 'acme', metadata: { ...foreign } }] },
  })
})
afterEach(async () => {
  await bed.close()
})

function patchedKeys(): string[] {
  return bed.auth0
    .filterRequests({ method: 'PATCH' })
    .flatMap((request) => Object.keys((request.body as { metadata: object }).metadata))
}

describe('least privilege', () => {
  it('the emulator client holds exactly the documented scopes, and that is enough', async () => {
    expect([...DEFAULT_CLIENT.scopes].sort()).toEqual(['read:organizations', 'update:organizations'])
    await bed.sanity.createOrReplace(policyDocument())
    const [invocation] = await bed.deliver()
    expect(invocation?.error).toBeUndefined()
    expect(bed.metadata(ORG)).toMatchObject({ plan: 'pro' })
  })
})

describe('no secret or token in logs or errors', () => {
  it.each([
    ['403 on write', () => bed.auth0.injectFault({ method: 'PATCH', status: 403, times: Infinity })],
    ['401 on every call', () => bed.auth0.injectFault({ path: /organizations/, status: 401, times: Infinity })],
    ['400 from Auth0', () => bed.auth0.injectFault({ method: 'PATCH', status: 400, times: Infinity })],
    ['connection reset', () => bed.auth0.injectFault({ method: 'GET', reset: true, times: Infinity })],
    [
      'token revoked, then the token endpoint down',
      () => {
        bed.auth0.revokeTokens()
        bed.auth0.injectFault({ path: '/oauth/token', status: 503, times: Infinity })
      },
    ],
  ])('%s', async (_name, inject) => {
    const lines: string[] = []
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg, { depth: 10 }))).join(' '))
      }),
    )
    try {
      // Warm the token first where possible, so a real token exists that could leak.
      await bed.sanity.createOrReplace(policyDocument({ plan: 'team' }))
      await bed.deliver()
      inject()
      await bed.sanity.createOrReplace(policyDocument({ plan: 'enterprise' }))
      const [invocation] = await bed.deliver()
      expect(invocation?.error).toBeDefined()
      const error = invocation?.error as Error
      const everything = [
        ...lines,
        error.message,
        String(error.stack),
        JSON.stringify(error),
        inspect(error, { depth: 20, showHidden: true }),
      ].join('\n')
      expect(everything).not.toContain(secret)
      for (const token of bed.auth0.issuedTokens()) expect(everything).not.toContain(token)
    } finally {
      for (const spy of spies) spy.mockRestore()
    }
  })
})

describe('the allowlist holds even when the inputs are widened by mistake', () => {
  it('a projection widened to the whole document changes nothing that reaches Auth0', async () => {
    const widened = {
      ...SYNC_FUNCTION,
      event: { ...SYNC_FUNCTION.event, projection: '{..., "operation": delta::operation()}' as const },
    }
    const runtime = createFunctionsRuntime({
      fn: widened,
      handler,
      clientOptions: bed.lake.clientConfig,
      dataset: () => bed.lake.documents(),
    })
    const doc = policyDocument({ secretPricing: 'do not leak', internalNotes: 'private' })
    await bed.sanity.createOrReplace(doc)
    const invocation = await runtime.deliver({ id: doc._id, before: null, after: bed.lake.getDocument(doc._id) })
    expect(invocation?.error).toBeUndefined()
    expect(invocation?.data).toMatchObject({ internalNotes: 'private' })
    expect(patchedKeys().length).toBeGreaterThan(0)
    for (const key of patchedKeys()) expect(allowed).toContain(key)
    expect(JSON.stringify(bed.auth0.filterRequests({ method: 'PATCH' }))).not.toMatch(/leak|private/)
  })

  it('extra fields in what the Content Lake returns never become metadata', () => {
    const widened = {
      ...policySource(),
      title: 'T',
      internalNotes: 'private',
      secretPricing: 'x',
      metadata: { a: 'b' },
    }
    const plan = planOrganization({ organizationId: ORG as OrganizationId, claimants: [widened], observed: foreign })
    expect(plan.action).toBe('write')
    if (plan.action === 'write') expect(Object.keys(plan.metadata).sort()).toEqual([...allowed].sort())
  })
})
