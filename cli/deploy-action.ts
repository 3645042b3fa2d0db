/**
 * `access-sync deploy-action` (also `npm run deploy:action --`): puts auth0/actions/access-claims.js into the
 * tenant as the post-login Action. Creates or updates it by name, sets its secret, waits until the draft is
 * `built`, deploys it, and binds it to post-login after everyone else's Actions. Idempotent; `--dry-run` prints
 * the plan and writes nothing.
 *
 * Settings: AUTH0_DOMAIN, AUTH0_DEPLOY_CLIENT_ID, AUTH0_DEPLOY_CLIENT_SECRET (a Machine-to-Machine client with
 * read:actions create:actions update:actions, never the function's client), CLAIM_NAMESPACE (optional).
 */
import { readFileSync } from 'node:fs'
import process from 'node:process'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import {
  ACTION_NAME,
  ACTION_RUNTIME,
  type DesiredAction,
  describePlan,
  desiredProblems,
  nextBuildStep,
  POST_LOGIN_TRIGGER,
  planActionDeploy,
} from '../src/core/action-deploy.ts'
import { SyncError } from '../src/core/errors.ts'
import { describeEnvironment, loadEnvironment } from '../src/environment.ts'
import { type ActionsGateway, connectActions, type DeployCredentials } from '../src/gateways/auth0-actions.ts'

export const ACTION_FILE = new URL('../auth0/actions/access-claims.js', import.meta.url)

export const USAGE = `Usage: access-sync deploy-action [--dry-run] [--update-secrets] [--wait-seconds N] [--name NAME]

Deploys auth0/actions/access-claims.js as the post-login Action of the tenant.
  --dry-run          print what it would do, write nothing
  --update-secrets   send CLAIM_NAMESPACE even if the Action already has it (Auth0 never returns secret values)
  --wait-seconds N   how long to wait for Auth0 to build the draft (default 120)
  --name NAME        the Action's name (default ${ACTION_NAME})
  --env <name>       read the settings from .env.<name> (see .env.example); default: the shell's

Environment: AUTH0_DOMAIN, AUTH0_DEPLOY_CLIENT_ID, AUTH0_DEPLOY_CLIENT_SECRET (scopes read:actions create:actions
update:actions), CLAIM_NAMESPACE (optional, e.g. https://claims.example.com/; default: the Action's own).`

export interface DeployOptions {
  readonly dryRun: boolean
  readonly maxWaitMs: number
  readonly pollMs: number
}

export interface DeployIo {
  log(line: string): void
  sleep(ms: number): Promise<void>
  now(): number
}

export interface DeployOutcome {
  readonly dryRun: boolean
  readonly actionId: string | undefined
  readonly version: number | undefined
  /** Requests that changed something: 0 on a run with nothing to do. */
  readonly writes: number
}

/** Runs the plan against the gateway. Throws SyncError on any failure, after saying how far it got. */
export async function deployAction(
  gateway: ActionsGateway,
  desired: DesiredAction,
  options: DeployOptions,
  io: DeployIo,
): Promise<DeployOutcome> {
  const problems = desiredProblems(desired)
  if (problems.length > 0) throw new SyncError('configuration', `Cannot deploy the Action: ${problems.join('; ')}`)
  const [existing, bindings] = await Promise.all([gateway.findAction(desired.name), gateway.listPostLoginBindings()])
  const plan = planActionDeploy(existing, bindings, desired)
  io.log(options.dryRun ? 'plan (dry run, nothing is written):' : 'plan:')
  for (const line of describePlan(plan, desired)) io.log(`  - ${line}`)
  if (options.dryRun) return { dryRun: true, actionId: existing?.id, version: undefined, writes: 0 }

  let writes = 0
  const input = {
    name: desired.name,
    code: desired.code,
    runtime: desired.runtime,
    trigger: POST_LOGIN_TRIGGER,
    secrets: plan.secrets,
  }
  let action = existing
  if (plan.action.kind === 'create') {
    action = await gateway.createAction(input)
    writes++
    io.log(`created Action ${action.id}`)
  } else if (plan.action.kind === 'update' && existing) {
    action = await gateway.updateAction(existing.id, input)
    writes++
    io.log(`updated Action ${action.id} (${plan.action.changed.join(', ')})`)
  }
  if (!action) throw new SyncError('auth0-rejected', 'Auth0 returned no Action')

  let version: number | undefined
  if (plan.deploy) {
    const started = io.now()
    for (;;) {
      const step = nextBuildStep(action.status, io.now() - started, options.maxWaitMs)
      if (step.next === 'deploy') break
      if (step.next === 'fail') throw new SyncError('auth0-unavailable', step.why, { retryable: true })
      io.log(`  waiting for the build: ${action.status ?? 'unknown'} (${((io.now() - started) / 1000).toFixed(1)} s)`)
      await io.sleep(options.pollMs)
      action = await gateway.getAction(action.id)
    }
    version = await gateway.deployAction(action.id)
    writes++
    io.log(`deployed version ${version ?? '?'}`)
  }
  if (plan.bindings) {
    await gateway.replacePostLoginBindings(plan.bindings)
    writes++
    io.log(`bound to post-login (${plan.bindings.map((binding) => binding.display_name).join(' → ')})`)
  }
  io.log(writes === 0 ? 'nothing to do: the tenant already runs this Action' : 'done')
  return { dryRun: false, actionId: action.id, version, writes }
}

