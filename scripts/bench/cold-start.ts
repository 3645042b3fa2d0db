/**
 * P3, cold start. The function is packed by the CLI's own packing code (`sanity functions build`, the prepareAsset
 * that `sanity blueprints deploy` runs), unzipped, and started in fresh Node processes, interleaved with a bare
 * `node -e 0` in the same run:
 * - import: the artifact's module is imported, nothing else;
 * - import + first invocation: the handler then handles one event against the emulators (the policy is already in
 *   step, the usual editorial republish: the Content Lake query, a token, one Auth0 read, the status write);
 * - the same I/O with plain fetch: those four requests from a bare process, without SDKs or bundle: what any
 *   handler pays for them on a cold process (TLS set-up, Node's fetch loading, the emulators' answers).
 * Each figure is the median wall time of a child process from spawn until it reports its work done: a function
 * instance stays up after its first event, so its exit is no part of the cold start. `node -e 0` is timed to its exit.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { DEFAULT_CLIENT, startAuth0Emulator } from '../../emulators/auth0.ts'
import { startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { contextFor } from '../../emulators/functions-runtime.ts'
import { runSanityCli } from '../../emulators/sanity-cli.ts'
import { SYNC_FUNCTION } from '../../sanity.blueprint.ts'
import { buildFunctions, FUNCTION_SIZE_LIMIT, REPO_ROOT } from '../build-functions.ts'
import { readZip } from '../zip.ts'
import { type Bench, type BenchReport, kB, median } from './types.ts'

const DEFAULT_RUNS = 21
const WARM_UP_RUNS = 2
/** Issue #11: import plus the first invocation within 3× a bare `node -e 0`, measured in the same run. */
const START_RATIO_TARGET = 3

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(REPO_ROOT, 'functions/sync-access-policy/fixtures', name), 'utf8'))

export const coldStart: Bench = {
  id: 'P3',
  title: 'Cold start: the deploy artifact against a bare node start',
  async run({ runs = DEFAULT_RUNS, log }): Promise<BenchReport> {
    const scratch = mkdtempSync(join(tmpdir(), 'bench-cold-start-'))
    const auth0 = await startAuth0Emulator({ organizations: fixture('organizations.json') })
    const lake = await startContentLakeEmulator({ documents: fixture('dataset.json') })
    try {
      await buildFunctions()
      const packed = await runSanityCli(['functions', 'build', SYNC_FUNCTION.name, '--out-dir', scratch], {
        timeoutMs: 120_000,
      })
      if (packed.code !== 0) throw new Error(`sanity functions build failed:\n${packed.output}`)
      const zip = readFileSync(join(scratch, `${SYNC_FUNCTION.name}.zip`))
      const unpacked = join(scratch, 'unpacked')
      mkdirSync(unpacked)
      let unpackedBytes = 0
      for (const entry of readZip(zip)) {
        writeFileSync(join(unpacked, entry.name), entry.data())
        unpackedBytes += entry.size
      }
      const artifact = pathToFileURL(join(unpacked, 'index.js')).href

      const policy = fixture('policy-acme.json')
      const event = {
        data: {
          _id: policy._id,
          _rev: policy._rev,
          operation: 'update',
          auth0OrganizationId: policy.auth0OrganizationId,
          previousOrganizationId: policy.auth0OrganizationId,
        },
      }
      const payload = JSON.stringify({ context: contextFor(lake.clientConfig), event })
      const { certPath } = await import('../../emulators/tls.ts').then((tls) => tls.ensureTestCertificate())
      const env = {
        ...process.env,
        NODE_EXTRA_CA_CERTS: certPath,
        AUTH0_DOMAIN: auth0.domain,
        AUTH0_CLIENT_ID: DEFAULT_CLIENT.clientId,
        AUTH0_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret,
      }
      const variants = {
        bare: ['-e', '0'],
        import: ['--input-type=module', '-e', `await import(${JSON.stringify(artifact)}); ${DONE}`],
        invocation: [
          '--input-type=module',
          '-e',
          `const { handler } = await import(${JSON.stringify(artifact)}); await handler(${payload}); ${DONE}`,
        ],
        fetchOnly: [
          '--input-type=module',
          '-e',
          `${plainFetchScript(lake.clientConfig, auth0.domain, policy)}; ${DONE}`,
        ],
      } satisfies Record<string, string[]>
      const times: Record<keyof typeof variants, number[]> = { bare: [], import: [], invocation: [], fetchOnly: [] }
      log(`P3: ${WARM_UP_RUNS} warm-up and ${runs} measured rounds of 4 child processes`)
      for (let round = 0; round < WARM_UP_RUNS + runs; round++) {
        for (const [name, args] of Object.entries(variants) as Array<[keyof typeof variants, string[]]>) {
          const ms = await timeChild(args, env)
          if (round >= WARM_UP_RUNS) times[name].push(ms)
        }
      }
      const bare = median(times.bare)
      const row = (label: string, name: keyof typeof variants, bytes: string) => {
        const ms = median(times[name])
        return { label, values: [bytes, `${ms.toFixed(1)} ms`, `${(ms / bare).toFixed(2)}×`] }
      }
      const invocationRatio = median(times.invocation) / bare
      const ownShare = (median(times.invocation) - median(times.fetchOnly) + bare) / bare
      return {
        columns: ['bytes', 'median', '× bare'],
        rows: [
          row('bare `node -e 0`', 'bare', '–'),
          row('import the artifact', 'import', `${kB(unpackedBytes)} unpacked, ${kB(zip.length)} zip`),
          row('import + first invocation', 'invocation', '4 requests'),
          row('the same 4 requests, plain fetch', 'fetchOnly', '–'),
          {
            label: 'artifact alone (invocation − plain fetch)',
            values: [
              '–',
              `${(median(times.invocation) - median(times.fetchOnly)).toFixed(1)} ms`,
              `+${(ownShare - 1).toFixed(2)}×`,
            ],
          },
        ],
        targets: [
          {
            label: 'artifact size (unpacked)',
            measured: kB(unpackedBytes),
            target: `≤ ${kB(FUNCTION_SIZE_LIMIT)}`,
            met: unpackedBytes <= FUNCTION_SIZE_LIMIT,
          },
          {
            label: 'import + first invocation',
            measured: `${invocationRatio.toFixed(2)}× bare`,
            target: `≤ ${START_RATIO_TARGET}× bare`,
            met: invocationRatio <= START_RATIO_TARGET,
          },
        ],
        method: `Node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]?.toFixed(1)} at the end; ${runs} interleaved rounds after ${WARM_UP_RUNS} warm-up, median wall time of each child process from spawn to its work done (to exit for \`node -e 0\`), emulators in the bench process.`,
      }
    } finally {
      await Promise.all([auth0.close(), lake.close()])
      rmSync(scratch, { recursive: true, force: true })
    }
  },
}

