/**
 * Issue 16's acceptance at full size, in `npm test`: a role used by 5 000 active policies, renamed, under the strict
 * runner (the 16-hop cap, query lag, invocation caps, an instance per event) with the default deploy (no scheduled
 * repair), at Auth0's Professional rate limits (write: burst 5, 25 per minute) on a clock 1 200 times faster. The chain
 * must finish within its 16 hops, each Organization written once, the others untouched, the list visible throughout.
 *
 * A platform hop spends up to 840 s (FANOUT_TIME_BUDGET_SECONDS) on Auth0, 10 s kept for a request: at 25 writes a
 * minute plus the burst, 350 writes. That is given as FANOUT_MAX_WRITES=350, as real CPU does not shrink with the
 * clock (about 12 ms per Organization here: two GETs and a PATCH over HTTPS, the emulators' side included), so each
 * hop gets real seconds enough for its 350 and the write budget, not the clock, ends it: 5 000 take 15 hops. That a
 * hop's 840 s hold those 350 at the real 25 a minute is shown at ×30 in tests/platform/fanout-hops.test.ts (near the
 * cap in `npm test`, the whole 5 000 on demand). FANOUT_SCALE_POLICIES and FANOUT_TIME_SCALE change the size and the
 * scale (`npm run bench:fanout` runs this file with the figures printed).
 */
import { fileURLToPath } from 'node:url'
import { createClient } from '@sanity/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth0Emulator, PROFESSIONAL_RATE_LIMITS, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type BlueprintRunner, startBlueprintRunner } from '../../emulators/blueprint-runner.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { accessSyncResources } from '../../sanity.blueprint.ts'
import { FANOUT_BUDGET_DEFAULT_SECONDS, FANOUT_TIMEOUT_SECONDS } from '../../src/config.ts'
import { fanOutStatusId, MAX_CHAIN_HOPS } from '../../src/core/fanout.ts'
import { functionEnv } from '../support/function-env.ts'
import { planDocuments, roleDocuments } from '../support/policies.ts'
import { syncedTenant } from '../support/synced-tenant.ts'

const POLICIES = Number(process.env.FANOUT_SCALE_POLICIES ?? 5000)
const TIME_SCALE = Number(process.env.FANOUT_TIME_SCALE ?? 1200)
/** A platform hop's writes at Professional limits: the burst, then (840 s − 10 s kept for a request) at 25 a minute. */
const PER_INVOCATION =
  PROFESSIONAL_RATE_LIMITS.write.capacity +
  Math.floor(((FANOUT_BUDGET_DEFAULT_SECONDS - 10) * PROFESSIONAL_RATE_LIMITS.write.refillPerMinute) / 60)
/** Real seconds a hop may take for its writes (the CPU they cost does not shrink with the clock), and its timeout. */
const HOP_BUDGET_SECONDS = 90
const CONTROL = 50

let auth0: Auth0Emulator
let lake: ContentLakeEmulator
let runner: BlueprintRunner

beforeAll(async () => {
  const renamed = syncedTenant(POLICIES, 'f', { id: 'role-editor', slug: 'editor' })
  const control = syncedTenant(CONTROL, 'v', { id: 'role-viewer', slug: 'viewer' })
  auth0 = await startAuth0Emulator({
    organizations: [...renamed.organizations, ...control.organizations],
    rateLimits: PROFESSIONAL_RATE_LIMITS,
    timeScale: TIME_SCALE,
    scaledReset: true,
  })
  lake = await startContentLakeEmulator({
    documents: [...roleDocuments(), ...planDocuments(), ...renamed.policies, ...control.policies],
  })
  const env = functionEnv(lake, auth0, {
    FANOUT_MAX_WRITES: String(PER_INVOCATION),
    FANOUT_TIME_BUDGET_SECONDS: String(HOP_BUDGET_SECONDS),
  })
  const resources = accessSyncResources(env)
  // The default deploy: no scheduled repair.
  expect(resources.map(({ type }) => type)).not.toContain('sanity.function.cron')
  runner = await startBlueprintRunner({
    lake,
    root: fileURLToPath(new URL('../../', import.meta.url)),
    environments: [{ name: 'production', env, resources }],
    // The strict runner (hop cap, caps, an instance per event), its query lag shortened to 200 ms real and the
    // fan-outs' 900-s timeout to a minute over the hop's real budget.
    platform: { queryLag: { ms: 200 }, timeoutScale: (HOP_BUDGET_SECONDS + 60) / FANOUT_TIMEOUT_SECONDS },
  })
}, 60_000)

