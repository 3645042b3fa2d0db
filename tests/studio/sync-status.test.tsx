// @vitest-environment jsdom
/**
 * The badge and the "Auth0 sync" view, rendered with React Testing Library in jsdom: never synced, synced,
 * failed, conflict, pending. The data hooks are replaced; everything the editor sees is real.
 */
import { cleanup, render, renderHook, screen, within } from '@testing-library/react'
import type { DocumentBadgeProps } from 'sanity'
import type { UserViewComponent } from 'sanity/structure'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { encodeContentTags } from '../../src/core/metadata.ts'
import { TagsBudget } from '../../studio/components/ContentTagsInput.tsx'
import { Auth0SyncBadge, syncBadge } from '../../studio/sync-status/badge.ts'
import { type SyncStatus, summarize, timeAgo } from '../../studio/sync-status/present.ts'
import { SyncStatusPane } from '../../studio/sync-status/SyncStatusPane.tsx'
import { SyncStatusView } from '../../studio/sync-status/SyncStatusView.tsx'

const hooks = vi.hoisted(() => ({
  status: null as unknown,
  loading: false,
  requested: [] as string[],
  now: new Date('2026-03-01T12:00:00Z'),
}))
vi.mock('../../studio/sync-status/use-sync-status.ts', () => ({
  useSyncStatus: (policyId: string) => {
    hooks.requested.push(policyId)
    return { status: hooks.status, loading: hooks.loading }
  },
  useNow: () => hooks.now,
}))

const NOW = new Date('2026-03-01T12:00:00Z')
const published = { _rev: 'rev-2', _updatedAt: '2026-03-01T11:57:00Z' }

const synced: SyncStatus = {
  outcome: 'synced',
  attemptedAt: '2026-03-01T11:58:00Z',
  policyRevision: 'rev-2',
  operation: 'update',
  organizations: [
    {
      _key: 'org_acme123',
      _type: 'accessPolicySyncOrganization',
      organizationId: 'org_acme123',
      outcome: 'granted',
      ownerPolicyId: 'policy-acme',
      metadata: [
        { _key: 'm0', _type: 'accessPolicySyncMetadataEntry', key: 'contentTags', value: '["docs","reports"]' },
        { _key: 'm1', _type: 'accessPolicySyncMetadataEntry', key: 'crmAccount', value: 'ACME-0042' },
        { _key: 'm2', _type: 'accessPolicySyncMetadataEntry', key: 'plan', value: 'pro' },
      ],
    },
  ],
  history: [
    {
      _key: 'h2',
      _type: 'accessPolicySyncAttempt',
      outcome: 'synced',
      attemptedAt: '2026-03-01T11:58:00Z',
      policyRevision: 'rev-2',
    },
    {
      _key: 'h1',
      _type: 'accessPolicySyncAttempt',
      outcome: 'failed',
      reason: 'auth0-unavailable',
      attemptedAt: '2026-02-28T09:00:00Z',
      policyRevision: 'rev-1',
    },
  ],
}

const failed: SyncStatus = {
  outcome: 'failed',
  reason: 'auth0-forbidden',
  message: 'Auth0 denied updating Organization org_acme123: grant the scope update:organizations to the application',
  attemptedAt: '2026-03-01T11:59:30Z',
  policyRevision: 'rev-2',
  operation: 'update',
  organizations: [
    {
      _key: 'org_acme123',
      _type: 'accessPolicySyncOrganization',
      organizationId: 'org_acme123',
      outcome: 'failed',
      reason: 'auth0-forbidden',
      message: 'Auth0 denied updating Organization org_acme123',
    },
  ],
}

const conflict: SyncStatus = {
  outcome: 'conflict',
  message: 'org_acme123 is granted by the older active policy policy-owner. This policy is not synced there.',
  attemptedAt: '2026-03-01T10:00:00Z',
  policyRevision: 'rev-2',
  organizations: [
    {
      _key: 'org_acme123',
      _type: 'accessPolicySyncOrganization',
      organizationId: 'org_acme123',
      outcome: 'unchanged',
      reason: 'in-sync',
      ownerPolicyId: 'policy-owner',
      conflicts: ['policy-acme'],
      metadata: [{ _key: 'm0', _type: 'accessPolicySyncMetadataEntry', key: 'sanityPolicyId', value: 'policy-owner' }],
    },
  ],
}

