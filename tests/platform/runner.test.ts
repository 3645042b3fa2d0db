/**
 * The strict runner and emulator (issue 16, outcome 1): the platform as documented, checked with probe functions
 * written to a scratch folder. Probes run in worker threads (their own instances), so they report through the
 * Content Lake: each writes what it saw as a `probe` document, with the real @sanity/client built from its context.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { defineBlueprint, defineDocumentFunction } from '@sanity/blueprints'
import { createClient } from '@sanity/client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type BlueprintRunner,
  PLATFORM,
  type PlatformModel,
  startBlueprintRunner,
} from '../../emulators/blueprint-runner.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'

/** Records what the instance saw; `chain` documents are bumped by one per invocation (a chain of function writes). */
const PROBE = `
import { createClient } from '@sanity/client'
let invocations = 0
export const handler = async ({ context, event }) => {
  invocations++
  const client = createClient({ apiVersion: '2021-06-07', useCdn: false, ...context.clientOptions })
  if (event.data.sleepMs) await new Promise((resolve) => setTimeout(resolve, event.data.sleepMs))
  if (event.data.fail) throw Object.assign(new Error('probe failed'), { reason: 'probe-reason' })
  if (event.data._type === 'chain') {
    await client.patch(event.data._id).inc({ n: 1 }).commit()
    return
  }
  await client.create({
    _type: 'probe',
    about: event.data._id,
    fn: import.meta.url.split('/').at(-2),
    invocations,
    contextKeys: Object.keys(context).sort(),
    clientOptionKeys: Object.keys(context.clientOptions).sort(),
    local: context.local === undefined ? 'absent' : String(context.local),
    lineage: process.env.X_SANITY_LINEAGE ?? null,
  })
}
`

let root: string
let lake: ContentLakeEmulator
let runner: BlueprintRunner | undefined

const probeFunction = (name: string, extra: { timeout?: number; filter?: string } = {}) =>
  defineDocumentFunction({
    name,
    ...(extra.timeout ? { timeout: extra.timeout } : {}),
    event: {
      on: ['create', 'update'],
      filter: extra.filter ?? '_type in ["thing", "chain"]',
      projection: '{_id, _type, sleepMs, fail}',
    },
  })

async function start(functions: ReturnType<typeof probeFunction>[], platform: Partial<PlatformModel> = {}) {
  for (const fn of functions) {
    mkdirSync(join(root, 'functions', fn.name), { recursive: true })
    writeFileSync(join(root, 'functions', fn.name, 'index.ts'), PROBE)
  }
  runner = await startBlueprintRunner({
    lake,
    root,
    blueprint: defineBlueprint({ resources: functions }),
    platform,
    onDrop: () => {},
  })
  return runner
}

const probes = () => lake.documents().filter((doc) => doc._type === 'probe')
const things = (count: number, extra: Record<string, unknown> = {}) =>
  Array.from({ length: count }, (_, i) => ({ create: { _id: `thing-${i}`, _type: 'thing', ...extra } }))

beforeEach(async () => {
  // Inside the repository (test-results/ is ignored by git), so the probes resolve @sanity/client from node_modules.
  mkdirSync(join(import.meta.dirname, '../../test-results'), { recursive: true })
  root = mkdtempSync(join(import.meta.dirname, '../../test-results/strict-runner-'))
  lake = await startContentLakeEmulator({ projectId: 'strict1' })
})
afterEach(async () => {
  runner?.stop()
  runner = undefined
  await lake.close()
  rmSync(root, { recursive: true, force: true })
})

