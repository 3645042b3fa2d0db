/**
 * `access-sync doctor` end to end: the real command (`run`, settings from a `.env.<name>` file) with the real
 * `auth0` SDK and `@sanity/client` over HTTPS/HTTP against both emulators, set up as `npm run dev` sets them up:
 * the fixtures published in a private dataset and synced to Auth0 by the reconcile, the Action deployed and bound
 * by deploy-action. The deployed stack comes from a stand-in `sanity` on PATH that prints what `sanity blueprints
 * info --json` prints (`{ stack }`, @sanity/runtime-cli 17): the Blueprints API has no emulator.
 * The healthy stack passes; then each failure is provoked once and must name its fix.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ACTION_FILE, deployAction } from '../../cli/deploy-action.ts'
import { run } from '../../cli/doctor.ts'
import { run as reconcile } from '../../cli/reconcile.ts'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { DEPLOY_CLIENT } from '../../emulators/auth0-actions.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { accessSyncResources } from '../../sanity.blueprint.ts'
import { ACTION_NAME, ACTION_RUNTIME } from '../../src/core/action-deploy.ts'
import type { OrganizationId } from '../../src/core/auth0-rules.ts'
import { connectAuth0 } from '../../src/gateways/auth0.ts'
import { connectActions } from '../../src/gateways/auth0-actions.ts'

const fixtures = new URL('../../functions/sync-access-policy/fixtures/', import.meta.url)
const json = (name: string) => JSON.parse(readFileSync(new URL(name, fixtures), 'utf8'))
const NS = 'https://claims.acme.example/'
const READ_ONLY = { clientId: 'read-only-client', clientSecret: 'read-only-secret', scopes: ['read:organizations'] }
const TOO_MUCH = {
  clientId: 'broad-client',
  clientSecret: 'broad-secret',
  scopes: ['read:organizations', 'update:organizations', 'read:users'],
}

let auth0: Auth0Emulator
let lake: ContentLakeEmulator
let dir: string
let env: Record<string, string>

/** The stack `sanity blueprints info --json` shows: what `access-sync deploy` deploys for these settings. */
function writeStack(resources: unknown[]): void {
  writeFileSync(join(dir, 'stack.json'), JSON.stringify({ stack: { name: 'dev-production', resources } }))
}

beforeAll(async () => {
  auth0 = await startAuth0Emulator({
    clients: [DEFAULT_CLIENT, DEPLOY_CLIENT, READ_ONLY, TOO_MUCH],
    organizations: json('organizations.json'),
    actionBuildDelayMs: 20,
  })
  lake = await startContentLakeEmulator({
    projectId: 'local-studio',
    datasets: { production: json('dataset.json') },
    aclMode: 'private',
    tokens: { 'editor-token': { read: true, write: true }, 'assets-only-token': { read: ['sanity.imageAsset'] } },
  })
  dir = mkdtempSync(join(tmpdir(), 'doctor-'))
  // The stand-in Sanity CLI: answers `blueprints info --stack <name> --json` with the stack file, anything else fails.
  const fake = join(dir, 'sanity')
  writeFileSync(
    fake,
    `#!/usr/bin/env node
const args = process.argv.slice(2)
if (args[0] !== 'blueprints' || args[1] !== 'info' || !args.includes('--json')) { console.error('unexpected: ' + args.join(' ')); process.exit(2) }
process.stdout.write(require('node:fs').readFileSync(${JSON.stringify(join(dir, 'stack.json'))}, 'utf8'))
`,
  )
  chmodSync(fake, 0o755)
  env = {
    PATH: `${dir}:${process.env.PATH}`,
    NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '',
    SANITY_PROJECT_ID: 'local-studio',
    SANITY_DATASET: 'production',
    SANITY_API_HOST: lake.url,
    SANITY_API_TOKEN: 'editor-token',
    AUTH0_DOMAIN: auth0.domain,
    AUTH0_CLIENT_ID: DEFAULT_CLIENT.clientId,
    AUTH0_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret,
    AUTH0_DEPLOY_CLIENT_ID: DEPLOY_CLIENT.clientId,
    AUTH0_DEPLOY_CLIENT_SECRET: DEPLOY_CLIENT.clientSecret,
    CLAIM_NAMESPACE: NS,
  }
  writeFileSync(
    join(dir, '.env.dev-production'),
    Object.entries(env)
      .filter(([key]) => key !== 'PATH' && key !== 'NODE_EXTRA_CA_CERTS')
      .map(([key, value]) => `${key}=${value}`)
      .join('\n'),
  )
  writeStack(accessSyncResources(env))

  // Published and synced, as the dev stack's functions leave it: the reconcile writes what is published.
  const quiet = { stdout: { write: () => true }, stderr: { write: () => true } }
  expect(await reconcile(['--apply'], env, quiet)).toBe(0)
  expect(auth0.getOrganization('org_acme123')?.metadata?.sanityPolicyId).toBe('policy-acme')
  await deploy(NS)
})

