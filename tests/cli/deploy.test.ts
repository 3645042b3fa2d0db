/**
 * `access-sync deploy` with a fake `sanity` first on PATH (tests/cli/fake-sanity/sanity): the commands a run issues,
 * in order, what a re-run and a changed setting issue, a failure halfway and the run that finishes the job, and that
 * no secret reaches stdout or stderr. The build step is the real one.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { run } from '../../cli/deploy.ts'
import { FUNCTION_BUNDLES_DIR } from '../../sanity.blueprint.ts'
import { buildFunctions, REPO_ROOT } from '../../scripts/build-functions.ts'
import { functionEnvSettings } from '../../src/settings.ts'

const FAKE_BIN = fileURLToPath(new URL('./fake-sanity', import.meta.url))
const SECRET = 'auth0-secret-that-must-never-print'

/** What the emulators run with (`npm run dev`): a project and dataset, the Auth0 emulator's tenant and client. */
const SETTINGS: Record<string, string> = {
  SANITY_PROJECT_ID: 'demo1234',
  SANITY_DATASET: 'production',
  SANITY_API_HOST: 'http://127.0.0.1:4000',
  SANITY_API_TOKEN: 'sanity-token-that-must-never-print',
  AUTH0_DOMAIN: '127.0.0.1:4443',
  AUTH0_CLIENT_ID: 'access-sync-client',
  AUTH0_CLIENT_SECRET: SECRET,
  FANOUT_MAX_WRITES: '50',
  ACCESS_SYNC_SCHEDULE: 'hourly',
  RECONCILE_MAX_WRITES: '200',
}
const FUNCTIONS = ['sync-access-policy', 'fan-out-role', 'fan-out-plan', 'reconcile-access']

let cwd: string
let fakeDir: string

beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'deploy-cwd-'))
  fakeDir = mkdtempSync(join(tmpdir(), 'deploy-fake-'))
  writeEnvFile(SETTINGS)
})
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true })
  rmSync(fakeDir, { recursive: true, force: true })
})

function writeEnvFile(settings: Record<string, string>): void {
  const lines = Object.entries(settings).map(([name, value]) => `${name}=${value}`)
  writeFileSync(join(cwd, '.env.production'), `# test environment\n${lines.join('\n')}\n`)
}

/** Stands in for the build where a test is about the other steps (one test runs the real one). */
const quickBuild = async () => FUNCTIONS

async function deploy(
  args: readonly string[],
  extra: Record<string, string> = {},
  build: () => Promise<readonly unknown[]> = quickBuild,
) {
  let stdout = ''
  let stderr = ''
  const env: Record<string, string | undefined> = {
    ...process.env,
    PATH: `${FAKE_BIN}${delimiter}${process.env.PATH}`,
    FAKE_SANITY_DIR: fakeDir,
    ...extra,
  }
  delete env.ACCESS_SYNC_ENV
  const code = await run(
    ['--env', 'production', ...args],
    env,
    { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } },
    { cwd, build },
  )
  // Whatever happened, no secret of the file is printed.
  for (const secret of [SECRET, SETTINGS.SANITY_API_TOKEN]) expect(stdout + stderr).not.toContain(secret)
  return { code, stdout, stderr }
}

/** Every command the fake `sanity` received, oldest first, and the log cleared. */
function commands(): Array<{ argv: string[]; ACCESS_SYNC_ENV: string | null }> {
  const path = join(fakeDir, 'log.jsonl')
  if (!existsSync(path)) return []
  const lines = readFileSync(path, 'utf8').trim().split('\n')
  rmSync(path)
  return lines.map((line) => JSON.parse(line))
}

const argvs = () => commands().map((entry) => entry.argv.join(' '))

/** The `env add` commands for every function, in the order the catalog lists each function's settings. */
function envAdds(settings: Record<string, string>): string[] {
  return FUNCTIONS.flatMap((fn) => [
    `functions env list ${fn} --stack production --json`,
    ...functionEnvSettings(fn)
      .filter((entry) => settings[entry.name])
      .map((entry) => `functions env add ${fn} ${entry.name} ${settings[entry.name]} --stack production`),
  ])
}

const envLists = () => FUNCTIONS.map((fn) => `functions env list ${fn} --stack production --json`)

