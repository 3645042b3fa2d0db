/**
 * The local function runner of `npm run dev` is generic over the blueprint: every document function declared gets
 * every committed change through its own `on`, filter and projection, then its own handler; other function types
 * are listed, not run. Proved with a blueprint of three functions written to a scratch folder, and with the
 * project's own blueprint against the real handler.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineBlueprint, defineDocumentFunction, defineScheduledFunction } from '@sanity/blueprints'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
// In-process and serial (LENIENT): the probes record into this process's globalThis.
import { type BlueprintRunner, LENIENT, startBlueprintRunner } from '../../emulators/blueprint-runner.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'

const HANDLER = `
export const handler = async ({ event }) => {
  globalThis.__runnerEvents ??= []
  globalThis.__runnerEvents.push({ fn: import.meta.url.split('/').at(-2), data: event.data })
}
`
type Recorded = { fn: string; data: Record<string, unknown> }
const recorded = () => ((globalThis as { __runnerEvents?: Recorded[] }).__runnerEvents ??= [])

let root: string
let lake: ContentLakeEmulator
let runner: BlueprintRunner | undefined

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'blueprint-runner-'))
  for (const name of ['on-policies', 'on-roles']) {
    mkdirSync(join(root, 'functions', name), { recursive: true })
    writeFileSync(join(root, 'functions', name, 'index.ts'), HANDLER)
  }
  lake = await startContentLakeEmulator()
  recorded().length = 0
})
afterEach(async () => {
  runner?.stop()
  await lake.close()
  rmSync(root, { recursive: true, force: true })
})

describe('blueprint runner', () => {
  it('delivers each change to every document function, through its own filter and projection', async () => {
    const blueprint = defineBlueprint({
      resources: [
        defineDocumentFunction({
          name: 'on-policies',
          event: { on: ['create', 'update'], filter: '_type == "accessPolicy"', projection: '{_id, title}' },
        }),
        defineDocumentFunction({
          name: 'on-roles',
          event: { on: ['delete'], filter: '_type == "role"', projection: '{"gone": _id}' },
        }),
        defineScheduledFunction({ name: 'nightly', event: { expression: '0 3 * * *' } }),
      ],
    })
    runner = await startBlueprintRunner({ lake, blueprint, root, platform: LENIENT })
    expect(runner.documentFunctions).toEqual(['on-policies', 'on-roles'])
    expect(runner.otherFunctions).toEqual([{ name: 'nightly', type: 'sanity.function.cron' }])

    await lake.transact([
      { create: { _id: 'p1', _type: 'accessPolicy', title: 'One', secret: 'x' } },
      { create: { _id: 'r1', _type: 'role' } },
      { create: { _id: 'drafts.p2', _type: 'accessPolicy', title: 'Draft' } },
    ])
    await lake.transact([{ delete: { id: 'r1' } }])
    await runner.settled()

    expect(recorded()).toEqual([
      { fn: 'on-policies', data: { _id: 'p1', title: 'One' } },
      { fn: 'on-roles', data: { gone: 'r1' } },
    ])
    expect(runner.invocations.map((invocation) => invocation.functionName)).toEqual(['on-policies', 'on-roles'])
  })

  it('runs the project’s own blueprint: a published policy reaches sync-access-policy', async () => {
    const { blueprintFor } = await import('../../sanity.blueprint.ts')
    const blueprint = blueprintFor({ SANITY_PROJECT_ID: lake.projectId, SANITY_DATASET: lake.dataset })
    runner = await startBlueprintRunner({
      lake,
      blueprint,
      root: join(import.meta.dirname, '../..'),
      platform: LENIENT,
    })
    expect(runner.documentFunctions).toContain('sync-access-policy')
    await lake.transact([{ create: { _id: 'policy-x', _type: 'accessPolicy', auth0OrganizationId: 'org_x1' } }])
    await runner.settled()
    const invocation = runner.invocations.find((entry) => entry.functionName === 'sync-access-policy')
    expect(invocation?.data).toMatchObject({ _id: 'policy-x', operation: 'create', auth0OrganizationId: 'org_x1' })
  })
})
