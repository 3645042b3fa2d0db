/**
 * The Auth0 side of the shell: read and replace one Organization's metadata with the official SDK. Nothing else
 * of Auth0's API is used, so the client needs exactly `read:organizations` and `update:organizations`.
 */
import { ManagementClient, ManagementTimeoutError } from 'auth0'
import type { Auth0Config } from '../config.ts'
import type { Metadata, OrganizationId } from '../core/auth0-rules.ts'
import { SyncError } from '../core/errors.ts'

export interface OrganizationsGateway {
  readMetadata(organizationId: OrganizationId): Promise<Metadata>
  /** Replaces the Organization's whole metadata map (Auth0 has no merge for Organizations). */
  replaceMetadata(organizationId: OrganizationId, metadata: Metadata): Promise<void>
}

export function createAuth0Gateway(config: Auth0Config): OrganizationsGateway {
  // The SDK caches the client-credentials token inside this instance: keep one instance per warm function.
  const management = new ManagementClient({
    domain: config.domain,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    timeoutInSeconds: config.timeoutSeconds,
    maxRetries: config.maxRetries,
  })
  return {
    async readMetadata(organizationId) {
      try {
        const organization = await management.organizations.get(organizationId)
        return stringMetadata(organization.metadata ?? {}, organizationId)
      } catch (error) {
        throw translate(error, organizationId, 'read')
      }
    },
    async replaceMetadata(organizationId, metadata) {
      try {
        await management.organizations.update(organizationId, { metadata: { ...metadata } })
      } catch (error) {
        throw translate(error, organizationId, 'update')
      }
    },
  }
}

function stringMetadata(metadata: Record<string, unknown>, organizationId: string): Metadata {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new SyncError(
        'auth0-rejected',
        `Auth0 returned a non-string metadata value for "${key}" on ${organizationId}`,
        {
          organizationId,
        },
      )
    }
  }
  return metadata as Metadata
}

/** Turns an SDK failure into a reason an operator can act on, without echoing tokens or secrets. */
export function translate(error: unknown, organizationId: string, operation: 'read' | 'update'): SyncError {
  if (error instanceof SyncError) return error
  const scope = operation === 'read' ? 'read:organizations' : 'update:organizations'
  const doing = `${operation === 'read' ? 'reading' : 'updating'} Organization ${organizationId}`
  const status = statusOf(error)
  const options = { organizationId, cause: error }
  if (error instanceof ManagementTimeoutError) {
    return new SyncError('auth0-unavailable', `Auth0 timed out ${doing}`, { ...options, retryable: true })
  }
  switch (status) {
    case 400:
      return new SyncError('auth0-rejected', `Auth0 rejected ${doing}: ${auth0Message(error)}`, options)
    case 401:
      return new SyncError(
        'auth0-credentials',
        `Auth0 refused the credentials while ${doing}: check AUTH0_CLIENT_ID / AUTH0_CLIENT_SECRET and that the application is authorized for the Management API`,
        options,
      )
    case 403:
      return new SyncError(
        'auth0-forbidden',
        `Auth0 denied ${doing}: grant the scope ${scope} to the application (Applications > APIs > Auth0 Management API > Machine to Machine Applications)`,
        options,
      )
    case 404:
      return new SyncError(
        'organization-not-found',
        `Auth0 has no Organization ${organizationId}: fix auth0OrganizationId on the policy or create the Organization`,
        options,
      )
    case undefined:
      return new SyncError('auth0-unavailable', `Auth0 could not be reached while ${doing}: ${networkMessage(error)}`, {
        ...options,
        retryable: true,
      })
    default:
      return new SyncError(
        'auth0-unavailable',
        `Auth0 answered ${status} while ${doing}${status === 429 ? ' (rate limited)' : ''}, after the SDK's retries`,
        { ...options, retryable: status === 429 || status >= 500 },
      )
  }
}

function statusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const status = (error as { statusCode?: unknown }).statusCode
    if (typeof status === 'number') return status
  }
  return undefined
}

function auth0Message(error: unknown): string {
  const body = (error as { body?: unknown }).body
  if (typeof body === 'object' && body !== null && 'message' in body) return String(body.message).slice(0, 300)
  return 'no details'
}

function networkMessage(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause
  if (cause && typeof cause.code === 'string') return cause.code
  return error instanceof Error ? error.message.slice(0, 200) : 'unknown error'
}
