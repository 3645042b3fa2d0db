/**
 * Private Key JWT end to end, against an Auth0 emulator whose applications accept only a client assertion (no
 * secret): the real `auth0` SDK signs it (`clientAssertionSigningKey`) over real HTTPS for the sync function, the
 * scheduled repair, the reconcile CLI and `deploy-action`; `access-sync deploy` hands the functions the key as one
 * line of base64 (fake `sanity` on PATH, as tests/cli/deploy.test.ts).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import process from 'node:process'
import { fileURLToPath } from 'node:url'
import type { ScheduledFunctionContext } from '@sanity/functions'
import { afterEach, describe, expect, it } from 'vitest'
import { run as deploy } from '../../cli/deploy.ts'
import { run as deployActionCli } from '../../cli/deploy-action.ts'
import { run as reconcile } from '../../cli/reconcile.ts'
import { type Auth0Emulator, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type LocalStack, startLocalStack } from '../../emulators/stack.ts'
import { handler as repair } from '../../functions/reconcile-access/index.ts'
import { ACTION_NAME } from '../../src/core/action-deploy.ts'
import { organization, policy, startTenant, syncedMetadata, type Tenant } from '../reconcile/support.ts'
import { policyDocument, roleDocuments } from '../support/policies.ts'
import { keyOnlyDeployClient, keyOnlySyncClient, rsaKeyPair } from './support.ts'

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const keys = rsaKeyPair()
const KEY_ENV = ['AUTH0_CLIENT_SECRET', 'AUTH0_CLIENT_ASSERTION_SIGNING_KEY', 'AUTH0_CLIENT_ASSERTION_SIGNING_ALG']
const REPAIR_ENV = ['SANITY_PROJECT_ID', 'SANITY_DATASET', 'SANITY_API_HOST']

let stack: LocalStack | undefined
let tenant: Tenant | undefined
let auth0: Auth0Emulator | undefined
afterEach(async () => {
  await Promise.all([stack?.close(), tenant?.close(), auth0?.close()])
  stack = tenant = auth0 = undefined
  for (const name of [...KEY_ENV, ...REPAIR_ENV]) delete process.env[name]
})

/** Every token request was a client assertion; none carried a secret (the emulator would refuse one anyway). */
function expectAssertionsOnly(emulator: Auth0Emulator) {
  const tokenRequests = emulator.filterRequests({ path: '/oauth/token' })
  expect(tokenRequests.length).toBeGreaterThan(0)
  for (const request of tokenRequests) {
    expect(request.status).toBe(200)
    expect(request.body).toMatchObject({ client_assertion_type: JWT_BEARER })
  }
}

describe('Private Key JWT: every Auth0 client of the product', () => {
  it('the sync function writes the grant, and the scheduled repair runs, with the key and no secret', async () => {
    stack = await startLocalStack({
      documents: roleDocuments(),
      auth0: {
        clients: [keyOnlySyncClient([keys], 'PS256')],
        organizations: [organization('org_acme123', { crmAccount: 'ACME-0042' })],
      },
    })
    expect(process.env.AUTH0_CLIENT_SECRET).toBeUndefined()
    process.env.AUTH0_CLIENT_ASSERTION_SIGNING_KEY = Buffer.from(keys.privatePem).toString('base64')
    process.env.AUTH0_CLIENT_ASSERTION_SIGNING_ALG = 'PS256'
    await stack.sanity.createOrReplace(policyDocument())
    const [invocation] = await stack.deliver()
    expect(invocation?.error).toBeUndefined()
    expect(stack.metadata('org_acme123')).toMatchObject({ crmAccount: 'ACME-0042', plan: 'pro', role: 'editor' })
    expectAssertionsOnly(stack.auth0)

    stack.auth0.clearRequests()
    Object.assign(process.env, {
      SANITY_PROJECT_ID: stack.lake.projectId,
      SANITY_DATASET: stack.lake.dataset,
      SANITY_API_HOST: stack.lake.url,
    })
    await repair({ context: { clientOptions: { token: 'robot-token' } } as ScheduledFunctionContext })
    expect(stack.auth0.count({ method: 'GET', path: '/api/v2/organizations' })).toBeGreaterThan(0)
    expectAssertionsOnly(stack.auth0)
  })

  it('the sync function with the secret it no longer has: refused by Auth0, reported as credentials', async () => {
    stack = await startLocalStack({
      documents: roleDocuments(),
      auth0: { clients: [keyOnlySyncClient([keys])], organizations: [organization('org_acme123')] },
    })
    process.env.AUTH0_CLIENT_SECRET = 'the-old-secret'
    await stack.sanity.createOrReplace(policyDocument())
    const [invocation] = await stack.deliver()
    expect(invocation?.error).toMatchObject({ reason: 'auth0-credentials' })
    expect(String((invocation?.error as Error | undefined)?.message)).toContain(
      'check AUTH0_CLIENT_ID / AUTH0_CLIENT_SECRET',
    )
    expect(String((invocation?.error as Error | undefined)?.message)).not.toContain('the-old-secret')
  })

  it('the reconcile CLI applies with the key (a file path)', async () => {
    tenant = await startTenant({
      organizations: [
        organization('org_a1', { crm: 'A-1' }),
        organization('org_orphan', { crm: 'O', ...syncedMetadata('policy-gone') }),
      ],
      policies: [policy('policy-a', 'org_a1')],
      auth0: { clients: [keyOnlySyncClient([keys])] },
    })
    const dir = mkdtempSync(join(tmpdir(), 'pkjwt-reconcile-'))
    writeFileSync(join(dir, 'sync-key.pem'), keys.privatePem)
    const { AUTH0_CLIENT_SECRET: _secret, ...env } = tenant.env
    let out = ''
    const io = {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (out += text), isTTY: false },
    }
    const code = await reconcile(
      ['--apply', '--allow-mass-revoke'],
      { ...env, AUTH0_CLIENT_ID: 'pkjwt-sync-client', AUTH0_CLIENT_ASSERTION_SIGNING_KEY: join(dir, 'sync-key.pem') },
      io,
    )
    rmSync(dir, { recursive: true, force: true })
    expect(out).not.toContain('PRIVATE KEY')
    expect(code).toBe(0)
    expect(tenant.metadata('org_a1')).toMatchObject({ crm: 'A-1', sanityPolicyId: 'policy-a' })
    expect(tenant.metadata('org_orphan')).toEqual({ crm: 'O' })
    expectAssertionsOnly(tenant.auth0)
  })

  it('deploy-action deploys and binds the Action with the deploy client’s key', async () => {
    const deployKey = rsaKeyPair()
    auth0 = await startAuth0Emulator({ clients: [keyOnlyDeployClient(deployKey)], actionBuildDelayMs: 50 })
    const lines: string[] = []
    const io = {
      log: (line: string) => lines.push(line),
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
      now: Date.now,
    }
    const env = {
      AUTH0_DOMAIN: auth0.domain,
      AUTH0_DEPLOY_CLIENT_ID: 'pkjwt-deploy-client',
      AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY: deployKey.privatePem.trim().replaceAll('\n', '\\n'),
      DEPLOY_ACTION_POLL_MS: '20',
    }
    expect(await deployActionCli([], env, io), lines.join('\n')).toBe(0)
    expect(auth0.actions.bound('post-login').map((action) => action.name)).toEqual([ACTION_NAME])
    expectAssertionsOnly(auth0)

    // The same command with a key Auth0 does not hold: exit 1, naming the deploy client's key settings.
    lines.length = 0
    const stranger = rsaKeyPair()
    const refused = await deployActionCli(
      ['--list-versions'],
      { ...env, AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY: stranger.privatePem },
      io,
    )
    expect(refused).toBe(1)
    expect(lines.join('\n')).toContain('(auth0-credentials)')
    expect(lines.join('\n')).toContain('check AUTH0_DEPLOY_CLIENT_ID / AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY')
  })
})

