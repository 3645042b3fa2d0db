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
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import process from 'node:process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  type Auth0Organization,
  DEFAULT_CLIENT,
  PROFESSIONAL_RATE_LIMITS,
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
  const { organizations, policies, drifted } = buildTenant(params)
  const seedStarted = performance.now()
  const [auth0, lake] = await Promise.all([
    startAuth0Emulator({
      organizations,
      rateLimits: PROFESSIONAL_RATE_LIMITS,
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
    log(`P4: ${params.organizations} organizations, ${drifted} drifted, time scale ${params.timeScale}: applying…`)
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

    const floorMinutes = Math.max(
      ...(['list', 'read', 'write'] as const).map((name) => {
        const { capacity, refillPerMinute } = PROFESSIONAL_RATE_LIMITS[name]
        return Math.max(0, ok[name] - capacity) / refillPerMinute
      }),
    )
    const floorMs = (floorMinutes * 60_000) / params.timeScale
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
          `${(floorMs / 1000).toFixed(1)} s real = ${floorMinutes.toFixed(1)} emulated min`,
          'max over classes of (n − burst) / rate',
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
      method: `real CLI child process (--apply --json) against the emulators, Professional limits at time scale ${params.timeScale} with the reset hint scaled too; requests counted at the emulator; floor = max over classes of (n − burst)/rate`,
    }
  } finally {
    await Promise.all([auth0.close(), lake.close()])
  }
}

export const reconcileBench: Bench = {
  id: 'P4',
  title: `Reconcile ${DEFAULT_PARAMS.organizations} Organizations and policies, ${DEFAULT_PARAMS.drift * 100} % drift, Professional rate limits`,
  run: (options: BenchOptions) => measure(DEFAULT_PARAMS, options.log),
}

if (import.meta.main) {
  await trustEmulatorCertificate()
  const { values } = parseArgs({
    options: { orgs: { type: 'string' }, drift: { type: 'string' }, 'time-scale': { type: 'string' } },
  })
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
