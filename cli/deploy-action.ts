/**
 * `access-sync deploy-action` (also `npm run deploy:action --`): puts auth0/actions/access-claims.js into the
 * tenant as the post-login Action. Creates or updates it by name, sets its secret, waits until the draft is
 * `built` (a failed build stops here with Auth0's reason), deploys it, binds it to post-login after everyone
 * else's Actions (retrying while Auth0 says the deploy is not bindable yet) and waits until logins run the new
 * version. Idempotent; `--dry-run` prints the plan and writes nothing. `--list-versions` and `--rollback [N]` read
 * and roll back the versions Auth0 keeps.
 *
 * Settings: AUTH0_DOMAIN, AUTH0_DEPLOY_CLIENT_ID and its credential, AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY (Private
 * Key JWT, recommended; algorithm AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_ALG) or AUTH0_DEPLOY_CLIENT_SECRET (a
 * Machine-to-Machine client with read:actions create:actions update:actions, never the function's client),
 * CLAIM_NAMESPACE (optional).
 */
import { readFileSync } from 'node:fs'
import process from 'node:process'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { collectCredential, DEPLOY_CREDENTIAL } from '../src/config.ts'
import {
  ACTION_NAME,
  ACTION_RUNTIME,
  type ActionVersionInfo,
  BIND_RETRY_MS,
  type BindingRef,
  buildFailureMessage,
  type DesiredAction,
  describePlan,
  describeVersions,
  desiredProblems,
  mergeBindings,
  nextActivationStep,
  nextBindStep,
  nextBuildStep,
  POST_LOGIN_TRIGGER,
  planActionDeploy,
  planRollback,
} from '../src/core/action-deploy.ts'
import { SyncError } from '../src/core/errors.ts'
import { describeEnvironment, loadEnvironment } from '../src/environment.ts'
import {
  type ActionsGateway,
  BindingLagError,
  connectActions,
  type DeployCredentials,
} from '../src/gateways/auth0-actions.ts'

export const ACTION_FILE = new URL('../auth0/actions/access-claims.js', import.meta.url)

