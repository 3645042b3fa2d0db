/**
 * What `access-sync deploy` decides, without doing any of it: which functions the blueprint declares and where they
 * fire, the `sanity` commands to run, and which function settings differ from what the stack holds. `functions env
 * list` shows keys only, so whether a value changed is told by the deploy record: a salted hash of every value this
 * command set, never the value.
 */
import { createHash } from 'node:crypto'
import type { BlueprintResource } from '@sanity/blueprints'
import { functionEnvSettings, PRODUCT_ENV_KEYS } from '../settings.ts'

export interface DeclaredFunction {
  readonly name: string
  /** `document`, `scheduled`, … (`cron` resources are called scheduled, as in the docs). */
  readonly kind: string
  /** A scheduled function's schedule. */
  readonly schedule: string | undefined
  /** Where it fires: `<projectId>.<dataset>` for a document function, undefined where the resource names none. */
  readonly scope: string | undefined
  /** The non-secret settings the blueprint itself gives the function (its resource `env`). */
  readonly env: Readonly<Record<string, string>>
}

/** The functions among the blueprint's resources, in the blueprint's order. */
export function declaredFunctions(resources: readonly BlueprintResource[]): DeclaredFunction[] {
  return resources.flatMap((resource) => {
    if (!resource.type.startsWith('sanity.function.')) return []
    const fn = resource as BlueprintResource & {
      event?: { resource?: { id?: string } } & Partial<Record<(typeof CRON_FIELDS)[number], string>>
      env?: Record<string, string>
    }
    return [
      {
        name: resource.name,
        kind: resource.type === 'sanity.function.cron' ? 'scheduled' : resource.type.slice('sanity.function.'.length),
        schedule: cronOf(fn.event),
        scope: fn.event?.resource?.id,
        env: fn.env ?? {},
      },
    ]
  })
}

const CRON_FIELDS = ['minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'] as const

/** `defineScheduledFunction` stores its schedule as cron fields; shown as the usual five-field expression. */
function cronOf(event: Partial<Record<(typeof CRON_FIELDS)[number], string>> | undefined): string | undefined {
  const fields = CRON_FIELDS.map((field) => event?.[field])
  return fields.every((field) => typeof field === 'string') ? fields.join(' ') : undefined
}

/** What was set on each function of one stack, as `salt`ed hashes per key. Kept beside the CLI's `.sanity/` config. */
export interface DeployRecord {
  readonly salt: string
  readonly functions: Readonly<Record<string, Readonly<Record<string, string>>>>
}

export function valueHash(salt: string, value: string): string {
  return createHash('sha256').update(`${salt}\0${value}`).digest('hex')
}

export interface EnvChange {
  readonly key: string
  readonly value: string
  readonly why: 'missing' | 'changed' | 'not set by this command before'
}

export interface FunctionEnvPlan {
  readonly fn: string
  readonly add: readonly EnvChange[]
  /** Product-owned keys the stack holds that the environment file no longer sets. */
  readonly remove: readonly string[]
  readonly unchanged: readonly string[]
}

/** The values `sanity functions env add` gives `fn`: only the settings it reads (the catalog), only those set. */
export function desiredFunctionEnv(fn: string, env: Readonly<Record<string, string | undefined>>): Map<string, string> {
  return new Map(
    functionEnvSettings(fn).flatMap((entry) => {
      const value = env[entry.name]?.trim()
      return value ? [[entry.name, value] as const] : []
    }),
  )
}

/**
 * Adds what the stack lacks or holds another value of (by the record), removes keys this product owns that the file
 * no longer sets, and leaves keys it does not own alone. `remoteKeys` is what `env list` shows.
 */
export function planFunctionEnv(
  fn: string,
  desired: ReadonlyMap<string, string>,
  remoteKeys: ReadonlySet<string>,
  record: DeployRecord,
): FunctionEnvPlan {
  const recorded = record.functions[fn] ?? {}
  const add: EnvChange[] = []
  const unchanged: string[] = []
  for (const [key, value] of desired) {
    const hash = recorded[key]
    if (remoteKeys.has(key) && hash === valueHash(record.salt, value)) unchanged.push(key)
    else
      add.push({
        key,
        value,
        why: !remoteKeys.has(key) ? 'missing' : hash === undefined ? 'not set by this command before' : 'changed',
      })
  }
  const remove = [...remoteKeys].filter((key) => PRODUCT_ENV_KEYS.has(key) && !desired.has(key)).sort()
  return { fn, add, remove, unchanged }
}