afterEach(cleanup)
beforeEach(() => {
  hooks.status = null
  hooks.loading = false
  hooks.requested = []
})

describe('summaries (shared by badge and view)', () => {
  it.each([
    [null, 'Auth0: not synced yet', 'default'],
    [synced, 'Auth0: synced 2 min ago', 'success'],
    [{ ...synced, outcome: 'unchanged' }, 'Auth0: up to date 2 min ago', 'success'],
    [{ ...synced, outcome: 'revoked' }, 'Auth0: access revoked 2 min ago', 'primary'],
    [{ ...synced, outcome: 'skipped', message: 'nothing to sync' }, 'Auth0: skipped', 'default'],
    [conflict, 'Auth0: conflict', 'warning'],
    [failed, 'Auth0: failed', 'danger'],
  ] as const)('%#: %s', (status, label, tone) => {
    expect(summarize(status as SyncStatus | null, published, NOW)).toMatchObject({ label, tone })
  })

  it('a revision published after the last attempt reads as pending', () => {
    const newer = { _rev: 'rev-3', _updatedAt: '2026-03-01T11:59:00Z' }
    expect(summarize(synced, newer, NOW)).toMatchObject({
      state: 'pending',
      label: 'Auth0: sync pending',
      tone: 'warning',
    })
    // Same revision, or a publish before the attempt: not pending.
    expect(summarize(synced, { ...newer, _rev: 'rev-2' }, NOW).state).toBe('synced')
    expect(summarize(synced, { ...newer, _updatedAt: '2026-03-01T11:00:00Z' }, NOW).state).toBe('synced')
  })

  it('relative times', () => {
    const at = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString()
    expect(timeAgo(at(5), NOW)).toBe('just now')
    expect(timeAgo(at(-30), NOW)).toBe('just now')
    expect(timeAgo(at(125), NOW)).toBe('2 min ago')
    expect(timeAgo(at(3 * 3600), NOW)).toBe('3 h ago')
    expect(timeAgo(at(5 * 86400), NOW)).toBe('5 days ago')
    expect(timeAgo('not a date', NOW)).toBe('at an unknown time')
  })
})

describe('document badge', () => {
  const props = (overrides: Partial<DocumentBadgeProps> = {}) =>
    ({ id: 'policy-acme', type: 'accessPolicy', draft: null, published, ...overrides }) as DocumentBadgeProps

  it('never synced: "Auth0: not synced yet", no colour', () => {
    const { result } = renderHook(() => Auth0SyncBadge(props()))
    expect(result.current).toEqual({
      label: 'Auth0: not synced yet',
      title: expect.stringMatching(/^No sync attempt is recorded/),
      color: undefined,
    })
    expect(hooks.requested).toContain('policy-acme')
  })

  it('synced: green, with the time', () => {
    hooks.status = synced
    const { result } = renderHook(() => Auth0SyncBadge(props()))
    expect(result.current).toMatchObject({ label: 'Auth0: synced 2 min ago', color: 'success' })
  })

  it('failed: red, the reason and message in the tooltip', () => {
    hooks.status = failed
    const { result } = renderHook(() => Auth0SyncBadge(props()))
    expect(result.current).toEqual({
      label: 'Auth0: failed',
      color: 'danger',
      title: `auth0-forbidden: ${failed.message}`,
    })
  })

  it('while loading: no badge rather than a wrong one', () => {
    hooks.loading = true
    hooks.status = failed
    const { result } = renderHook(() => Auth0SyncBadge(props()))
    expect(result.current).toBeNull()
  })

  it('matches the pure description', () => {
    expect(syncBadge(conflict, published, NOW)).toMatchObject({ label: 'Auth0: conflict', color: 'warning' })
  })
})

