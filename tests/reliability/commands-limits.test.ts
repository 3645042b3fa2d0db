/**
 * The fan-out and `access-sync deploy-action` under every row of the rate-limit matrix (tests/reliability/limits.ts:
 * each plan's preset, each reading of `x-ratelimit-reset`, Retry-After present and absent, plus no limits). The
 * reconcile's counterpart is tests/reconcile/limits.test.ts; the function's, the burst, ordering and fault suites.
 *
 * - Fan-out: a role used by 12 active policies is renamed; the blueprint's fan-out runs as the platform runs it
 *   (emulators/blueprint-runner.ts), at most 5 writes an invocation (FANOUT_MAX_WRITES), so the list is handed over
 *   twice. Each Organization is written exactly once, the status ends `done` with an empty list, and no invocation
 *   fails. Time scale 30 (an emulated minute is 2 real s): at Essentials’ 5 burst / 25 a minute the 12 writes take
 *   (7 past the burst) about 0.6 s real. Under Retry-After rows each 429 costs a whole real second (the emulator does not scale Retry-After), which is most of this
 *   file’s time.
 * - deploy-action: the real command against the emulator's Actions API, whose requests draw on the "all other
 *   endpoints" bucket (and the tenant's first, where the plan has one), at time scale 4 (Free's tenant-wide 2 a second answers 429 there; the others' buckets are wider than the
 *   command's 14 requests). It
 *   creates, builds, deploys and binds, exit 0; a second run is a no-op; every 429 was waited out (none ended a run).
 */
import { fileURLToPath } from 'node:url'
import { createClient } from '@sanity/client'
import { afterEach, describe, expect, it } from 'vitest'
import { run } from '../../cli/deploy-action.ts'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { DEPLOY_CLIENT } from '../../emulators/auth0-actions.ts'
import { type BlueprintRunner, LENIENT, startBlueprintRunner } from '../../emulators/blueprint-runner.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { blueprintFor } from '../../sanity.blueprint.ts'
import { ACTION_NAME } from '../../src/core/action-deploy.ts'
import { fanOutStatusId } from '../../src/core/fanout.ts'
import { planDocuments, roleDocuments } from '../support/policies.ts'
import { syncedTenant } from '../support/synced-tenant.ts'
import { LIMITS_MATRIX, limitsOptions } from './limits.ts'

const ORGANIZATIONS = 12
const PER_INVOCATION = 5
const FANOUT_TIME_SCALE = 30
const DEPLOY_TIME_SCALE = 4
const noop = 'exports.onExecutePostLogin = async (event, api) => {}'

let auth0: Auth0Emulator | undefined
let lake: ContentLakeEmulator | undefined
let runner: BlueprintRunner | undefined
afterEach(async () => {
  runner?.stop()
  await Promise.all([auth0?.close(), lake?.close()])
  auth0 = lake = runner = undefined
  delete process.env.FANOUT_MAX_WRITES
})

/** 12 Organizations synced to policies on role-editor, each with a key of its own. */
const tenant = () => syncedTenant(ORGANIZATIONS, 'p', { id: 'role-editor', slug: 'editor' }, 3)

