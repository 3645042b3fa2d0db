import type { CSSProperties } from 'react'
import type { FanOutKind } from '../../src/core/fanout.ts'
import { describeUsage, type FanOutStatus, summarizeFanOut, type Usage } from './present.ts'

const TONE_COLORS = {
  success: '#2b9a66',
  primary: '#2276fc',
  warning: '#c28a0b',
  danger: '#e5484d',
  default: 'inherit',
} as const
const code: CSSProperties = { fontFamily: 'ui-monospace, monospace', overflowWrap: 'anywhere' }

export interface FanOutViewProps {
  readonly kind: FanOutKind
  readonly usage: Usage | undefined
  readonly status: FanOutStatus | null
  readonly now: Date
}

/** The "Auth0 fan-out" tab of a role or plan: what it feeds, and how its last fan-out is going. Read-only. */
export function FanOutView({ kind, usage, status, now }: FanOutViewProps) {
  const summary = summarizeFanOut(status, now)
  return (
    <section aria-label="Auth0 fan-out" style={{ padding: '1.25rem', lineHeight: 1.5, maxWidth: '60rem' }}>
      <p>{usage ? describeUsage(kind, usage) : 'Counting the policies that use it…'}</p>
      <h2 style={{ margin: 0, color: TONE_COLORS[summary.tone] }}>{summary.label}</h2>
      <p>{summary.detail}</p>
      {status?.startedAt ? (
        <p>
          Started {status.startedAt}
          {status.finishedAt ? `, finished ${status.finishedAt}` : ''}.
        </p>
      ) : null}
      {status?.lastRun ? (
        <p>
          Last run {status.lastRun.at}: {status.lastRun.handled ?? 0} handled, {status.lastRun.written ?? 0} written,{' '}
          {status.lastRun.remaining ?? 0} left{status.lastRun.stopped ? ` (stopped: ${status.lastRun.stopped})` : ''}.
        </p>
      ) : null}
      {status?.pending && status.pending.length > 0 ? (
        <details>
          <summary>Organizations still to re-sync ({status.pending.length})</summary>
          <p style={code}>
            {status.pending.slice(0, 200).join(', ')}
            {status.pending.length > 200 ? ', …' : ''}
          </p>
        </details>
      ) : null}
      {status?.invalidPolicies && status.invalidPolicies.length > 0 ? (
        <>
          <h3>Invalid policies ({status.invalidCount ?? status.invalidPolicies.length})</h3>
          <ul>
            {status.invalidPolicies.map((policy) => (
              <li key={policy._key}>
                <span style={code}>{policy.policyId}</span>
                {policy.organizationId ? (
                  <>
                    {' '}
                    (<span style={code}>{policy.organizationId}</span>)
                  </>
                ) : null}
                : {policy.message}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {status?.failures && status.failures.length > 0 ? (
        <>
          <h3>Failures ({status.failedCount ?? status.failures.length})</h3>
          <ul>
            {status.failures.map((failure) => (
              <li key={failure._key}>
                <span style={code}>{failure.organizationId}</span> ({failure.reason}): {failure.message}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  )
}
