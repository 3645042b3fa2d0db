/**
 * The stack behind `npm run dev` and the browser tests: the Auth0 emulator, the Content Lake emulator seeded with
 * the fixtures and grown with the Studio's endpoints, the blueprint's functions running on every change, and
 * `sanity dev` pointed at the emulator (SANITY_STUDIO_API_HOST, see studio/sanity.config.ts).
 *
 * Needs NODE_EXTRA_CA_CERTS set to the emulator certificate before Node starts (scripts/dev.ts restarts itself
 * with it; vitest's global setup sets it for the tests), so the unmodified auth0 SDK trusts the Auth0 emulator.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { blueprintFor } from '../sanity.blueprint.ts'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from './auth0.ts'
import { type BlueprintRunner, type RunnerInvocation, startBlueprintRunner } from './blueprint-runner.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from './content-lake.ts'
import { addStudioEndpoints, type StudioApiServer, serveStudioApi } from './content-lake-studio.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const fixtures = `${root}functions/sync-access-policy/fixtures/`
export const DEV_PROJECT_ID = 'local-studio'
export const DEV_DATASET = 'production'

export interface DevStackOptions {
  /** Port of the Studio (`sanity dev --port`); default 3333. */
  readonly studioPort?: number
  /** Port of the Content Lake emulator (HTTP, for Node clients); default any free port. */
  readonly lakePort?: number
  /** Port of its HTTPS + HTTP/2 side for the browser (content-lake-studio.ts); default any free port. */
  readonly studioApiPort?: number
  /** Start `sanity dev` (default true). */
  readonly studio?: boolean
  /** Whether `sanity dev` extracts the schema and regenerates the types as you edit (default true). */
  readonly typegen?: boolean
  /** Every line `sanity dev` prints, and every function invocation. */
  readonly log?: (line: string) => void
}

export interface DevStack {
  readonly auth0: Auth0Emulator
  readonly lake: ContentLakeEmulator
  readonly runner: BlueprintRunner
  /** The emulator's HTTPS + HTTP/2 side the Studio talks to. */
  readonly studioApi: StudioApiServer
  /** http://localhost:PORT, once `sanity dev` answers; undefined without the Studio. */
  readonly studioUrl: string | undefined
  /** Stops the Studio (its whole process group) and both emulators. */
  close(): Promise<void>
}

export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const log = options.log ?? (() => {})
  const json = (name: string) => JSON.parse(readFileSync(`${fixtures}${name}`, 'utf8'))
  const auth0 = await startAuth0Emulator({ organizations: json('organizations.json') })
  const lake = await startContentLakeEmulator({
    projectId: DEV_PROJECT_ID,
    dataset: DEV_DATASET,
    ...(options.lakePort !== undefined ? { port: options.lakePort } : {}),
  })
  addStudioEndpoints(lake)
  const studioApi = await serveStudioApi(lake, options.studioApiPort)
  process.env.AUTH0_DOMAIN = auth0.domain
  process.env.AUTH0_CLIENT_ID = DEFAULT_CLIENT.clientId
  process.env.AUTH0_CLIENT_SECRET = DEFAULT_CLIENT.clientSecret

  const runner = await startBlueprintRunner({
    lake,
    blueprint: blueprintFor({ SANITY_PROJECT_ID: lake.projectId, SANITY_DATASET: lake.dataset }),
    root,
    onInvocation: (invocation) => log(describeInvocation(invocation)),
  })
  // Seeded as one transaction, so the functions see the published policies arrive, as after an import.
  await lake.transact(json('dataset.json').map((doc: Record<string, unknown>) => ({ createOrReplace: doc })))
  await runner.settled()

  let studio: ChildProcess | undefined
  let studioUrl: string | undefined
  const close = async () => {
    if (studio) await stopProcessGroup(studio)
    runner.stop()
    await Promise.all([studioApi.close(), lake.close(), auth0.close()])
  }
  if (options.studio !== false) {
    const port = options.studioPort ?? 3333
    try {
      studio = startStudio(port, studioApi.apiHost, options.typegen ?? true, log)
      studioUrl = await waitForStudio(studio, `http://localhost:${port}`)
    } catch (error) {
      await close()
      throw error
    }
  }
  return { auth0, lake, runner, studioApi, studioUrl, close }
}

function describeInvocation(invocation: RunnerInvocation): string {
  const { functionName, change, error, ms } = invocation
  const outcome = error ? `failed: ${error instanceof Error ? error.message : String(error)}` : 'ok'
  return `function ${functionName}: ${change.id} → ${outcome} (${ms} ms)`
}

function startStudio(port: number, apiHost: string, typegen: boolean, log: (line: string) => void) {
  const child = spawn(process.execPath, [`${root}node_modules/@sanity/cli/bin/run.js`, 'dev', '--port', String(port)], {
    cwd: `${root}studio`,
    // Its own process group, so stopping it also stops whatever Vite started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      SANITY_STUDIO_API_HOST: apiHost,
      SANITY_STUDIO_PROJECT_ID: DEV_PROJECT_ID,
      SANITY_STUDIO_DATASET: DEV_DATASET,
      ...(typegen ? {} : { SANITY_TYPEGEN: 'off' }),
      DO_NOT_TRACK: '1',
      NO_UPDATE_NOTIFIER: '1',
      FORCE_COLOR: '0',
    },
  })
  for (const stream of [child.stdout, child.stderr]) {
    let rest = ''
    stream?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) if (line.trim() !== '') log(`studio: ${line}`)
    })
  }
  return child
}

async function waitForStudio(child: ChildProcess, url: string, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`sanity dev exited with code ${child.exitCode} before it served ${url}`)
    try {
      const response = await fetch(url)
      if (response.ok) return url
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`sanity dev did not serve ${url} within ${timeoutMs / 1000} s`)
}

/**
 * SIGINT to the whole group, then SIGKILL after 1.5 s; resolves once the leader has exited. `sanity dev` 6.16 with
 * typegen enabled traps SIGINT and SIGTERM (its typegen plugin's clean-up) without exiting, and holds nothing that
 * needs flushing, so the kill is what actually stops it.
 */
async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), name)
    } catch {
      // already gone
    }
  }
  signal('SIGINT')
  const timer = setTimeout(() => signal('SIGKILL'), 1_500)
  await exited
  clearTimeout(timer)
  // Anything the leader left behind in its group.
  signal('SIGKILL')
}