/** The record after `key` was set to `value` on `fn` (or removed, with `value` undefined). */
export function recordChange(record: DeployRecord, fn: string, key: string, value: string | undefined): DeployRecord {
  const { [key]: _previous, ...rest } = record.functions[fn] ?? {}
  const next = value === undefined ? rest : { ...rest, [key]: valueHash(record.salt, value) }
  return { ...record, functions: { ...record.functions, [fn]: next } }
}

export const sanityCommands = {
  plan: (stack: string) => ['blueprints', 'plan', '--stack', stack],
  deploy: (stack: string) => ['blueprints', 'deploy', '--stack', stack],
  envList: (fn: string, stack: string) => ['functions', 'env', 'list', fn, '--stack', stack, '--json'],
  envAdd: (fn: string, key: string, value: string, stack: string) => [
    'functions',
    'env',
    'add',
    fn,
    key,
    value,
    '--stack',
    stack,
  ],
  envRemove: (fn: string, key: string, stack: string) => ['functions', 'env', 'remove', fn, key, '--stack', stack],
} as const

export const MASK = '********'

/** `text` with every secret value replaced by the mask. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  // Longest first, so a secret that contains another is masked whole.
  return [...secrets]
    .sort((a, b) => b.length - a.length)
    .reduce((masked, secret) => masked.split(secret).join(MASK), text)
}

/** A command as a shell would take it, secrets masked. */
export function showCommand(args: readonly string[], secrets: readonly string[]): string {
  const quoted = args.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`))
  return maskSecrets(['sanity', ...quoted].join(' '), secrets)
}

/** `env list --json` answers `{name, envvars: string[]}`; anything else is a CLI this command does not know. */
export function parseEnvList(stdout: string): Set<string> | undefined {
  try {
    const parsed = JSON.parse(stdout) as { envvars?: unknown }
    const keys = parsed.envvars
    if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string')) return undefined
    return new Set(keys)
  } catch {
    return undefined
  }
}

export type StepStatus = 'done' | 'failed' | 'not run' | 'skipped'

export interface StepOutcome {
  readonly title: string
  readonly status: StepStatus
  readonly detail?: string
}

export interface FunctionOutcome {
  readonly fn: string
  readonly status: StepStatus
  /** What was done, e.g. `set AUTH0_DOMAIN`, `removed FANOUT_MAX_WRITES`. */
  readonly done: readonly string[]
  /** What is left: the change that failed and those after it, or everything when not run. */
  readonly left: readonly string[]
  readonly detail?: string
}

const MARK: Record<StepStatus, string> = { done: '✓', failed: '✗', 'not run': '·', skipped: '-' }

/** The closing report: every step and every function, with what was and was not done. */
export function describeOutcome(
  steps: readonly StepOutcome[],
  functions: readonly FunctionOutcome[],
  command: string,
): string[] {
  const lines = steps.map((step) => `  ${MARK[step.status]} ${step.title}: ${step.status}${tail(step.detail)}`)
  for (const fn of functions) {
    lines.push(`      ${MARK[fn.status]} ${fn.fn}: ${fn.status}${tail(fn.detail)}`)
    if (fn.done.length > 0) lines.push(`          done: ${fn.done.join(', ')}`)
    if (fn.left.length > 0 && fn.status !== 'done') lines.push(`          not done: ${fn.left.join(', ')}`)
  }
  const failed = steps.some((step) => step.status === 'failed')
  lines.push(
    '',
    failed
      ? `Not finished. Fix what failed and run \`${command}\` again: every step is safe to repeat, and it picks up what is not done.`
      : 'Done.',
  )
  return lines
}

const tail = (detail: string | undefined) => (detail ? ` (${detail})` : '')
