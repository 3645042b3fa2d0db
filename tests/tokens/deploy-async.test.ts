/**
 * `access-sync deploy-action` against Action deploys as Auth0 does them: builds that take seconds and can fail,
 * a deploy answered `deployed: false` whose binding is refused until it takes over (auth0-deploy-cli #385), kept
 * versions and rollback. The real command (`run`) and the real `auth0` SDK over HTTPS against the emulator.
 *
 * Time: the emulator's Actions API runs on the command's own clock (`now`), which only moves when the command
 * sleeps. A 5 s build and a 2 s lag cost no real time, and every poll and retry is a countable request.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ACTION_FILE, deployAction, run } from '../../cli/deploy-action.ts'
import { type Auth0Emulator, startAuth0Emulator } from '../../emulators/auth0.ts'
import { DEPLOY_CLIENT } from '../../emulators/auth0-actions.ts'
import { ACTION_NAME, BIND_RETRY_MS } from '../../src/core/action-deploy.ts'
import { connectActions } from '../../src/gateways/auth0-actions.ts'
import { acmeOrganization } from './support.ts'

const NS = 'https://claims.acme.example/'
const POLL_MS = 1000
const BINDINGS = '/api/v2/actions/triggers/post-login/bindings'
const noop = 'exports.onExecutePostLogin = async (event, api) => {}'
const committed = readFileSync(ACTION_FILE, 'utf8')
/** Observably different code: a claim the committed Action never sets. */
const variantB = `exports.onExecutePostLogin = async (event, api) => {\n  api.accessToken.setCustomClaim('${NS}build', 'B')\n}\n`

let auth0: Auth0Emulator
let env: Record<string, string>
let clock = 0

beforeAll(async () => {
  auth0 = await startAuth0Emulator({
    clients: [DEPLOY_CLIENT],
    organizations: [acmeOrganization({ contentTags: ['docs'], entitlements: [] })],
  })
  auth0.actions.install({ name: 'MFA policy', code: noop })
  env = {
    AUTH0_DOMAIN: auth0.domain,
    AUTH0_DEPLOY_CLIENT_ID: DEPLOY_CLIENT.clientId,
    AUTH0_DEPLOY_CLIENT_SECRET: DEPLOY_CLIENT.clientSecret,
    CLAIM_NAMESPACE: NS,
    DEPLOY_ACTION_POLL_MS: String(POLL_MS),
  }
  clock = Date.now()
  // Auth0's figures: builds take ~10-45 s (auth0-deploy-cli PR #524); the acceptance asks for 5 s and a 2 s lag.
  auth0.actions.configure({ now: () => clock, buildDelayMs: 5000, deployLagMs: 2000 })
})
afterAll(() => auth0.close())
beforeEach(() => {
  auth0.actions.configure({ buildFailure: undefined, deployLagMs: 2000 })
  auth0.clearRequests()
})

