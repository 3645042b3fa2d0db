/**
 * The mass-revoke guard in the reconcile CLI (`run()`, what the bin calls), the engine and the scheduled repair:
 * real SDKs over HTTP against both emulators. Revokes are counted as PATCHes at the Auth0 emulator.
 */
import type { ScheduledFunctionContext } from '@sanity/functions'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { run } from '../../cli/reconcile.ts'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { type LocalStack, startLocalStack } from '../../emulators/stack.ts'
import { handler as scheduledHandler } from '../../functions/reconcile-access/index.ts'
import { RECONCILE_STATUS_ID } from '../../src/reconcile-status.ts'
import { reconcileTenant } from '../../src/sync/reconcile.ts'
import { roleDocuments } from '../support/policies.ts'
import { organization, policy, startTenant, syncedMetadata, type Tenant } from './support.ts'

let tenant: Tenant | undefined
let stack: LocalStack | undefined
const closers: (() => Promise<unknown>)[] = []
const saved = { ...process.env }
afterEach(async () => {
  await Promise.all([tenant?.close(), stack?.close(), ...closers.splice(0).map((close) => close())])
  tenant = undefined
  stack = undefined
  process.env = { ...saved }
})

async function cli(args: readonly string[], env: Record<string, string>) {
  let stdout = ''
  let stderr = ''
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
  }
  const code = await run(args, env, io)
  return { code, stdout, stderr }
}

/** Organizations carrying our marker (policy `policy-<id>`) and a key of their own. */
const marked = (ids: readonly string[]) =>
  ids.map((id) => organization(`org_${id}`, { crm: id.toUpperCase(), ...syncedMetadata(`policy-${id}`) }))
const revokes = (auth0: Auth0Emulator) => auth0.count({ method: 'PATCH' })

describe('empty read: reconcile --apply', () => {
  const orgs = marked(['a1', 'b2', 'c3'])

  it('a dataset with no published policy: 0 revokes, exit 1, the message names causes and the override', async () => {
    tenant = await startTenant({ organizations: [...orgs, organization('org_theirs')], policies: [] })
    const { code, stdout } = await cli(['--apply'], tenant.env)
    expect(code).toBe(1)
    expect(revokes(tenant.auth0)).toBe(0)
    expect(stdout).toContain('x org_a1  failed  not revoked: the mass-revoke guard refused all 3')
    expect(stdout).toContain('Refused: Refused to revoke 3 Organizations (org_a1, org_b2, org_c3): nothing was revoked')
    expect(stdout).toContain('returned no published accessPolicy at all')
    expect(stdout).toContain('a private dataset read without a token')
    expect(stdout).toContain('run again with --allow-mass-revoke')
    for (const org of orgs) expect(tenant.metadata(org.id)).toEqual(org.metadata)
  })

  it('--json says so in `revokeGuard`, and the entries fail with the reason; the message goes to stderr', async () => {
    tenant = await startTenant({ organizations: orgs, policies: [] })
    const { code, stdout, stderr } = await cli(['--apply', '--json'], tenant.env)
    expect(code).toBe(1)
    const doc = JSON.parse(stdout)
    expect(doc.revokeGuard).toMatchObject({ verdict: 'refused', reason: 'untrusted-read' })
    expect(doc.organizations.map((entry: { code: string }) => entry.code)).toEqual(Array(3).fill('untrusted-read'))
    expect(stderr).toContain('returned no published accessPolicy at all')
    expect(revokes(tenant.auth0)).toBe(0)
  })

  it('a narrowed run (--org) checks the whole dataset too', async () => {
    tenant = await startTenant({ organizations: orgs, policies: [] })
    const { code } = await cli(['--apply', '--org', 'org_a1'], tenant.env)
    expect(code).toBe(1)
    expect(revokes(tenant.auth0)).toBe(0)
  })

  it('the dry run warns that --apply would refuse', async () => {
    tenant = await startTenant({ organizations: orgs, policies: [] })
    const { code, stdout } = await cli([], tenant.env)
    expect(code).toBe(2)
    expect(stdout).toContain('--apply would refuse the revokes: Refused to revoke 3 Organizations')
  })

  it('a private dataset read with a token that cannot read the policies: the same refusal', async () => {
    const auth0 = await startAuth0Emulator({ organizations: orgs })
    const lake = await startContentLakeEmulator({
      aclMode: 'private',
      tokens: { 'sk-no-policy-read': { read: ['role'] } },
      documents: [...roleDocuments(), ...['a1', 'b2', 'c3'].map((id) => policy(`policy-${id}`, `org_${id}`))],
    })
    closers.push(auth0.close, lake.close)
    const env = {
      SANITY_PROJECT_ID: lake.projectId,
      SANITY_DATASET: lake.dataset,
      SANITY_API_TOKEN: 'sk-no-policy-read',
      SANITY_API_HOST: lake.url,
      AUTH0_DOMAIN: auth0.domain,
      AUTH0_CLIENT_ID: DEFAULT_CLIENT.clientId,
      AUTH0_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret,
    }
    const { code, stdout } = await cli(['--apply'], env)
    expect(code).toBe(1)
    expect(stdout).toContain('returned no published accessPolicy at all')
    expect(revokes(auth0)).toBe(0)
  })

  it('--allow-mass-revoke lets the revokes through, and says what it let through', async () => {
    tenant = await startTenant({ organizations: orgs, policies: [] })
    const { code, stdout } = await cli(['--apply', '--allow-mass-revoke'], tenant.env)
    expect(code).toBe(0)
    expect(revokes(tenant.auth0)).toBe(3)
    expect(stdout).toContain('--allow-mass-revoke let through what the guard refuses')
    for (const org of orgs) expect(tenant.metadata(org.id)).toEqual({ crm: org.metadata?.crm })
  })

  it('ALLOW_MASS_REVOKE in the environment does not: the CLI takes the flag, per run', async () => {
    tenant = await startTenant({ organizations: orgs, policies: [] })
    const { code } = await cli(['--apply'], { ...tenant.env, ALLOW_MASS_REVOKE: 'true' })
    expect(code).toBe(1)
    expect(revokes(tenant.auth0)).toBe(0)
  })
})

