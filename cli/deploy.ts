/**
 * `access-sync deploy --env <name>`: deploys one environment (one dataset, one Auth0 tenant) in five steps, each
 * printed as it starts and ends: check the settings, build the bundles, `sanity blueprints plan`, `sanity blueprints
 * deploy`, and set each function's environment from the environment's file. The functions come from the blueprint
 * for that environment (`accessSyncResources`), their settings from the catalog (src/settings.ts). A failure stops
 * the run with what was and was not done; every step is safe to repeat, so running it again finishes the job.
 */
import process from 'node:process'
import { parseArgs } from 'node:util'
import type { BlueprintResource } from '@sanity/blueprints'
import { accessSyncResources } from '../sanity.blueprint.ts'
import { buildFunctions } from '../scripts/build-functions.ts'
import {
  portableSigningKey,
  readFanOutBudgetSeconds,
  readFanOutMaxWrites,
  readReconcileConfig,
  readRepairStepLimit,
} from '../src/config.ts'
import {
  type DeclaredFunction,
  type DeployRecord,
  declaredFunctions,
  describeOutcome,
  desiredFunctionEnv,
  type FunctionOutcome,
  maskSecrets,
  parseEnvList,
  planFunctionEnv,
  recordChange,
  type StepOutcome,
  type StepStatus,
  sanityCommands,
  showCommand,
} from '../src/core/deploy-plan.ts'
import { SyncError } from '../src/core/errors.ts'
import { describeEnvironment, type Env, type Environment, loadEnvironment } from '../src/environment.ts'
import { deployRecordPath, readDeployRecord, writeDeployRecord } from '../src/gateways/deploy-record.ts'
import { type SanityCliResult, sanityCli } from '../src/gateways/sanity-cli.ts'
import { secretValues } from '../src/settings.ts'

export const USAGE = `Usage: access-sync deploy --env <name> [--dry-run [--plan]]

Deploys one environment (the settings in its .env.<name> file: one Sanity dataset, one Auth0 tenant):
  1. checks the file's settings, naming every problem at once; nothing runs until they pass
  2. builds the function bundles (dist/functions/, as \`npm run build:functions\`)
  3. sanity blueprints plan --stack <stack>
  4. sanity blueprints deploy --stack <stack>
  5. sets each function's environment with \`sanity functions env add\`: only the settings that function reads, only
     those that differ from what this command set before; settings of this product the file no longer sets are
     removed, any other key is left alone
A failure stops the run and says what was and was not done; the same command again finishes the job.

Options:
  --env <name>   the environment: .env.<name> in this folder, or a path to a file (default: ACCESS_SYNC_ENV)
  --dry-run      change nothing: print the environment, each function and where it fires, and every sanity
                 command a run would issue (secrets masked)
  --plan         with --dry-run, also run \`sanity blueprints plan\` (needs a logged-in CLI and the network)
  -h, --help     this help

The stack is the environment's name unless SANITY_STACK says otherwise. Create it once with
\`npx sanity blueprints init --stack-name <stack> --project-id <project>\`. The Sanity CLI must be logged in
(\`npx sanity login\`, or SANITY_AUTH_TOKEN in CI).

Exit codes: 0 deployed (or the dry run printed), 1 a step failed or a setting is wrong, 2 bad arguments.`

interface Io {
  readonly stdout: { write(text: string): unknown }
  readonly stderr: { write(text: string): unknown }
}

const STEPS = ['check the settings', 'build the bundles', 'blueprints plan', 'blueprints deploy', 'function settings']

interface Setup {
  readonly environment: Environment & { readonly name: string }
  readonly stack: string
  readonly functions: readonly DeclaredFunction[]
  readonly secrets: readonly string[]
  /** What the functions are given: the file's settings, a private key as one line of base64 (see prepare). */
  readonly functionEnv: Env
}

