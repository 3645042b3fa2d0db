/**
 * Issue 16, acceptance: with query lag on, a first publish, a plan change and a move are each synced, never taken
 * for "superseded" by a read that had not caught up; with lag off too. The project's own blueprint and handlers, on
 * the strict runner (PLATFORM: each event in its own instance, the context as the platform builds it), the real
 * @sanity/client and auth0 SDK over HTTP. Each publish is followed by `settled()`, so no later revision exists: any
 * `superseded` here would be a stale read.
 */
import { createClient } from '@sanity/client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Auth0Emulator, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type BlueprintRunner, startBlueprintRunner } from '../../emulators/blueprint-runner.ts'
import { type ContentLakeEmulator, type QueryLag, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { accessSyncResources } from '../../sanity.blueprint.ts'
import { fanOutStatusId } from '../../src/core/fanout.ts'
import { statusDocumentId } from '../../src/status.ts'
import { functionEnv } from '../support/function-env.ts'
import { planDocuments, policyDocument, roleDocuments } from '../support/policies.ts'

const root = new URL('../../', import.meta.url).pathname
const ACME = 'org_acme123'
const GLOBEX = 'org_globex456'

let auth0: Auth0Emulator
let lake: ContentLakeEmulator
let runner: BlueprintRunner

async function start(queryLag: QueryLag | undefined, redelivery: 'none' | 'duplicate') {
  auth0 = await startAuth0Emulator({
    organizations: [
      { id: ACME, name: 'acme', metadata: { crmAccount: 'ACME-0042' } },
      { id: GLOBEX, name: 'globex', metadata: { crmAccount: 'GLX-0007' } },
    ],
  })
  lake = await startContentLakeEmulator({ projectId: 'lagproj', documents: [...roleDocuments(), ...planDocuments()] })
  const env = functionEnv(lake, auth0)
  runner = await startBlueprintRunner({
    lake,
    root,
    environments: [{ name: 'production', env, resources: accessSyncResources(env) }],
    platform: { queryLag, redelivery },
  })
}

afterEach(async () => {
  runner?.stop()
  await Promise.all([auth0?.close(), lake?.close()])
})

/** The outcomes the function recorded for the policy, newest first, with the revision each was for. */
const attempts = () =>
  ((lake.getDocument(statusDocumentId('policy-acme'))?.history ?? []) as { outcome: string; policyRevision: string }[])
    .map(({ outcome, policyRevision }) => `${outcome}@${policyRevision}`)
    .reverse()

describe.each([
  ['on (300 ms)', { ms: 300 }, 'none'],
  ['off', undefined, 'none'],
  // No redelivery is documented: an at-least-once queue may deliver every event twice, concurrently.
  ['on (300 ms), every event delivered twice', { ms: 300 }, 'duplicate'],
] as const)('query lag %s', (_label, queryLag, redelivery) => {
  beforeEach(async () => {
    await start(queryLag, redelivery)
  })

  it('syncs a first publish, a plan change and a move, each recorded as its own revision', async () => {
    const editor = createClient({ ...lake.clientConfig })
    const first = await editor.create(policyDocument({ _id: 'policy-acme', plan: 'pro', _rev: undefined }))
    await runner.settled()
    expect(auth0.getOrganization(ACME)?.metadata).toMatchObject({ plan: 'pro', sanityPolicyId: 'policy-acme' })

    const planChange = await editor.patch('policy-acme').set({ plan: 'team' }).commit()
    await runner.settled()
    expect(auth0.getOrganization(ACME)?.metadata).toMatchObject({ plan: 'team', sanityPolicyRev: planChange._rev })

    const move = await editor.patch('policy-acme').set({ auth0OrganizationId: GLOBEX }).commit()
    await runner.settled()
    expect(auth0.getOrganization(GLOBEX)?.metadata).toMatchObject({ plan: 'team', sanityPolicyRev: move._rev })
    expect(auth0.getOrganization(ACME)?.metadata).toEqual({ crmAccount: 'ACME-0042' })

    expect(runner.invocations.filter(({ error }) => error !== undefined)).toEqual([])
    const expected = [`synced@${first._rev}`, `synced@${planChange._rev}`, `synced@${move._rev}`]
    if (redelivery === 'none') expect(attempts()).toEqual(expected)
    // A second copy finds the work done (unchanged) or does it again; neither is superseded nor failed.
    else {
      expect([...new Set(attempts().filter((attempt) => attempt.startsWith('synced@')))]).toEqual(expected)
      expect(attempts().filter((attempt) => !/^(synced|unchanged)@/.test(attempt))).toEqual([])
    }
  })

  it('a role rename reaches the Organization through the fan-out, whose read joins the renamed role', async () => {
    const editor = createClient({ ...lake.clientConfig })
    await editor.create(policyDocument({ _id: 'policy-acme', _rev: undefined }))
    await runner.settled()
    expect(auth0.getOrganization(ACME)?.metadata).toMatchObject({ role: 'editor' })

    // Longer than a fan-out instance's cold start, so its first read would still see the old slug.
    if (queryLag) lake.setQueryLag({ ms: 2_500 })
    await editor
      .patch('role-editor')
      .set({ slug: { _type: 'slug', current: 'author' } })
      .commit()
    await runner.settled()
    expect(auth0.getOrganization(ACME)?.metadata).toMatchObject({ role: 'author', sanityPolicyId: 'policy-acme' })
    // Two copies of one fan-out event (one lineage) share the work list: the later claim takes it over and the other
    // copy stops and defers to it; neither fails.
    expect(runner.invocations.filter(({ error }) => error !== undefined)).toEqual([])
    expect(lake.getDocument(fanOutStatusId('role-editor'))).toMatchObject({ pending: [], phase: 'done' })
  })
})