describe('access-sync deploy', () => {
  it('--dry-run prints the environment, each function with its dataset and every env add, masked, and runs nothing', async () => {
    const { code, stdout } = await deploy(['--dry-run'])
    expect(code).toBe(0)
    expect(stdout).toContain(
      'Sanity project demo1234, dataset production; Auth0 tenant 127.0.0.1:4443; stack production',
    )
    for (const fn of ['sync-access-policy', 'fan-out-role', 'fan-out-plan']) {
      expect(stdout).toMatch(new RegExp(`${fn}\\s+document\\s+fires for dataset demo1234\\.production only`))
    }
    expect(stdout).toMatch(/reconcile-access\s+scheduled\s+runs "0 \* \* \* \*", reads dataset demo1234\.production/)
    expect(stdout).toContain('would run: sanity blueprints plan --stack production')
    expect(stdout).toContain('would run: sanity blueprints deploy --stack production')
    const wouldRun = [...stdout.matchAll(/would run: sanity (functions env add .*?)\s+#/g)].map((match) => match[1])
    const masked = { ...SETTINGS, AUTH0_CLIENT_SECRET: '********' }
    expect(wouldRun).toEqual(envAdds(masked).filter((line) => line.includes(' add ')))
    expect(stdout).toContain('Dry run: nothing was changed.')
    expect(commands()).toEqual([])
    expect(existsSync(join(cwd, '.sanity'))).toBe(false)
  })

  it('a run builds, then issues exactly the real commands in order, with the environment named; a re-run sets nothing', async () => {
    const before = Date.now()
    const first = await deploy([], {}, buildFunctions)
    expect(first.code, first.stdout + first.stderr).toBe(0)
    const log = commands()
    expect(log.map((entry) => entry.argv.join(' '))).toEqual([
      'blueprints plan --stack production',
      'blueprints deploy --stack production',
      ...envAdds(SETTINGS),
    ])
    // The blueprint the CLI loads builds for this environment.
    expect(log.slice(0, 2).map((entry) => entry.ACCESS_SYNC_ENV)).toEqual(['production', 'production'])
    expect(first.stdout).toMatch(/✓ \[5\/5\] function settings: 4 functions/)
    // The real build wrote every bundle the blueprint ships.
    for (const fn of FUNCTIONS) {
      expect(statSync(join(REPO_ROOT, FUNCTION_BUNDLES_DIR, fn, 'index.js')).mtimeMs).toBeGreaterThanOrEqual(
        before - 1000,
      )
    }
    // The record holds hashes, never a value.
    const record = readFileSync(join(cwd, '.sanity', 'access-sync-deploy.production.json'), 'utf8')
    expect(record).not.toContain(SECRET)
    expect(record).not.toContain(SETTINGS.AUTH0_CLIENT_ID)

    const again = await deploy([])
    expect(again.code).toBe(0)
    expect(argvs()).toEqual([
      'blueprints plan --stack production',
      'blueprints deploy --stack production',
      ...envLists(),
    ])
    expect(again.stdout).toContain('sync-access-policy: 0 to set, 0 to remove, 3 unchanged')
  })

  it('a changed value issues one env add; a setting the file drops is removed; keys it does not own stay', async () => {
    expect((await deploy([])).code).toBe(0)
    commands()
    // Someone added a key of their own by hand, and removed one of ours.
    const state = JSON.parse(readFileSync(join(fakeDir, 'env.json'), 'utf8'))
    state.production['sync-access-policy'].THEIR_OWN = 'x'
    delete state.production['fan-out-plan'].AUTH0_CLIENT_ID
    writeFileSync(join(fakeDir, 'env.json'), JSON.stringify(state))

    const { FANOUT_MAX_WRITES: _dropped, ...rest } = SETTINGS
    writeEnvFile({ ...rest, RECONCILE_MAX_WRITES: '300' })
    expect((await deploy([])).code).toBe(0)
    expect(argvs()).toEqual([
      'blueprints plan --stack production',
      'blueprints deploy --stack production',
      'functions env list sync-access-policy --stack production --json',
      'functions env list fan-out-role --stack production --json',
      'functions env remove fan-out-role FANOUT_MAX_WRITES --stack production',
      'functions env list fan-out-plan --stack production --json',
      'functions env add fan-out-plan AUTH0_CLIENT_ID access-sync-client --stack production',
      'functions env remove fan-out-plan FANOUT_MAX_WRITES --stack production',
      'functions env list reconcile-access --stack production --json',
      'functions env add reconcile-access RECONCILE_MAX_WRITES 300 --stack production',
    ])
    const after = JSON.parse(readFileSync(join(fakeDir, 'env.json'), 'utf8'))
    expect(after.production['sync-access-policy'].THEIR_OWN).toBe('x')
  })

  it('a failure at blueprints deploy exits 1, says what was and was not done, and the next run completes', async () => {
    const failed = await deploy([], { FAKE_SANITY_FAIL: 'blueprints deploy' })
    expect(failed.code).toBe(1)
    expect(argvs()).toEqual(['blueprints plan --stack production', 'blueprints deploy --stack production'])
    expect(failed.stdout).toContain('✓ check the settings: done')
    expect(failed.stdout).toMatch(/✓ build the bundles: done \(\d+ bundles in dist\/functions\/\)/)
    expect(failed.stdout).toContain('✓ blueprints plan: done')
    expect(failed.stdout).toContain('✗ blueprints deploy: failed (exited 2: Error: blueprints deploy failed')
    expect(failed.stdout).toContain('· function settings: not run')
    for (const fn of FUNCTIONS) expect(failed.stdout).toContain(`· ${fn}: not run`)
    expect(failed.stdout).toContain('Not finished.')
    // The CLI's own error reached the operator.
    expect(failed.stderr).toContain('Error: blueprints deploy failed')

    const finished = await deploy([])
    expect(finished.code).toBe(0)
    expect(argvs()).toEqual([
      'blueprints plan --stack production',
      'blueprints deploy --stack production',
      ...envAdds(SETTINGS),
    ])
  })

  it('a failure in the middle of a function: the report names what was set, and the next run sets only the rest', async () => {
    const failAt = 'functions env add fan-out-role AUTH0_CLIENT_SECRET'
    const failed = await deploy([], { FAKE_SANITY_FAIL: failAt })
    expect(failed.code).toBe(1)
    expect(failed.stdout).toContain('✓ blueprints deploy: done')
    expect(failed.stdout).toContain('✗ function settings: failed')
    expect(failed.stdout).toContain('✓ sync-access-policy: done')
    expect(failed.stdout).toMatch(/✗ fan-out-role: failed \(AUTH0_CLIENT_SECRET: exited 2/)
    expect(failed.stdout).toContain('done: set AUTH0_DOMAIN, set AUTH0_CLIENT_ID')
    expect(failed.stdout).toContain('not done: set AUTH0_CLIENT_SECRET, set FANOUT_MAX_WRITES')
    expect(failed.stdout).toContain('· fan-out-plan: not run')
    expect(failed.stdout).toContain('· reconcile-access: not run')
    commands()

    expect((await deploy([])).code).toBe(0)
    const rest = argvs().filter((line) => line.includes(' env add '))
    expect(rest).toEqual(
      envAdds(SETTINGS).filter(
        (line) =>
          line.includes(' env add ') &&
          !line.includes('sync-access-policy') &&
          !/fan-out-role AUTH0_(DOMAIN|CLIENT_ID) /.test(line),
      ),
    )
  })

  it('a failing build stops before anything reaches Sanity', async () => {
    const failed = await deploy([], {}, async () => {
      throw new Error('fan-out-role: the bundle is over 2097152 bytes; see docs/performance.md')
    })
    expect(failed.code).toBe(1)
    expect(failed.stdout).toContain('✗ build the bundles: failed (fan-out-role: the bundle is over')
    expect(failed.stdout).toContain('· blueprints plan: not run')
    expect(commands()).toEqual([])
  })

  it('wrong settings: one error naming every problem, and nothing runs', async () => {
    const { AUTH0_CLIENT_SECRET: _secret, ...rest } = SETTINGS
    writeEnvFile({ ...rest, AUTH0_TIMEOUT_SECONDS: '600', FANOUT_MAX_WRITES: 'many' })
    const { code, stdout, stderr } = await deploy([])
    expect(code).toBe(1)
    expect(stderr).toContain('AUTH0_CLIENT_SECRET is not set')
    expect(stderr).toContain('AUTH0_TIMEOUT_SECONDS must be a whole number from 1 to 60')
    expect(stderr).toContain('FANOUT_MAX_WRITES must be a whole number')
    expect(stdout).toContain('· build the bundles: not run')
    expect(commands()).toEqual([])
  })

  it('without project and dataset it refuses, naming both, before anything runs', async () => {
    const { SANITY_PROJECT_ID: _p, SANITY_DATASET: _d, ...rest } = SETTINGS
    writeEnvFile(rest)
    const { code, stderr } = await deploy(['--dry-run'])
    expect(code).toBe(1)
    expect(stderr).toContain('SANITY_PROJECT_ID is not set')
    expect(stderr).toContain('SANITY_DATASET is not set')
    expect(commands()).toEqual([])
  })

  it('SANITY_STACK names the stack; --dry-run --plan runs only blueprints plan', async () => {
    writeEnvFile({ ...SETTINGS, SANITY_STACK: 'prod-eu' })
    const { code, stdout } = await deploy(['--dry-run', '--plan'])
    expect(code).toBe(0)
    expect(argvs()).toEqual(['blueprints plan --stack prod-eu'])
    expect(stdout).toContain('Blueprint plan for stack "prod-eu" (fake)')
    expect(stdout).toContain('would run: sanity blueprints deploy --stack prod-eu')
  })

  it('a missing environment file or no --env stops before anything runs', async () => {
    const missing = await deploy(['--env', 'staging'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('.env.staging')
    let stderr = ''
    const io = { stdout: { write: () => true }, stderr: { write: (text: string) => (stderr += text) } }
    expect(await run([], { PATH: process.env.PATH }, io, { cwd })).toBe(1)
    expect(stderr).toContain('deploy needs an environment')
    expect(commands()).toEqual([])
  })
})