export async function run(
  argv: readonly string[],
  env: Env = process.env,
  io: Io = process,
  options: {
    readonly cwd?: string
    /** Builds the bundles (scripts/build-functions.ts); tests that are about the other steps pass a quicker one. */
    readonly build?: () => Promise<readonly unknown[]>
  } = {},
): Promise<number> {
  let args: ReturnType<typeof parse>
  try {
    args = parse(argv)
    if (args.plan && !args['dry-run']) throw new Error('--plan goes with --dry-run (a deploy always plans)')
  } catch (error) {
    io.stderr.write(`access-sync deploy: ${(error as Error).message}\n\n${USAGE}\n`)
    return 2
  }
  if (args.help) {
    io.stdout.write(`${USAGE}\n`)
    return 0
  }
  const cwd = options.cwd ?? process.cwd()
  const dryRun = args['dry-run'] === true
  const say = (line: string) => io.stdout.write(`${line}\n`)
  const steps: StepOutcome[] = STEPS.map((title) => ({ title, status: 'not run' }))
  let functions: FunctionOutcome[] = []
  let secrets: readonly string[] = []
  const begin = (index: number) =>
    say(`\n▸ [${index + 1}/${STEPS.length}] ${STEPS[index]}${dryRun ? ' (dry run)' : ''}`)
  const end = (index: number, status: StepStatus, detail?: string) => {
    steps[index] = { title: STEPS[index] ?? '', status, ...(detail ? { detail: maskSecrets(detail, secrets) } : {}) }
    const mark = status === 'failed' ? '✗' : status === 'skipped' ? '-' : '✓'
    say(`${mark} [${index + 1}/${STEPS.length}] ${STEPS[index]}: ${steps[index]?.detail ?? status}`)
  }
  const command = `npx access-sync deploy${args.env ? ` --env ${args.env}` : ''}`
  const finish = (code: number): number => {
    say(`\n${dryRun ? 'Dry run: nothing was changed.' : 'Summary:'}`)
    if (!dryRun || code !== 0) for (const line of describeOutcome(steps, functions, command)) say(line)
    return code
  }
  const fail = (index: number, detail: string, message?: string): number => {
    end(index, 'failed', detail)
    if (message) io.stderr.write(`access-sync deploy: ${maskSecrets(message, secrets)}\n`)
    return finish(1)
  }

  begin(0)
  let setup: Setup
  try {
    setup = prepare(args.env, env, cwd)
  } catch (error) {
    if (!(error instanceof SyncError)) throw error
    return fail(0, 'the settings are not usable; nothing else ran', error.message)
  }
  secrets = setup.secrets
  const { environment, stack } = setup
  functions = setup.functions.map((fn) => ({ fn: fn.name, status: 'not run', done: [], left: [] }))
  describeSetup(setup, say)
  end(0, 'done', `${environment.file}`)

  const cli = sanityCli({
    cwd,
    // The blueprint reads the environment's file itself (ACCESS_SYNC_ENV); the file's secrets stay out of the CLI.
    env: { ...env, ACCESS_SYNC_ENV: environment.env.ACCESS_SYNC_ENV },
    secrets,
    stdout: io.stdout,
    stderr: io.stderr,
  })
  const runCli = async (cliArgs: readonly string[], echo: boolean): Promise<SanityCliResult> => {
    say(`  $ ${showCommand(cliArgs, secrets)}`)
    return cli(cliArgs, { echo })
  }

  try {
    begin(1)
    if (dryRun) {
      say(`  would build ${setup.functions.length} bundles into dist/functions/ (npm run build:functions)`)
      end(1, 'skipped', 'dry run')
    } else {
      const bundles = await (options.build ?? buildFunctions)()
      end(1, 'done', `${bundles.length} bundles in dist/functions/`)
    }

    begin(2)
    if (dryRun && !args.plan) {
      say(`  would run: ${showCommand(sanityCommands.plan(stack), secrets)} (add --plan to run it now)`)
      end(2, 'skipped', 'dry run')
    } else {
      const planned = await runCli(sanityCommands.plan(stack), true)
      if (planned.code !== 0) return fail(2, exited(planned, stack))
      end(2, 'done')
    }

    begin(3)
    if (dryRun) {
      say(`  would run: ${showCommand(sanityCommands.deploy(stack), secrets)}`)
      end(3, 'skipped', 'dry run')
    } else {
      const deployed = await runCli(sanityCommands.deploy(stack), true)
      if (deployed.code !== 0) return fail(3, exited(deployed, stack))
      end(3, 'done', `stack ${stack}`)
    }

    begin(4)
    const recordPath = deployRecordPath(cwd, stack)
    let record = readDeployRecord(recordPath)
    if (dryRun) say(`  compared with ${recordPath} (what the last deploy set); a run compares with the stack itself`)
    for (const [index, fn] of setup.functions.entries()) {
      const outcome = await setFunctionEnv(fn.name)
      functions[index] = outcome
      if (outcome.status === 'failed') {
        for (const later of functions.slice(index + 1)) say(`  ${later.fn}: not run`)
        return fail(4, `failed at ${fn.name}`)
      }
    }
    end(4, dryRun ? 'skipped' : 'done', dryRun ? 'dry run' : `${functions.length} functions`)
    return finish(0)

    async function setFunctionEnv(fn: string): Promise<FunctionOutcome> {
      let remoteKeys: Set<string>
      if (dryRun) {
        remoteKeys = new Set(Object.keys(record.functions[fn] ?? {}))
        say(`  ${fn}: would run ${showCommand(sanityCommands.envList(fn, stack), secrets)}`)
      } else {
        const listed = await runCli(sanityCommands.envList(fn, stack), false)
        const keys = listed.code === 0 ? parseEnvList(listed.stdout) : undefined
        if (!keys) {
          const detail = listed.code === 0 ? 'env list answered something other than {"envvars": […]}' : exited(listed)
          return { fn, status: 'failed', done: [], left: ['its settings'], detail }
        }
        remoteKeys = keys
      }
      const plan = planFunctionEnv(fn, desiredFunctionEnv(fn, setup.functionEnv), remoteKeys, record)
      const changes = [
        ...plan.add.map((change) => ({
          label: `set ${change.key}`,
          why: change.why,
          args: sanityCommands.envAdd(fn, change.key, change.value, stack),
          next: (from: DeployRecord) => recordChange(from, fn, change.key, change.value),
        })),
        ...plan.remove.map((key) => ({
          label: `removed ${key}`,
          why: 'the file no longer sets it',
          args: sanityCommands.envRemove(fn, key, stack),
          next: (from: DeployRecord) => recordChange(from, fn, key, undefined),
        })),
      ]
      say(
        `  ${fn}: ${plan.add.length} to set, ${plan.remove.length} to remove, ${plan.unchanged.length} unchanged${plan.unchanged.length > 0 ? ` (${plan.unchanged.join(', ')})` : ''}`,
      )
      const done: string[] = []
      for (const [index, change] of changes.entries()) {
        if (dryRun) {
          say(`    would run: ${showCommand(change.args, secrets)}  # ${change.why}`)
          continue
        }
        const result = await runCli(change.args, false)
        if (result.code !== 0) {
          const left = changes.slice(index).map((later) => later.label.replace(/^removed /, 'remove '))
          return { fn, status: 'failed', done, left, detail: `${change.label.split(' ')[1]}: ${exited(result)}` }
        }
        record = change.next(record)
        writeDeployRecord(recordPath, record)
        done.push(change.label)
      }
      const detail = changes.length === 0 ? 'nothing differs' : undefined
      return { fn, status: dryRun ? 'skipped' : 'done', done, left: [], ...(detail ? { detail } : {}) }
    }
  } catch (error) {
    if (!(error instanceof SyncError || error instanceof Error)) throw error
    const index = steps.findIndex((step) => step.status === 'not run')
    return fail(index === -1 ? STEPS.length - 1 : index, error.message, error.message)
  }
}

