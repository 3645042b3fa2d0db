/**
 * The stack behind `npm run dev` and the browser tests: one emulated Sanity project with two datasets, `production`
 * and `staging` (staging seeded as `sanity dataset copy` would leave it: the same documents, the same `org_…` IDs),
 * two environments deployed into it, each with its own Auth0 emulator tenant (own port, own Organizations) and its
 * own functions scoped to its dataset (`accessSyncResources`, run by blueprint-runner.ts with the environment's
 * settings), the Studio's endpoints, and `sanity dev` with one workspace per dataset (SANITY_STUDIO_API_HOST,
 * SANITY_STUDIO_DATASETS; see studio/sanity.config.ts). A publish in staging reaches the staging tenant only.
 *
 * Each tenant gets the post-login Action deployed and bound, as `npx access-sync deploy-action --env dev-<name>`
 * does (the same code), so `doctor --env dev-<name>` finds everything in place.
 *
 * It writes each environment's settings to `.env.dev-<name>` (repository root by default), so `npx access-sync
 * reconcile --env dev-staging` or `doctor --env dev-production` work against the running stack.
 *
 * Needs NODE_EXTRA_CA_CERTS set to the emulator certificate before Node starts (scripts/dev.ts restarts itself
 * with it; vitest's global setup sets it for the tests), so the unmodified auth0 SDK trusts the Auth0 emulators.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run as deployActionCli } from '../cli/deploy-action.ts'
import { accessSyncResources } from '../sanity.blueprint.ts'
import { DEFAULT_CLAIM_NAMESPACE } from '../src/core/claims.ts'
import { type Auth0Emulator, DEFAULT_CLIENT, startAuth0Emulator } from './auth0.ts'
import { DEPLOY_CLIENT } from './auth0-actions.ts'
import { type BlueprintRunner, type RunnerInvocation, startBlueprintRunner } from './blueprint-runner.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from './content-lake.ts'
import { addStudioEndpoints, type StudioApiServer, serveStudioApi } from './content-lake-studio.ts'
import { ensureTestCertificate } from './tls.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const fixtures = `${root}functions/sync-access-policy/fixtures/`
export const DEV_PROJECT_ID = 'local-studio'
/** The datasets, one per environment, in the order the Studio lists them. */
export const DEV_DATASETS = ['production', 'staging'] as const
export const DEV_DATASET = DEV_DATASETS[0]
/**
 * The emulated Content Lake is open (content-lake.ts: no ACL), so any token reads; the reconcile and doctor want
 * one, and this one says what it is.
 */
export const DEV_SANITY_TOKEN = 'dev-token-for-the-local-emulator'

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
  /** Deploy the post-login Action into each tenant (default true). */
  readonly deployAction?: boolean
  /** Where `.env.dev-<name>` go (default the repository root); false: not written. */
  readonly envDir?: string | false
  /** Every line `sanity dev` prints, and every function invocation. */
  readonly log?: (line: string) => void
  /** Called once the emulator's HTTPS side listens (before the Studio starts): its certificate page can be opened. */
  readonly onStudioApi?: (studioApi: StudioApiServer) => void
}

/** One environment of the dev stack: its dataset, its Auth0 tenant, its settings and where they were written. */
export interface DevEnvironment {
  /** `production` or `staging`; the settings file is `.env.dev-<name>` (`--env dev-<name>`). */
  readonly name: (typeof DEV_DATASETS)[number]
  readonly dataset: string
  readonly auth0: Auth0Emulator
  readonly env: Readonly<Record<string, string>>
  /** The `.env.dev-<name>` written, if any. */
  readonly envFile: string | undefined
}

export interface DevStack {
  /** The production environment's Auth0 tenant (`environments[0].auth0`). */
  readonly auth0: Auth0Emulator
  readonly environments: readonly DevEnvironment[]
  readonly lake: ContentLakeEmulator
  readonly runner: BlueprintRunner
  /**
   * The emulator's HTTPS + HTTP/2 side the Studio talks to. Its `projectUrl` is the address to open first: once the
   * browser accepts its self-signed certificate, it redirects to the Studio.
   */
  readonly studioApi: StudioApiServer
  /** http://localhost:PORT, once `sanity dev` answers; undefined without the Studio. */
  readonly studioUrl: string | undefined
  /** Stops the Studio (its whole process group) and the emulators. */
  close(): Promise<void>
}

