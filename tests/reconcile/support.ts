/**
 * A tenant for reconcile tests: both emulators, seeded with Organizations and published policies, and the real
 * gateways (auth0 SDK over HTTPS, @sanity/client over HTTP) wired as the CLI and the scheduled repair wire them.
 */
import { createClient } from '@sanity/client'
import {
  type Auth0Emulator,
  type Auth0EmulatorOptions,
  type Auth0Organization,
  DEFAULT_CLIENT,
  startAuth0Emulator,
} from '../../emulators/auth0.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { DEFAULTS } from '../../src/config.ts'
import { encodeGrant } from '../../src/core/metadata.ts'
import { connectAuth0 } from '../../src/gateways/auth0.ts'
import { createPolicyReader } from '../../src/gateways/sanity.ts'
import type { ReconcileDeps } from '../../src/sync/reconcile.ts'
import { roleDocuments } from '../support/policies.ts'

export interface Tenant {
  readonly auth0: Auth0Emulator
  readonly lake: ContentLakeEmulator
  deps(deadline?: number): ReconcileDeps
  /** Environment for the CLI and the scheduled function, pointing at both emulators. */
  readonly env: Record<string, string>
  metadata(organizationId: string): Record<string, string> | undefined
  close(): Promise<void>
}

export async function startTenant(
  options: {
    organizations?: Auth0Organization[]
    policies?: Record<string, unknown>[]
    auth0?: Auth0EmulatorOptions
  } = {},
): Promise<Tenant> {
  const [auth0, lake] = await Promise.all([
    startAuth0Emulator({ ...options.auth0, organizations: options.organizations ?? [] }),
    startContentLakeEmulator({
      documents: [...roleDocuments(), ...((options.policies ?? []) as { _id: string }[])],
    }),
  ])
  const client = createClient({ ...lake.clientConfig })
  const connection = connectAuth0({
    domain: auth0.domain,
    clientId: DEFAULT_CLIENT.clientId,
    clientSecret: DEFAULT_CLIENT.clientSecret,
    ...DEFAULTS,
  })
  return {
    auth0,
    lake,
    deps: (deadline = Number.POSITIVE_INFINITY) => ({
      policies: createPolicyReader(client),
      organizations: connection.forInvocation(deadline),
    }),
    env: {
      SANITY_PROJECT_ID: lake.projectId,
      SANITY_DATASET: lake.dataset,
      SANITY_API_TOKEN: 'sk-test-read-token-0123456789',
      SANITY_API_HOST: lake.url,
      AUTH0_DOMAIN: auth0.domain,
      AUTH0_CLIENT_ID: DEFAULT_CLIENT.clientId,
      AUTH0_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret,
    },
    metadata: (organizationId) => auth0.getOrganization(organizationId)?.metadata,
    close: async () => {
      await Promise.all([auth0.close(), lake.close()])
    },
  }
}

/** A published, active policy document granting `organizationId`. */
export function policy(id: string, organizationId: string, overrides: Record<string, unknown> = {}) {
  return {
    _id: id,
    _type: 'accessPolicy',
    _rev: `${id}-r1`,
    _createdAt: '2026-01-01T00:00:00Z',
    _updatedAt: '2026-01-02T00:00:00Z',
    title: `Policy ${id}`,
    auth0OrganizationId: organizationId,
    plan: 'pro',
    allowedContentTags: ['docs', 'reports'],
    role: { _type: 'reference', _ref: 'role-editor' },
    status: 'active',
    ...overrides,
  }
}

/** The metadata the function would have written for `policy(id, org)`: what "in sync" looks like. */
export function syncedMetadata(id: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...encodeGrant({
      policyId: id,
      rev: `${id}-r1`,
      updatedAt: '2026-01-02T00:00:00Z',
      plan: 'pro',
      role: 'editor',
      contentTags: ['docs', 'reports'],
      entitlements: [],
    }),
    ...overrides,
  }
}

export function organization(id: string, metadata: Record<string, string> = {}): Auth0Organization {
  return { id, name: id.slice(4).toLowerCase(), metadata }
}