/** The command's io: its sleeps move the emulator's clock instead of waiting. */
const io = (lines: string[]) => ({
  log: (line: string) => lines.push(line),
  sleep: async (ms: number) => {
    clock += ms
  },
  now: () => clock,
})
async function cli(argv: string[], environment = env) {
  const lines: string[] = []
  const code = await run(argv, environment, io(lines))
  return { code, lines, text: lines.join('\n') }
}
const writes = () => auth0.filterRequests({ path: /^\/api\/v2\/actions\// }).filter((r) => r.method !== 'GET').length
const bindingWrites = () => auth0.filterRequests({ method: 'PATCH', path: BINDINGS }).map((r) => r.status)
const boundNames = () => auth0.actions.bound('post-login').map((action) => action.name)
async function accessClaims(): Promise<Record<string, unknown>> {
  const { accessToken } = await auth0.login({ organization: 'org_acme123' })
  return JSON.parse(Buffer.from(accessToken.split('.')[1] as string, 'base64url').toString())
}

describe('deploy-action with a 5 s build and a 2 s binding lag', () => {
  it('shows the build progressing, retries the binding through the lag, binds, and the Action runs at login', async () => {
    const { code, lines, text } = await cli([])
    expect(code, text).toBe(0)
    // Polled every second of a 5 s build: pending for the first half, building for the second (the emulator).
    expect(lines.filter((line) => line.includes('waiting for the build'))).toEqual([
      '  waiting for the build: pending (0.0 s)',
      '  waiting for the build: pending (1.0 s)',
      '  waiting for the build: pending (2.0 s)',
      '  waiting for the build: building (3.0 s)',
      '  waiting for the build: building (4.0 s)',
    ])
    expect(text).toContain('deployed version 1')
    // Bound at once after the deploy, then one second later: both refused as Auth0 does; the third, 2 s in, binds.
    expect(bindingWrites()).toEqual([400, 400, 200])
    const refusals = lines.filter((line) => line.includes('Trying to create a binding for an action that has'))
    expect(refusals).toHaveLength(2)
    expect(text).toMatch(/version 1 is deployed: logins run it\ndone$/)
    expect(boundNames()).toEqual(['MFA policy', ACTION_NAME])
    expect((await accessClaims())[`${NS}contentTags`]).toEqual(['docs'])
  })

  it('a re-run changes nothing', async () => {
    const { code, text } = await cli([])
    expect(code, text).toBe(0)
    expect(text).toContain('nothing to do: the tenant already runs this Action')
    expect(writes()).toBe(0)
    expect(boundNames()).toEqual(['MFA policy', ACTION_NAME])
  })

  it("a failed build exits 1 with Auth0's message; nothing is deployed or bound, logins run the previous version", async () => {
    const bindingsBefore = auth0.actions.bindings('post-login').map((binding) => binding.id)
    const errors = [{ id: 'npm_install_failed', msg: 'Failed to install dependency left-pad@99.0.0', url: '' }]
    auth0.actions.configure({ buildFailure: () => errors })
    const other = 'https://claims.other.example/'
    const { code, text } = await cli([], { ...env, CLAIM_NAMESPACE: other })
    expect(code).toBe(1)
    expect(text).toContain(
      `deploy-action failed (auth0-rejected): Auth0 could not build the Action "${ACTION_NAME}" (Auth0: Failed to install dependency left-pad@99.0.0 (npm_install_failed)). Nothing was deployed or bound`,
    )
    expect(auth0.count({ method: 'POST', path: /\/deploy$/ })).toBe(0)
    expect(bindingWrites()).toEqual([])
    expect(auth0.actions.bindings('post-login').map((binding) => binding.id)).toEqual(bindingsBefore)
    const claims = await accessClaims()
    expect(claims[`${NS}contentTags`]).toEqual(['docs'])
    expect(claims[`${other}contentTags`]).toBeUndefined()
    // Once the cause is gone, the next run builds, deploys and keeps the binding as it was.
    auth0.actions.configure({ buildFailure: undefined })
    auth0.clearRequests()
    expect((await cli([])).code).toBe(0)
    expect(bindingWrites()).toEqual([])
    expect(auth0.actions.bindings('post-login').map((binding) => binding.id)).toEqual(bindingsBefore)
  })

  it('a lag longer than the binding bound: exit 1 saying so, and the next run binds', async () => {
    auth0.actions.configure({ deployLagMs: BIND_RETRY_MS + 10_000 })
    const name = 'slow-to-deploy'
    const first = await cli(['--name', name])
    expect(first.code).toBe(1)
    expect(first.text).toMatch(/still refused to bind the Action 30 s after deploying version 1.*run the command again/)
    // Tried at once, then once per poll for the whole bound: every one refused, nothing bound.
    expect(bindingWrites()).toEqual(Array(BIND_RETRY_MS / POLL_MS + 1).fill(400))
    expect(boundNames()).not.toContain(name)
    clock += 10_000
    auth0.clearRequests()
    const again = await cli(['--name', name])
    expect(again.code, again.text).toBe(0)
    expect(again.text).toContain('already deployed')
    expect(bindingWrites()).toEqual([200])
    expect(boundNames()).toEqual(['MFA policy', ACTION_NAME, name])
  })
})

describe('versions: --list-versions and --rollback', () => {
  it("--rollback deploys the previous version again: logins run that version's code", async () => {
    const gateway = connectActions({
      domain: auth0.domain,
      clientId: DEPLOY_CLIENT.clientId,
      clientSecret: DEPLOY_CLIENT.clientSecret,
    })
    const desired = { name: ACTION_NAME, code: variantB, runtime: 'node22', namespace: NS, updateSecrets: false }
    const deployed = await deployAction(gateway, desired, { dryRun: false, maxWaitMs: 60_000, pollMs: POLL_MS }, io([]))
    const b = deployed.version as number
    expect(await accessClaims()).toMatchObject({ [`${NS}build`]: 'B' })

    auth0.clearRequests()
    const { code, text } = await cli(['--rollback'])
    expect(code, text).toBe(0)
    expect(text).toContain(`deploy a copy of version ${b - 1} (deployed now: ${b})`)
    expect(text).toContain(`deployed version ${b + 1}, a copy of version ${b - 1}`)
    expect(text).toContain(`rolled back: logins run version ${b - 1}'s code`)
    expect(auth0.count({ method: 'POST', path: /\/versions\/[^/]+\/deploy$/ })).toBe(1)
    expect(bindingWrites()).toEqual([])
    const claims = await accessClaims()
    expect(claims[`${NS}build`]).toBeUndefined()
    expect(claims[`${NS}contentTags`]).toEqual(['docs'])
    expect(auth0.actions.bound('post-login').at(-1)?.code).toBe(committed)

    // Naming the version makes it safe to re-run: its code is deployed, so nothing happens.
    auth0.clearRequests()
    const again = await cli(['--rollback', String(b - 1)])
    expect(again.code, again.text).toBe(0)
    expect(again.text).toContain(`version ${b - 1}'s code is already deployed (as version ${b + 1})`)
    expect(writes()).toBe(0)
  })

  it('--list-versions shows every version, newest first: number, deployed or not, created', async () => {
    const { code, lines } = await cli(['--list-versions'])
    expect(code).toBe(0)
    expect(lines[0]).toBe(`versions of Action "${ACTION_NAME}" (newest first):`)
    const rows = lines.slice(1).map((line) => line.trim().split(/\s{2,}/))
    const numbers = rows.map((row) => Number(row[0]))
    expect(numbers).toEqual([...numbers].sort((a, b) => b - a))
    expect(numbers.at(-1)).toBe(1)
    expect(rows.filter((row) => row[1] === 'deployed').map((row) => row[0])).toEqual([String(numbers[0])])
    expect(rows.filter((row) => row[1] === 'build failed')).toHaveLength(1)
    for (const row of rows) expect(row[2]).toMatch(/^created \d{4}-\d\d-\d\dT/)
    expect(auth0.filterRequests().every((request) => request.method === 'GET' || request.path === '/oauth/token')).toBe(
      true,
    )
  })

  it('a plain deploy-action after a rollback deploys the committed file again, and a re-run changes nothing', async () => {
    // The rollback left the draft as it was (variant B), so the committed file is an update.
    const { code, text } = await cli([])
    expect(code, text).toBe(0)
    expect(text).toContain('(code)')
    expect(auth0.actions.bound('post-login').at(-1)?.code).toBe(committed)
    auth0.clearRequests()
    const rerun = await cli([])
    expect(rerun.text).toContain('nothing to do')
    expect(writes()).toBe(0)
  })

  it('bad --rollback arguments are refused before anything is sent', async () => {
    expect((await cli(['--rollback', 'x'])).code).toBe(2)
    expect((await cli(['--rollback', '--list-versions'])).code).toBe(2)
    const missing = await cli(['--rollback', '999'])
    expect(missing.code).toBe(1)
    expect(missing.text).toMatch(/no version 999 \(versions: \d+(, \d+)*\); see --list-versions/)
    expect(writes()).toBe(0)
  })
})
