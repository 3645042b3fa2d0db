/**
 * `access-sync reconcile` as users run it: a real child process (Node 24, the package's bin) against both
 * emulators. Exit codes, the printed plan, `--json`, narrowing, settings errors, secrets, progress and Ctrl-C.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { run } from '../../cli/reconcile.ts'
import { organization, policy, startTenant, syncedMetadata, type Tenant } from './support.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const bin = `${root}cli/access-sync.ts`

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

function cli(args: readonly string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, env: cleanEnv(env), timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** The same command in this process (`run` is what the bin calls): quicker where no signal or bin is involved. */
async function inProcess(args: readonly string[], env: Record<string, string | undefined>): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
  }
  const [command, ...rest] = args
  expect(command).toBe('reconcile')
  const code = await run(rest, env, io)
  return { code, stdout, stderr }
}

/** The test process's environment minus any real settings, plus the tenant's. */
function cleanEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(SANITY_|AUTH0_)/.test(name)))
  return { ...base, ...env }
}

let tenant: Tenant | undefined
afterEach(async () => {
  await tenant?.close()
  tenant = undefined
})

const drifted = () =>
  startTenant({
    organizations: [
      organization('org_a1', { crm: 'A-1' }),
      organization('org_b2', { crm: 'B-2', ...syncedMetadata('policy-b') }),
      organization('org_orphan', { crm: 'O', ...syncedMetadata('policy-gone') }),
    ],
    policies: [policy('policy-a', 'org_a1'), policy('policy-b', 'org_b2')],
  })