/** Written by a child when its work is done: a function instance stays up after its first event, so its exit is no part of the cold start. */
const DONE = "process.stdout.write('done')"

/** Milliseconds from spawn to the child's `done` (or to its exit, for a child that prints nothing: `node -e 0`). */
function timeChild(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let done: number | undefined
    child.stdout.once('data', () => {
      done = elapsed()
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const ms = done ?? elapsed()
      if (code === 0) resolve(ms)
      else reject(new Error(`child process failed (${code}): node ${args.join(' ').slice(0, 200)}\n${stderr}`))
    })
  })
}

/** The four requests of an in-step event, with global fetch and nothing else: the I/O floor of any handler. */
function plainFetchScript(
  lake: { apiHost: string; projectId: string; dataset: string },
  auth0Domain: string,
  policy: { _id: string; auth0OrganizationId: string },
): string {
  const query = `${lake.apiHost}/v2025-05-01/data/query/${lake.dataset}?query=${encodeURIComponent('*[_id == $id][0]')}&%24id=${encodeURIComponent(JSON.stringify(policy._id))}`
  const token = {
    grant_type: 'client_credentials',
    client_id: DEFAULT_CLIENT.clientId,
    client_secret: DEFAULT_CLIENT.clientSecret,
    audience: `https://${auth0Domain}/api/v2/`,
  }
  const mutation = { mutations: [{ createOrReplace: { _id: 'bench.fetch-only', _type: 'benchFetchOnly' } }] }
  return `
    const json = async (response) => { if (!response.ok) throw new Error(response.status + ' ' + response.url); return response.json() }
    await json(await fetch(${JSON.stringify(query)}))
    const { access_token } = await json(await fetch(${JSON.stringify(`https://${auth0Domain}/oauth/token`)}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ${JSON.stringify(JSON.stringify(token))} }))
    await json(await fetch(${JSON.stringify(`https://${auth0Domain}/api/v2/organizations/${policy.auth0OrganizationId}`)}, { headers: { authorization: 'Bearer ' + access_token } }))
    await json(await fetch(${JSON.stringify(`${lake.apiHost}/v2025-05-01/data/mutate/${lake.dataset}`)}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ${JSON.stringify(JSON.stringify(mutation))} }))
  `
}