/** Step 1: the environment's file, every setting its functions read checked at once, and the blueprint for it. */
function prepare(name: string | undefined, base: Env, cwd: string): Setup {
  const environment = loadEnvironment(name, base, { cwd })
  if (environment.name === undefined) {
    throw new SyncError(
      'configuration',
      'Configuration: deploy needs an environment: `--env production` reads .env.production (copy .env.example), or set ACCESS_SYNC_ENV. Nothing was run.',
    )
  }
  const env = environment.env
  const problems: string[] = []
  const check = <T>(read: () => T): T | undefined => {
    try {
      return read()
    } catch (error) {
      if (!(error instanceof SyncError)) throw error
      problems.push(error.message)
      return undefined
    }
  }
  const hint = `Set them in ${environment.file} (see .env.example) and run again; nothing was run.`
  // The reconcile's reader checks the project, the dataset and everything the functions read from Auth0.
  const config = check(() => readReconcileConfig(env, { tokenFromRuntime: true, hint }))
  check(() => readFanOutMaxWrites(env))
  check(() => readFanOutBudgetSeconds(env))
  check(() => readRepairStepLimit(env))
  // Already named above when the project or dataset is what is wrong; the blueprint would say it again.
  const scoped = problems.some((problem) => /SANITY_(PROJECT_ID|DATASET)/.test(problem))
  const resources: BlueprintResource[] | undefined = scoped ? undefined : check(() => accessSyncResources(env))
  if (problems.length > 0 || !resources) {
    throw new SyncError(
      'configuration',
      `environment ${environment.name} (${environment.file}):\n  ${problems.join('\n  ')}`,
    )
  }
  // A PEM is several lines and a file path means nothing to a deployed function: the functions get the key itself,
  // checked and as one line of base64, which `sanity functions env add` takes as a plain argument.
  const key = config && portableSigningKey(config.auth0)
  const functionEnv = key ? { ...env, AUTH0_CLIENT_ASSERTION_SIGNING_KEY: key } : env
  const keyForms = config && 'clientAssertionSigningKey' in config.auth0 ? [config.auth0.clientAssertionSigningKey] : []
  return {
    environment: { ...environment, name: environment.name },
    stack: env.SANITY_STACK?.trim() || environment.name,
    functions: declaredFunctions(resources),
    secrets: [...secretValues(env), ...(key ? [key] : []), ...keyForms],
    functionEnv,
  }
}

