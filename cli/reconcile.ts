/**
 * `access-sync reconcile`: plans every Auth0 Organization from what is published in Sanity, like
 * `terraform plan`, and with `--apply` writes the plan through the same shell the function uses
 * (src/sync/reconcile.ts), re-reading each Organization right before its write.
 *
 * Exit codes: 0 in sync or everything applied; 2 a dry run found drift; 1 anything failed or is invalid, the
 * settings are wrong, or an apply was interrupted before everything was written.
 */
import process from 'node:process'
import { parseArgs } from 'node:util'
import { readReconcileConfig } from '../src/config.ts'
import { organizationIdProblem } from '../src/core/auth0-rules.ts'
import { SyncError } from '../src/core/errors.ts'
import { exitCode, type KeyChange, type PlanEntry, summaryLine } from '../src/core/reconcile.ts'
import { describeEnvironment, loadEnvironment } from '../src/environment.ts'
import { connectAuth0 } from '../src/gateways/auth0.ts'
import { createPolicyReader, sanityClient } from '../src/gateways/sanity.ts'
import { describeRefusal } from '../src/reconcile-status.ts'
import { type AppliedEntry, type ReconcileResult, reconcileTenant } from '../src/sync/reconcile.ts'
import { progressReporter } from './progress.ts'

export const USAGE = `Usage: access-sync reconcile [--env <name>] [--apply] [--json] [--org <id>]... [--policy <id>]...
       [--allow-mass-revoke]

Plans every Auth0 Organization from the access policies published in Sanity and prints the plan (a dry run:
nothing is written). Orphans (our keys, no active policy naming the Organization) are revoked; Organizations we
never wrote are left alone.

Options:
  --apply          write the plan; each Organization is re-read right before its write
  --json           print one JSON document (the plan, or the result) on stdout; progress stays on stderr
  --org <id>       only this Organization (repeatable)
  --policy <id>    only the Organizations this policy names or holds the keys of (repeatable)
  --allow-mass-revoke
                   let through the revokes the mass-revoke guard refuses: a read that saw no published
                   policy, or more than REVOKE_GUARD_MAX_PERCENT % (at least REVOKE_GUARD_MIN_COUNT) of
                   the Organizations we manage; for a dataset whose policies really were deleted
  --env <name>     read the settings from .env.<name> (see .env.example); default: the shell's
  -h, --help       this help

Environment: SANITY_PROJECT_ID, SANITY_DATASET, SANITY_API_TOKEN (a read token is enough without --apply),
SANITY_API_HOST (optional full URL, used as-is), AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET (scopes
read:organizations update:organizations), AUTH0_TIMEOUT_SECONDS, REVOKE_GUARD_MAX_PERCENT (default 20),
REVOKE_GUARD_MIN_COUNT (default 5) (optional).

Exit codes: 0 in sync or all applied, 2 drift found (dry run), 1 failures, invalid policies or bad settings.`

interface Io {
  readonly stdout: { write(text: string): unknown }
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean | undefined }
}

type Env = Readonly<Record<string, string | undefined>>