describe('"Auth0 sync" view', () => {
  it('never synced: says so and shows no attempt', () => {
    render(<SyncStatusView status={null} published={published} now={NOW} />)
    expect(screen.getByRole('heading', { level: 2 }).textContent).toBe('Auth0: not synced yet')
    expect(screen.getByText(/No sync attempt is recorded for this policy/)).toBeTruthy()
    expect(screen.queryByRole('table')).toBeNull()
  })

  it('synced: time, revision, operation, and the metadata Auth0 holds, ours told from theirs', () => {
    render(<SyncStatusView status={synced} published={published} now={NOW} />)
    expect(screen.getByRole('heading', { level: 2 }).textContent).toBe('Auth0: synced 2 min ago')
    const latest = screen.getAllByRole('table')[0] as HTMLElement
    expect(within(latest).getByRole('row', { name: /Attempted/ }).textContent).toContain(
      '2026-03-01T11:58:00Z (2 min ago)',
    )
    expect(within(latest).getByRole('row', { name: /Policy revision/ }).textContent).toContain('rev-2')
    expect(within(latest).getByRole('row', { name: /Operation/ }).textContent).toContain('update')
    expect(within(latest).queryByRole('row', { name: /Reason/ })).toBeNull()

    const metadata = screen.getByRole('table', { name: 'Metadata of org_acme123' })
    const rows = within(metadata)
      .getAllByRole('row')
      .slice(1)
      .map((row) => Array.from(row.querySelectorAll('td')).map((cell) => cell.textContent))
    expect(rows).toEqual([
      ['contentTags', '["docs","reports"]', 'this sync'],
      ['crmAccount', 'ACME-0042', 'someone else (kept)'],
      ['plan', 'pro', 'this sync'],
    ])
    expect(screen.getByText('org_acme123').closest('h3')?.textContent).toBe('org_acme123: granted')

    const history = screen.getByRole('table', { name: 'Recent attempts' })
    expect(
      within(history)
        .getAllByRole('row')
        .map((row) => row.textContent),
    ).toEqual([
      'AttemptedOutcomeRevisionReason',
      '2026-03-01T11:58:00Zsyncedrev-2',
      '2026-02-28T09:00:00Zfailedrev-1auth0-unavailable',
    ])
  })

  it('failed: reason and message, and no metadata claimed', () => {
    render(<SyncStatusView status={failed} published={published} now={NOW} />)
    expect(screen.getByRole('heading', { level: 2 }).textContent).toBe('Auth0: failed')
    const latest = screen.getAllByRole('table')[0] as HTMLElement
    expect(within(latest).getByRole('row', { name: /Reason/ }).textContent).toContain('auth0-forbidden')
    expect(within(latest).getByRole('row', { name: /Message/ }).textContent).toContain(
      'grant the scope update:organizations',
    )
    expect(screen.getByText(/metadata for this organization is unknown/)).toBeTruthy()
    expect(screen.queryByRole('table', { name: /Metadata of/ })).toBeNull()
  })

  it('conflict: names the owning policy', () => {
    render(<SyncStatusView status={conflict} published={published} now={NOW} />)
    expect(screen.getByRole('heading', { level: 2 }).textContent).toBe('Auth0: conflict')
    expect(screen.getByText(/Owned by policy/).textContent).toBe(
      'Owned by policy policy-owner; also named by policy-acme',
    )
  })

  it('the Structure pane loads the policy’s status and renders the view', () => {
    hooks.status = failed
    const paneProps = {
      documentId: 'policy-acme',
      document: { draft: null, displayed: {}, historical: null, published },
      options: {},
      schemaType: {},
    } as unknown as Parameters<Extract<UserViewComponent, (props: never) => unknown>>[0]
    render(<SyncStatusPane {...paneProps} />)
    expect(hooks.requested).toEqual(['policy-acme'])
    expect(screen.getByRole('heading', { level: 2 }).textContent).toBe('Auth0: failed')
    cleanup()
    hooks.loading = true
    render(<SyncStatusPane {...paneProps} />)
    expect(screen.getByText('Loading the sync status…')).toBeTruthy()
  })
})

describe('contentTags counter', () => {
  it('counts the encoded length as the editor types', () => {
    const { rerender } = render(<TagsBudget tags={['docs']} />)
    expect(screen.getByRole('status').textContent).toBe('Auth0 contentTags: 8 / 255 characters')
    rerender(<TagsBudget tags={['docs', 'reports']} />)
    expect(screen.getByRole('status').textContent).toBe('Auth0 contentTags: 18 / 255 characters')
  })

  it('says when it is too long', () => {
    const tags = Array.from({ length: 40 }, (_, i) => `tag-${i}`)
    render(<TagsBudget tags={tags} />)
    expect(screen.getByRole('status').textContent).toBe(
      `Auth0 contentTags: ${encodeContentTags(tags).length} / 255 characters (too long: remove or shorten tags)`,
    )
  })
})
