/**
 * `access-sync deploy-action` end to end: the real command (`run`) and the real `auth0` SDK against the Auth0
 * emulator's Actions endpoints, with other teams' Actions already bound to post-login.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deployAction, run } from '../../cli/deploy-action.ts'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { DEPLOY_CLIENT } from '../../emulators/auth0-actions.ts'
import { ACTION_NAME, namespaceFingerprintName } from '../../src/core/action-deploy.ts'
import { connectActions } from '../../src/gateways/auth0-actions.ts'
import { acmeOrganization } from './support.ts'

const NS = 'https://claims.acme.example/'
let auth0: Auth0Emulator
let env: Record<string, string>
const noop = 'exports.onExecutePostLogin = async (event, api) => {}'

beforeAll(async () => {
  auth0 = await startAuth0Emulator({
    clients: [DEFAULT_CLIENT, DEPLOY_CLIENT],
    actionBuildDelayMs: 150,
    organizations: [acmeOrganization({ contentTags: ['docs'], entitlements: [] })],
  })
  auth0.actions.install({ name: 'MFA policy', code: noop })
  auth0.actions.install({ name: 'Geo block', code: noop })
  env = {
    AUTH0_DOMAIN: auth0.domain,
    AUTH0_DEPLOY_CLIENT_ID: DEPLOY_CLIENT.clientId,
    AUTH0_DEPLOY_CLIENT_SECRET: DEPLOY_CLIENT.clientSecret,
    CLAIM_NAMESPACE: NS,
    DEPLOY_ACTION_POLL_MS: '40',
  }
})
afterAll(() => auth0.close())

async function cli(argv: string[], environment = env) {
  const lines: string[] = []
  const io = {
    log: (line: string) => lines.push(line),
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    now: Date.now,
  }
  const code = await run(argv, environment, io)
  return { code, lines, text: lines.join('\n') }
}
const writes = () => auth0.filterRequests({ path: /^\/api\/v2\/actions\// }).filter((r) => r.method !== 'GET').length
const boundNames = () => auth0.actions.bound('post-login').map((action) => action.name)

describe('deploy-action', () => {
  it('--dry-run prints the plan and writes nothing', async () => {
    auth0.clearRequests()
    const { code, text } = await cli(['--dry-run'])
    expect(code).toBe(0)
    expect(text).toContain(`create Action "${ACTION_NAME}"`)
    expect(text).toContain('set secret CLAIM_NAMESPACE')
    expect(text).toContain('bind it to post-login after "MFA policy", "Geo block" (3 bindings in all)')
    expect(writes()).toBe(0)
  })

  it('creates, waits for the build, deploys, and binds after everyone else', async () => {
    const { code, text, lines } = await cli([])
    expect(code, text).toBe(0)
    expect(lines.some((line) => /waiting for the build: (pending|building)/.test(line))).toBe(true)
    expect(text).toContain('deployed version 1')
    expect(boundNames()).toEqual(['MFA policy', 'Geo block', ACTION_NAME])
    const ours = auth0.actions.bound('post-login').at(-1)
    expect(ours?.code).toBe(readFileSync(new URL('../../auth0/actions/access-claims.js', import.meta.url), 'utf8'))
    expect(ours?.secrets).toMatchObject({ CLAIM_NAMESPACE: NS, [namespaceFingerprintName(NS)]: expect.any(String) })
  })

  it('the deployed Action runs at login with its secret', async () => {
    const { accessToken } = await auth0.login({ organization: 'org_acme123' })
    const payload = JSON.parse(Buffer.from(accessToken.split('.')[1] as string, 'base64url').toString())
    expect(payload[`${NS}contentTags`]).toEqual(['docs'])
  })

  it('is idempotent: a second run changes nothing', async () => {
    auth0.clearRequests()
    const { code, text } = await cli([])
    expect(code).toBe(0)
    expect(text).toContain('nothing to do')
    expect(writes()).toBe(0)
    expect(boundNames()).toEqual(['MFA policy', 'Geo block', ACTION_NAME])
  })

  it('new code: update, deploy version 2, the bindings untouched', async () => {
    const gateway = connectActions({
      domain: auth0.domain,
      clientId: DEPLOY_CLIENT.clientId,
      clientSecret: DEPLOY_CLIENT.clientSecret,
    })
    const lines: string[] = []
    const io = {
      log: (line: string) => lines.push(line),
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
      now: Date.now,
    }
    const desired = {
      name: ACTION_NAME,
      code: `${noop}\n// v2`,
      runtime: 'node22',
      namespace: NS,
      updateSecrets: false,
    }
    auth0.clearRequests()
    const outcome = await deployAction(gateway, desired, { dryRun: false, maxWaitMs: 5000, pollMs: 40 }, io)
    expect(outcome).toMatchObject({ version: 2, writes: 2 })
    expect(auth0.count({ method: 'PATCH', path: '/api/v2/actions/triggers/post-login/bindings' })).toBe(0)
    expect(boundNames()).toEqual(['MFA policy', 'Geo block', ACTION_NAME])
    // Put the real file back for the tests that follow.
    expect((await cli([])).code).toBe(0)
  })

  it('a build that takes longer than the wait fails with what to do, and the next run finishes the job', async () => {
    const gateway = connectActions({
      domain: auth0.domain,
      clientId: DEPLOY_CLIENT.clientId,
      clientSecret: DEPLOY_CLIENT.clientSecret,
    })
    const io = { log: () => {}, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), now: Date.now }
    const desired = {
      name: ACTION_NAME,
      code: `${noop}\n// v3`,
      runtime: 'node22',
      namespace: NS,
      updateSecrets: false,
    }
    const impatient = deployAction(gateway, desired, { dryRun: false, maxWaitMs: 30, pollMs: 20 }, io)
    await expect(impatient).rejects.toThrow(/still "(pending|building)".*run the command again/)
    const again = await deployAction(gateway, desired, { dryRun: false, maxWaitMs: 5000, pollMs: 40 }, io)
    expect(again.version).toBeGreaterThan(2)
    expect((await cli([])).code).toBe(0)
  })

  it("the function's client (Organizations scopes only) is refused, with the scope to grant", async () => {
    const { code, text } = await cli([], {
      ...env,
      AUTH0_DEPLOY_CLIENT_ID: DEFAULT_CLIENT.clientId,
      AUTH0_DEPLOY_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret,
    })
    expect(code).toBe(1)
    expect(text).toMatch(/auth0-forbidden.*grant read:actions to the deploy client/)
  })

  it('bad settings name every variable at fault and send nothing', async () => {
    auth0.clearRequests()
    const missing = await cli([], { AUTH0_DOMAIN: 'https://x' })
    expect(missing.code).toBe(1)
    expect(missing.text).toMatch(
      /AUTH0_DEPLOY_CLIENT_ID is not set; no credential for AUTH0_DEPLOY_CLIENT_ID: AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY is not set .*AUTH0_DEPLOY_CLIENT_SECRET is not set; set one of them; AUTH0_DOMAIN must be/,
    )
    const badNs = await cli([], { ...env, CLAIM_NAMESPACE: 'https://acme.auth0.com/' })
    expect(badNs.code).toBe(1)
    expect(badNs.text).toMatch(/configuration.*CLAIM_NAMESPACE must not use acme\.auth0\.com/)
    expect(auth0.requests).toHaveLength(0)
    expect((await cli(['--bogus'])).code).toBe(2)
  })
})
