/**
 * P4, the reconcile at scale: `npm run bench:reconcile [-- --orgs N --drift 0.05 --time-scale 20]` (also P4 of
 * `npm run bench`). 10 000 Organizations, 10 000 published policies, 5 % drift (a third never synced, a third with
 * our keys edited in Auth0, a third orphans whose policy was archived), every Organization with a key of its own.
 * The real CLI (`access-sync reconcile --apply --json`, a child process) runs against the emulators with Auth0's
 * Professional limits, time-scaled. Requests are counted at the emulator, peak RSS is the child's (VmHWM).
 *
 * The floor: Auth0 limits each class with its own token bucket (list: burst 5, 50/min; read by ID: 20, 200/min;
 * write: 5, 25/min). n requests of a class need at least max(0, n − burst) / rate minutes, and the classes run
 * side by side, so the run cannot beat the slowest class: floor = max over classes, in emulated minutes, divided by
 * the time scale for real time. The target is 1.2 × floor.
 *
 * Under another plan (`--preset`, or BENCH_PRESET; see BENCH_PRESETS below) the emulator runs that plan's limits and
 * the floor is computed from them: a tenant-wide bucket meters every request, a plan with no `list` bucket lists on
 * `read`. BENCH_ORGS sets the size under `npm run bench` (`--orgs` there or here).
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import process from 'node:process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  type Auth0EmulatorOptions,
  type Auth0Organization,
  type Bucket,
  DEFAULT_CLIENT,
  PROFESSIONAL_RATE_LIMITS,
  RATE_LIMIT_PRESETS,
  type RateLimitPreset,
  type RateLimits,
  startAuth0Emulator,
} from '../../emulators/auth0.ts'
import { startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { trustEmulatorCertificate } from '../../emulators/tls.ts'
import { encodeGrant } from '../../src/core/metadata.ts'
import type { Bench, BenchOptions, BenchReport } from './types.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface ReconcileBenchParams {
  readonly organizations: number
  readonly drift: number
  readonly timeScale: number
}

export const DEFAULT_PARAMS: ReconcileBenchParams = { organizations: 10_000, drift: 0.05, timeScale: 20 }
/** Issue #7: at most 1.2 × the floor the rate limits impose. */
const FLOOR_FACTOR_TARGET = 1.2

/**
 * Which plan's rate limits P2 and P4 run under: `--preset <name>` of `npm run bench` (or `bench:reconcile`), or
 * BENCH_PRESET. `professional` (the default) is the historical three buckets (PROFESSIONAL_RATE_LIMITS); the others
 * are the emulator's RATE_LIMIT_PRESETS (a tenant-wide bucket checked first where the plan has one), with
 * `x-ratelimit-reset` = bucket full and no Retry-After, as Auth0 documents its Management API.
 */
export const BENCH_PRESETS = [
  'professional',
  'free',
  'essentials',
  'enterprise-production',
  'enterprise-non-production',
] as const
export type BenchPreset = (typeof BENCH_PRESETS)[number]

export function isBenchPreset(name: string): name is BenchPreset {
  return (BENCH_PRESETS as readonly string[]).includes(name)
}

export function benchPreset(env: NodeJS.ProcessEnv = process.env): BenchPreset {
  const name = env.BENCH_PRESET?.trim() || 'professional'
  if (!isBenchPreset(name)) throw new Error(`BENCH_PRESET "${name}": choose from ${BENCH_PRESETS.join(', ')}`)
  return name
}

export function presetLimits(preset: BenchPreset): RateLimits {
  return preset === 'professional' ? PROFESSIONAL_RATE_LIMITS : RATE_LIMIT_PRESETS[preset as RateLimitPreset]
}

export function presetEmulatorOptions(preset: BenchPreset): Auth0EmulatorOptions {
  return preset === 'professional'
    ? { rateLimits: PROFESSIONAL_RATE_LIMITS }
    : { rateLimitPreset: preset, resetSemantics: 'bucket-full', retryAfter: false }
}

/** A plan's limits in words, for titles and method lines, e.g. `global 2/2 per s; write 5/25 a min`. */
export function describeLimits(limits: RateLimits): string {
  return (Object.entries(limits) as Array<[string, Bucket | false | undefined]>)
    .filter((entry): entry is [string, Bucket] => Boolean(entry[1]))
    .map(([name, bucket]) => `${name} ${bucket.capacity} burst/${bucket.refillPerMinute} a min`)
    .join(', ')
}