describe('access-sync reconcile', () => {
  it('the package bin resolves with npx in a clone (`npx access-sync reconcile --help`)', async () => {
    const { stdout } = await promisify(execFile)('npx', ['--no-install', 'access-sync', 'reconcile', '--help'], {
      cwd: root,
      env: cleanEnv({}),
    })
    expect(stdout).toContain('Usage: access-sync reconcile')
  })

  it('dry run: prints the plan, writes nothing, exits 2; after --apply (exit 0) it exits 0', async () => {
    tenant = await drifted()
    const plan = await cli(['reconcile'], tenant.env)
    expect(plan.code).toBe(2)
    expect(plan.stdout).toContain('+ org_a1  grant  policy policy-a grants access; Auth0 holds none of it yet')
    expect(plan.stdout).toMatch(/- org_orphan {2}revoke {2}orphan/)
    expect(plan.stdout).toMatch(/plan\s+\(absent\) → "pro"/)
    expect(plan.stdout).toContain('Plan: 1 to grant, 1 to revoke, 1 in sync, 0 conflict, 0 invalid, 0 failed')
    expect(tenant.auth0.count({ method: 'PATCH' })).toBe(0)

    const applied = await cli(['reconcile', '--apply'], tenant.env)
    expect(applied.code).toBe(0)
    expect(applied.stdout).toContain('✓ org_a1  granted')
    expect(applied.stdout).toContain('✓ org_orphan  revoked')
    expect(tenant.metadata('org_a1')).toEqual({ crm: 'A-1', ...syncedMetadata('policy-a') })
    expect(tenant.metadata('org_orphan')).toEqual({ crm: 'O' })

    const after = await cli(['reconcile'], tenant.env)
    expect(after.code).toBe(0)
    expect(after.stdout).toContain('Plan: 0 to grant, 0 to revoke, 2 in sync')
  })

  it('--json: one document on stdout with the plan, progress on stderr', async () => {
    tenant = await drifted()
    const { code, stdout, stderr } = await inProcess(['reconcile', '--json'], tenant.env)
    expect(code).toBe(2)
    const doc = JSON.parse(stdout)
    expect(doc).toEqual({
      command: 'reconcile',
      mode: 'plan',
      exitCode: 2,
      summary: {
        grant: 1,
        revoke: 1,
        inSync: 1,
        conflict: 0,
        invalid: 0,
        failed: 0,
        writes: 2,
        notApplied: 0,
        organizations: 3,
        policies: 2,
      },
      stopped: null,
      complete: true,
      revokeGuard: { verdict: 'allowed', reason: null, message: null },
      organizations: [
        {
          organizationId: 'org_a1',
          status: 'grant',
          write: true,
          reason: expect.any(String),
          code: 'grant',
          ownerPolicyId: 'policy-a',
          conflicts: [],
          changes: expect.arrayContaining([{ key: 'plan', from: null, to: 'pro' }]),
        },
        expect.objectContaining({ organizationId: 'org_orphan', status: 'revoke', ownerPolicyId: null }),
      ],
      notApplied: [],
    })
    expect(doc.organizations[0].changes).toHaveLength(7) // a backfill sets every owned key, entitlements included
    expect(stderr).toContain('reconcile:')
    const applied = JSON.parse((await inProcess(['reconcile', '--apply', '--json'], tenant.env)).stdout)
    expect(applied).toMatchObject({ mode: 'apply', exitCode: 0, summary: { writes: 2 }, complete: true })
    expect(applied.organizations.map((entry: { applied: boolean }) => entry.applied)).toEqual([true, true])
  })

  it('--org and --policy narrow the run (in-sync Organizations are listed then)', async () => {
    tenant = await drifted()
    const org = JSON.parse((await inProcess(['reconcile', '--json', '--org', 'org_b2'], tenant.env)).stdout)
    expect(org.organizations).toMatchObject([{ organizationId: 'org_b2', status: 'in sync' }])
    expect(org.exitCode).toBe(0)
    expect(tenant.auth0.count({ method: 'GET', path: '/api/v2/organizations' })).toBe(0)

    const byPolicy = await inProcess(['reconcile', '--apply', '--json', '--policy', 'policy-a'], tenant.env)
    expect(JSON.parse(byPolicy.stdout).organizations).toMatchObject([{ organizationId: 'org_a1', applied: true }])
    expect(tenant.metadata('org_orphan')).toMatchObject({ sanityPolicyId: 'policy-gone' })
    // The orphan is found by its marker when narrowing to the policy that wrote it.
    const gone = JSON.parse((await inProcess(['reconcile', '--json', '--policy', 'policy-gone'], tenant.env)).stdout)
    expect(gone.organizations).toMatchObject([{ organizationId: 'org_orphan', status: 'revoke' }])
  })

  it('exit 1: an invalid policy and a failing Organization are reported, the rest is applied', async () => {
    tenant = await startTenant({
      organizations: [organization('org_a1'), organization('org_b2'), organization('org_c3')],
      policies: [
        policy('policy-a', 'org_a1'),
        policy('policy-b', 'org_b2', { allowedContentTags: ['ok', ''] }),
        policy('policy-c', 'org_c3'),
      ],
    })
    tenant.auth0.injectFault({ method: 'PATCH', path: '/api/v2/organizations/org_c3', status: 404, times: Infinity })
    const result = await inProcess(['reconcile', '--apply'], tenant.env)
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(
      /x org_b2 {2}invalid {2}the policy is invalid \(policy-b\): allowedContentTags\[1\]: must not be empty/,
    )
    expect(result.stdout).toMatch(/x org_c3 {2}failed {2}Auth0 has no Organization org_c3/)
    expect(result.stdout).toContain('1 invalid, 1 failed')
    expect(tenant.metadata('org_a1')).toEqual(syncedMetadata('policy-a'))
  })

  it('exit 1 without a request: every missing or malformed setting is named', async () => {
    tenant = await drifted()
    const env = {
      ...tenant.env,
      SANITY_DATASET: 'Bad Name',
      AUTH0_CLIENT_SECRET: undefined,
      SANITY_API_HOST: 'ftp://x',
    }
    const result = await inProcess(['reconcile', '--json'], env)
    expect(result.code).toBe(1)
    for (const name of ['SANITY_DATASET', 'AUTH0_CLIENT_SECRET', 'SANITY_API_HOST'])
      expect(result.stderr).toContain(name)
    expect(JSON.parse(result.stdout)).toMatchObject({ exitCode: 1, error: { reason: 'configuration' } })
    expect(tenant.auth0.requests).toHaveLength(0)
    expect(tenant.lake.requests).toHaveLength(0)
    expect((await inProcess(['reconcile', '--org', 'acme'], tenant.env)).code).toBe(1)
    expect((await inProcess(['reconcile', '--nope'], tenant.env)).code).toBe(1)
  })

  it('secrets never appear in the output, --json included, even when Auth0 refuses', async () => {
    tenant = await drifted()
    tenant.auth0.injectFault({ method: 'PATCH', status: 403, times: Infinity })
    const result = await cli(['reconcile', '--apply', '--json'], tenant.env)
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout).organizations[0]).toMatchObject({ status: 'failed', code: 'auth0-forbidden' })
    const everything = result.stdout + result.stderr
    expect(everything).not.toContain(tenant.env.AUTH0_CLIENT_SECRET)
    expect(everything).not.toContain(tenant.env.SANITY_API_TOKEN)
    for (const token of tenant.auth0.issuedTokens()) expect(everything).not.toContain(token)
  })

  it('shows rate-limit waits on stderr and is never silent for long', async () => {
    const organizations = Array.from({ length: 4 }, (_, i) => organization(`org_w${i}`))
    tenant = await startTenant({
      organizations,
      policies: organizations.map((org, i) => policy(`policy-w${i}`, org.id)),
      // One write at once, then one every 0.5 s: 429s with a reset to wait for.
      auth0: { rateLimits: { write: { capacity: 1, refillPerMinute: 120 } } },
    })
    const result = await inProcess(['reconcile', '--apply'], tenant.env)
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(/waiting \d+(\.\d)? s \(Auth0 rate limit, writing org_w\d\)/)
    expect(result.stderr).toMatch(/writing org_w3/)
    expect(tenant.auth0.filterRequests({ method: 'PATCH' }).filter((r) => r.status === 429).length).toBeGreaterThan(0)
    for (const org of organizations)
      expect(tenant.metadata(org.id)).toEqual(syncedMetadata(`policy-w${org.id.slice(5)}`))
  })

  it('Ctrl-C during --apply stops after the write in flight and says what was and was not applied', async () => {
    const organizations = Array.from({ length: 6 }, (_, i) => organization(`org_c${i}`, { keep: `k${i}` }))
    tenant = await startTenant({
      organizations,
      policies: organizations.map((org, i) => policy(`policy-c${i}`, org.id)),
      // Two writes per second: slow enough to interrupt in the middle.
      auth0: { rateLimits: { write: { capacity: 1, refillPerMinute: 120 } } },
    })
    const child: ChildProcess = spawn(process.execPath, [bin, 'reconcile', '--apply'], {
      cwd: root,
      env: cleanEnv(tenant.env),
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk) => {
      stdout += chunk
    })
    const code = await new Promise<number | null>((resolve) => {
      child.stderr?.on('data', (chunk) => {
        stderr += chunk
        if (stderr.includes('writing org_c2') && !child.killed) child.kill('SIGINT')
      })
      child.on('exit', (exitCode) => resolve(exitCode))
    })
    expect(code).toBe(1)
    expect(stderr).toContain('interrupted, stopping after the write in flight')
    const written = organizations.filter((org) => tenant?.metadata(org.id)?.sanityPolicyId)
    const untouched = organizations.filter((org) => !tenant?.metadata(org.id)?.sanityPolicyId)
    expect(written.length).toBeGreaterThanOrEqual(2)
    expect(untouched.length).toBeGreaterThan(0)
    // Every write is whole: written ones hold all six keys and their own key; the rest are as they were.
    for (const org of written)
      expect(tenant.metadata(org.id)).toEqual({
        keep: org.metadata?.keep,
        ...syncedMetadata(`policy-c${org.id.slice(5)}`),
      })
    for (const org of untouched) expect(tenant.metadata(org.id)).toEqual(org.metadata)
    for (const org of written) expect(stdout).toContain(`✓ ${org.id}  granted`)
    expect(stdout).toContain('Not applied (interrupted before their write):')
    for (const org of untouched) expect(stdout).toContain(`  ${org.id}  grant`)
    expect(stdout).toContain(`${untouched.length} not applied`)
  })
})
