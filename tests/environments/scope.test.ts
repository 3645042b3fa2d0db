/**
 * One dataset per environment, in depth: the blueprint the Sanity CLI loads scopes every function to the
 * environment's dataset and refuses without one; every handler refuses an invocation for another dataset before
 * it reads, writes or sends anything.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { FunctionContext, ScheduledFunctionContext } from '@sanity/functions'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Auth0Emulator, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { repoRoot, runSanityCli } from '../../emulators/sanity-cli.ts'
import { handler as planFanOut } from '../../functions/fan-out-plan/index.ts'
import { handler as roleFanOut } from '../../functions/fan-out-role/index.ts'
import { handler as repair } from '../../functions/reconcile-access/index.ts'
import { handler as sync } from '../../functions/sync-access-policy/index.ts'
import { SyncError } from '../../src/core/errors.ts'
import { scopeProblem } from '../../src/core/scope.ts'

const run = promisify(execFile)

/** What the pinned CLI's own loader (`loadAndParseBlueprint`, used by plan, deploy and functions test) makes of it. */
async function blueprintAsTheCliSeesIt(env: Record<string, string>) {
  const loader = join(repoRoot, 'node_modules/@sanity/runtime-cli/dist/actions/blueprints/blueprint.js')
  const script = `const { loadAndParseBlueprint } = await import(${JSON.stringify(loader)})
try {
  const { resources } = await loadAndParseBlueprint(${JSON.stringify(join(repoRoot, 'sanity.blueprint.ts'))})
  console.log(JSON.stringify({ resources }))
} catch (error) { console.log(JSON.stringify({ error: error.message })) }`
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(SANITY_|ACCESS_SYNC_)/.test(name)),
  ) as Record<string, string>
  const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: repoRoot,
    env: { ...clean, ...env },
  })
  const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { error?: string; resources?: unknown[] }
  return { ...result, stderr }
}

describe('the blueprint the Sanity CLI loads', () => {
  it('refuses without a project and dataset, naming both and the fix', async () => {
    const { error, stderr } = await blueprintAsTheCliSeesIt({})
    expect(error).toContain('Error executing Blueprint manifest')
    expect(stderr).toContain('SANITY_PROJECT_ID is not set; SANITY_DATASET is not set')
    expect(stderr).toContain('--env production')
  })

  it('with an environment file, scopes every document function to its dataset and puts the scope in every env', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'access-sync-blueprint-'))
    const file = join(cwd, '.env.staging')
    writeFileSync(file, 'SANITY_PROJECT_ID=abc123xy\nSANITY_DATASET=staging\nACCESS_SYNC_SCHEDULE=hourly\n')
    const { resources = [] } = (await blueprintAsTheCliSeesIt({ ACCESS_SYNC_ENV: file })) as {
      resources?: Array<{ name: string; type: string; env?: object; event?: { resource?: object } }>
    }
    const functions = resources.filter((resource) => resource.type.startsWith('sanity.function.'))
    expect(functions.map((fn) => fn.name)).toEqual([
      'sync-access-policy',
      'fan-out-role',
      'fan-out-plan',
      'reconcile-access',
    ])
    for (const fn of functions) {
      expect(fn.env).toEqual({ SANITY_PROJECT_ID: 'abc123xy', SANITY_DATASET: 'staging' })
      if (fn.type === 'sanity.function.document') {
        expect(fn.event?.resource).toEqual({ type: 'dataset', id: 'abc123xy.staging' })
      }
    }
  })

  it('`sanity blueprints plan` without them stops at the blueprint, with the reason', async () => {
    const { code, output } = await runSanityCli(['blueprints', 'plan'], {
      env: { SANITY_AUTH_TOKEN: 'not-a-real-token', SANITY_PROJECT_ID: '', SANITY_DATASET: '', ACCESS_SYNC_ENV: '' },
      timeoutMs: 60_000,
    })
    expect(code).not.toBe(0)
    expect(output).toContain('SANITY_PROJECT_ID is not set; SANITY_DATASET is not set')
  })
})

