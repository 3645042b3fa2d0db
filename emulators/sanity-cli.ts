/**
 * Runs the project's pinned Sanity CLI under the Node that npm installed, without telemetry or update checks, and
 * offline: anything the CLI would send off this machine goes to a closed loopback port unless the caller routes it
 * to an emulator on purpose (`emulatorEnv`). Used by the tests and by `npm run functions:test`.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type Auth0ClientConfig, type Auth0Emulator, DEFAULT_CLIENT } from './auth0.ts'
import type { ContentLakeEmulator } from './content-lake.ts'
import { ensureTestCertificate } from './tls.ts'

const run = promisify(execFile)
export const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const CLOSED_PORT = 'http://127.0.0.1:9'

export interface CliResult {
  /** The exit code: 0 when the command succeeded. */
  readonly code: number
  /** stdout then stderr. */
  readonly output: string
  /** The function's logs and response go to stdout; the CLI's progress, warnings and errors to stderr. */
  readonly stdout: string
  readonly stderr: string
}

export async function runSanityCli(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const env = {
    ...process.env,
    PATH: `${repoRoot}node_modules/.bin:${process.env.PATH}`,
    DO_NOT_TRACK: '1',
    NO_UPDATE_NOTIFIER: '1',
    FORCE_COLOR: '0',
    // The CLI's Sanity API host (also doctor's "Host online" check) and any proxied request.
    SANITY_INTERNAL_ENV: CLOSED_PORT,
    HTTP_PROXY: CLOSED_PORT,
    HTTPS_PROXY: CLOSED_PORT,
    NO_PROXY: '',
    ...options.env,
  }
  const cli = `${repoRoot}node_modules/@sanity/cli/bin/run.js`
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      cwd: options.cwd ?? repoRoot,
      env,
      timeout: options.timeoutMs ?? 90_000,
    })
    return { code: 0, output: stdout + stderr, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string }
    const { stdout = '', stderr = '' } = failed
    return { code: typeof failed.code === 'number' ? failed.code : 1, output: stdout + stderr, stdout, stderr }
  }
}

/**
 * The environment that points `sanity functions test`, and the function it runs in a child process, at the
 * emulators. The CLI builds its Sanity client with the project hostname (`<projectId>.<apiHost>`), so the Content
 * Lake emulator is reached as an HTTP proxy; the Auth0 SDK is given the emulator's domain and trusts its
 * certificate. Only configuration differs from production.
 */
export async function emulatorEnv(
  auth0: Auth0Emulator,
  lake: ContentLakeEmulator,
  client: Auth0ClientConfig = DEFAULT_CLIENT,
): Promise<Record<string, string>> {
  const { certPath } = await ensureTestCertificate()
  return {
    // The environment the functions are deployed for (the blueprint scopes them and their handlers check it).
    SANITY_PROJECT_ID: lake.projectId,
    SANITY_DATASET: lake.dataset,
    AUTH0_DOMAIN: auth0.domain,
    AUTH0_CLIENT_ID: client.clientId,
    AUTH0_CLIENT_SECRET: client.clientSecret,
    NODE_EXTRA_CA_CERTS: certPath,
    SANITY_INTERNAL_ENV: 'http://api.lake.test',
    HTTP_PROXY: lake.url,
    HTTPS_PROXY: lake.url,
    NO_PROXY: 'localhost,127.0.0.1',
    // The function's bundle uses Node's global fetch (see scripts/build-functions.ts), which honours the proxy
    // variables only when asked.
    NODE_USE_ENV_PROXY: '1',
  }
}

/** `--project-id` and `--dataset` of the emulated project. */
export const projectArgs = (lake: ContentLakeEmulator): string[] => [
  '--project-id',
  lake.projectId,
  '--dataset',
  lake.dataset,
]