/**
 * The least time Auth0's limits allow for `n` Organization requests of each class: each bucket (burst b, rate r a
 * minute) needs max(0, n − b) / r minutes for the requests it meters; buckets run side by side, so the floor is the
 * slowest. Listing draws on `read` where the plan has no `list` bucket; the tenant-wide bucket (`global`) meters
 * every one of them. In emulated minutes.
 */
export function floorMinutes(limits: RateLimits, n: { list: number; read: number; write: number }): number {
  const metered: Array<[Bucket | false | undefined, number]> = [
    [limits.list, limits.list === undefined ? 0 : n.list],
    [limits.read, n.read + (limits.list === undefined ? n.list : 0)],
    [limits.write, n.write],
    [limits.global, n.list + n.read + n.write],
  ]
  return Math.max(
    0,
    ...metered.map(([bucket, count]) => (bucket ? Math.max(0, count - bucket.capacity) / bucket.refillPerMinute : 0)),
  )
}

type Kind = 'in sync' | 'never synced' | 'edited in Auth0' | 'orphan'

/** Which Organizations drift, spread evenly over the listing, and how. */
export function kindOf(index: number, drift: number): Kind {
  const every = Math.max(1, Math.round(1 / drift))
  if (index % every !== 0) return 'in sync'
  const kinds: Kind[] = ['never synced', 'edited in Auth0', 'orphan']
  return kinds[(index / every) % 3] as Kind
}

/** The fixture's roles and plans: what the policies reference. */
export function referencedDocuments(): Array<{ _id: string; _type: string; [key: string]: unknown }> {
  const fixture = new URL('../../functions/sync-access-policy/fixtures/dataset.json', import.meta.url)
  const docs: Array<{ _id: string; _type: string; [key: string]: unknown }> = JSON.parse(readFileSync(fixture, 'utf8'))
  return docs.filter((doc) => doc._type !== 'accessPolicy')
}

export function buildTenant(params: ReconcileBenchParams) {
  const pro = referencedDocuments().find(
    (doc) => doc._type === 'plan' && (doc.key as { current?: string })?.current === 'pro',
  )
  const entitlements = (pro?.entitlements as string[] | undefined) ?? []
  const organizations: Auth0Organization[] = []
  const policies: Array<{ _id: string; _type: string; [key: string]: unknown }> = []
  for (let i = 0; i < params.organizations; i++) {
    const n = String(i).padStart(6, '0')
    const id = `org_b${n}`
    const policyId = `policy-b${n}`
    const kind = kindOf(i, params.drift)
    const grant = encodeGrant({
      policyId,
      rev: `r${n}`,
      updatedAt: '2026-01-02T00:00:00Z',
      plan: 'pro',
      role: 'editor',
      contentTags: ['docs', 'reports'],
      entitlements,
    })
    const own = { crmAccount: `C-${n}` }
    const metadata =
      kind === 'never synced'
        ? own
        : kind === 'edited in Auth0'
          ? { ...own, ...grant, plan: 'enterprise' }
          : { ...own, ...grant }
    organizations.push({ id, name: `b${n}`, metadata })
    policies.push({
      _id: policyId,
      _type: 'accessPolicy',
      _rev: `r${n}`,
      _createdAt: '2026-01-01T00:00:00Z',
      _updatedAt: '2026-01-02T00:00:00Z',
      title: `Customer ${n}`,
      auth0OrganizationId: id,
      plan: 'pro',
      allowedContentTags: ['reports', 'docs'],
      role: { _type: 'reference', _ref: 'role-editor' },
      status: kind === 'orphan' ? 'archived' : 'active',
    })
  }
  const drifted = organizations.filter((_, i) => kindOf(i, params.drift) !== 'in sync').length
  return { organizations, policies, drifted }
}

interface ChildRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderrLines: number
  readonly wallMs: number
  readonly peakRssKb: number | undefined
}

/** Runs the CLI as users do and samples its peak resident set (VmHWM) until it exits. */
function runCli(args: readonly string[], env: Record<string, string>): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, [`${ROOT}cli/access-sync.ts`, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    })
    let stdout = ''
    let stderrLines = 0
    let peakRssKb: number | undefined
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderrLines += chunk.toString().split('\n').length - 1
    })
    const sample = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
        const match = /VmHWM:\s+(\d+) kB/.exec(status)
        if (match) peakRssKb = Math.max(peakRssKb ?? 0, Number(match[1]))
      } catch {
        // Not Linux, or the process just exited: keep the last sample.
      }
    }
    const timer = setInterval(sample, 100)
    child.on('error', reject)
    child.on('exit', (code) => {
      clearInterval(timer)
      resolve({ code, stdout, stderrLines, wallMs: performance.now() - started, peakRssKb })
    })
  })
}

