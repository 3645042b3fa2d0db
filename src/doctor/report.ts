/** `access-sync doctor`'s output: one line per check (✓ / ! / ✗, each failure with its fix), or one JSON document. */
import { type Check, type CheckStatus, exitCode } from './checks.ts'

const MARK: Record<CheckStatus, string> = { pass: '✓', warn: '!', fail: '✗' }

export interface ReportHeader {
  readonly environment: string | undefined
  readonly file: string | undefined
}

export function formatText(checks: readonly Check[], header: ReportHeader): string {
  const lines = [
    header.file ? `access-sync doctor: environment ${header.environment} (${header.file})` : 'access-sync doctor',
  ]
  for (const check of checks) {
    lines.push(`${MARK[check.status]} ${check.title}: ${check.detail}`)
    if (check.fix) lines.push(`    fix: ${check.fix}`)
  }
  const { pass, warn, fail } = counts(checks)
  lines.push('', `${pass} passed, ${warn} warning${warn === 1 ? '' : 's'}, ${fail} failed`)
  return `${lines.join('\n')}\n`
}

export interface DoctorJson {
  readonly command: 'doctor'
  readonly environment: string | null
  readonly file: string | null
  readonly exitCode: 0 | 1
  readonly counts: { readonly pass: number; readonly warn: number; readonly fail: number }
  readonly checks: ReadonlyArray<{
    readonly id: string
    readonly status: CheckStatus
    readonly title: string
    readonly detail: string
    readonly fix: string | null
  }>
}

export function toJson(checks: readonly Check[], header: ReportHeader): DoctorJson {
  return {
    command: 'doctor',
    environment: header.environment ?? null,
    file: header.file ?? null,
    exitCode: exitCode(checks),
    counts: counts(checks),
    checks: checks.map((check) => ({
      id: check.id,
      status: check.status,
      title: check.title,
      detail: check.detail,
      fix: check.fix ?? null,
    })),
  }
}

function counts(checks: readonly Check[]) {
  const count = (status: CheckStatus) => checks.filter((check) => check.status === status).length
  return { pass: count('pass'), warn: count('warn'), fail: count('fail') }
}
