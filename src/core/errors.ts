/**
 * Every way a sync can fail, as a reason an operator can act on. `retryable` says whether running the same
 * event again can succeed without anyone changing anything. A list at run time as well as a type, so a test can
 * hold docs/troubleshooting.md to it (one entry per reason).
 */
export const SYNC_ERROR_REASONS = [
  /** The event payload is unusable (check the blueprint projection). */
  'invalid-event',
  /** A policy breaks a rule; the message names the field and the fix. Nothing was sent to Auth0. */
  'invalid-policy',
  /** The resulting metadata would break Auth0's limits (25 keys, 255 characters). Nothing was sent. */
  'metadata-limits',
  /** A required setting is missing or malformed. */
  'configuration',
  /**
   * The function was invoked for another project or dataset than the one its environment was deployed for: nothing
   * was read, written or sent. Deploy one stack per environment (`access-sync deploy --env <name>`).
   */
  'wrong-dataset',
  /** Auth0 refused the client credentials. */
  'auth0-credentials',
  /** The Auth0 application lacks a scope. */
  'auth0-forbidden',
  /** The Organization does not exist in this Auth0 tenant. */
  'organization-not-found',
  /** Auth0 rejected the request as malformed. */
  'auth0-rejected',
  /** Auth0 was rate-limited, down or unreachable even after retries. */
  'auth0-unavailable',
  /** The Content Lake could not be reached or answered 429/5xx (the message names which). */
  'content-lake-unavailable',
  /** The Content Lake refused the token (401) or its role may not read the dataset (403). */
  'content-lake-credentials',
  /**
   * The mass-revoke guard (core/revoke-guard.ts): the read saw no published policy at all while Auth0 holds
   * Organizations with our marker, so nothing was revoked. Usually a token that cannot read the dataset, or the
   * wrong dataset; the message names the override for a dataset whose every policy really was deleted.
   */
  'untrusted-read',
  /**
   * The mass-revoke guard: the run would revoke more of the Organizations we manage than REVOKE_GUARD_MAX_PERCENT /
   * REVOKE_GUARD_MIN_COUNT allow, so it revoked none. Override: `--allow-mass-revoke` or ALLOW_MASS_REVOKE=true.
   */
  'mass-revoke',
  /**
   * A fan-out cannot finish within the chain the platform delivers (16 hops of function-caused writes): its list
   * is kept on the status. `access-sync reconcile` or the scheduled repair resumes it; the message says how far
   * it got and what each hop managed.
   */
  'fan-out-hop-limit',
] as const

export type SyncErrorReason = (typeof SYNC_ERROR_REASONS)[number]

export class SyncError extends Error {
  override readonly name = 'SyncError'
  readonly reason: SyncErrorReason
  readonly retryable: boolean
  readonly organizationId: string | undefined

  constructor(
    reason: SyncErrorReason,
    message: string,
    options: { retryable?: boolean; organizationId?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.reason = reason
    this.retryable = options.retryable ?? false
    this.organizationId = options.organizationId
    // A setting is missing, not a bug: where it was noticed adds nothing, and the runtime and `sanity functions
    // test` print `stack`, so it is the message alone.
    if (reason === 'configuration') this.stack = `${this.name}: ${message}`
  }
}