afterAll(async () => {
  runner?.stop()
  await Promise.all([auth0?.close(), lake?.close()])
})

describe(`a role used by ${POLICIES} active policies, renamed, strict runner, Professional limits (time scale ${TIME_SCALE})`, () => {
  it('converges within the 16-hop chain, no schedule: 0 lost, each Organization written once, the list visible throughout', async () => {
    const statusId = fanOutStatusId('role-editor')
    const left: number[] = []
    lake.onMutation((change) => {
      if (change.id === statusId && change.after) left.push(Number(change.after.pendingCount))
    })
    const control = Object.fromEntries(
      Array.from({ length: CONTROL }, (_, i) => {
        const id = `org_v${String(i).padStart(5, '0')}`
        return [id, auth0.getOrganization(id)?.metadata]
      }),
    )
    const started = performance.now()
    await createClient(lake.clientConfig)
      .patch('role-editor')
      .set({ slug: { _type: 'slug', current: 'author' } })
      .commit()
    await runner.settled()
    const wallMs = performance.now() - started

    const invocations = runner.invocations.filter((invocation) => invocation.functionName === 'fan-out-role')
    for (const invocation of invocations) expect(invocation.error).toBeUndefined()
    const minimum = Math.ceil(POLICIES / PER_INVOCATION)
    expect(invocations.length).toBeGreaterThanOrEqual(minimum)
    // One chain, each hop delivered: none past the 16th, none dropped by a cap, none stopped.
    expect(invocations.length).toBeLessThanOrEqual(MAX_CHAIN_HOPS)
    expect(runner.dropped).toEqual([])

    // 0 lost: every Organization renamed, its own key kept; none written twice; the control group untouched.
    const wrong = Array.from({ length: POLICIES }, (_, i) => `org_f${String(i).padStart(5, '0')}`).filter((id) => {
      const metadata = auth0.getOrganization(id)?.metadata
      return metadata?.role !== 'author' || metadata.crmAccount !== `CRM-${id.slice(5)}`
    })
    expect(wrong).toEqual([])
    const requests = auth0.filterRequests({ path: /^\/api\/v2\/organizations/ })
    const patches = requests.filter((request) => request.method === 'PATCH' && request.status === 200)
    const limited = requests.filter((request) => request.status === 429).length
    expect(patches.length).toBe(POLICIES)
    expect(new Set(patches.map((request) => request.path)).size).toBe(POLICIES)
    for (const [id, metadata] of Object.entries(control)) expect(auth0.getOrganization(id)?.metadata).toEqual(metadata)

    // Durable and visible: the claim recorded all of it, every later write recorded less, down to none.
    expect(left[0]).toBe(POLICIES)
    expect(left.at(-1)).toBe(0)
    for (let i = 1; i < left.length; i++) expect(left[i]).toBeLessThanOrEqual(left[i - 1] as number)
    expect(lake.getDocument(statusId)).toMatchObject({
      phase: 'done',
      pending: [],
      targeted: POLICIES,
      written: POLICIES,
      invocations: invocations.length,
      failedCount: 0,
      chainStopped: null,
      lastRun: { hop: invocations.length, maxHops: MAX_CHAIN_HOPS, remaining: 0 },
    })

    const floorMinutes =
      (POLICIES - PROFESSIONAL_RATE_LIMITS.write.capacity) / PROFESSIONAL_RATE_LIMITS.write.refillPerMinute
    const emulatedMinutes = (wallMs * TIME_SCALE) / 60_000
    console.log(
      `fan-out scale: ${POLICIES} policies, ${invocations.length} invocations (at most ${PER_INVOCATION} writes each, ${minimum} at least), ${patches.length} PATCH, ${requests.filter((r) => r.method === 'GET' && r.status === 200).length} GET, ${limited} answered 429 and retried, ${left.length} status writes; wall ${(wallMs / 1000).toFixed(1)} s real = ${emulatedMinutes.toFixed(1)} emulated min at time scale ${TIME_SCALE}; write-limit floor ${floorMinutes.toFixed(1)} emulated min (${((floorMinutes * 60) / TIME_SCALE).toFixed(1)} s real), ${(emulatedMinutes / floorMinutes).toFixed(2)} × floor`,
    )
  }, 180_000)
})