async function measure(params: ReconcileBenchParams, log: (line: string) => void): Promise<BenchReport> {
  const preset = benchPreset()
  const limits = presetLimits(preset)
  const { organizations, policies, drifted } = buildTenant(params)
  const seedStarted = performance.now()
  const [auth0, lake] = await Promise.all([
    startAuth0Emulator({
      organizations,
      ...presetEmulatorOptions(preset),
      timeScale: params.timeScale,
      scaledReset: true,
    }),
    startContentLakeEmulator({ documents: [...referencedDocuments(), ...policies] }),
  ])
  const seedMs = performance.now() - seedStarted
  const env = {
    SANITY_PROJECT_ID: lake.projectId,
    SANITY_DATASET: lake.dataset,
    SANITY_API_TOKEN: 'bench-read-token',
    SANITY_API_HOST: lake.url,
    AUTH0_DOMAIN: auth0.domain,
    AUTH0_CLIENT_ID: DEFAULT_CLIENT.clientId,
    AUTH0_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret,
  }
  try {
    log(
      `P4 (${preset}): ${params.organizations} organizations, ${drifted} drifted, time scale ${params.timeScale}: applying…`,
    )
    const applied = await runCli(['reconcile', '--apply', '--json'], env)
    const result = JSON.parse(applied.stdout) as { exitCode: number; summary: Record<string, number> }
    const requests = auth0.requests.filter((request) => request.path.startsWith('/api/v2/organizations'))
    const count = (filter: (request: (typeof requests)[number]) => boolean) => requests.filter(filter).length
    const isList = (request: (typeof requests)[number]) =>
      request.method === 'GET' && request.path === '/api/v2/organizations'
    const isRead = (request: (typeof requests)[number]) => request.method === 'GET' && !isList(request)
    const isWrite = (request: (typeof requests)[number]) => request.method === 'PATCH'
    const ok = {
      list: count((r) => isList(r) && r.status === 200),
      read: count((r) => isRead(r) && r.status === 200),
      write: count((r) => isWrite(r) && r.status === 200),
    }
    const limited = {
      list: count((r) => isList(r) && r.status === 429),
      read: count((r) => isRead(r) && r.status === 429),
      write: count((r) => isWrite(r) && r.status === 429),
    }
    const lakeQueries = lake.requests.filter((request) => request.path.includes('/data/query/')).length

    const floor = floorMinutes(limits, ok)
    const floorMs = (floor * 60_000) / params.timeScale
    const factor = applied.wallMs / floorMs

    log('P4: checking that a dry run now finds nothing to do…')
    const after = await runCli(['reconcile', '--json'], env)
    const afterResult = JSON.parse(after.stdout) as { exitCode: number; summary: Record<string, number> }

    const pages = Math.ceil(params.organizations / 50)
    const rows = [
      { label: 'list pages (take 50)', values: [String(ok.list), `orgs/50 = ${pages}`] },
      { label: 'GET by ID', values: [String(ok.read), `${drifted} (one per drifted org)`] },
      { label: 'PATCH', values: [String(ok.write), `${drifted} (one per drifted org, none for in-sync ones)`] },
      {
        label: '429 answers (list / read / write)',
        values: [`${limited.list} / ${limited.read} / ${limited.write}`, 'waited as told, then retried'],
      },
      {
        label: 'Content Lake queries',
        values: [
          String(lakeQueries),
          `policies/1000 = ${Math.ceil(params.organizations / 1000)}, +1 empty page, +1 for the plans`,
        ],
      },
      {
        label: 'summary (--json)',
        values: [
          `${result.summary.grant} grant, ${result.summary.revoke} revoke, ${result.summary.inSync} in sync`,
          `exit ${result.exitCode}`,
        ],
      },
      {
        label: 'wall time',
        values: [
          `${(applied.wallMs / 1000).toFixed(1)} s real = ${((applied.wallMs * params.timeScale) / 60_000).toFixed(1)} emulated min`,
          '',
        ],
      },
      {
        label: 'rate-limit floor',
        values: [
          `${(floorMs / 1000).toFixed(1)} s real = ${floor.toFixed(1)} emulated min`,
          'max over buckets of (n − burst) / rate',
        ],
      },
      { label: 'wall / floor', values: [factor.toFixed(3), `≤ ${FLOOR_FACTOR_TARGET}`] },
      {
        label: 'peak RSS of the CLI',
        values: [
          applied.peakRssKb === undefined ? 'n/a' : `${(applied.peakRssKb / 1024).toFixed(0)} MB`,
          'VmHWM, sampled every 100 ms',
        ],
      },
      { label: 'progress lines on stderr', values: [String(applied.stderrLines), 'never silent > 3 s'] },
      {
        label: 'dry run afterwards',
        values: [
          `exit ${afterResult.exitCode}, ${afterResult.summary.writes} to write`,
          `${(after.wallMs / 1000).toFixed(1)} s`,
        ],
      },
      { label: 'seeding the emulators', values: [`${(seedMs / 1000).toFixed(1)} s`, ''] },
    ]
    return {
      columns: ['measured', 'expected'],
      rows,
      targets: [
        {
          label: 'wall time ≤ 1.2 × rate-limit floor',
          measured: `${factor.toFixed(2)} ×`,
          target: `≤ ${FLOOR_FACTOR_TARGET} ×`,
          met: factor <= FLOOR_FACTOR_TARGET,
        },
        { label: 'list pages = orgs/50', measured: String(ok.list), target: String(pages), met: ok.list === pages },
        {
          label: 'one GET and one PATCH per drifted org',
          measured: `${ok.read} / ${ok.write}`,
          target: `${drifted} / ${drifted}`,
          met: ok.read === drifted && ok.write === drifted,
        },
        {
          label: 'converged (dry run exits 0)',
          measured: `exit ${afterResult.exitCode}`,
          target: 'exit 0',
          met: applied.code === 0 && after.code === 0,
        },
      ],
      method: `${params.organizations} Organizations; real CLI child process (--apply --json) against the emulators, preset ${preset} (${describeLimits(limits)}) at time scale ${params.timeScale} with the reset hint scaled too; requests counted at the emulator; floor = max over buckets of (n − burst)/rate, the tenant-wide bucket metering every request`,
    }
  } finally {
    await Promise.all([auth0.close(), lake.close()])
  }
}

