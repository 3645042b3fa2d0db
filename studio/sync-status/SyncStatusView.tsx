import type { CSSProperties } from 'react'
import { isOwnedKey } from '../../src/core/metadata.ts'
import { type PublishedRevision, type SyncStatus, summarize, timeAgo } from './present.ts'

type Organization = NonNullable<SyncStatus['organizations']>[number]

const TONE_COLORS = {
  success: '#2b9a66',
  primary: '#2276fc',
  warning: '#c28a0b',
  danger: '#e5484d',
  default: 'inherit',
} as const

const cell: CSSProperties = { textAlign: 'left', padding: '0.25rem 0.75rem 0.25rem 0', verticalAlign: 'top' }
const code: CSSProperties = { fontFamily: 'ui-monospace, monospace', overflowWrap: 'anywhere' }

export interface SyncStatusViewProps {
  readonly status: SyncStatus | null
  readonly published: PublishedRevision | null
  readonly now: Date
}

/** The "Auth0 sync" tab of a policy: the last attempt, per organization, and what Auth0 holds now. Read-only. */
export function SyncStatusView({ status, published, now }: SyncStatusViewProps) {
  const summary = summarize(status, published, now)
  return (
    <section aria-label="Auth0 sync status" style={{ padding: '1.25rem', lineHeight: 1.5, maxWidth: '60rem' }}>
      <h2 style={{ margin: 0, color: TONE_COLORS[summary.tone] }}>{summary.label}</h2>
      <p>{summary.detail}</p>
      {status?.attemptedAt ? <LatestAttempt status={status} now={now} /> : null}
      {status?.organizations?.map((organization) => (
        <OrganizationDetails key={organization._key} organization={organization} />
      ))}
      {status?.history && status.history.length > 0 ? <History history={status.history} /> : null}
    </section>
  )
}

function LatestAttempt({ status, now }: { status: SyncStatus; now: Date }) {
  const rows: [string, string | undefined][] = [
    ['Outcome', status.outcome],
    ['Attempted', status.attemptedAt && `${status.attemptedAt} (${timeAgo(status.attemptedAt, now)})`],
    ['Policy revision', status.policyRevision],
    ['Operation', status.operation],
    ['Reason', status.reason],
    ['Message', status.message],
  ]
  return (
    <>
      <h3>Latest attempt</h3>
      <table>
        <tbody>
          {rows.flatMap(([label, value]) =>
            value ? (
              <tr key={label}>
                <th scope="row" style={cell}>
                  {label}
                </th>
                <td style={label === 'Message' ? cell : { ...cell, ...code }}>{value}</td>
              </tr>
            ) : (
              []
            ),
          )}
        </tbody>
      </table>
      {status.notes?.map((note) => (
        <p key={note}>Note: {note}</p>
      ))}
    </>
  )
}

function OrganizationDetails({ organization }: { organization: Organization }) {
  const { organizationId, outcome, reason, message, ownerPolicyId, conflicts, metadata } = organization
  return (
    <section aria-label={`Organization ${organizationId}`}>
      <h3>
        <span style={code}>{organizationId}</span>: {outcome}
        {reason ? ` (${reason})` : ''}
      </h3>
      {message ? <p>{message}</p> : null}
      {ownerPolicyId ? (
        <p>
          Owned by policy <span style={code}>{ownerPolicyId}</span>
          {conflicts?.length ? `; also named by ${conflicts.join(', ')}` : ''}
        </p>
      ) : null}
      {metadata ? (
        <table aria-label={`Metadata of ${organizationId}`}>
          <caption style={{ textAlign: 'left' }}>Metadata Auth0 holds after this attempt</caption>
          <thead>
            <tr>
              <th style={cell}>Key</th>
              <th style={cell}>Value</th>
              <th style={cell}>Written by</th>
            </tr>
          </thead>
          <tbody>
            {metadata.map((entry) => (
              <tr key={entry._key}>
                <td style={{ ...cell, ...code }}>{entry.key}</td>
                <td style={{ ...cell, ...code }}>{entry.value}</td>
                <td style={cell}>{entry.key && isOwnedKey(entry.key) ? 'this sync' : 'someone else (kept)'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>Auth0's metadata for this organization is unknown: the attempt did not complete.</p>
      )}
    </section>
  )
}

function History({ history }: { history: NonNullable<SyncStatus['history']> }) {
  return (
    <>
      <h3>Recent attempts</h3>
      <table aria-label="Recent attempts">
        <thead>
          <tr>
            <th style={cell}>Attempted</th>
            <th style={cell}>Outcome</th>
            <th style={cell}>Revision</th>
            <th style={cell}>Reason</th>
          </tr>
        </thead>
        <tbody>
          {history.map((attempt) => (
            <tr key={attempt._key}>
              <td style={{ ...cell, ...code }}>{attempt.attemptedAt}</td>
              <td style={cell}>{attempt.outcome}</td>
              <td style={{ ...cell, ...code }}>{attempt.policyRevision}</td>
              <td style={cell}>{attempt.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}