type Env = Readonly<Record<string, string | undefined>>

/** The deploy client's settings; every problem named at once. */
export function readDeployCredentials(env: Env): DeployCredentials {
  const problems: string[] = []
  const required = (name: string) => {
    const value = env[name]?.trim()
    if (!value) problems.push(`${name} is not set`)
    return value ?? ''
  }
  const domain = required('AUTH0_DOMAIN')
  const clientId = required('AUTH0_DEPLOY_CLIENT_ID')
  const clientSecret = required('AUTH0_DEPLOY_CLIENT_SECRET')
  if (domain && !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(domain)) {
    problems.push('AUTH0_DOMAIN must be a bare host name like "acme.eu.auth0.com" (no https://, no path)')
  }
  if (problems.length > 0) {
    throw new SyncError(
      'configuration',
      `Configuration: ${problems.join('; ')}. The deploy client is a Machine-to-Machine application with read:actions create:actions update:actions (not the function's client).`,
    )
  }
  return { domain, clientId, clientSecret }
}

/** The command line: returns the exit code. */
export async function run(
  argv: readonly string[],
  shellEnv: Env = process.env,
  io: DeployIo = defaultIo,
): Promise<number> {
  let values: {
    env?: string
    'dry-run'?: boolean
    'update-secrets'?: boolean
    'wait-seconds'?: string
    name?: string
    help?: boolean
  }
  try {
    ;({ values } = parseArgs({
      args: [...argv],
      options: {
        'dry-run': { type: 'boolean' },
        'update-secrets': { type: 'boolean' },
        'wait-seconds': { type: 'string' },
        name: { type: 'string' },
        env: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }))
  } catch (error) {
    io.log(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`)
    return 2
  }
  if (values.help) {
    io.log(USAGE)
    return 0
  }
  let env: Env
  try {
    const environment = loadEnvironment(values.env, shellEnv)
    env = environment.env
    const line = describeEnvironment(environment)
    if (line) io.log(line)
  } catch (error) {
    io.log(error instanceof Error ? error.message : String(error))
    return 1
  }
  const waitSeconds = Number(values['wait-seconds'] ?? 120)
  if (!Number.isInteger(waitSeconds) || waitSeconds < 1 || waitSeconds > 900) {
    io.log('--wait-seconds must be a whole number from 1 to 900')
    return 2
  }
  try {
    const desired: DesiredAction = {
      name: values.name ?? ACTION_NAME,
      code: readFileSync(ACTION_FILE, 'utf8'),
      runtime: ACTION_RUNTIME,
      namespace: env.CLAIM_NAMESPACE?.trim() || undefined,
      updateSecrets: values['update-secrets'] === true,
    }
    const gateway = connectActions(readDeployCredentials(env))
    // How often to ask whether the build finished; only tests and impatient operators change it.
    const pollMs = Math.max(10, Number(env.DEPLOY_ACTION_POLL_MS) || 2000)
    await deployAction(
      gateway,
      desired,
      { dryRun: values['dry-run'] === true, maxWaitMs: waitSeconds * 1000, pollMs },
      io,
    )
    return 0
  } catch (error) {
    if (!(error instanceof SyncError)) throw error
    io.log(`deploy-action failed (${error.reason}): ${error.message}`)
    return 1
  }
}

const defaultIo: DeployIo = {
  log: (line) => console.log(line),
  sleep: (ms) => sleep(ms),
  now: () => Date.now(),
}

if (import.meta.main) process.exitCode = await run(process.argv.slice(2))
