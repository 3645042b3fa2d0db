// @vitest-environment jsdom
/**
 * A role's or plan's "Auth0 fan-out" view and the delete guard's words, rendered with React Testing Library: what
 * it feeds, no fan-out yet, running, work left, done with problems. The usage counts come from the Studio's own
 * GROQ (groq-js over the fixture policies); the status from what the function writes.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { cleanup, render, screen } from '@testing-library/react'
import { evaluate, parse } from 'groq-js'
import { afterEach, describe, expect, it } from 'vitest'
import { FanOutView } from '../../studio/fan-out/FanOutView.tsx'
import { deleteBlocked, describeUsage, type Usage } from '../../studio/fan-out/present.ts'
import { PLAN_USAGE_QUERY, ROLE_USAGE_QUERY } from '../../studio/queries.ts'

// jsdom's URL is not Node's: read the fixtures by path.
type Doc = { _id: string; _type: string; [key: string]: unknown }
const fixtures = join(process.cwd(), 'functions/sync-access-policy/fixtures')
const fixtureDataset: Doc[] = JSON.parse(readFileSync(join(fixtures, 'dataset.json'), 'utf8'))
const roleDocuments = () => fixtureDataset.filter((doc) => doc._type === 'role')
const planDocuments = () => fixtureDataset.filter((doc) => doc._type === 'plan')
const policy: Doc = JSON.parse(readFileSync(join(fixtures, 'policy-acme.json'), 'utf8'))
const policyDocument = (overrides: Partial<Doc>): Doc => ({ ...policy, ...overrides })

afterEach(cleanup)
const NOW = new Date('2026-03-01T12:00:00Z')

const dataset = [
  ...roleDocuments(),
  ...planDocuments(),
  policyDocument({ _id: 'p1', auth0OrganizationId: 'org_a1' }),
  policyDocument({ _id: 'p2', auth0OrganizationId: 'org_a2' }),
  policyDocument({ _id: 'p3', auth0OrganizationId: 'org_a2', _createdAt: '2026-05-01T00:00:00Z' }),
  policyDocument({ _id: 'p4', auth0OrganizationId: 'org_a4', status: 'paused' }),
  policyDocument({ _id: 'drafts.p5', auth0OrganizationId: 'org_a5' }),
  policyDocument({ _id: 'p6', auth0OrganizationId: 'org_a6', plan: undefined }),
]
const query = async (groq: string, params: Record<string, unknown>) =>
  (await (await evaluate(parse(groq, { params }), { dataset, params })).get()) as Usage

describe('usage (the Studio’s GROQ over published policies)', () => {
  it('counts a role’s policies, active ones and distinct organizations; drafts do not count', async () => {
    const usage = await query(ROLE_USAGE_QUERY, { id: 'role-editor' })
    expect(usage).toEqual({ policies: 5, active: 4, organizations: 3 })
    expect(await query(ROLE_USAGE_QUERY, { id: 'role-viewer' })).toEqual({ policies: 0, active: 0, organizations: 0 })
    expect(describeUsage('role', usage)).toBe(
      'Feeds 4 active policies (5 in all) and 3 Auth0 Organizations. A change to its slug re-syncs each of them.',
    )
  })

  it('counts a plan’s by key; a policy with no plan is on the default plan', async () => {
    expect(await query(PLAN_USAGE_QUERY, { key: 'pro' })).toEqual({ policies: 4, active: 3, organizations: 2 })
    expect(await query(PLAN_USAGE_QUERY, { key: 'free' })).toEqual({ policies: 1, active: 1, organizations: 1 })
    expect(describeUsage('plan', { policies: 0, active: 0, organizations: 0 })).toBe(
      'No published policy uses this plan: editing it changes nothing in Auth0.',
    )
  })

  it('the delete guard refuses while any published policy uses it, and says what to do', () => {
    expect(deleteBlocked('plan', { policies: 0, active: 0, organizations: 0 })).toBeUndefined()
    expect(deleteBlocked('plan', undefined)).toBeUndefined()
    expect(deleteBlocked('role', { policies: 2, active: 1, organizations: 1 })).toBe(
      '2 published policies use this role (1 active): move them to another role first, or their organizations lose their sync (the policies become invalid).',
    )
  })
})

describe('the "Auth0 fan-out" view', () => {
  const usage = { policies: 3, active: 2, organizations: 2 }

  it('before any fan-out: what it feeds, and no status', () => {
    render(<FanOutView kind="role" usage={usage} status={null} now={NOW} />)
    expect(screen.getByText(/^Feeds 2 active policies \(3 in all\) and 2 Auth0 Organizations/)).toBeTruthy()
    expect(screen.getByRole('heading', { name: 'No fan-out yet' })).toBeTruthy()
  })

  it('running: the organizations left, while the lease holds', () => {
    const status = {
      pending: ['org_a1', 'org_a2'],
      pendingCount: 2,
      leaseOwner: 'inv-1',
      leaseUntil: NOW.getTime() + 60_000,
      targeted: 2,
      written: 0,
      invocations: 0,
    }
    render(<FanOutView kind="plan" usage={usage} status={status} now={NOW} />)
    expect(screen.getByRole('heading', { name: 'Running: 2 left' })).toBeTruthy()
    expect(screen.getByText('Organizations still to re-sync (2)')).toBeTruthy()
  })

  it('work left between invocations, with the last run', () => {
    const status = {
      pending: ['org_a2'],
      pendingCount: 1,
      leaseOwner: '',
      leaseUntil: 0,
      targeted: 2,
      written: 1,
      invocations: 1,
      lastRun: {
        _type: 'accessFanOutRun' as const,
        at: '2026-03-01T11:59:00Z',
        handled: 1,
        written: 1,
        remaining: 1,
        stopped: 'write-budget',
      },
    }
    render(<FanOutView kind="role" usage={usage} status={status} now={NOW} />)
    expect(screen.getByRole('heading', { name: '1 organizations left' })).toBeTruthy()
    expect(screen.getByText(/1 Auth0 writes over 1 invocation; 2 organizations in this fan-out/)).toBeTruthy()
    expect(
      screen.getByText(/Last run 2026-03-01T11:59:00Z: 1 handled, 1 written, 1 left \(stopped: write-budget\)/),
    ).toBeTruthy()
  })

  it('done with problems: invalid policies and failures listed', () => {
    const status = {
      pending: [],
      pendingCount: 0,
      targeted: 2,
      written: 1,
      invocations: 1,
      invalidCount: 1,
      failedCount: 1,
      invalidPolicies: [
        {
          _key: 'p1',
          _type: 'accessFanOutInvalidPolicy' as const,
          policyId: 'p1',
          organizationId: 'org_a1',
          message: 'role: references a role that was deleted',
        },
      ],
      failures: [
        {
          _key: 'f1',
          _type: 'accessFanOutFailure' as const,
          organizationId: 'org_a2',
          reason: 'organization-not-found',
          message: 'gone',
        },
      ],
    }
    render(<FanOutView kind="role" usage={usage} status={status} now={NOW} />)
    expect(screen.getByRole('heading', { name: 'Done, with problems' })).toBeTruthy()
    expect(screen.getByRole('heading', { name: 'Invalid policies (1)' })).toBeTruthy()
    expect(screen.getByText(/role: references a role that was deleted/)).toBeTruthy()
    expect(screen.getByText(/gone/)).toBeTruthy()
  })
})
