/**
 * The commands against the settings `npm run dev` writes for its emulators (emulators/dev-stack.ts):
 * `access-sync deploy --dry-run` prints each environment's plan, every `env add` with secrets masked, and runs
 * nothing (a fake `sanity` first on PATH records every call); `access-sync doctor` passes for both environments.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { run } from '../../cli/deploy.ts'
import { run as doctor } from '../../cli/doctor.ts'
import { type DevStack, startDevStack } from '../../emulators/dev-stack.ts'
import { MASK } from '../../src/core/deploy-plan.ts'
import { functionEnvSettings, SETTINGS } from '../../src/settings.ts'

const FAKE_BIN = fileURLToPath(new URL('./fake-sanity', import.meta.url))

let stack: DevStack
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'deploy-dev-'))
  stack = await startDevStack({ studio: false, envDir: dir })
}, 60_000)
afterAll(async () => {
  await stack?.close()
  rmSync(dir, { recursive: true, force: true })
})

it.each(['production', 'staging'] as const)(
  '--dry-run for the dev stack’s %s prints its plan and every env add, masked',
  async (name) => {
    const environment = stack.environments.find((candidate) => candidate.name === name)
    if (!environment?.envFile) throw new Error(`the dev stack wrote no settings for ${name}`)
    let stdout = ''
    let stderr = ''
    const code = await run(
      ['--env', environment.envFile, '--dry-run'],
      { ...process.env, PATH: `${FAKE_BIN}${delimiter}${process.env.PATH}`, FAKE_SANITY_DIR: dir },
      { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } },
      { cwd: dir },
    )
    expect(code, stderr).toBe(0)
    const env = environment.env
    expect(stdout).toContain(
      `Sanity project ${env.SANITY_PROJECT_ID}, dataset ${name}; Auth0 tenant ${env.AUTH0_DOMAIN}; stack dev-${name}`,
    )
    for (const fn of ['sync-access-policy', 'fan-out-role', 'fan-out-plan']) {
      expect(stdout).toMatch(
        new RegExp(`${fn}\\s+document\\s+fires for dataset ${env.SANITY_PROJECT_ID}\\.${name} only`),
      )
      for (const entry of functionEnvSettings(fn).filter((setting) => env[setting.name])) {
        const shown = entry.secret ? MASK : env[entry.name]
        expect(stdout).toContain(`would run: sanity functions env add ${fn} ${entry.name} ${shown} --stack dev-${name}`)
      }
    }
    for (const secret of SETTINGS.filter((entry) => entry.secret).flatMap((entry) => env[entry.name] ?? [])) {
      expect(stdout + stderr).not.toContain(secret)
    }
    // The fake `sanity` logs every call it gets: it got none.
    expect(existsSync(join(dir, 'log.jsonl'))).toBe(false)
  },
)

it.each(['production', 'staging'] as const)('doctor passes for the dev stack’s %s (exit 0, no ✗)', async (name) => {
  const environment = stack.environments.find((candidate) => candidate.name === name)
  if (!environment?.envFile) throw new Error(`the dev stack wrote no settings for ${name}`)
  let stdout = ''
  let stderr = ''
  const code = await doctor(
    ['--env', environment.envFile, '--json'],
    { ...process.env, PATH: `${FAKE_BIN}${delimiter}${process.env.PATH}`, FAKE_SANITY_DIR: dir },
    { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } },
    { cwd: dir },
  )
  const report = JSON.parse(stdout) as { checks: Array<{ id: string; status: string; detail: string }> }
  expect(
    report.checks.filter((check) => check.status === 'fail'),
    stderr,
  ).toEqual([])
  expect(code).toBe(0)
  const byId = new Map(report.checks.map((check) => [check.id, check]))
  for (const id of ['auth0-token', 'auth0-scopes', 'sanity-dataset', 'sanity-policies', 'action', 'action-namespace']) {
    expect(byId.get(id)?.status, `${id}: ${byId.get(id)?.detail}`).toBe('pass')
  }
})
