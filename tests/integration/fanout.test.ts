/**
 * Role and plan edits reach every organization they feed: the blueprint's document functions (all of them, as
 * the platform runs them: their own filter and projection in delta mode, emulators/blueprint-runner.ts) against
 * both emulators, with the real `auth0` SDK and `@sanity/client`.
 */
import { fileURLToPath } from 'node:url'
import { createClient } from '@sanity/client'
import { afterEach, describe, expect, it } from 'vitest'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type BlueprintRunner, LENIENT, startBlueprintRunner } from '../../emulators/blueprint-runner.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { blueprintFor } from '../../sanity.blueprint.ts'
import { readAuth0Config } from '../../src/config.ts'
import { fanOutStatusId } from '../../src/core/fanout.ts'
import { OWNED_KEYS } from '../../src/core/metadata.ts'
import { connectAuth0 } from '../../src/gateways/auth0.ts'
import { createFanOutStore } from '../../src/gateways/fanout.ts'
import { createPolicyReader } from '../../src/gateways/sanity.ts'
import { resumeStalledFanOuts, runFanOut } from '../../src/sync/fanout.ts'
import { planDocuments, policyDocument, roleDocuments } from '../support/policies.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

interface Bed {
  auth0: Auth0Emulator
  lake: ContentLakeEmulator
  runner: BlueprintRunner
  writes(org?: string): number
  metadata(org: string): Record<string, string> | undefined
  invocations(name: string): number
}
let bed: Bed | undefined
afterEach(async () => {
  bed?.runner.stop()
  await Promise.all([bed?.auth0.close(), bed?.lake.close()])
  bed = undefined
  delete process.env.FANOUT_MAX_WRITES
})

/** Organizations org_a1… each with a foreign key; policies: a1–a3 on pro/editor, b1 on team/viewer, c1 paused. */
async function start(): Promise<Bed> {
  const orgs = ['org_a1', 'org_a2', 'org_a3', 'org_b1', 'org_c1'].map((id) => ({
    id,
    name: id.replace('_', '-'),
    metadata: { crmAccount: `CRM-${id}` },
  }))
  const auth0 = await startAuth0Emulator({ organizations: orgs })
  const lake = await startContentLakeEmulator({ documents: [...roleDocuments(), ...planDocuments()] })
  process.env.AUTH0_DOMAIN = auth0.domain
  process.env.AUTH0_CLIENT_ID = DEFAULT_CLIENT.clientId
  process.env.AUTH0_CLIENT_SECRET = DEFAULT_CLIENT.clientSecret
  const runner = await startBlueprintRunner({
    lake,
    blueprint: blueprintFor({ SANITY_PROJECT_ID: lake.projectId, SANITY_DATASET: lake.dataset }),
    root,
    // Asserts right after delivery, in commit order: the runner before issue 16.
    platform: LENIENT,
  })
  const policy = (id: string, org: string, fields: Record<string, unknown> = {}) =>
    policyDocument({ _id: id, title: id, auth0OrganizationId: org, _createdAt: undefined, ...fields })
  const sanity = createClient(lake.clientConfig)
  await sanity
    .transaction()
    .create(policy('policy-a1', 'org_a1'))
    .create(policy('policy-a2', 'org_a2'))
    .create(policy('policy-a3', 'org_a3', { plan: undefined, role: undefined }))
    .create(policy('policy-b1', 'org_b1', { plan: 'team', role: { _type: 'reference', _ref: 'role-viewer' } }))
    .create(policy('policy-c1', 'org_c1', { status: 'paused' }))
    .commit()
  await runner.settled()
  bed = {
    auth0,
    lake,
    runner,
    writes: (org) => auth0.count({ method: 'PATCH', ...(org ? { path: `/api/v2/organizations/${org}` } : {}) }),
    metadata: (org) => auth0.getOrganization(org)?.metadata,
    invocations: (name) => runner.invocations.filter((invocation) => invocation.functionName === name).length,
  }
  for (const invocation of runner.invocations) expect(invocation.error).toBeUndefined()
  return bed
}