afterAll(async () => {
  await Promise.all([auth0?.close(), lake?.close()])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function deploy(namespace: string | undefined) {
  const gateway = connectActions({
    domain: auth0.domain,
    clientId: DEPLOY_CLIENT.clientId,
    clientSecret: DEPLOY_CLIENT.clientSecret,
  })
  const code = readFileSync(ACTION_FILE, 'utf8')
  await deployAction(
    gateway,
    { name: ACTION_NAME, code, runtime: ACTION_RUNTIME, namespace, updateSecrets: false },
    { dryRun: false, maxWaitMs: 5_000, pollMs: 10 },
    { log: () => {}, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), now: Date.now },
  )
}

interface JsonCheck {
  id: string
  status: 'pass' | 'warn' | 'fail'
  title: string
  detail: string
  fix: string | null
}

/** Runs `doctor --env dev-production [--json]` with the shell's variables `overrides` over the file's. */
async function doctor(overrides: Record<string, string> = {}, args: string[] = []) {
  // The file wins over the shell, so an override is written into a file of its own.
  const name = Object.keys(overrides).length === 0 ? 'dev-production' : `case-${Math.random().toString(36).slice(2)}`
  if (name !== 'dev-production') {
    const settings = { ...readEnvFile(), ...overrides }
    writeFileSync(
      join(dir, `.env.${name}`),
      Object.entries(settings)
        .map(([key, value]) => `${key}=${value}`)
        .join('\n'),
    )
  }
  let stdout = ''
  let stderr = ''
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  }
  const base = {
    PATH: env.PATH as string,
    NODE_EXTRA_CA_CERTS: env.NODE_EXTRA_CA_CERTS as string,
    SANITY_STACK: 'dev-production',
  }
  const code = await run(['--env', name, '--json', ...args], base, io, { cwd: dir })
  const report = JSON.parse(stdout) as { exitCode: number; checks: JsonCheck[]; counts: Record<string, number> }
  const check = (id: string) => report.checks.find((one) => one.id === id) as JsonCheck
  const text = async () => {
    let out = ''
    await run(['--env', name], base, { stdout: { write: (t: string) => (out += t) }, stderr: io.stderr }, { cwd: dir })
    return out
  }
  return { code, report, check, stderr, text }
}

function readEnvFile(): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(dir, '.env.dev-production'), 'utf8')
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  )
}

const failing = (report: { checks: JsonCheck[] }) =>
  report.checks.filter((check) => check.status === 'fail').map((check) => check.id)