export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const log = options.log ?? (() => {})
  const json = (name: string) => JSON.parse(readFileSync(`${fixtures}${name}`, 'utf8'))
  const tenants = await Promise.all(
    DEV_DATASETS.map(() =>
      startAuth0Emulator({ organizations: json('organizations.json'), clients: [DEFAULT_CLIENT, DEPLOY_CLIENT] }),
    ),
  )
  const lake = await startContentLakeEmulator({
    projectId: DEV_PROJECT_ID,
    datasets: Object.fromEntries(DEV_DATASETS.map((name) => [name, []])),
    ...(options.lakePort !== undefined ? { port: options.lakePort } : {}),
  })
  addStudioEndpoints(lake)
  const studioApi = await serveStudioApi(lake, options.studioApiPort)
  options.onStudioApi?.(studioApi)
  const { certPath } = await ensureTestCertificate()

  const environments: DevEnvironment[] = DEV_DATASETS.map((name, index) => {
    const auth0 = tenants[index] as Auth0Emulator
    const env = devSettings(lake, name, auth0, certPath)
    const envFile = options.envDir === false ? undefined : join(options.envDir ?? root, `.env.dev-${name}`)
    if (envFile) writeFileSync(envFile, envFileText(name, env))
    return { name, dataset: name, auth0, env, envFile }
  })

  const runner = await startBlueprintRunner({
    lake,
    root,
    environments: environments.map(({ name, env }) => ({ name, env, resources: accessSyncResources(env) })),
    onInvocation: (invocation) => log(describeInvocation(invocation)),
  })
  const closeEmulators = async () => {
    runner.stop()
    await Promise.all([studioApi.close(), lake.close(), ...tenants.map((tenant) => tenant.close())])
  }
  if (options.deployAction !== false) {
    try {
      await Promise.all(environments.map(({ name, env }) => deployActionInto(name, env, log)))
    } catch (error) {
      await closeEmulators()
      throw error
    }
  }
  // Seeded as one transaction per dataset, so each environment's functions see the published policies arrive, as
  // after an import; staging gets the same documents, as `sanity dataset copy production staging` leaves it.
  for (const name of DEV_DATASETS) {
    await lake.transact(
      json('dataset.json').map((doc: Record<string, unknown>) => ({ createOrReplace: doc })),
      undefined,
      name,
    )
  }
  await runner.settled()

  let studio: ChildProcess | undefined
  let studioUrl: string | undefined
  const close = async () => {
    if (studio) await stopProcessGroup(studio)
    await closeEmulators()
  }
  if (options.studio !== false) {
    const port = options.studioPort ?? 3333
    try {
      studio = startStudio(port, studioApi.apiHost, options.typegen ?? true, log)
      studioUrl = await waitForStudio(studio, `http://localhost:${port}`)
      // The certificate page (studioApi.projectUrl, what a browser opens first) now leads on to the Studio.
      studioApi.setStudioUrl(studioUrl)
    } catch (error) {
      await close()
      throw error
    }
  }
  return { auth0: tenants[0] as Auth0Emulator, environments, lake, runner, studioApi, studioUrl, close }
}

/** One environment's settings, by the names `.env.example` documents. */
function devSettings(
  lake: ContentLakeEmulator,
  dataset: string,
  auth0: Auth0Emulator,
  certPath: string,
): Record<string, string> {
  return {
    SANITY_PROJECT_ID: lake.projectId,
    SANITY_DATASET: dataset,
    SANITY_API_HOST: lake.url,
    SANITY_API_TOKEN: DEV_SANITY_TOKEN,
    AUTH0_DOMAIN: auth0.domain,
    AUTH0_CLIENT_ID: DEFAULT_CLIENT.clientId,
    AUTH0_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret,
    AUTH0_DEPLOY_CLIENT_ID: DEPLOY_CLIENT.clientId,
    AUTH0_DEPLOY_CLIENT_SECRET: DEPLOY_CLIENT.clientSecret,
    CLAIM_NAMESPACE: DEFAULT_CLAIM_NAMESPACE,
    // The Auth0 emulators' self-signed certificate; the access-sync CLI re-launches itself to trust it.
    NODE_EXTRA_CA_CERTS: certPath,
  }
}

/** What `npx access-sync deploy-action --env dev-<name>` does (the same code), with its log lines prefixed. */
async function deployActionInto(name: string, env: Readonly<Record<string, string>>, log: (line: string) => void) {
  const io = { log: (line: string) => log(`${name}: deploy-action: ${line}`), sleep, now: Date.now }
  // The emulator builds a draft in 300 ms: ask every 50 ms instead of the CLI's 2 s.
  const code = await deployActionCli([], { ...env, DEPLOY_ACTION_POLL_MS: '50' }, io)
  if (code !== 0) throw new Error(`deploying the Action into ${name}'s Auth0 emulator failed (exit ${code})`)
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

function envFileText(name: string, env: Readonly<Record<string, string>>): string {
  return [
    `# Environment dev-${name}: written by \`npm run dev\` (emulators/dev-stack.ts) for the emulators it runs, valid`,
    "# while it runs (ports change between runs). Gitignored; the credentials are the emulators' fixed test ones.",
    ...Object.entries(env).map(([key, value]) => `${key}=${value}`),
    '',
  ].join('\n')
}

function describeInvocation(invocation: RunnerInvocation): string {
  const { functionName, environment, change, error, ms } = invocation
  const outcome = error ? `failed: ${error instanceof Error ? error.message : String(error)}` : 'ok'
  const where = environment ? `${environment}: ` : ''
  return `${where}function ${functionName}: ${change.id} → ${outcome} (${ms} ms)`
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
      SANITY_STUDIO_DATASETS: DEV_DATASETS.join(','),
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