describe('access-sync deploy with a private key', () => {
  const FAKE_BIN = fileURLToPath(new URL('../cli/fake-sanity', import.meta.url))

  it('checks it, and sets it on every function as one line of base64, never printed', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'pkjwt-deploy-cwd-'))
    const fakeDir = mkdtempSync(join(tmpdir(), 'pkjwt-deploy-fake-'))
    try {
      writeFileSync(join(cwd, 'sync-key.pem'), keys.privatePem)
      const settings = {
        SANITY_PROJECT_ID: 'demo1234',
        SANITY_DATASET: 'production',
        AUTH0_DOMAIN: '127.0.0.1:4443',
        AUTH0_CLIENT_ID: 'access-sync-client',
        AUTH0_CLIENT_ASSERTION_SIGNING_KEY: join(cwd, 'sync-key.pem'),
        AUTH0_CLIENT_ASSERTION_SIGNING_ALG: 'PS256',
      }
      const write = (values: Record<string, string>) =>
        writeFileSync(
          join(cwd, '.env.production'),
          `${Object.entries(values)
            .map(([name, value]) => `${name}=${value}`)
            .join('\n')}\n`,
        )
      let out = ''
      const io = {
        stdout: { write: (text: string) => (out += text) },
        stderr: { write: (text: string) => (out += text) },
      }
      const env: Record<string, string | undefined> = {
        ...process.env,
        PATH: `${FAKE_BIN}${delimiter}${process.env.PATH}`,
        FAKE_SANITY_DIR: fakeDir,
        ACCESS_SYNC_ENV: undefined,
      }
      const quickBuild = async () => ['sync-access-policy', 'fan-out-role', 'fan-out-plan']

      write({ ...settings, AUTH0_CLIENT_SECRET: 'left-over-secret' })
      expect(await deploy(['--env', 'production'], env, io, { cwd, build: quickBuild })).toBe(1)
      expect(out).toContain('AUTH0_CLIENT_SECRET and AUTH0_CLIENT_ASSERTION_SIGNING_KEY are both set: set one')
      expect(existsSync(join(fakeDir, 'log.jsonl'))).toBe(false)

      out = ''
      write(settings)
      expect(await deploy(['--env', 'production'], env, io, { cwd, build: quickBuild }), out).toBe(0)
      const argvs = readFileSync(join(fakeDir, 'log.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { argv: string[] }).argv)
      const keyAdds = argvs.filter((argv) => argv[2] === 'add' && argv[4] === 'AUTH0_CLIENT_ASSERTION_SIGNING_KEY')
      expect(keyAdds.map((argv) => argv[3])).toEqual(['sync-access-policy', 'fan-out-role', 'fan-out-plan'])
      for (const argv of keyAdds) {
        expect(argv[5]).toBe(Buffer.from(keys.privatePem).toString('base64'))
      }
      expect(argvs.some((argv) => argv[4] === 'AUTH0_CLIENT_ASSERTION_SIGNING_ALG' && argv[5] === 'PS256')).toBe(true)
      expect(argvs.some((argv) => argv[4] === 'AUTH0_CLIENT_SECRET')).toBe(false)
      expect(out).not.toContain(Buffer.from(keys.privatePem).toString('base64'))
      expect(out).not.toContain('PRIVATE KEY')
    } finally {
      rmSync(cwd, { recursive: true, force: true })
      rmSync(fakeDir, { recursive: true, force: true })
    }
  })
})