function describeSetup(setup: Setup, say: (line: string) => void): void {
  const { environment, stack } = setup
  const env = environment.env
  const note = describeEnvironment(environment)
  if (note) say(`  ${note}`)
  say(
    `  Sanity project ${env.SANITY_PROJECT_ID}, dataset ${env.SANITY_DATASET}; Auth0 tenant ${env.AUTH0_DOMAIN}; stack ${stack}`,
  )
  say('  functions the blueprint declares for this environment:')
  const width = Math.max(...setup.functions.map((fn) => fn.name.length))
  for (const fn of setup.functions) {
    const where = fn.scope
      ? `fires for dataset ${fn.scope} only`
      : `${fn.schedule ? `runs "${fn.schedule}", ` : ''}reads dataset ${fn.env.SANITY_PROJECT_ID ?? '?'}.${fn.env.SANITY_DATASET ?? '?'} only (its env)`
    say(`    ${fn.name.padEnd(width)}  ${fn.kind.padEnd(9)}  ${where}`)
  }
}

/** Why a `sanity` command failed, from its exit code and the last line it printed. */
function exited(result: SanityCliResult, stack?: string): string {
  const lines = `${result.stdout}\n${result.stderr}`
    .split('\n')
    .map((line) => line.replace(/^[\s›]+/, '').trim())
    .filter(Boolean)
  const last = lines.findLast((line) => /\berror\b/i.test(line)) ?? lines.at(-1)
  const unconfirmed =
    result.code === 75 && stack
      ? `; the deploy was accepted but not confirmed: check \`npx sanity blueprints info --stack ${stack}\``
      : ''
  const missingStack =
    stack && /No stack found/i.test(`${result.stderr}${result.stdout}`)
      ? `; create the stack once: \`npx sanity blueprints init --stack-name ${stack} --project-id <project>\``
      : ''
  return `exited ${result.code}${last ? `: ${last}` : ''}${unconfirmed}${missingStack}`
}

/** The command's options, as parsed; exported so a test can hold the docs' flags to them. */
export const OPTIONS = {
  env: { type: 'string' },
  'dry-run': { type: 'boolean' },
  plan: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: OPTIONS }).values
}

if (import.meta.main) process.exitCode = await run(process.argv.slice(2))
