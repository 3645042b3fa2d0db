/**
 * The mass-revoke guard in the function: the real handler, the real SDKs over HTTP, a private Content Lake
 * emulator with a token table. A token that cannot read the policies sees an empty dataset, not an error; the
 * function must then revoke nothing, fail visibly and say why, in the invocation and in the sync status.
 */
import type { FunctionContext } from '@sanity/functions'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { handler } from '../../functions/sync-access-policy/index.ts'
import { statusDocumentId } from '../../src/status.ts'
import { organization, policy, syncedMetadata } from '../reconcile/support.ts'
import { roleDocuments } from '../support/policies.ts'

/** A robot token whose role reads the sync status but not the policies (and writes). */
const ROBOT_NO_POLICY_READ = 'sk-robot-no-policy-read'
const EDITOR = 'sk-editor-reads-everything'
const ACME = 'org_acme123'
const acmeKeys = () => ({ crmAccount: 'ACME-0042', ...syncedMetadata('policy-acme') })

let auth0: Auth0Emulator
let lake: ContentLakeEmulator
const saved = { ...process.env }

async function start(documents: { _id: string }[]) {
  ;[lake, auth0] = await Promise.all([
    startContentLakeEmulator({
      aclMode: 'private',
      tokens: {
        [ROBOT_NO_POLICY_READ]: { read: ['accessPolicySyncStatus'], write: true },
        [EDITOR]: { read: true, write: true },
      },
      documents: [...roleDocuments(), ...documents],
    }),
    startAuth0Emulator({ organizations: [organization(ACME, acmeKeys())] }),
  ])
  Object.assign(process.env, {
    AUTH0_DOMAIN: auth0.domain,
    AUTH0_CLIENT_ID: DEFAULT_CLIENT.clientId,
    AUTH0_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret,
    SANITY_PROJECT_ID: lake.projectId,
    SANITY_DATASET: lake.dataset,
  })
  delete process.env.ALLOW_MASS_REVOKE
}
afterEach(async () => {
  process.env = { ...saved }
  await Promise.all([auth0.close(), lake.close()])
})

/**
 * The function as the runtime invokes it for this dataset; `local` as under `sanity functions test`. The event is
 * the one `sanity functions test --document-id policy-acme` sends (no `operation`: run by hand) unless told.
 */
function invoke(
  token: string | undefined,
  options: { local?: boolean; operation?: string; moved?: { from: string; to: string }; policyId?: string } = {},
) {
  const context = {
    clientOptions: { ...lake.clientConfig, ...(token ? { token } : {}) },
    eventResourceType: 'dataset',
    eventResourceId: `${lake.projectId}.${lake.dataset}`,
    ...(options.local ? { local: true } : {}),
  } as unknown as FunctionContext
  const data = {
    _id: options.policyId ?? 'policy-acme',
    _rev: 'r1',
    operation: options.operation ?? null,
    auth0OrganizationId: options.moved?.to ?? ACME,
    ...(options.moved ? { previousOrganizationId: options.moved.from } : {}),
  }
  return handler({ context, event: { data } } as never) as Promise<void>
}

const revokes = () => auth0.count({ method: 'PATCH' })

