/**
 * The status document builder (src/status.ts), pure: what is written for a report, and when nothing is.
 * tests/integration/status.test.ts checks the same documents end to end, per outcome.
 */
import { describe, expect, it } from 'vitest'
import { SyncError } from '../src/core/errors.ts'
import { failedBeforeSync, HISTORY_LIMIT, type StatusReport, statusMutations } from '../src/status.ts'

const AT = new Date('2026-03-01T12:00:00Z')
const report = (overrides: Partial<StatusReport> = {}): StatusReport => ({
  policyId: 'policy-acme',
  revision: 'rev-1',
  outcome: 'skipped',
  organizations: [],
  error: undefined,
  notes: [],
  ...overrides,
})
const mutations = (overrides: Partial<StatusReport> = {}, operation: unknown = 'update') =>
  statusMutations({ report: report(overrides), operation, attemptedAt: AT, key: 'k1' })

describe('statusMutations', () => {
  it('one transaction: create if new, overwrite the latest attempt, prepend it to history, trim history', () => {
    const id = 'accessPolicySyncStatus.policy-acme'
    expect(mutations()).toEqual([
      {
        createIfNotExists: {
          _id: id,
          _type: 'accessPolicySyncStatus',
          policy: { _type: 'reference', _ref: 'policy-acme', _weak: true },
          policyId: 'policy-acme',
          history: [],
        },
      },
      {
        patch: {
          id,
          setIfMissing: { history: [] },
          set: {
            outcome: 'skipped',
            attemptedAt: '2026-03-01T12:00:00.000Z',
            organizations: [],
            message: expect.stringMatching(/names no Auth0 Organization/),
            policyRevision: 'rev-1',
            operation: 'update',
          },
          unset: ['reason', 'notes'],
        },
      },
      {
        patch: {
          id,
          insert: {
            before: 'history[0]',
            items: [
              {
                _key: 'k1',
                _type: 'accessPolicySyncAttempt',
                outcome: 'skipped',
                attemptedAt: '2026-03-01T12:00:00.000Z',
                organizations: [],
                message: expect.any(String),
                policyRevision: 'rev-1',
                operation: 'update',
              },
            ],
          },
        },
      },
      { patch: { id, unset: [`history[${HISTORY_LIMIT}]`] } },
    ])
  })

  it('clears what the previous attempt set and this one lacks (a success after a failure has no reason)', () => {
    const [, latest] = mutations({ outcome: 'unchanged' }) ?? []
    expect(latest).toMatchObject({ patch: { unset: ['reason', 'message', 'notes'] } })
  })

  it('a failure carries the SyncError reason and message, bounded', () => {
    const error = new SyncError('auth0-unavailable', `Auth0 answered 503 ${'x'.repeat(2000)}`, { retryable: true })
    const [, latest] = mutations({ outcome: 'failed', error }) ?? []
    const set = (latest as unknown as { patch: { set: { reason: string; message: string } } }).patch.set
    expect(set.reason).toBe('auth0-unavailable')
    expect(set.message).toHaveLength(1001)
    expect(set.message.endsWith('…')).toBe(true)
  })

  it('the CLI’s null operation is an update; an unknown one is left out', () => {
    const operation = (value: unknown) => mutations({}, value)?.[1] as { patch: { set: { operation?: string } } }
    expect(operation(null).patch.set.operation).toBe('update')
    expect(operation('publish').patch.set.operation).toBeUndefined()
  })

  it('writes nothing when the report names no policy that can carry a status ID', () => {
    expect(mutations({ policyId: undefined })).toBeUndefined()
    expect(mutations({ policyId: 'policy acme' })).toBeUndefined()
    expect(mutations({ policyId: 'p'.repeat(120) })).toBeUndefined()
  })
})

describe('failedBeforeSync', () => {
  it('names the policy and revision from the event, with the error', () => {
    const error = new SyncError('configuration', 'Configuration: AUTH0_CLIENT_SECRET is not set')
    expect(failedBeforeSync({ _id: 'policy-acme', _rev: 'rev-9' }, error)).toEqual({
      policyId: 'policy-acme',
      revision: 'rev-9',
      outcome: 'failed',
      organizations: [],
      error,
      notes: [],
    })
    expect(failedBeforeSync(null, error).policyId).toBeUndefined()
  })
})
