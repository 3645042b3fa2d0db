import { relative as relativePath } from 'node:path'
import process from 'node:process'
import { parseArgs } from 'node:util'
import type { DevStack } from '../emulators/dev-stack.ts'
import { trustEmulatorCertificate } from '../emulators/tls.ts'

if (import.meta.main) await main()

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '3333' },
      'lake-port': { type: 'string', default: '3334' },
      'api-port': { type: 'string', default: '3335' },
    },
  })
  const port = (name: string, value: string) => {
    const number = Number(value)
    if (!Number.isInteger(number) || number < 1 || number > 65535) {
      console.error(`--${name} must be a port number (1–65535), got "${value}"`)
      process.exit(2)
    }
    return number
  }
  const studioPort = port('port', values.port)
  const lakePort = port('lake-port', values['lake-port'])
  const studioApiPort = port('api-port', values['api-port'])

  await trustEmulatorCertificate()
  await run(studioPort, lakePort, studioApiPort)
}

async function run(studioPort: number, lakePort: number, studioApiPort: number): Promise<void> {
  const { startDevStack } = await import('../emulators/dev-stack.ts')
  const started = performance.now()
  console.log('Starting two Auth0 emulator tenants, the Content Lake emulator, the functions and the Studio…')
  const stack = await startDevStack({
    studioPort,
    lakePort,
    studioApiPort,
    log: (line) => console.log(`  ${line}`),
    // The first address printed: it can be opened while the rest starts (it waits for the Studio, then opens it).
    onStudioApi: (studioApi) => console.log(openFirstLine(studioApi.projectUrl)),
  })
  console.log(readySummary(stack, (performance.now() - started) / 1000))

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`\n${signal}: stopping the Studio and the emulators…`)
    await stack.close()
    console.log('Stopped.')
    process.exit(0)
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(signal))
}

/** Printed as soon as the emulator's HTTPS side listens, before anything else has an address. */
export function openFirstLine(certificatePageUrl: string): string {
  return `Open first: ${certificatePageUrl}  (accept the certificate warning once; the page opens the Studio as soon as it is up)`
}

/** The summary printed once everything is up; its first address is the certificate page, and it says why. */
export function readySummary(stack: DevStack, startSeconds: number): string {
  const seconds = startSeconds.toFixed(1)
  // What the fixtures put in, by type (published documents; drafts counted apart), per dataset.
  const seeded = (dataset: string) => {
    const counts = new Map<string, number>()
    for (const doc of stack.lake.documents(dataset)) {
      const key = doc._id.startsWith('drafts.') ? 'draft' : doc._type
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    return [...counts].map(([type, count]) => `${count} ${type}`).join(', ')
  }
  const relative = (file: string | undefined) => (file ? relativePath(process.cwd(), file) || file : '(not written)')
  const environments = stack.environments
    .map(
      (environment) => `
  Environment ${environment.name}:
    Dataset:               ${environment.dataset}  (${seeded(environment.dataset)})
    Studio workspace:      ${stack.studioUrl ? `${stack.studioUrl}/${environment.dataset}` : '(no Studio)'}
    Auth0 tenant:          ${environment.auth0.baseUrl}  (its own emulator; organizations ${environment.auth0
      .listOrganizations()
      .map((org) => org.id)
      .join(', ')})
    Functions:             ${stack.runner.deployments
      .filter((deployment) => deployment.environment === environment.name)
      .map((deployment) => deployment.functionName)
      .join(', ')}  (fire for ${stack.lake.projectId}.${environment.dataset} only)
    Settings:              ${relative(environment.envFile)}  (e.g. npx access-sync reconcile --env dev-${environment.name})`,
    )
    .join('')
  return `
Ready in ${seconds} s. No credentials needed; everything runs on this machine.
Open the first address first: the Studio reaches the emulator over HTTPS with a self-signed certificate, and until
this browser accepts it the Studio shows "Network error". Accept the warning there once, and it opens the Studio.
  Open first:              ${stack.studioApi.projectUrl}  (accept the certificate warning: it then opens the Studio)
  Studio:                  ${stack.studioUrl}  (one workspace per dataset: switch in the top-left menu)
  Content Lake emulator:   ${stack.lake.url}  (project ${stack.lake.projectId}, datasets ${stack.lake.datasets.join(', ')})
                           ${stack.studioApi.projectUrl}  (the same, over HTTPS + HTTP/2, for the Studio)
  Auth0 emulator:          ${stack.auth0.baseUrl}  (production's tenant; staging's is below)${
    stack.runner.otherFunctions.length > 0
      ? `\n  Not triggered here:      ${[...new Set(stack.runner.otherFunctions.map((fn) => `${fn.name} (${fn.type})`))].join(', ')}`
      : ''
  }${environments}

In the Studio, edit a policy and publish it: the badge turns "synced" and the "Auth0 sync" tab shows the
Organization's metadata. Publish in the staging workspace: only the staging tenant changes (staging is a copy of
production, with the same org_… IDs). Press Ctrl-C to stop.`
}
