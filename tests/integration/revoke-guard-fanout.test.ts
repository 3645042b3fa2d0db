/**
 * The mass-revoke guard in a fan-out: its work list is reconciled through the shared engine, so a list whose
 * Organizations all turn out orphaned is refused as a whole; the list is kept for after the fix or the override.
 * Real SDKs over HTTP against both emulators; the list is the one a role fan-out left behind (a stalled fan-out,
 * which the scheduled repair continues).
 */
import { createClient } from '@sanity/client'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { DEFAULTS } from '../../src/config.ts'
import { fanOutStatusId } from '../../src/core/fanout.ts'
import { REVOKE_GUARD_DEFAULTS } from '../../src/core/revoke-guard.ts'
import { connectAuth0 } from '../../src/gateways/auth0.ts'
import { createFanOutStore } from '../../src/gateways/fanout.ts'
import { createPolicyReader } from '../../src/gateways/sanity.ts'
import { resumeStalledFanOuts } from '../../src/sync/fanout.ts'
import { organization, policy, syncedMetadata } from '../reconcile/support.ts'
import { roleDocuments } from '../support/policies.ts'

const ORGS = Array.from({ length: 6 }, (_, i) => `org_m${i}`)
let auth0: Auth0Emulator
let lake: ContentLakeEmulator
beforeEach(async () => {
  ;[auth0, lake] = await Promise.all([
    // Six Organizations carrying the keys of policies that are gone from the dataset.
    startAuth0Emulator({
      organizations: ORGS.map((id) => organization(id, { crm: id, ...syncedMetadata(`policy-${id}`) })),
    }),
    startContentLakeEmulator({ documents: [...roleDocuments(), policy('policy-other', 'org_other')] }),
  ])
  await createClient(lake.clientConfig).create({
    _id: fanOutStatusId('role-editor'),
    _type: 'accessFanOutStatus',
    subjectType: 'role',
    subjectId: 'role-editor',
    pending: ORGS,
    pendingCount: ORGS.length,
    generation: 1,
    round: 0,
    leaseOwner: '',
    leaseUntil: 0,
  })
})
afterEach(async () => {
  await Promise.all([auth0.close(), lake.close()])
})

function resume(allowMassRevoke: boolean) {
  const client = createClient(lake.clientConfig)
  const deadline = Date.now() + 30_000
  const connection = connectAuth0({
    domain: auth0.domain,
    clientId: DEFAULT_CLIENT.clientId,
    clientSecret: DEFAULT_CLIENT.clientSecret,
    ...DEFAULTS,
  })
  return resumeStalledFanOuts(
    {
      reconcile: { policies: createPolicyReader(client), organizations: connection.forInvocation(deadline) },
      store: createFanOutStore(client),
      invocationId: 'scheduled-run',
    },
    { deadline, revokeGuard: { ...REVOKE_GUARD_DEFAULTS, allowMassRevoke } },
  )
}

it('6 revokes of 6 managed (limit 5): none sent, the fan-out fails with the reason and keeps its list', async () => {
  const [report] = await resume(false)
  expect(report).toMatchObject({ outcome: 'failed', written: 0, remaining: 6, error: { reason: 'mass-revoke' } })
  expect(report?.error?.message).toContain('ALLOW_MASS_REVOKE=true')
  expect(auth0.count({ method: 'PATCH' })).toBe(0)
  expect(lake.getDocument(fanOutStatusId('role-editor'))).toMatchObject({ pending: ORGS })
})

it('ALLOW_MASS_REVOKE lets them through and the list is done', async () => {
  const [report] = await resume(true)
  expect(report).toMatchObject({ outcome: 'done', written: 6, remaining: 0 })
  expect(auth0.count({ method: 'PATCH' })).toBe(6)
  for (const id of ORGS) expect(auth0.getOrganization(id)?.metadata).toEqual({ crm: id })
})
