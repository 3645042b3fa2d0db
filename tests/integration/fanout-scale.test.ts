/**
 * A role used by 2 000 active policies, renamed, at Auth0's Professional rate limits (write: burst 5, 25 per
 * minute), time-scaled: more than one invocation can write. Each invocation writes what fits its budget, the status
 * document keeps the rest, and the next invocations (started by that status write) finish it. Nothing is lost:
 * every Organization ends renamed, none is written twice, the others are untouched.
 *
 * The invocation's 840-s time budget (FANOUT_TIME_BUDGET_SECONDS) is given as the writes it holds at 25 per minute,
 * 10 s kept for a request, plus the burst of 5: FANOUT_MAX_WRITES=350. (At the old 90-s budget, 40 a hop, 2 000 took
 * 50 hops, past the platform's 16: the fan-out now says so, `fan-out-hop-limit`.)
 * Time scale 600: the write limit alone takes 8 s real. FANOUT_SCALE_POLICIES and FANOUT_TIME_SCALE change the size
 * and the scale (`npm run bench:fanout` runs this file with the figures printed).
 */
import { fileURLToPath } from 'node:url'
import { createClient } from '@sanity/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Auth0Emulator,
  type Auth0Organization,
  DEFAULT_CLIENT,
  PROFESSIONAL_RATE_LIMITS,
  startAuth0Emulator,
} from '../../emulators/auth0.ts'
import { type BlueprintRunner, LENIENT, startBlueprintRunner } from '../../emulators/blueprint-runner.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { blueprintFor } from '../../sanity.blueprint.ts'
import { fanOutStatusId } from '../../src/core/fanout.ts'
import { encodeGrant } from '../../src/core/metadata.ts'
import { planDocuments, roleDocuments } from '../support/policies.ts'

const POLICIES = Number(process.env.FANOUT_SCALE_POLICIES ?? 2000)
const TIME_SCALE = Number(process.env.FANOUT_TIME_SCALE ?? 600)
const PER_INVOCATION = 350
const CONTROL = 50
const UPDATED_AT = '2026-03-01T00:00:00Z'
const PRO = planDocuments().find((plan) => plan._id === 'plan-pro')?.entitlements as string[]

let auth0: Auth0Emulator
let lake: ContentLakeEmulator
let runner: BlueprintRunner

function tenant(count: number, prefix: string, role: { id: string; slug: string }) {
  const organizations: Auth0Organization[] = []
  const policies: Array<{ _id: string; _type: string; [key: string]: unknown }> = []
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(5, '0')
    const id = `org_${prefix}${n}`
    const policyId = `policy-${prefix}${n}`
    policies.push({
      _id: policyId,
      _type: 'accessPolicy',
      _rev: `${policyId}-r1`,
      _createdAt: '2026-01-01T00:00:00Z',
      _updatedAt: UPDATED_AT,
      title: policyId,
      auth0OrganizationId: id,
      plan: 'pro',
      allowedContentTags: ['docs'],
      role: { _type: 'reference', _ref: role.id },
      status: 'active',
    })
    const grant = encodeGrant({
      policyId,
      rev: `${policyId}-r1`,
      updatedAt: UPDATED_AT,
      plan: 'pro',
      role: role.slug,
      contentTags: ['docs'],
      entitlements: PRO,
    })
    organizations.push({ id, name: id.replace('_', '-'), metadata: { crmAccount: `CRM-${n}`, ...grant } })
  }
  return { organizations, policies }
}

beforeAll(async () => {
  const renamed = tenant(POLICIES, 'f', { id: 'role-editor', slug: 'editor' })
  const control = tenant(CONTROL, 'v', { id: 'role-viewer', slug: 'viewer' })
  auth0 = await startAuth0Emulator({
    organizations: [...renamed.organizations, ...control.organizations],
    rateLimits: PROFESSIONAL_RATE_LIMITS,
    timeScale: TIME_SCALE,
    scaledReset: true,
  })
  lake = await startContentLakeEmulator({
    documents: [...roleDocuments(), ...planDocuments(), ...renamed.policies, ...control.policies],
  })
  process.env.AUTH0_DOMAIN = auth0.domain
  process.env.AUTH0_CLIENT_ID = DEFAULT_CLIENT.clientId
  process.env.AUTH0_CLIENT_SECRET = DEFAULT_CLIENT.clientSecret
  process.env.FANOUT_MAX_WRITES = String(PER_INVOCATION)
  runner = await startBlueprintRunner({
    lake,
    blueprint: blueprintFor({ SANITY_PROJECT_ID: lake.projectId, SANITY_DATASET: lake.dataset }),
    root: fileURLToPath(new URL('../../', import.meta.url)),
    // Serial, in process, no caps or lag: the fan-out's own scale figures (tests/platform/ runs it strict).
    platform: LENIENT,
  })
}, 60_000)

afterAll(async () => {
  delete process.env.FANOUT_MAX_WRITES
  runner?.stop()
  await Promise.all([auth0?.close(), lake?.close()])
})

describe(`a role used by ${POLICIES} active policies, renamed, at Professional limits (time scale ${TIME_SCALE})`, () => {
  it('converges over several invocations with 0 lost, each within its budget, the list visible throughout', async () => {
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
    })

    const floorMinutes =
      (POLICIES - PROFESSIONAL_RATE_LIMITS.write.capacity) / PROFESSIONAL_RATE_LIMITS.write.refillPerMinute
    const emulatedMinutes = (wallMs * TIME_SCALE) / 60_000
    console.log(
      `fan-out scale: ${POLICIES} policies, ${invocations.length} invocations (at most ${PER_INVOCATION} writes each, ${minimum} at least), ${patches.length} PATCH, ${requests.filter((r) => r.method === 'GET' && r.status === 200).length} GET, ${limited} answered 429 and retried, ${left.length} status writes; wall ${(wallMs / 1000).toFixed(1)} s real = ${emulatedMinutes.toFixed(1)} emulated min at time scale ${TIME_SCALE}; write-limit floor ${floorMinutes.toFixed(1)} emulated min (${((floorMinutes * 60) / TIME_SCALE).toFixed(1)} s real), ${(emulatedMinutes / floorMinutes).toFixed(2)} × floor`,
    )
  }, 180_000)
})
