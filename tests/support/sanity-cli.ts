/**
 * Runs the project's pinned Sanity CLI the way the tests need it: under the Node that npm installed, without
 * telemetry or update checks, and offline. Anything the CLI would send off this machine goes to a closed loopback
 * port unless the caller routes it somewhere on purpose (an emulator).
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const CLOSED_PORT = 'http://127.0.0.1:9'

export interface CliResult {
  /** The exit code: 0 when the command succeeded. */
  readonly code: number
  readonly output: string
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
    return { code: 0, output: stdout + stderr }
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string }
    return {
      code: typeof failed.code === 'number' ? failed.code : 1,
      output: `${failed.stdout ?? ''}${failed.stderr ?? ''}`,
    }
  }
}
