/**
 * `access-sync doctor [--env <name>] [--json]`: checks, reading only, that one environment's pieces line up: the
 * Sanity token reads the policies (and an empty read is not mistaken for "nothing to do"), the dataset exists and is
 * the one the functions are scoped to, the Auth0 domain, credentials and scopes, the post-login Action and its
 * namespace, and the scheduled repair. One line per check; exit 0 when nothing failed (warnings allowed), 1 otherwise.
 */
import { readFileSync } from 'node:fs'
import process from 'node:process'
import { parseArgs } from 'node:util'
import { type Auth0Config, readAuth0Config, readReconcileConfig, type SanityConfig } from '../src/config.ts'
import { domainKind } from '../src/core/auth0-domain.ts'
import { SyncError } from '../src/core/errors.ts'
import { type DoctorFacts, evaluate, exitCode } from '../src/doctor/checks.ts'
import { probeAction, probeGrant, probeMarked, probePolicies, probeStack, readBlueprint } from '../src/doctor/probes.ts'
import { formatText, toJson } from '../src/doctor/report.ts'
import { type Environment, loadEnvironment } from '../src/environment.ts'
import { ACTION_FILE, readDeployCredentials } from './deploy-action.ts'

/** The command's options, as parsed; exported so a test can hold the docs' flags to them. */
export const OPTIONS = {
  env: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

export const USAGE = `Usage: access-sync doctor [--env <name>] [--json]

Checks, without changing anything, that an environment's settings, Sanity project, Auth0 tenant, functions and
post-login Action line up. One line per check: ✓ passed, ! warning, ✗ failed (with the fix).
  --env <name>   read the settings from .env.<name> (default: ACCESS_SYNC_ENV, else the shell)
  --json         print one JSON document (for CI)

Reads SANITY_*, AUTH0_*, AUTH0_DEPLOY_CLIENT_ID/SECRET (optional, read:actions: checks the Action), CLAIM_NAMESPACE,
ACCESS_SYNC_SCHEDULE and SANITY_STACK (the deployed stack, read with \`sanity blueprints info\`; default: the
environment's name). Exit codes: 0 nothing failed, 1 a check failed or the settings file is missing.`

type Env = Readonly<Record<string, string | undefined>>

interface Io {
  readonly stdout: { write(text: string): unknown }
  readonly stderr: { write(text: string): unknown }
}

export async function run(
  argv: readonly string[],
  base: Env = process.env,
  io: Io = process,
  options: { readonly cwd?: string } = {},
): Promise<number> {
  let values: { env?: string; json?: boolean; help?: boolean }
  try {
    ;({ values } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      strict: true,
    }))
  } catch (error) {
    io.stderr.write(`access-sync doctor: ${(error as Error).message}\n\n${USAGE}\n`)
    return 1
  }
  if (values.help) {
    io.stdout.write(`${USAGE}\n`)
    return 0
  }
  const cwd = options.cwd ?? process.cwd()
  let environment: Environment
  try {
    environment = loadEnvironment(values.env, base, { cwd })
  } catch (error) {
    if (!(error instanceof SyncError)) throw error
    io.stderr.write(`access-sync doctor: ${error.message}\n`)
    return 1
  }
  const checks = evaluate(await gather(environment, cwd))
  const header = { environment: environment.name, file: environment.file }
  io.stdout.write(values.json ? `${JSON.stringify(toJson(checks, header), null, 2)}\n` : formatText(checks, header))
  return exitCode(checks)
}

/** Runs every probe the settings allow, in parallel where they are independent. */
async function gather(environment: Environment, cwd: string): Promise<DoctorFacts> {
  const { env } = environment
  const settingsProblem = attempt(() => readReconcileConfig(env, { hint: '' })).error?.message.trim()
  const sanity: SanityConfig | undefined = attempt(() => readReconcileConfig(env)).value?.sanity
  const auth0: Auth0Config | undefined = attempt(() => readAuth0Config(env)).value
  const skipped = (why: string) => ({ kind: 'skipped', why }) as const
  const stackName = env.SANITY_STACK?.trim() || environment.name
  const deployClient =
    env.AUTH0_DEPLOY_CLIENT_ID?.trim() ||
    env.AUTH0_DEPLOY_CLIENT_SECRET?.trim() ||
    env.AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY?.trim()

  const [grant, policies, action, stack] = await Promise.all([
    auth0 ? probeGrant(auth0) : skipped('the Auth0 settings are incomplete'),
    sanity ? probePolicies(sanity) : skipped('the Sanity settings are incomplete'),
    deployClient
      ? attemptAsync(() => probeAction(readDeployCredentials(env), readFileSync(ACTION_FILE, 'utf8')))
      : skipped(
          'set AUTH0_DEPLOY_CLIENT_ID and its AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY or AUTH0_DEPLOY_CLIENT_SECRET (a client with read:actions) to check the Action',
        ),
    stackName
      ? probeStack(stackName, { cwd, env })
      : skipped('no stack named: run with --env <name> (or set SANITY_STACK)'),
  ])
  // Only an empty read needs to know whether Auth0 holds Organizations we wrote.
  const emptyRead = policies.kind === 'ok' && policies.value.published === 0
  const marked =
    emptyRead && auth0 && grant.kind === 'ok' ? await probeMarked(auth0) : skipped('no empty read to weigh')
  return {
    environment: environment.name,
    file: environment.file,
    settingsProblem,
    auth0Domain: env.AUTH0_DOMAIN?.trim() || undefined,
    domainKind: env.AUTH0_DOMAIN?.trim() ? domainKind(env.AUTH0_DOMAIN) : undefined,
    projectId: env.SANITY_PROJECT_ID?.trim() || undefined,
    dataset: env.SANITY_DATASET?.trim() || undefined,
    grant,
    policies,
    marked,
    blueprint: readBlueprint(env),
    stack,
    action,
    claimNamespace: env.CLAIM_NAMESPACE?.trim() || undefined,
  }
}

function attempt<T>(read: () => T): { value?: T; error?: Error } {
  try {
    return { value: read() }
  } catch (error) {
    if (!(error instanceof SyncError)) throw error
    return { error }
  }
}

async function attemptAsync(probe: () => Promise<DoctorFacts['action']>): Promise<DoctorFacts['action']> {
  try {
    return await probe()
  } catch (error) {
    if (!(error instanceof SyncError)) throw error
    return { kind: 'failed', reason: error.reason, message: error.message }
  }
}

if (import.meta.main) process.exitCode = await run(process.argv.slice(2))