/** BENCH_ORGS (or `--orgs` of `bench:reconcile`) sizes the tenant; 10 000 by default. */
export function benchParams(env: NodeJS.ProcessEnv = process.env): ReconcileBenchParams {
  const organizations = env.BENCH_ORGS?.trim() ? Number(env.BENCH_ORGS) : DEFAULT_PARAMS.organizations
  const timeScale = env.BENCH_TIME_SCALE?.trim() ? Number(env.BENCH_TIME_SCALE) : DEFAULT_PARAMS.timeScale
  return { ...DEFAULT_PARAMS, organizations, timeScale }
}

export const reconcileBench: Bench = {
  id: 'P4',
  get title() {
    const params = benchParams()
    return `Reconcile ${params.organizations} Organizations and policies, ${params.drift * 100} % drift, ${benchPreset()} rate limits`
  },
  run: (options: BenchOptions) => measure(benchParams(), options.log),
}

if (import.meta.main) {
  await trustEmulatorCertificate()
  const { values } = parseArgs({
    options: {
      orgs: { type: 'string' },
      drift: { type: 'string' },
      'time-scale': { type: 'string' },
      preset: { type: 'string' },
    },
  })
  if (values.preset !== undefined) process.env.BENCH_PRESET = values.preset
  benchPreset()
  const params: ReconcileBenchParams = {
    organizations: values.orgs ? Number(values.orgs) : DEFAULT_PARAMS.organizations,
    drift: values.drift ? Number(values.drift) : DEFAULT_PARAMS.drift,
    timeScale: values['time-scale'] ? Number(values['time-scale']) : DEFAULT_PARAMS.timeScale,
  }
  const report = await measure(params, (line) => process.stderr.write(`${line}\n`))
  for (const row of report.rows)
    console.log(`${row.label.padEnd(36)}${row.values[0]?.padEnd(44)}${row.values[1] ?? ''}`)
  console.log('')
  for (const target of report.targets) {
    console.log(`${target.met ? 'met   ' : 'MISSED'} ${target.label}: ${target.measured} (target ${target.target})`)
  }
  console.log(`(${report.method})`)
  process.exit(report.targets.every((target) => target.met) ? 0 : 1)
}