describe('a plan edit', () => {
  it('its entitlements reach every organization on the plan; the others are untouched, foreign keys kept', async () => {
    const { lake, runner, writes, metadata, invocations } = await start()
    expect(metadata('org_a1')).toMatchObject({ plan: 'pro', entitlements: '["audit-log","sso"]' })
    const before = { b1: metadata('org_b1'), c1: metadata('org_c1'), a3: metadata('org_a3') }
    const written = writes()

    await createClient(lake.clientConfig)
      .patch('plan-pro')
      .set({ entitlements: ['sso', 'audit-log', 'scim'] })
      .commit()
    await runner.settled()

    expect(invocations('fan-out-plan')).toBe(1)
    for (const org of ['org_a1', 'org_a2']) {
      expect(metadata(org)).toMatchObject({
        crmAccount: `CRM-${org}`,
        plan: 'pro',
        role: 'editor',
        entitlements: '["audit-log","scim","sso"]',
        sanityPolicyId: `policy-${org.slice(4)}`,
      })
      expect(Object.keys(metadata(org) ?? {}).sort()).toEqual(['crmAccount', ...OWNED_KEYS].sort())
    }
    expect(writes() - written).toBe(2)
    // a3 has no plan: the default plan ("free") feeds it, not pro. b1 is on team, c1 is paused.
    expect({ b1: metadata('org_b1'), c1: metadata('org_c1'), a3: metadata('org_a3') }).toEqual(before)
    expect(lake.getDocument(fanOutStatusId('plan-pro'))).toMatchObject({
      subjectType: 'plan',
      phase: 'done',
      pending: [],
      targeted: 2,
      written: 2,
      invocations: 1,
    })
  })

  it('the default plan feeds policies without a plan', async () => {
    const { lake, runner, writes, metadata } = await start()
    const written = writes()
    await createClient(lake.clientConfig)
      .patch('plan-free')
      .set({ entitlements: ['community'] })
      .commit()
    await runner.settled()
    expect(metadata('org_a3')).toMatchObject({ plan: 'free', entitlements: '["community"]' })
    expect(writes() - written).toBe(1)
  })

  it('a key change re-syncs the policies on the old key, reported invalid, with no entitlements (fail closed)', async () => {
    const { lake, runner, metadata } = await start()
    await createClient(lake.clientConfig)
      .patch('plan-team')
      .set({ key: { _type: 'slug', current: 'teams' } })
      .commit()
    await runner.settled()
    expect(metadata('org_b1')).toMatchObject({ plan: 'team', entitlements: '[]', crmAccount: 'CRM-org_b1' })
    expect(lake.getDocument(fanOutStatusId('plan-team'))).toMatchObject({
      invalidCount: 1,
      invalidPolicies: [
        { policyId: 'policy-b1', message: expect.stringMatching(/"team" is not the key of a published plan/) },
      ],
    })
  })

  it('deleting a plan that policies use: they are reported invalid and lose its entitlements, nothing else', async () => {
    const { lake, runner, metadata, invocations } = await start()
    const before = metadata('org_a1')
    await createClient(lake.clientConfig).delete('plan-pro')
    await runner.settled()
    expect(invocations('fan-out-plan')).toBe(1)
    for (const org of ['org_a1', 'org_a2']) {
      expect(metadata(org)).toEqual({
        ...before,
        crmAccount: `CRM-${org}`,
        sanityPolicyId: `policy-${org.slice(4)}`,
        entitlements: '[]',
        sanityPolicyRev: expect.any(String),
        sanityPolicyUpdatedAt: expect.any(String),
      })
    }
    expect(lake.getDocument(fanOutStatusId('plan-pro'))).toMatchObject({ invalidCount: 2, phase: 'done' })
  })
})

describe('a role edit', () => {
  it('its new slug reaches every organization using the role; the others are untouched, foreign keys kept', async () => {
    const { lake, runner, writes, metadata, invocations } = await start()
    const before = { b1: metadata('org_b1'), a3: metadata('org_a3'), c1: metadata('org_c1') }
    const written = writes()
    await createClient(lake.clientConfig)
      .patch('role-editor')
      .set({ slug: { _type: 'slug', current: 'author' } })
      .commit()
    await runner.settled()
    expect(invocations('fan-out-role')).toBe(1)
    for (const org of ['org_a1', 'org_a2']) {
      expect(metadata(org)).toMatchObject({ crmAccount: `CRM-${org}`, role: 'author', plan: 'pro' })
    }
    expect(writes() - written).toBe(2)
    expect({ b1: metadata('org_b1'), a3: metadata('org_a3'), c1: metadata('org_c1') }).toEqual(before)
  })

  it('deleting a role that policies use: they are reported invalid and Auth0 keeps what it had', async () => {
    const { lake, runner, writes, metadata } = await start()
    const before = metadata('org_a1')
    const written = writes()
    await createClient(lake.clientConfig).delete('role-editor')
    await runner.settled()
    expect(writes()).toBe(written)
    expect(metadata('org_a1')).toEqual(before)
    expect(lake.getDocument(fanOutStatusId('role-editor'))).toMatchObject({
      invalidCount: 2,
      invalidPolicies: expect.arrayContaining([expect.objectContaining({ policyId: 'policy-a1' })]),
      pending: [],
    })
  })
})

describe('edits Auth0 does not get', () => {
  it('a title-only edit of a role or a plan starts no function and makes 0 Auth0 writes', async () => {
    const { lake, runner, writes, invocations } = await start()
    const written = writes()
    const count = runner.invocations.length
    await createClient(lake.clientConfig).patch('role-editor').set({ title: 'Editors' }).commit()
    await createClient(lake.clientConfig)
      .patch('plan-pro')
      .set({ title: 'Professional', description: 'renamed' })
      .commit()
    await runner.settled()
    expect(runner.invocations.length).toBe(count)
    expect(invocations('fan-out-role') + invocations('fan-out-plan')).toBe(0)
    expect(writes()).toBe(written)
  })
})