export async function run(argv: readonly string[], shellEnv: Env = process.env, io: Io = process): Promise<number> {
  let args: ReturnType<typeof parse>
  let env: Env
  try {
    args = parse(argv)
    if (args.help) {
      io.stdout.write(`${USAGE}\n`)
      return 0
    }
    const environment = loadEnvironment(args.env, shellEnv)
    env = environment.env
    const line = describeEnvironment(environment)
    if (line) io.stderr.write(`access-sync reconcile: ${line}\n`)
  } catch (error) {
    io.stderr.write(`access-sync reconcile: ${(error as Error).message}\n\n${USAGE}\n`)
    return 1
  }
  const json = args.json === true
  const apply = args.apply === true
  const fail = (error: SyncError): number => {
    io.stderr.write(`access-sync reconcile: ${error.message}\n`)
    if (json)
      io.stdout.write(`${JSON.stringify({ command: 'reconcile', exitCode: 1, error: errorJson(error) }, null, 2)}\n`)
    return 1
  }

  const organizationIds = args.org ?? []
  const badIds = organizationIds.flatMap((id) => {
    const problem = organizationIdProblem(id)
    return problem ? [`--org ${problem}`] : []
  })
  if (badIds.length > 0) return fail(new SyncError('configuration', badIds.join('; ')))
  let config: ReturnType<typeof readReconcileConfig>
  try {
    config = readReconcileConfig(env, { hint: 'Export the variables and run again; nothing was sent.' })
  } catch (error) {
    if (error instanceof SyncError) return fail(error)
    throw error
  }

  const { sanity } = config
  const client = sanityClient(sanity)
  const reporter = progressReporter(io.stderr, { apply })
  const organizations = connectAuth0(config.auth0).forInvocation(Number.POSITIVE_INFINITY, reporter.wait)

  // Ctrl-C during --apply: finish the write in flight, then report. A second Ctrl-C quits at once.
  const controller = new AbortController()
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130)
    controller.abort()
    reporter.log('reconcile: interrupted, stopping after the write in flight (Ctrl-C again to quit at once)')
  }
  if (apply) process.on('SIGINT', onSignal)

  const policyIds = args.policy ?? []
  let result: ReconcileResult
  try {
    let lastWriting: string | undefined
    result = await reconcileTenant(
      { policies: createPolicyReader(client), organizations },
      {
        apply,
        signal: controller.signal,
        revokeGuard: {
          settings: { ...config.guard, allowMassRevoke: args['allow-mass-revoke'] === true },
          entry: 'reconcile',
        },
        ...(organizationIds.length + policyIds.length > 0 ? { scope: { organizationIds, policyIds } } : {}),
        onProgress: (progress) => {
          reporter.update(progress)
          if (progress.phase === 'writing' && progress.organizationId !== lastWriting && !io.stderr.isTTY) {
            lastWriting = progress.organizationId
            reporter.log(
              `reconcile: writing ${progress.organizationId} (${progress.written + 1} of ${progress.planned} so far)`,
            )
          }
        },
      },
    )
  } catch (error) {
    if (error instanceof SyncError) return fail(error)
    throw error
  } finally {
    reporter.stop()
    process.off('SIGINT', onSignal)
  }

  const code = exitCode(result.summary, apply)
  io.stdout.write(
    json ? `${JSON.stringify(resultJson(result, code), null, 2)}\n` : formatResult(result, config.auth0.domain),
  )
  // The plan printed above says it too; with --json, stderr is where a person reads it.
  const guard = result.revokeGuard
  if (json && !guard.allow) io.stderr.write(`access-sync reconcile: ${guard.message}\n`)
  return code
}

/** The command's options, as parsed; exported so a test can hold the docs' flags to them. */
export const OPTIONS = {
  apply: { type: 'boolean' },
  json: { type: 'boolean' },
  org: { type: 'string', multiple: true },
  policy: { type: 'string', multiple: true },
  'allow-mass-revoke': { type: 'boolean' },
  env: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: OPTIONS }).values
}

const SIGNS: Record<PlanEntry['status'], string> = {
  grant: '+',
  revoke: '-',
  'in sync': '=',
  conflict: '!',
  invalid: 'x',
  failed: 'x',
}