describe('the function refuses to revoke on a read it cannot trust', () => {
  beforeEach(() =>
    start([policy('policy-acme', ACME), policy('policy-other', ACME, { _createdAt: '2026-03-01T00:00:00Z' })]),
  )

  it('a token without read access to the policies: no revoke, the invocation fails naming causes and override', async () => {
    // Deployed: policy-other, which lost org_acme123 to the older policy-acme, moves to another Organization. The
    // read sees no policy at all, so org_acme123 looks orphaned; policy-acme's keys must stay.
    const moved = { operation: 'update', policyId: 'policy-other', moved: { from: ACME, to: 'org_new' } }
    const failure = await invoke(ROBOT_NO_POLICY_READ, moved).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(failure).toMatchObject({ name: 'SyncError', reason: 'untrusted-read', organizationId: ACME })
    const { message } = failure as Error
    expect(message).toContain('Refused to revoke 1 Organization (org_acme123): nothing was revoked')
    expect(message).toContain(`dataset "${lake.dataset}" of project "${lake.projectId}"`)
    expect(message).toContain('a robot token without read access to the dataset')
    expect(message).toContain('ALLOW_MASS_REVOKE=true')
    expect(revokes()).toBe(0)
    expect(auth0.getOrganization(ACME)?.metadata).toEqual(acmeKeys())
    // The editor sees it in the Studio: the policy's sync status names the reason and the message.
    expect(lake.getDocument(statusDocumentId('policy-other'))).toMatchObject({
      outcome: 'failed',
      reason: 'untrusted-read',
      message: expect.stringContaining('nothing was revoked'),
      organizations: [{ organizationId: ACME, outcome: 'failed', reason: 'untrusted-read' }],
    })
  })

  it('`--document-id` run by hand with that token: refused the same way', async () => {
    await expect(invoke(ROBOT_NO_POLICY_READ)).rejects.toMatchObject({ reason: 'untrusted-read' })
    expect(revokes()).toBe(0)
  })

  it('the same invocation with a token that reads the policies changes nothing (control)', async () => {
    await invoke(EDITOR)
    expect(revokes()).toBe(0)
    expect(lake.getDocument(statusDocumentId('policy-acme'))).toMatchObject({ outcome: 'unchanged' })
  })

  it('under `sanity functions test` without --with-user-token (anonymous, private dataset) it says what to pass', async () => {
    const failure = await invoke(undefined, { local: true }).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(failure).toMatchObject({ reason: 'untrusted-read' })
    expect((failure as Error).message).toContain('pass `--with-user-token`')
    expect(revokes()).toBe(0)
  })

  it('ALLOW_MASS_REVOKE=true lets the refused revoke through', async () => {
    process.env.ALLOW_MASS_REVOKE = 'true'
    await invoke(ROBOT_NO_POLICY_READ)
    expect(revokes()).toBe(1)
    expect(auth0.getOrganization(ACME)?.metadata).toEqual({ crmAccount: 'ACME-0042' })
  })

  it('a malformed ALLOW_MASS_REVOKE fails the invocation naming it, before anything is sent', async () => {
    process.env.ALLOW_MASS_REVOKE = 'yes please'
    await expect(invoke(ROBOT_NO_POLICY_READ)).rejects.toMatchObject({
      reason: 'configuration',
      message: expect.stringContaining('ALLOW_MASS_REVOKE must be "true" or "false"'),
    })
    expect(revokes()).toBe(0)
  })
})

describe('deleting the last policy of a dataset', () => {
  beforeEach(() => start([]))

  it('the platform’s delete event of the policy that wrote the keys revokes them (grants and deletes keep working)', async () => {
    await invoke(EDITOR, { operation: 'delete' })
    expect(revokes()).toBe(1)
    expect(auth0.getOrganization(ACME)?.metadata).toEqual({ crmAccount: 'ACME-0042' })
  })

  it('but not under `sanity functions test`, which can send any event: refused, with the flag to pass', async () => {
    await expect(invoke(EDITOR, { local: true, operation: 'delete' })).rejects.toMatchObject({
      reason: 'untrusted-read',
    })
    expect(revokes()).toBe(0)
  })

  it('nor a run by hand: a read that shows no policy at all is not evidence of a deletion', async () => {
    await expect(invoke(EDITOR)).rejects.toMatchObject({ reason: 'untrusted-read' })
    expect(revokes()).toBe(0)
  })

  it('a late update event of the deleted policy hands its Organization to the deletion: nothing written, no failure', async () => {
    await invoke(EDITOR, { operation: 'update' })
    expect(revokes()).toBe(0)
  })
})
