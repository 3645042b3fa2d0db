/**
 * The local runner delivers a commit in any dataset as the platform would: each function's `event.resource`
 * decides whether it fires, filters and projections see `sanity::dataset()` / `sanity::projectId()`, the context
 * names the dataset, and each deployed environment runs with its own settings. Then the product itself: two
 * environments (production, staging) in one project, each with its own Auth0 tenant, and a staging dataset copied
 * from production (same `org_…` IDs). A staging publish sends nothing to the production tenant.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineDocumentFunction } from '@sanity/blueprints'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
// In-process and serial (LENIENT): the probes record into this process's globalThis, and the suite asserts the
// process.env swap of that mode. tests/platform/ covers the strict default.
import { type BlueprintRunner, LENIENT, startBlueprintRunner } from '../../emulators/blueprint-runner.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { accessSyncFunctions, accessSyncResources } from '../../sanity.blueprint.ts'

const HANDLER = `
export const handler = async ({ context, event }) => {
  globalThis.__envRunnerEvents ??= []
  globalThis.__envRunnerEvents.push({
    fn: import.meta.url.split('/').at(-2),
    mark: process.env.RUNNER_MARK,
    other: process.env.ONLY_IN_PRODUCTION,
    resourceId: context.eventResourceId,
    dataset: context.clientOptions.dataset,
    data: event.data,
  })
}
`
type Recorded = { fn: string; mark?: string; other?: string; resourceId: string; dataset: string; data: unknown }
const recorded = () => ((globalThis as { __envRunnerEvents?: Recorded[] }).__envRunnerEvents ??= [])

const repoRoot = join(import.meta.dirname, '../..')
const fixture = (name: string) =>
  JSON.parse(readFileSync(join(repoRoot, 'functions/sync-access-policy/fixtures', name), 'utf8'))

let lake: ContentLakeEmulator
let runner: BlueprintRunner | undefined
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  runner?.stop()
  runner = undefined
  for (const cleanup of cleanups.splice(0)) await cleanup()
  await lake?.close()
})

describe('the runner, per dataset', () => {
  let root: string
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'runner-datasets-'))
    cleanups.push(() => rmSync(root, { recursive: true, force: true }))
    for (const name of ['scoped-staging', 'all-datasets', 'unscoped', 'guarded', 'other-project']) {
      mkdirSync(join(root, 'functions', name), { recursive: true })
      writeFileSync(join(root, 'functions', name, 'index.ts'), HANDLER)
    }
    lake = await startContentLakeEmulator({ projectId: 'p1', datasets: { production: [], staging: [] } })
    recorded().length = 0
  })

  it('honours event.resource and sanity::dataset(), and builds the context for the change’s dataset', async () => {
    const on = ['create'] as ['create']
    const resources = [
      defineDocumentFunction({
        name: 'scoped-staging',
        event: { on, resource: { type: 'dataset', id: 'p1.staging' }, projection: '{_id}' },
      }),
      defineDocumentFunction({
        name: 'all-datasets',
        event: { on, resource: { type: 'dataset', id: 'p1.*' }, projection: '{_id}' },
      }),
      defineDocumentFunction({ name: 'unscoped', event: { on, projection: '{_id}' } }),
      defineDocumentFunction({
        name: 'guarded',
        event: {
          on,
          filter: 'sanity::dataset() == "staging"',
          projection: '{_id, "dataset": sanity::dataset(), "project": sanity::projectId()}',
        },
      }),
      defineDocumentFunction({
        name: 'other-project',
        event: { on, resource: { type: 'dataset', id: 'p2.production' }, projection: '{_id}' },
      }),
    ]
    runner = await startBlueprintRunner({
      lake,
      root,
      environments: [{ name: 'one', env: {}, resources }],
      platform: LENIENT,
    })
    expect(
      runner.deployments.map(({ functionName, resource }) => `${functionName}:${resource ?? 'every dataset'}`),
    ).toEqual([
      'scoped-staging:p1.staging',
      'all-datasets:p1.*',
      'unscoped:every dataset',
      'guarded:every dataset',
      'other-project:p2.production',
    ])

    await lake.transact([{ create: { _id: 'in-production', _type: 'thing' } }], undefined, 'production')
    await lake.transact([{ create: { _id: 'in-staging', _type: 'thing' } }], undefined, 'staging')
    await runner.settled()

    const fired = recorded().map(({ fn, data }) => `${(data as { _id: string })._id} → ${fn}`)
    expect(fired).toEqual([
      'in-production → all-datasets',
      'in-production → unscoped',
      'in-staging → scoped-staging',
      'in-staging → all-datasets',
      'in-staging → unscoped',
      'in-staging → guarded',
    ])
    expect(recorded().find(({ fn }) => fn === 'guarded')?.data).toEqual({
      _id: 'in-staging',
      dataset: 'staging',
      project: 'p1',
    })
    for (const { data, resourceId, dataset } of recorded()) {
      const expected = (data as { _id: string })._id === 'in-staging' ? 'staging' : 'production'
      expect({ resourceId, dataset }).toEqual({ resourceId: `p1.${expected}`, dataset: expected })
    }
    expect(runner.invocations.map((invocation) => invocation.dataset)).toEqual([
      'production',
      'production',
      'staging',
      'staging',
      'staging',
      'staging',
    ])
  })

  it('runs each environment’s functions with its own settings, and none of another environment’s', async () => {
    const fn = (resource: string) =>
      defineDocumentFunction({
        name: 'scoped-staging',
        event: { on: ['create'], resource: { type: 'dataset', id: resource }, projection: '{_id}' },
      })
    runner = await startBlueprintRunner({
      lake,
      root,
      platform: LENIENT,
      environments: [
        { name: 'production', env: { RUNNER_MARK: 'prod', ONLY_IN_PRODUCTION: 'x' }, resources: [fn('p1.production')] },
        { name: 'staging', env: { RUNNER_MARK: 'stage' }, resources: [fn('p1.staging')] },
      ],
    })
    await lake.transact([{ create: { _id: 'a', _type: 'thing' } }], undefined, 'staging')
    await lake.transact([{ create: { _id: 'b', _type: 'thing' } }], undefined, 'production')
    await runner.settled()

    expect(recorded().map(({ mark, other, dataset }) => ({ mark, other, dataset }))).toEqual([
      { mark: 'stage', other: undefined, dataset: 'staging' },
      { mark: 'prod', other: 'x', dataset: 'production' },
    ])
    expect(runner.invocations.map(({ environment }) => environment)).toEqual(['staging', 'production'])
    // Put back after each invocation.
    expect(process.env.RUNNER_MARK).toBeUndefined()
    expect(process.env.ONLY_IN_PRODUCTION).toBeUndefined()
  })
})

describe('two environments of the product in one project', () => {
  let production: Auth0Emulator
  let staging: Auth0Emulator
  const environmentFor = (name: 'production' | 'staging', tenant: Auth0Emulator) => {
    const env = {
      SANITY_PROJECT_ID: lake.projectId,
      SANITY_DATASET: name,
      AUTH0_DOMAIN: tenant.domain,
      AUTH0_CLIENT_ID: DEFAULT_CLIENT.clientId,
      AUTH0_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret,
    }
    return { name, env, resources: accessSyncResources(env) }
  }
  // A staging editor changes the Acme policy: the copy in staging names the same Organization as production's.
  const publishInStaging = async () => {
    const acme = lake.getDocument('policy-acme', 'staging')
    await lake.transact(
      [{ createOrReplace: { ...acme, title: 'Acme (staging edit)', plan: 'team' } }],
      undefined,
      'staging',
    )
    await runner?.settled()
  }

  beforeEach(async () => {
    const seed = fixture('dataset.json')
    lake = await startContentLakeEmulator({ projectId: 'acme-project', datasets: { production: seed, staging: seed } })
    ;[production, staging] = await Promise.all([
      startAuth0Emulator({ organizations: fixture('organizations.json') }),
      startAuth0Emulator({ organizations: fixture('organizations.json') }),
    ])
    cleanups.push(() => Promise.all([production.close(), staging.close()]).then(() => undefined))
  })

  it('with only production deployed, a staging publish fires nothing and sends 0 requests to the production tenant', async () => {
    runner = await startBlueprintRunner({
      lake,
      root: repoRoot,
      platform: LENIENT,
      environments: [environmentFor('production', production)],
    })
    expect(runner.deployments.map(({ resource }) => resource)).toEqual([
      'acme-project.production',
      'acme-project.production',
      'acme-project.production',
    ])
    await publishInStaging()
    expect(runner.invocations).toEqual([])
    expect(production.requests).toHaveLength(0)
  })

  it('with staging deployed too, the staging publish reaches the staging tenant and still 0 requests reach production', async () => {
    runner = await startBlueprintRunner({
      lake,
      root: repoRoot,
      platform: LENIENT,
      environments: [environmentFor('production', production), environmentFor('staging', staging)],
    })
    await publishInStaging()
    expect(
      runner.invocations.map(({ functionName, environment, dataset, error }) => ({
        functionName,
        environment,
        dataset,
        error,
      })),
    ).toEqual([{ functionName: 'sync-access-policy', environment: 'staging', dataset: 'staging', error: undefined }])
    expect(staging.getOrganization('org_acme123')?.metadata).toMatchObject({
      plan: 'team',
      sanityPolicyId: 'policy-acme',
    })
    expect(production.requests).toHaveLength(0)
    expect(production.getOrganization('org_acme123')?.metadata).toEqual({
      crmAccount: 'ACME-0042',
      supportTier: 'gold',
    })
    // The function recorded its status in staging only.
    expect(lake.documents('production').map((doc) => doc._type)).not.toContain('accessSyncStatus')
  })

  it('an unscoped production function (the blueprint before environments) fires for staging, and its handler refuses', async () => {
    const env = environmentFor('production', production).env
    runner = await startBlueprintRunner({
      lake,
      root: repoRoot,
      platform: LENIENT,
      // The functions without `event.resource`, but deployed with production's settings.
      environments: [{ name: 'production', env, resources: accessSyncFunctions(env) }],
    })
    const documentsBefore = lake.documents('staging').length
    await publishInStaging()
    const [invocation] = runner.invocations
    expect(invocation?.dataset).toBe('staging')
    expect(invocation?.error).toMatchObject({ reason: 'wrong-dataset' })
    expect(String((invocation?.error as Error | undefined)?.message)).toMatch(
      /acme-project\.staging[\s\S]*acme-project\.production/,
    )
    expect(production.requests).toHaveLength(0)
    expect(lake.documents('staging')).toHaveLength(documentsBefore)
  })
})