describe('mass revoke: more than max(REVOKE_GUARD_MIN_COUNT, REVOKE_GUARD_MAX_PERCENT % of the managed)', () => {
  const ids = Array.from({ length: 10 }, (_, i) => `m${i}`)
  /** Ten managed Organizations in sync; the first `orphans` lost their policy; one new policy to grant. */
  const tenantWith = (orphans: number) =>
    startTenant({
      organizations: [...marked(ids), organization('org_new')],
      policies: [
        ...ids.slice(orphans).map((id) => policy(`policy-${id}`, `org_${id}`)),
        policy('policy-new', 'org_new'),
      ],
    })

  it('6 of 10 (limit 5): no revoke is sent, the grant still is; exit 1 naming the numbers', async () => {
    tenant = await tenantWith(6)
    const { code, stdout } = await cli(['--apply'], tenant.env)
    expect(code).toBe(1)
    expect(stdout).toContain('6 of the 10 Organizations carrying this project')
    expect(stdout).toContain('REVOKE_GUARD_MAX_PERCENT=20 % of 10, at least REVOKE_GUARD_MIN_COUNT=5')
    expect(tenant.auth0.count({ method: 'PATCH' })).toBe(1)
    expect(tenant.auth0.count({ method: 'PATCH', path: '/api/v2/organizations/org_new' })).toBe(1)
    expect(tenant.metadata('org_new')).toMatchObject({ sanityPolicyId: 'policy-new' })
    for (const id of ids) expect(tenant.metadata(`org_${id}`)).toMatchObject({ sanityPolicyId: `policy-${id}` })
  })

  it('5 of 10 (the limit): all revoked', async () => {
    tenant = await tenantWith(5)
    const { code } = await cli(['--apply'], tenant.env)
    expect(code).toBe(0)
    expect(tenant.auth0.count({ method: 'PATCH' })).toBe(6)
    for (const id of ids.slice(0, 5)) expect(tenant.metadata(`org_${id}`)).toEqual({ crm: id.toUpperCase() })
  })

  it('the settings move the limit: REVOKE_GUARD_MIN_COUNT=6 lets 6 through', async () => {
    tenant = await tenantWith(6)
    const { code } = await cli(['--apply'], { ...tenant.env, REVOKE_GUARD_MIN_COUNT: '6' })
    expect(code).toBe(0)
    expect(tenant.auth0.count({ method: 'PATCH' })).toBe(7)
  })

  it('the engine: refused revokes are failed entries with the reason, tracked as failed; in-sync ones untouched', async () => {
    tenant = await tenantWith(6)
    const result = await reconcileTenant(tenant.deps(), { apply: true, track: 'all' })
    expect(result.revokeGuard).toMatchObject({ allow: false, reason: 'mass-revoke' })
    expect(result.summary.counts).toMatchObject({ grant: 1, revoke: 0, 'in sync': 4, failed: 6 })
    expect(result.entries.filter((entry) => entry.status === 'failed').map((entry) => entry.code)).toEqual(
      Array(6).fill('mass-revoke'),
    )
    expect(result.tracked.get('org_m0')).toMatchObject({ outcome: 'failed', error: { reason: 'mass-revoke' } })
    expect(result.unapplied).toEqual([])
  })
})

