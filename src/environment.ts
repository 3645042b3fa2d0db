/**
 * Environments: one Sanity dataset and one Auth0 tenant each, their settings in one file per environment.
 * `--env production` (or `ACCESS_SYNC_ENV=production`, which the blueprint reads) means `.env.production` in the
 * working directory; `.env.example` documents every variable. Every entry point (deploy, reconcile, deploy-action,
 * doctor, the blueprint, the example app) reads settings through here, so nobody hand-exports variables.
 */
import { existsSync, readFileSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import process from 'node:process'
import { parseEnv } from 'node:util'
import { SyncError } from './core/errors.ts'

export type Env = Readonly<Record<string, string | undefined>>

export interface Environment {
  /** The environment's name (`production`), or undefined when settings come from the process alone. */
  readonly name: string | undefined
  /** The file the settings were read from. */
  readonly file: string | undefined
  /** The process environment with the file's values over it (the file wins), and ACCESS_SYNC_ENV set. */
  readonly env: Env
  /** Variables the shell also set, to another value: the file's value is the one used. */
  readonly shadowed: readonly string[]
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

/** `.env.<name>` in `cwd`; a value with a path separator is a file path of its own. */
export function environmentFile(name: string, cwd: string = process.cwd()): string {
  return name.includes('/') || name.includes('\\') ? resolve(cwd, name) : resolve(cwd, `.env.${name}`)
}

/**
 * The settings of environment `name` (default: `base.ACCESS_SYNC_ENV`); with neither, `base` as it is. A missing
 * file or a bad name fails with what to do, so that a typo never falls back to whatever the shell holds.
 */
export function loadEnvironment(
  name: string | undefined,
  base: Env = process.env,
  options: { readonly cwd?: string } = {},
): Environment {
  const chosen = (name ?? base.ACCESS_SYNC_ENV)?.trim() || undefined
  if (chosen === undefined) return { name: undefined, file: undefined, env: base, shadowed: [] }
  const isPath = chosen.includes('/') || chosen.includes('\\')
  if (!isPath && !NAME.test(chosen)) {
    throw new SyncError(
      'configuration',
      `Configuration: environment name ${JSON.stringify(chosen.slice(0, 40))} is not valid: use letters, digits, ".", "_" and "-", like "production" or "staging".`,
    )
  }
  const file = environmentFile(chosen, options.cwd)
  if (!existsSync(file)) {
    throw new SyncError(
      'configuration',
      `Configuration: environment "${chosen}" has no settings file (${file}). Copy .env.example to ${isPath ? file : `.env.${chosen}`} and fill it in; nothing was sent.`,
    )
  }
  let values: Record<string, string>
  try {
    values = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>
  } catch (error) {
    throw new SyncError('configuration', `Configuration: cannot read ${file}: ${(error as Error).message}`)
  }
  const shadowed = Object.keys(values).filter((key) => base[key] !== undefined && base[key] !== values[key])
  const envName = isPath ? basename(file).replace(/^\.env\.?/, '') || chosen : chosen
  return { name: envName, file, env: { ...base, ...values, ACCESS_SYNC_ENV: isPath ? file : chosen }, shadowed }
}

/** One line for a command's stderr: which file it read, and which shell variables it did not use. */
export function describeEnvironment(environment: Environment): string | undefined {
  if (!environment.file) return undefined
  const shadowed =
    environment.shadowed.length > 0
      ? ` (the shell's ${environment.shadowed.join(', ')} ${environment.shadowed.length === 1 ? 'differs' : 'differ'}: the file's value is used)`
      : ''
  return `environment ${environment.name}: settings from ${environment.file}${shadowed}`
}
