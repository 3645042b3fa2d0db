/**
 * `npm run dev:app`: the Next.js reference app (examples/nextjs) against the emulators `npm run dev` runs, with no
 * credentials. Run `npm run dev` first, then this in a second terminal; open http://localhost:3000.
 *
 * It reads the production environment's settings (`.env.dev-production`, written by `npm run dev`), adds the sample
 * articles and onboarding documents (examples/app/content.json) to that dataset if they are missing, and starts
 * `next dev` with the emulator tenant's web application (emulator-app, emulators/auth0-oidc.ts) and its certificate.
 * For a real tenant, run `npx next dev examples/nextjs` with examples/nextjs/.env.local instead (see its README).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createClient } from '@sanity/client'
import { DEFAULT_API, DEFAULT_WEB_APP } from '../emulators/auth0-oidc.ts'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The Organizations the signed-out page offers (id=label), as the dev fixtures name them. */
export const DEV_SIGN_IN_ORGANIZATIONS = 'org_acme123=Acme Corp,org_globex456=Globex'

/** The reference app's settings for an emulated environment (a `.env.dev-<name>` map) on `port`. */
export function referenceAppEnv(settings: Readonly<Record<string, string>>, port: number): Record<string, string> {
  const need = (name: string) => {
    const value = settings[name]
    if (!value) throw new Error(`${name} is missing from the dev settings; is npm run dev running?`)
    return value
  }
  return {
    AUTH0_DOMAIN: `https://${need('AUTH0_DOMAIN')}`,
    AUTH0_EMULATOR: 'true',
    AUTH0_CLIENT_ID: DEFAULT_WEB_APP.clientId,
    AUTH0_CLIENT_SECRET: DEFAULT_WEB_APP.clientSecret,
    AUTH0_AUDIENCE: DEFAULT_API.identifier,
    // Encrypts the session cookie; a fresh one per run signs everyone out on restart, which is fine for dev.
    AUTH0_SECRET: randomBytes(32).toString('hex'),
    APP_BASE_URL: `http://localhost:${port}`,
    CLAIM_NAMESPACE: need('CLAIM_NAMESPACE'),
    SANITY_PROJECT_ID: need('SANITY_PROJECT_ID'),
    SANITY_DATASET: need('SANITY_DATASET'),
    SANITY_API_HOST: need('SANITY_API_HOST'),
    NODE_EXTRA_CA_CERTS: need('NODE_EXTRA_CA_CERTS'),
    NEXT_PUBLIC_SIGN_IN_ORGANIZATIONS: DEV_SIGN_IN_ORGANIZATIONS,
    NEXT_TELEMETRY_DISABLED: '1',
  }
}

/** Adds the sample content to the dataset, leaving documents that exist alone. */
export async function seedSampleContent(settings: Readonly<Record<string, string>>): Promise<number> {
  const client = createClient({
    projectId: settings.SANITY_PROJECT_ID as string,
    dataset: settings.SANITY_DATASET as string,
    apiHost: settings.SANITY_API_HOST as string,
    useProjectHostname: false,
    apiVersion: '2025-05-01',
    useCdn: false,
    ...(settings.SANITY_API_TOKEN ? { token: settings.SANITY_API_TOKEN } : {}),
  })
  const docs = JSON.parse(readFileSync(`${root}examples/app/content.json`, 'utf8')) as Array<{
    _id: string
    _type: string
  }>
  const transaction = client.transaction()
  for (const doc of docs) transaction.createIfNotExists(doc)
  await transaction.commit({ visibility: 'sync' })
  return docs.length
}

export interface NextApp {
  readonly url: string
  readonly child: ChildProcess
  /** Everything next dev printed. */
  output(): string
  stop(): Promise<void>
}

/** Starts `next dev` for examples/nextjs on `port` and resolves once it listens. */
export async function startNextApp(env: Record<string, string>, port: number, timeoutMs = 120_000): Promise<NextApp> {
  const child = spawn(
    process.execPath,
    [
      `${root}node_modules/next/dist/bin/next`,
      'dev',
      'examples/nextjs',
      '--port',
      String(port),
      '--hostname',
      'localhost',
    ],
    { cwd: root, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    try {
      process.kill(-(child.pid as number), 'SIGKILL')
    } catch {
      // already gone
    }
    await exited
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`next dev did not start within ${timeoutMs / 1000} s:\n${output}`)),
      timeoutMs,
    )
    const check = () => {
      if (/Ready in|✓ Ready/.test(output)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout?.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`next dev exited with ${code}:\n${output}`))
    })
  }).catch(async (error) => {
    await stop()
    throw error
  })
  return { url: `http://localhost:${port}`, child, output: () => output, stop }
}

function readEnvFile(path: string): Record<string, string> {
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
  return Object.fromEntries(entries)
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '3000' }, env: { type: 'string', default: 'dev-production' } },
  })
  const file = `${root}.env.${values.env}`
  if (!existsSync(file)) {
    console.error(
      `${file} not found: start the emulators first with \`npm run dev\` (it writes that file), then run this again.`,
    )
    process.exit(1)
  }
  const settings = readEnvFile(file)
  const port = Number(values.port)
  const seeded = await seedSampleContent(settings).catch((error: unknown) => {
    // The file outlives the stack that wrote it (ports change between runs).
    const why = error instanceof Error ? error.message : String(error)
    console.error(
      `The Content Lake emulator at ${settings.SANITY_API_HOST} did not answer (${why}). Is npm run dev running?`,
    )
    process.exit(1)
  })
  console.log(`Sample content: ${seeded} documents present in ${settings.SANITY_DATASET}.`)
  console.log('Starting next dev for examples/nextjs…')
  const app = await startNextApp(referenceAppEnv(settings, port), port)
  console.log(`
Reference app: ${app.url}
  Sign in as alice@acme.test (Acme), bob@globex.test (Globex) or carol@example.test (both);
  password: emulator-password. Archive Acme's policy in the Studio and reload: the gated content is gone.
Press Ctrl-C to stop.`)
  app.child.stdout?.pipe(process.stdout)
  app.child.stderr?.pipe(process.stderr)
  const shutdown = () => void app.stop().then(() => process.exit(0))
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}
