/**
 * `npm run dev`: the whole product on this machine, with no credentials. The Auth0 emulator, the Content Lake
 * emulator seeded with the fixtures, the blueprint's functions running on every change, and the Studio
 * (`sanity dev`) pointed at the emulator. Ctrl-C stops all of it.
 *
 *   npm run dev [-- --port 3333] [--lake-port 3334] [--api-port 3335]
 */
import { spawn } from 'node:child_process'
import process from 'node:process'
import { parseArgs } from 'node:util'
import { ensureTestCertificate } from '../emulators/tls.ts'

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

const { certPath } = await ensureTestCertificate()
if (process.env.NODE_EXTRA_CA_CERTS !== certPath) {
  // Node reads NODE_EXTRA_CA_CERTS only at start-up: run again with it, so the unmodified SDK trusts the emulator.
  // The restarted copy handles Ctrl-C itself; this one only passes signals on and exits with it.
  const child = spawn(process.execPath, process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: certPath },
  })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => child.kill(signal))
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
} else {
  await run()
}

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
