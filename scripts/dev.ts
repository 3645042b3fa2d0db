import process from 'node:process'
import { parseArgs } from 'node:util'
import { trustEmulatorCertificate } from '../emulators/tls.ts'

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
await run()

async function run(): Promise<void> {
  const { startDevStack } = await import('../emulators/dev-stack.ts')
  const started = performance.now()
  console.log('Starting the Auth0 emulator, the Content Lake emulator, the functions and the Studio…')
  const stack = await startDevStack({
    studioPort,
    lakePort,
    studioApiPort,
    log: (line) => console.log(`  ${line}`),
  })
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  // What the fixtures put in, by type (published documents; drafts counted apart).
  const seeded = new Map<string, number>()
  for (const doc of stack.lake.documents()) {
    const key = doc._id.startsWith('drafts.') ? 'draft' : doc._type
    seeded.set(key, (seeded.get(key) ?? 0) + 1)
  }
  console.log(`
Ready in ${seconds} s. No credentials needed; everything runs on this machine.
  Studio:                  ${stack.studioUrl}
  Content Lake emulator:   ${stack.lake.url}  (project ${stack.lake.projectId}, dataset ${stack.lake.dataset})
                           ${stack.studioApi.projectUrl}  (the same, over HTTPS + HTTP/2, for the Studio)
  Auth0 emulator:          ${stack.auth0.baseUrl}  (Management API; organizations ${stack.auth0
    .listOrganizations()
    .map((org) => org.id)
    .join(', ')})
  Functions on publish:    ${stack.runner.documentFunctions.join(', ')}${
    stack.runner.otherFunctions.length > 0
      ? `\n  Not triggered here:      ${stack.runner.otherFunctions.map((fn) => `${fn.name} (${fn.type})`).join(', ')}`
      : ''
  }
  Documents:               ${[...seeded].map(([type, count]) => `${count} ${type}`).join(', ')}

Open the Studio, edit a policy and publish it: the badge turns "synced" and the "Auth0 sync" tab shows the
Organization's metadata. Press Ctrl-C to stop.

First time in this browser? The Studio reaches the emulator over HTTPS with a self-signed certificate (HTTP/2
lets its many live listeners share one connection). If it shows "Network error", open
${stack.studioApi.projectUrl} once, accept the certificate, and reload the Studio.`)

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