/** The command's options, as parsed; exported so a test can hold the docs' flags to them. */
export const OPTIONS = {
  'list-versions': { type: 'boolean' },
  rollback: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'update-secrets': { type: 'boolean' },
  'wait-seconds': { type: 'string' },
  name: { type: 'string' },
  env: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

export const USAGE = `Usage: access-sync deploy-action [--dry-run] [--update-secrets] [--wait-seconds N] [--name NAME]
       access-sync deploy-action --list-versions | --rollback [N] [--dry-run]

Deploys auth0/actions/access-claims.js as the post-login Action of the tenant: waits for Auth0's build (a failed
build exits 1 with Auth0's reason and binds nothing), deploys, binds (retried for up to ${BIND_RETRY_MS / 1000} s while
Auth0 says the deploy is not bindable yet) and waits until logins run the new version.
  --dry-run          print what it would do, write nothing
  --update-secrets   send CLAIM_NAMESPACE even if the Action already has it (Auth0 never returns secret values)
  --wait-seconds N   how long to wait for Auth0 to build the draft (default 120)
  --name NAME        the Action's name (default ${ACTION_NAME})
  --env <name>       read the settings from .env.<name> (see .env.example); default: the shell's
  --list-versions    list the Action's versions (number, deployed or not, created)
  --rollback [N]     deploy version N again (as a new version) and make sure it is bound; without N, the newest
                     version before the deployed one that differs from it. Deploy the committed file again with
                     a plain deploy-action.

Environment: AUTH0_DOMAIN, AUTH0_DEPLOY_CLIENT_ID (scopes read:actions create:actions update:actions) and one
credential: AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY (Private Key JWT, recommended: a PEM, its base64 or a file
path; AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_ALG RS256 by default) or AUTH0_DEPLOY_CLIENT_SECRET; CLAIM_NAMESPACE
(optional, e.g. https://claims.example.com/; default: the Action's own).`

export interface DeployOptions {
  readonly dryRun: boolean
  /** How long to wait for the draft's build. */
  readonly maxWaitMs: number
  readonly pollMs: number
  /** How long to retry a binding Auth0 refuses as not yet deployed, and to wait for the version to take over. */
  readonly bindWaitMs?: number
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

  let version: ActionVersionInfo | undefined
  if (plan.deploy) {
    const started = io.now()
    for (;;) {
      const step = nextBuildStep(action.status, io.now() - started, options.maxWaitMs)
      if (step.next === 'deploy') break
      if (step.next === 'build-failed') {
        throw new SyncError('auth0-rejected', buildFailureMessage(action.name, await gateway.listVersions(action.id)))
      }
      if (step.next === 'fail') throw new SyncError('auth0-unavailable', step.why, { retryable: true })
      io.log(`  waiting for the build: ${action.status ?? 'unknown'} (${seconds(io.now() - started)} s)`)
      await io.sleep(options.pollMs)
      action = await gateway.getAction(action.id)
    }
    version = await gateway.deployAction(action.id)
    writes++
    io.log(`deployed version ${version.number}`)
  }
  if (plan.bindings) {
    writes += await bindRetrying(gateway, plan.bindings, version?.number, options, io)
    io.log(`bound to post-login (${plan.bindings.map((binding) => binding.display_name).join(' → ')})`)
  }
  if (version) await waitUntilDeployed(gateway, action.id, version, options, io)
  io.log(writes === 0 ? 'nothing to do: the tenant already runs this Action' : 'done')
  return { dryRun: false, actionId: action.id, version: version?.number, writes }
}

const seconds = (ms: number) => (ms / 1000).toFixed(1)

/** Replaces the post-login bindings, retrying while Auth0 refuses them as not yet deployed. Returns 1 (one write). */
async function bindRetrying(
  gateway: ActionsGateway,
  bindings: readonly BindingRef[],
  version: number | undefined,
  options: DeployOptions,
  io: DeployIo,
): Promise<number> {
  const started = io.now()
  for (;;) {
    try {
      await gateway.replacePostLoginBindings(bindings)
      return 1
    } catch (error) {
      if (!(error instanceof BindingLagError)) throw error
      const step = nextBindStep(io.now() - started, options.bindWaitMs ?? BIND_RETRY_MS, version)
      if (step.next === 'fail') throw new SyncError('auth0-unavailable', step.why, { retryable: true, cause: error })
      io.log(`  ${error.message}; binding again in ${seconds(options.pollMs)} s (${seconds(io.now() - started)} s)`)
      await io.sleep(options.pollMs)
    }
  }
}

/** Polls the version Auth0 answered with `deployed: false` until logins run it. */
async function waitUntilDeployed(
  gateway: ActionsGateway,
  actionId: string,
  version: ActionVersionInfo,
  options: DeployOptions,
  io: DeployIo,
): Promise<void> {
  const started = io.now()
  let current = version
  for (;;) {
    const step = nextActivationStep(current, io.now() - started, options.bindWaitMs ?? BIND_RETRY_MS)
    if (step.next === 'done') break
    if (step.next === 'fail') throw new SyncError('auth0-unavailable', step.why, { retryable: true })
    io.log(`  waiting for version ${current.number} to take over (${seconds(io.now() - started)} s)`)
    await io.sleep(options.pollMs)
    current = await gateway.getVersion(actionId, version.id)
  }
  io.log(`version ${current.number} is deployed: logins run it`)
}

/** `--list-versions`. */
export async function listActionVersions(gateway: ActionsGateway, name: string, io: DeployIo): Promise<void> {
  const action = await gateway.findAction(name)
  if (!action)
    throw new SyncError('configuration', `There is no Action named "${name}" in this tenant: run deploy-action first`)
  for (const line of describeVersions(name, await gateway.listVersions(action.id))) io.log(line)
}

/**
 * `--rollback [N]`: deploys an earlier version again (Auth0 makes a new version copying it), binds the Action if
 * it is not bound, and waits until logins run it. The draft is left alone, so a plain deploy-action deploys the
 * committed file again.
 */
export async function rollbackAction(
  gateway: ActionsGateway,
  name: string,
  requested: number | undefined,
  options: DeployOptions,
  io: DeployIo,
): Promise<DeployOutcome> {
  const [action, bindings] = await Promise.all([gateway.findAction(name), gateway.listPostLoginBindings()])
  if (!action) {
    throw new SyncError('configuration', `There is no Action named "${name}" in this tenant: nothing to roll back`)
  }
  const plan = planRollback(await gateway.listVersions(action.id), requested)
  if (plan.kind === 'fail') throw new SyncError('configuration', `Cannot roll back "${name}": ${plan.why}`)
  const binding = mergeBindings(bindings, name, action.id)
  io.log(options.dryRun ? 'plan (dry run, nothing is written):' : 'plan:')
  io.log(
    plan.kind === 'nothing'
      ? `  - ${plan.why}`
      : `  - deploy a copy of version ${plan.target.number} (deployed now: ${plan.deployed?.number ?? 'none'})`,
  )
  io.log(binding.bindings ? '  - bind it to post-login' : '  - already bound to post-login')
  if (options.dryRun) return { dryRun: true, actionId: action.id, version: undefined, writes: 0 }
  let writes = 0
  let version: ActionVersionInfo | undefined
  if (plan.kind === 'rollback') {
    version = await gateway.deployVersion(action.id, plan.target.id)
    writes++
    io.log(`deployed version ${version.number}, a copy of version ${plan.target.number}`)
  }
  if (binding.bindings) {
    writes += await bindRetrying(gateway, binding.bindings, version?.number, options, io)
    io.log('bound to post-login')
  }
  if (version) await waitUntilDeployed(gateway, action.id, version, options, io)
  if (plan.kind === 'rollback') {
    io.log(
      `rolled back: logins run version ${plan.target.number}'s code; \`access-sync deploy-action\` deploys the committed file again`,
    )
  } else io.log(writes === 0 ? 'nothing to do' : 'done')
  return { dryRun: false, actionId: action.id, version: version?.number, writes }
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
  const credential = collectCredential(env, DEPLOY_CREDENTIAL, problems)
  if (domain && !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(domain)) {
    problems.push('AUTH0_DOMAIN must be a bare host name like "acme.eu.auth0.com" (no https://, no path)')
  }
  if (problems.length > 0) {
    throw new SyncError(
      'configuration',
      `Configuration: ${problems.join('; ')}. The deploy client is a Machine-to-Machine application with read:actions create:actions update:actions (not the function's client).`,
    )
  }
  return { domain, clientId, ...credential }
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
    'list-versions'?: boolean
    rollback?: string
  }
  // `--rollback` takes an optional version number, which parseArgs cannot express.
  const args = argv.map((arg, index) =>
    arg === '--rollback' && (argv[index + 1] === undefined || argv[index + 1]?.startsWith('-')) ? '--rollback=' : arg,
  )
  try {
    ;({ values } = parseArgs({
      args,
      options: OPTIONS,
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
  const rollback = values.rollback
  const requested = rollback === undefined || rollback === '' ? undefined : Number(rollback)
  if (requested !== undefined && (!Number.isInteger(requested) || requested < 1)) {
    io.log('--rollback takes a version number (see --list-versions), or nothing for the one before the deployed one')
    return 2
  }
  if (rollback !== undefined && values['list-versions']) {
    io.log(`--rollback and --list-versions do not go together\n\n${USAGE}`)
    return 2
  }
  const name = values.name ?? ACTION_NAME
  try {
    // How often to poll the build, bind again during the lag and check the new version; only tests change it.
    const pollMs = Math.max(10, Number(env.DEPLOY_ACTION_POLL_MS) || 2000)
    const options = { dryRun: values['dry-run'] === true, maxWaitMs: waitSeconds * 1000, pollMs }
    if (values['list-versions']) {
      await listActionVersions(connectActions(readDeployCredentials(env)), name, io)
      return 0
    }
    if (rollback !== undefined) {
      await rollbackAction(connectActions(readDeployCredentials(env)), name, requested, options, io)
      return 0
    }
    const desired: DesiredAction = {
      name,
      code: readFileSync(ACTION_FILE, 'utf8'),
      runtime: ACTION_RUNTIME,
      namespace: env.CLAIM_NAMESPACE?.trim() || undefined,
      updateSecrets: values['update-secrets'] === true,
    }
    await deployAction(connectActions(readDeployCredentials(env)), desired, options, io)
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