describe('access-sync doctor', () => {
  it('passes against the dev stack: every check ✓ but the optional scheduled repair (!), exit 0', async () => {
    const { code, report, check, text } = await doctor()
    expect(failing(report), JSON.stringify(report, null, 2)).toEqual([])
    expect(code).toBe(0)
    for (const id of [
      'settings',
      'auth0-domain',
      'auth0-token',
      'auth0-scopes',
      'sanity-dataset',
      'sanity-policies',
      'function-scope',
      'action',
      'action-namespace',
    ]) {
      expect(check(id).status, `${id}: ${check(id).detail}`).toBe('pass')
    }
    expect(check('sanity-policies').detail).toContain('reads 1 published policies (1 active)')
    expect(check('auth0-scopes').detail).toBe('granted read:organizations update:organizations')
    expect(check('function-scope').detail).toContain('stack dev-production runs them so')
    expect(check('action-namespace').detail).toContain(NS)
    expect(check('scheduled-repair')).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('ACCESS_SYNC_SCHEDULE'),
    })
    expect(check('scheduled-repair').detail).toContain('access-sync reconcile --apply')

    const lines = (await text()).split('\n')
    expect(lines[0]).toBe(`access-sync doctor: environment dev-production (${join(dir, '.env.dev-production')})`)
    expect(lines.filter((line) => line.startsWith('✓ '))).toHaveLength(9)
    expect(lines.filter((line) => line.startsWith('! '))).toHaveLength(1)
    expect(lines.filter((line) => line.startsWith('✗ '))).toHaveLength(0)
    expect(lines.at(-2)).toBe('9 passed, 1 warning, 0 failed')
  })

  it('--json: one document with every check, its status, detail and fix', async () => {
    const { report } = await doctor()
    expect(report).toMatchObject({
      command: 'doctor',
      environment: 'dev-production',
      file: join(dir, '.env.dev-production'),
      exitCode: 0,
      counts: { pass: 9, warn: 1, fail: 0 },
    })
    for (const check of report.checks) {
      expect(Object.keys(check).sort()).toEqual(['detail', 'fix', 'id', 'status', 'title'])
      expect(['pass', 'warn', 'fail']).toContain(check.status)
    }
  })

  it('reads only: no write reaches Auth0 or the Content Lake', async () => {
    auth0.clearRequests()
    lake.clearRequests()
    await doctor()
    expect(auth0.requests.filter((request) => request.method !== 'GET' && request.path !== '/oauth/token')).toEqual([])
    expect(lake.requests.filter((request) => request.path.includes('/mutate'))).toEqual([])
  })

  it('✗ wrong scope: a client with only read:organizations, naming the scope to grant', async () => {
    const { code, report, check } = await doctor({
      AUTH0_CLIENT_ID: READ_ONLY.clientId,
      AUTH0_CLIENT_SECRET: READ_ONLY.clientSecret,
    })
    expect(code).toBe(1)
    expect(failing(report)).toEqual(['auth0-scopes'])
    expect(check('auth0-scopes').detail).toContain('lacks update:organizations')
    expect(check('auth0-scopes').fix).toContain('grant update:organizations to the application')
  })

  it('! more scopes than needed: a warning that names them, exit 0', async () => {
    const { code, check } = await doctor({
      AUTH0_CLIENT_ID: TOO_MUCH.clientId,
      AUTH0_CLIENT_SECRET: TOO_MUCH.clientSecret,
    })
    expect(code).toBe(0)
    expect(check('auth0-scopes')).toMatchObject({ status: 'warn', detail: expect.stringContaining('read:users') })
  })

  it('✗ custom domain: Auth0 refuses the Management API there; doctor and the sync both say to use the canonical domain', async () => {
    const { code, report, check } = await doctor({ AUTH0_DOMAIN: auth0.customDomain })
    expect(code).toBe(1)
    // The deploy client is refused there too, for the same reason.
    expect(failing(report)).toEqual(['auth0-domain', 'auth0-token', 'action'])
    expect(check('action').detail).toContain('is a custom domain')
    expect(check('auth0-domain').fix).toContain(`AUTH0_DOMAIN=${auth0.customDomain} is a custom domain`)
    expect(check('auth0-domain').fix).toContain("tenant's canonical domain")
    expect(check('auth0-token').detail).not.toContain('grant the scope')

    // The sync explains the same refusal the same way, not as a missing scope.
    const organizations = connectAuth0({
      domain: auth0.customDomain,
      clientId: DEFAULT_CLIENT.clientId,
      clientSecret: DEFAULT_CLIENT.clientSecret,
      timeoutSeconds: 5,
      budgetSeconds: 10,
    }).forInvocation(Date.now() + 10_000)
    const error = await organizations.readMetadata('org_acme123' as OrganizationId).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ reason: 'configuration', message: expect.stringContaining('is a custom domain') })
    expect((error as Error).message).not.toContain('grant the scope')
  })

  it('✗ empty read: a token that cannot read the policies sees none while Auth0 holds Organizations we wrote', async () => {
    const { code, report, check } = await doctor({ SANITY_API_TOKEN: 'assets-only-token' })
    expect(code).toBe(1)
    expect(failing(report)).toEqual(['sanity-policies'])
    expect(check('sanity-policies').detail).toContain('reads 0 published policies while Auth0 holds 1 Organizations')
    expect(check('sanity-policies').detail).toContain('org_acme123')
    expect(check('sanity-policies').fix).toContain('give SANITY_API_TOKEN a role that reads accessPolicy')
  })

  it('✗ a dataset the project does not have: the Content Lake answers 404, and the stack runs for another one', async () => {
    const { code, report, check } = await doctor({ SANITY_DATASET: 'stagign' })
    expect(code).toBe(1)
    expect(failing(report)).toEqual(['sanity-dataset', 'function-scope'])
    expect(check('sanity-dataset').fix).toContain('set SANITY_DATASET')
    expect(check('function-scope').detail).toContain('for local-studio.production, not local-studio.stagign')
  })

  it('✗ a deployed function without event.resource fires for every dataset', async () => {
    const resources = accessSyncResources(env).map((resource) =>
      resource.name === 'sync-access-policy'
        ? { ...resource, event: { ...(resource as unknown as { event: object }).event, resource: undefined } }
        : resource,
    )
    writeStack(resources)
    try {
      const { code, report, check } = await doctor()
      expect(code).toBe(1)
      expect(failing(report)).toEqual(['function-scope'])
      expect(check('function-scope').detail).toContain('sync-access-policy for every dataset of the project (unscoped)')
      expect(check('function-scope').fix).toContain('npx access-sync deploy --env dev-production')
    } finally {
      writeStack(accessSyncResources(env))
    }
  })

  it('✗ unbound Action: deployed but not in the post-login flow, fixed by deploy-action', async () => {
    auth0.actions.unbindAll('post-login')
    try {
      const { code, report, check } = await doctor()
      expect(code).toBe(1)
      expect(failing(report)).toEqual(['action'])
      expect(check('action').detail).toContain('not bound to post-login')
      expect(check('action').fix).toContain('npx access-sync deploy-action --env dev-production')
    } finally {
      await deploy(NS)
    }
    expect((await doctor()).code).toBe(0)
  })

  it('✗ namespace mismatch: the app reads another CLAIM_NAMESPACE than the Action sets', async () => {
    const { code, report, check } = await doctor({ CLAIM_NAMESPACE: 'https://claims.other.example/' })
    expect(code).toBe(1)
    expect(failing(report)).toEqual(['action-namespace'])
    expect(check('action-namespace').detail).toContain('its fingerprint differs')
    expect(check('action-namespace').fix).toContain('deploy-action --env')
    // No CLAIM_NAMESPACE in the app's settings: the default, which is not what the Action was given.
    const unset = await doctor({ CLAIM_NAMESPACE: '' })
    expect(failing(unset.report)).toEqual(['action-namespace'])
  })

  it('! without a deploy client the Action is not checked, said as a warning', async () => {
    const { code, check } = await doctor({ AUTH0_DEPLOY_CLIENT_ID: '', AUTH0_DEPLOY_CLIENT_SECRET: '' })
    expect(code).toBe(0)
    expect(check('action')).toMatchObject({ status: 'warn', detail: expect.stringContaining('AUTH0_DEPLOY_CLIENT_ID') })
    expect(check('action-namespace').status).toBe('warn')
  })

  it('a missing environment file fails before anything is sent', async () => {
    auth0.clearRequests()
    let stderr = ''
    const io = { stdout: { write: () => true }, stderr: { write: (text: string) => (stderr += text) } }
    expect(await run(['--env', 'nowhere'], {}, io, { cwd: dir })).toBe(1)
    expect(stderr).toContain('.env.nowhere')
    expect(auth0.requests).toHaveLength(0)
  })
})