describe('a fan-out larger than one invocation', () => {
  it('writes what fits its budget, records the rest, and the next invocations finish it', async () => {
    const { lake, runner, writes, metadata, invocations } = await start()
    process.env.FANOUT_MAX_WRITES = '1'
    const written = writes()
    await createClient(lake.clientConfig)
      .patch('role-editor')
      .set({ slug: { _type: 'slug', current: 'author' } })
      .commit()
    await runner.settled()
    // Two organizations, one write per invocation: the edit, then one continuation from the status document.
    expect(invocations('fan-out-role')).toBe(2)
    expect(writes() - written).toBe(2)
    expect(['org_a1', 'org_a2'].map((org) => metadata(org)?.role)).toEqual(['author', 'author'])
    expect(lake.getDocument(fanOutStatusId('role-editor'))).toMatchObject({
      phase: 'done',
      pending: [],
      invocations: 2,
      written: 2,
      lastRun: { written: 1, remaining: 0 },
    })
  })
})

describe('an invocation that dies before recording what it did', () => {
  it('loses nothing: the list it claimed stays, and the scheduled reconcile (once its lease ran out) finishes it', async () => {
    const { lake, runner, writes, metadata } = await start()
    process.env.FANOUT_MAX_WRITES = '1'
    // The status write at the end of the run never lands, as if the invocation was killed after its Auth0 write.
    let dying = true
    lake.use((context) => {
      const body = JSON.stringify(context.body ?? '')
      if (!dying || context.method !== 'POST' || !body.includes('"lastRun"')) return false
      context.send(503, { error: 'killed' })
      return true
    })
    const written = writes()
    await createClient(lake.clientConfig)
      .patch('role-editor')
      .set({ slug: { _type: 'slug', current: 'author' } })
      .commit()
    await runner.settled()
    const [first, ...others] = runner.invocations.filter((invocation) => invocation.functionName === 'fan-out-role')
    expect(first?.error).toBeDefined()
    expect(others).toEqual([])
    expect(writes() - written).toBe(1)
    const status = lake.getDocument(fanOutStatusId('role-editor'))
    expect(status).toMatchObject({ pending: ['org_a1', 'org_a2'], phase: 'running' })

    dying = false
    const config = readAuth0Config(process.env)
    const client = createClient(lake.clientConfig)
    const deadline = Date.now() + 30_000
    const deps = {
      reconcile: { policies: createPolicyReader(client), organizations: connectAuth0(config).forInvocation(deadline) },
      store: createFanOutStore(client),
      invocationId: 'scheduled-run',
    }
    // While its lease holds, nobody else takes the list; once it ran out, the scheduled reconcile continues it.
    expect(await resumeStalledFanOuts(deps, { deadline })).toEqual([])
    const reports = await resumeStalledFanOuts(deps, { deadline, now: () => Number(status?.leaseUntil) + 1 })
    expect(reports).toMatchObject([
      { kind: 'role', subjectId: 'role-editor', outcome: 'done', written: 1, remaining: 0 },
    ])
    expect(['org_a1', 'org_a2'].map((org) => metadata(org)?.role)).toEqual(['author', 'author'])
    expect(writes() - written).toBe(2)
    expect(lake.getDocument(fanOutStatusId('role-editor'))).toMatchObject({ pending: [], phase: 'done' })
  })

  it('while its lease holds, a new edit adds to the list and leaves; nothing runs twice at once', async () => {
    const { lake } = await start()
    const client = createClient(lake.clientConfig)
    await client.create({
      _id: fanOutStatusId('role-editor'),
      _type: 'accessFanOutStatus',
      subjectType: 'role',
      subjectId: 'role-editor',
      pending: ['org_x1'],
      generation: 1,
      leaseOwner: 'someone-else',
      leaseUntil: Date.now() + 60_000,
    })
    const config = readAuth0Config(process.env)
    const deadline = Date.now() + 30_000
    const report = await runFanOut(
      { kind: 'role', subjectId: 'role-editor', operation: 'update', continuation: false, keys: [] },
      {
        reconcile: {
          policies: createPolicyReader(client),
          organizations: connectAuth0(config).forInvocation(deadline),
        },
        store: createFanOutStore(client),
        invocationId: 'newcomer',
      },
      { deadline },
    )
    expect(report).toMatchObject({ outcome: 'deferred', written: 0, remaining: 3 })
    expect(lake.getDocument(fanOutStatusId('role-editor'))).toMatchObject({
      pending: ['org_x1', 'org_a1', 'org_a2'],
      generation: 2,
      leaseOwner: 'someone-else',
    })
  })
})