describe('the scheduled repair', () => {
  /** The scheduled function as the runtime calls it (see scheduled.test.ts). */
  async function scheduledRun(bed: LocalStack, env: Record<string, string> = {}) {
    Object.assign(process.env, {
      SANITY_PROJECT_ID: bed.lake.projectId,
      SANITY_DATASET: bed.lake.dataset,
      SANITY_API_HOST: bed.lake.url,
      ...env,
    })
    const context = { clientOptions: { token: 'robot-token' } } as ScheduledFunctionContext
    return scheduledHandler({ context }) as Promise<void>
  }
  beforeEach(() => {
    for (const name of ['ALLOW_MASS_REVOKE', 'RECONCILE_MAX_WRITES', 'SANITY_API_HOST']) delete process.env[name]
  })

  it('empty read: 0 revokes, the run fails, its status says why', async () => {
    const orgs = marked(['a1', 'b2', 'c3'])
    stack = await startLocalStack({ documents: roleDocuments(), auth0: { organizations: orgs } })
    await expect(scheduledRun(stack)).rejects.toMatchObject({
      reason: 'untrusted-read',
      message: expect.stringContaining('set ALLOW_MASS_REVOKE=true in the reconcile-access function'),
    })
    expect(stack.auth0.count({ method: 'PATCH' })).toBe(0)
    expect(stack.lake.getDocument(RECONCILE_STATUS_ID)).toMatchObject({
      outcome: 'failed',
      message: expect.stringContaining('returned no published accessPolicy at all'),
      failed: orgs.map((org) => ({ organizationId: org.id, reason: 'untrusted-read' })),
    })
  })

  it('ALLOW_MASS_REVOKE=true lets the revokes through', async () => {
    const orgs = marked(['a1', 'b2', 'c3'])
    stack = await startLocalStack({ documents: roleDocuments(), auth0: { organizations: orgs } })
    await scheduledRun(stack, { ALLOW_MASS_REVOKE: 'true' })
    expect(stack.auth0.count({ method: 'PATCH' })).toBe(3)
    for (const org of orgs) expect(stack.metadata(org.id)).toEqual({ crm: org.metadata?.crm })
    expect(stack.lake.getDocument(RECONCILE_STATUS_ID)).toMatchObject({ outcome: 'repaired', driftFixed: 3 })
  })

  it('a revoke is held, not starved: with a write budget, the run that finds it writes it', async () => {
    // One orphan first in listing order, then 59 Organizations to grant (two pages of 50), 5 writes per run, and a
    // slow listing: the grants of page 1 would use up the budget while page 2 is listed, and the held revoke would
    // be put back, run after run. Listing stops once the writes found fill the budget; the revoke goes first.
    const grants = Array.from({ length: 59 }, (_, i) => organization(`org_g${String(i).padStart(2, '0')}`))
    stack = await startLocalStack({
      documents: [...roleDocuments(), ...grants.map((org) => policy(`policy-${org.id}`, org.id))],
      auth0: { organizations: [...marked(['orphan']), ...grants] },
    })
    stack.auth0.injectFault({ method: 'GET', path: '/api/v2/organizations', delayMs: 1_000, times: Infinity })
    await scheduledRun(stack, { RECONCILE_MAX_WRITES: '5' })
    expect(stack.metadata('org_orphan')).toEqual({ crm: 'ORPHAN' })
    expect(stack.auth0.count({ method: 'PATCH' })).toBe(5)
    expect(stack.lake.getDocument(RECONCILE_STATUS_ID)).toMatchObject({ outcome: 'partial', passComplete: false })
  })
})