/** The human-readable plan or result, like `terraform plan`: one block per Organization, then the summary. */
export function formatResult(result: ReconcileResult, domain: string): string {
  const lines: string[] = []
  const { apply } = result
  lines.push(
    apply
      ? `Reconcile applied to Auth0 ${domain}:`
      : `Reconcile plan for Auth0 ${domain} (dry run: nothing was written):`,
    '',
  )
  if (result.entries.length === 0) lines.push('  Nothing to change.', '')
  for (const entry of result.entries) lines.push(...formatEntry(entry, apply))
  if (result.unapplied.length > 0) {
    const why = result.stopped === 'interrupted' ? 'interrupted before their write' : `stopped (${result.stopped})`
    lines.push(`Not applied (${why}):`)
    for (const entry of result.unapplied) lines.push(`  ${entry.organizationId}  ${entry.status}  ${entry.reason}`)
    lines.push('')
  }
  if (result.stopped && !result.listedToEnd) {
    lines.push('Listing stopped before the end of the tenant: later Organizations were not planned. Run again.', '')
  }
  if (result.checkpointRefused) lines.push(describeRefusal(result.checkpointRefused), '')
  lines.push(summaryLine(result.summary, apply))
  const guard = result.revokeGuard
  if (!guard.allow) {
    lines.push(apply ? `Refused: ${guard.message}` : `--apply would refuse the revokes: ${guard.message}`)
  } else if (guard.overridden) {
    lines.push(`--allow-mass-revoke let through what the guard refuses: ${guard.overridden.message}`)
  }
  if (!apply && result.summary.writes > 0) lines.push('Run again with --apply to write these changes.')
  return `${lines.join('\n')}\n`
}

function formatEntry(entry: PlanEntry | AppliedEntry, apply: boolean): string[] {
  const subject = entry.organizationId ?? `policy ${entry.policyId ?? '?'}`
  const applied = 'applied' in entry && entry.applied
  const label = apply && applied ? (entry.status === 'revoke' ? 'revoked' : 'granted') : entry.status
  const lines = [`${apply && applied ? '✓' : SIGNS[entry.status]} ${subject}  ${label}  ${entry.reason}`]
  for (const change of entry.changes)
    lines.push(`    ${change.key.padEnd(22)}${show(change.from)} → ${show(change.to)}`)
  lines.push('')
  return lines
}

const show = (value: string | undefined) => (value === undefined ? '(absent)' : JSON.stringify(value))

function changeJson(change: KeyChange) {
  return { key: change.key, from: change.from ?? null, to: change.to ?? null }
}

function entryJson(entry: PlanEntry | AppliedEntry) {
  return {
    organizationId: entry.organizationId ?? null,
    status: entry.status,
    write: entry.write,
    ...('applied' in entry ? { applied: entry.applied } : {}),
    reason: entry.reason,
    code: entry.code,
    ownerPolicyId: entry.ownerPolicyId ?? null,
    conflicts: [...entry.conflicts],
    changes: entry.changes.map(changeJson),
    ...(entry.policyId ? { policyId: entry.policyId } : {}),
    ...(entry.issues ? { issues: entry.issues.map((issue) => ({ field: issue.field, message: issue.message })) } : {}),
  }
}

/** The `--json` document. Stable keys; absent values are null, never left out. */
export function resultJson(result: ReconcileResult, code: number) {
  const { counts } = result.summary
  return {
    command: 'reconcile',
    mode: result.apply ? 'apply' : 'plan',
    exitCode: code,
    summary: {
      grant: counts.grant,
      revoke: counts.revoke,
      inSync: counts['in sync'],
      conflict: counts.conflict,
      invalid: counts.invalid,
      failed: counts.failed,
      writes: result.summary.writes,
      notApplied: result.summary.unapplied,
      organizations: result.summary.organizations,
      policies: result.summary.policies,
    },
    stopped: result.stopped ?? null,
    complete: result.listedToEnd && result.unapplied.length === 0,
    revokeGuard: guardJson(result.revokeGuard),
    organizations: result.entries.map(entryJson),
    notApplied: result.unapplied.map(entryJson),
  }
}

/** `refused`: the revokes were not sent (with `--apply`) or would not be; `overridden`: `--allow-mass-revoke` let them through. */
function guardJson(verdict: ReconcileResult['revokeGuard']) {
  if (!verdict.allow) return { verdict: 'refused', reason: verdict.reason, message: verdict.message }
  if (verdict.overridden) return { verdict: 'overridden', ...verdict.overridden }
  return { verdict: 'allowed', reason: null, message: null }
}

function errorJson(error: SyncError) {
  return { reason: error.reason, message: error.message }
}