describe('the strict runner (the default: PLATFORM)', () => {
  it('passes the context exactly as the platform builds it, and the function’s pinned API version is the one used', async () => {
    await start([probeFunction('probe')])
    await lake.transact(things(1))
    await runner?.settled()
    const [probe] = probes()
    expect(probe).toMatchObject({
      contextKeys: [
        'clientOptions',
        'eventResourceId',
        'eventResourceType',
        'functionResourceId',
        'functionResourceType',
        'resources',
      ],
      clientOptionKeys: ['apiHost', 'dataset', 'projectId', 'token'],
      local: 'absent',
    })
    const write = lake.requests.find((request) => request.path.includes('/data/mutate/'))
    // The probe pins 2021-06-07; the emulator's own client config says 2025-05-01 and must not win.
    expect(write?.path).toBe('/v2021-06-07/data/mutate/production')
    // Reached by project hostname, as https://<projectId>.api.sanity.io is.
    expect(write?.host).toMatch(/^strict1\.localhost:\d+$/)
  })

  it('runs concurrent events in separate cold instances (own module state) and reuses an instance only when idle', async () => {
    await start([probeFunction('probe')])
    await lake.transact(things(2, { sleepMs: 200 }))
    await runner?.settled()
    expect(probes().map((probe) => probe.invocations)).toEqual([1, 1])
    expect(runner?.coldStarts).toEqual({ probe: 2 })
    expect(runner?.invocations.map((invocation) => invocation.instance?.cold)).toEqual([true, true])

    await lake.transact([{ create: { _id: 'later', _type: 'thing' } }])
    await runner?.settled()
    expect(probes().find((probe) => probe.about === 'later')?.invocations).toBe(2)
    expect(runner?.coldStarts).toEqual({ probe: 2 })
  })

  it('drops invocations past the per-function and per-project caps, and logs each', async () => {
    const caps = { perFunction: 3, perProject: 5, windowMs: 60_000 }
    await start([probeFunction('first'), probeFunction('second')], { caps })
    await lake.transact(things(4))
    await runner?.settled()
    const ran = (fn: string) => runner?.invocations.filter((invocation) => invocation.functionName === fn).length
    // first: 3 of 4 (its own cap); second: 2 of 4 (the project's 5 are used up).
    expect([ran('first'), ran('second')]).toEqual([3, 2])
    expect(runner?.dropped.map(({ functionName, reason }) => `${functionName}:${reason}`).sort()).toEqual([
      'first:function-cap',
      'second:project-cap',
      'second:project-cap',
    ])
    expect(PLATFORM.caps).toEqual({ perFunction: 200, perProject: 4000, windowMs: 30_000 })
  })

  it('sends the lineage with every function write and does not deliver the 17th hop', async () => {
    await start([probeFunction('bump')])
    await createClient({ ...lake.clientConfig }).create({ _id: 'chain-1', _type: 'chain', n: 0 })
    await runner?.settled()
    // The editor's write started the chain; 16 invocations each wrote once; the 17th was not run.
    expect(lake.getDocument('chain-1')?.n).toBe(16)
    expect(runner?.invocations).toHaveLength(16)
    expect(runner?.dropped.map(({ reason }) => reason)).toEqual(['hop-limit'])
    const lineages = lake.requests
      .filter((request) => request.path.includes('/data/mutate/'))
      .map((request) => request.headers['x-sanity-lineage'])
    expect(lineages[0]).toBeUndefined()
    const chain = lineages.slice(1).map((lineage) => String(lineage).split(':'))
    expect(chain.map(([, count]) => Number(count))).toEqual(Array.from({ length: 16 }, (_, i) => i + 1))
    expect(new Set(chain.map(([id]) => id)).size).toBe(1)
  })

  it('ends an invocation at the blueprint’s timeout (scaled), and redelivers a failure once when asked', async () => {
    await start([probeFunction('slow', { timeout: 1 })], { timeoutScale: 0.2, redelivery: 'once' })
    await lake.transact([{ create: { _id: 'thing-slow', _type: 'thing', sleepMs: 5_000 } }])
    await runner?.settled()
    expect(runner?.invocations.map(({ attempt, timedOut, error }) => [attempt, timedOut, String(error)])).toEqual([
      [1, true, 'Error: Task timed out after 0.20 seconds'],
      [2, true, 'Error: Task timed out after 0.20 seconds'],
    ])
    // Killed, not abandoned: neither wrote its probe.
    expect(probes()).toEqual([])
  })

  it('keeps a thrown error’s reason, delivers every event twice under duplicate, and none after a failure under none', async () => {
    await start([probeFunction('probe')], { redelivery: 'duplicate' })
    await lake.transact([
      { create: { _id: 'ok', _type: 'thing' } },
      { create: { _id: 'bad', _type: 'thing', fail: true } },
    ])
    await runner?.settled()
    const attempts = (id: string) => runner?.invocations.filter((invocation) => invocation.change.id === id)
    expect(
      attempts('ok')
        ?.map(({ attempt }) => attempt)
        .sort(),
    ).toEqual([1, 2])
    expect(attempts('bad')?.map(({ error }) => (error as { reason?: string }).reason)).toEqual([
      'probe-reason',
      'probe-reason',
    ])
    expect(probes().filter((probe) => probe.about === 'ok')).toHaveLength(2)
  })
})

describe('the Content Lake emulator, as strict as the platform', () => {
  it('answers queries from an older snapshot during the lag, while the Doc API and mutations see the latest', async () => {
    lake.setQueryLag({ ms: 300 })
    const client = createClient({ ...lake.clientConfig })
    await client.create({ _id: 'doc-1', _type: 'thing', v: 1 })
    expect(await client.fetch('*[_id == "doc-1"][0].v')).toBeNull()
    expect((await client.getDocument('doc-1'))?.v).toBe(1)
    // A mutation selected by query sees the latest too.
    await client.patch({ query: '*[_id == "doc-1"]' }).set({ v: 2 }).commit()
    expect((await client.getDocument('doc-1'))?.v).toBe(2)
    await new Promise((resolve) => setTimeout(resolve, 350))
    expect(await client.fetch('*[_id == "doc-1"][0].v')).toBe(2)
  })

  it('lags by commit count when asked, and stamps revisions to the second', async () => {
    lake.setQueryLag({ commits: 1 })
    const client = createClient({ ...lake.clientConfig })
    await client.create({ _id: 'a', _type: 'thing' })
    expect(await client.fetch('count(*[_type == "thing"])')).toBe(0)
    await client.create({ _id: 'b', _type: 'thing' })
    expect(await client.fetch('count(*[_type == "thing"])')).toBe(1)
    expect(lake.getDocument('a')?._updatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  })
})