describe.each(LIMITS_MATRIX)('under $name', (row) => {
  it('the fan-out writes each Organization once and drains its list over several invocations, none failing', async () => {
    const { organizations, policies } = tenant()
    auth0 = await startAuth0Emulator({
      organizations,
      ...limitsOptions(row),
      timeScale: FANOUT_TIME_SCALE,
      scaledReset: true,
    })
    lake = await startContentLakeEmulator({ documents: [...roleDocuments(), ...planDocuments(), ...policies] })
    process.env.AUTH0_DOMAIN = auth0.domain
    process.env.AUTH0_CLIENT_ID = DEFAULT_CLIENT.clientId
    process.env.AUTH0_CLIENT_SECRET = DEFAULT_CLIENT.clientSecret
    process.env.FANOUT_MAX_WRITES = String(PER_INVOCATION)
    runner = await startBlueprintRunner({
      lake,
      blueprint: blueprintFor({ SANITY_PROJECT_ID: lake.projectId, SANITY_DATASET: lake.dataset }),
      root: fileURLToPath(new URL('../../', import.meta.url)),
      platform: LENIENT,
    })

    await createClient(lake.clientConfig)
      .patch('role-editor')
      .set({ slug: { _type: 'slug', current: 'author' } })
      .commit()
    await runner.settled()

    const invocations = runner.invocations.filter((invocation) => invocation.functionName === 'fan-out-role')
    for (const invocation of invocations) expect(invocation.error).toBeUndefined()
    expect(invocations.length).toBeGreaterThanOrEqual(Math.ceil(ORGANIZATIONS / PER_INVOCATION))
    const patches = auth0.filterRequests({ method: 'PATCH', path: /^\/api\/v2\/organizations\// })
    const written = patches.filter((request) => request.status === 200).map((request) => request.path)
    expect(written).toHaveLength(ORGANIZATIONS)
    expect(new Set(written).size).toBe(ORGANIZATIONS)
    for (const org of organizations) {
      expect(auth0.getOrganization(org.id)?.metadata).toMatchObject({
        role: 'author',
        crmAccount: `CRM-${org.id.slice(5)}`,
      })
    }
    expect(lake.getDocument(fanOutStatusId('role-editor'))).toMatchObject({
      phase: 'done',
      pending: [],
      targeted: ORGANIZATIONS,
      written: ORGANIZATIONS,
      failedCount: 0,
      invocations: invocations.length,
    })
    const limited = auth0.filterRequests({ path: /^\/api\/v2\// }).filter((r) => r.status === 429).length
    console.info(`fan-out under ${row.name}: ${invocations.length} invocations, ${limited} answered 429 and waited out`)
  }, 30_000)

  it('deploy-action creates, builds, deploys and binds, and a second run changes nothing', async () => {
    auth0 = await startAuth0Emulator({
      clients: [DEPLOY_CLIENT],
      actionBuildDelayMs: 150,
      ...limitsOptions(row),
      timeScale: DEPLOY_TIME_SCALE,
      scaledReset: true,
    })
    auth0.actions.install({ name: 'MFA policy', code: noop })
    const env = {
      AUTH0_DOMAIN: auth0.domain,
      AUTH0_DEPLOY_CLIENT_ID: DEPLOY_CLIENT.clientId,
      AUTH0_DEPLOY_CLIENT_SECRET: DEPLOY_CLIENT.clientSecret,
      CLAIM_NAMESPACE: 'https://claims.acme.example/',
      DEPLOY_ACTION_POLL_MS: '40',
    }
    const cli = async () => {
      const lines: string[] = []
      const io = {
        log: (line: string) => lines.push(line),
        sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
        now: Date.now,
      }
      const code = await run([], env, io)
      return { code, text: lines.join('\n') }
    }

    const first = await cli()
    expect(first.code, first.text).toBe(0)
    expect(first.text).toContain('deployed version 1')
    expect(auth0.actions.bound('post-login').map((action) => action.name)).toEqual(['MFA policy', ACTION_NAME])

    const mutations = () =>
      auth0?.filterRequests({ path: /^\/api\/v2\/actions\// }).filter((r) => r.method !== 'GET' && r.status < 300)
        .length ?? 0
    const before = mutations()
    const second = await cli()
    expect(second.code, second.text).toBe(0)
    expect(second.text).toContain('nothing to do')
    expect(mutations()).toBe(before)
    expect(auth0.actions.bound('post-login').map((action) => action.name)).toEqual(['MFA policy', ACTION_NAME])
    const limited = auth0.filterRequests({ path: /^\/api\/v2\/actions\// }).filter((r) => r.status === 429).length
    console.info(`deploy-action under ${row.name}: ${auth0.requests.length} requests, ${limited} answered 429`)
  }, 30_000)
})