describe('scopeProblem', () => {
  const deployed = { projectId: 'abc123xy', dataset: 'production' }
  it('accepts the deployed dataset, by event resource and by client options', () => {
    expect(scopeProblem(deployed, {})).toBeUndefined()
    expect(
      scopeProblem(deployed, {
        eventResourceType: 'dataset',
        eventResourceId: 'abc123xy.production',
        projectId: 'abc123xy',
        dataset: 'production',
      }),
    ).toBeUndefined()
  })
  it('names both datasets when either side says another', () => {
    expect(scopeProblem(deployed, { eventResourceType: 'dataset', eventResourceId: 'abc123xy.staging' })).toMatch(
      /invoked for dataset "abc123xy\.staging", but this function's environment is deployed for "abc123xy\.production"/,
    )
    expect(scopeProblem(deployed, { projectId: 'other', dataset: 'production' })).toContain('"other.production"')
  })
  it('an undeployed scope is a problem of its own', () => {
    expect(scopeProblem({ projectId: undefined, dataset: 'x' }, {})).toContain('deployed without SANITY_PROJECT_ID')
  })
})

describe('a handler invoked for another dataset', () => {
  let auth0: Auth0Emulator
  let lake: ContentLakeEmulator
  const saved = { ...process.env }
  beforeAll(async () => {
    ;[auth0, lake] = await Promise.all([
      startAuth0Emulator(),
      startContentLakeEmulator({ datasets: { production: [], staging: [] } }),
    ])
    Object.assign(process.env, {
      AUTH0_DOMAIN: auth0.domain,
      AUTH0_CLIENT_ID: 'test-client',
      AUTH0_CLIENT_SECRET: 'test-secret',
      SANITY_PROJECT_ID: lake.projectId,
      SANITY_DATASET: 'production',
      SANITY_API_HOST: lake.url,
    })
  })
  afterEach(() => {
    auth0.requests.length = 0
    lake.requests.length = 0
  })
  afterAll(async () => {
    process.env = saved
    await Promise.all([auth0.close(), lake.close()])
  })

  const staging = () =>
    ({
      eventResourceType: 'dataset',
      eventResourceId: `${lake.projectId}.staging`,
      clientOptions: { ...lake.clientConfigFor('staging'), token: '' },
    }) as unknown as FunctionContext

  const cases: Array<[string, () => unknown]> = [
    [
      'sync-access-policy',
      () =>
        sync({
          context: staging(),
          event: {
            data: {
              _id: 'policy-acme',
              _rev: 'r1',
              operation: 'update',
              auth0OrganizationId: 'org_acme123',
              previousOrganizationId: 'org_acme123',
            },
          },
        } as never),
    ],
    [
      'fan-out-role',
      () =>
        roleFanOut({
          context: staging(),
          event: { data: { _id: 'role-editor', _type: 'role', operation: 'update' } },
        } as never),
    ],
    [
      'fan-out-plan',
      () =>
        planFanOut({
          context: staging(),
          event: { data: { _id: 'plan-pro', _type: 'plan', operation: 'update', keys: ['pro'] } },
        } as never),
    ],
    [
      'reconcile-access',
      () =>
        repair({
          context: {
            clientOptions: { token: 't', projectId: lake.projectId, dataset: 'staging' },
          } as ScheduledFunctionContext,
        } as never),
    ],
  ]

  it.each(cases)('%s: fails naming both datasets; 0 Auth0 requests, 0 Content Lake requests', async (_name, call) => {
    const error = await Promise.resolve()
      .then(call)
      .then(
        () => undefined,
        (caught: unknown) => caught,
      )
    expect(error).toBeInstanceOf(SyncError)
    expect((error as SyncError).reason).toBe('wrong-dataset')
    expect((error as SyncError).message).toContain(`"${lake.projectId}.staging"`)
    expect((error as SyncError).message).toContain(`"${lake.projectId}.production"`)
    expect(auth0.requests).toHaveLength(0)
    expect(lake.requests).toHaveLength(0)
  })
})
