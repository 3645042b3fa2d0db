/**
 * The mass-revoke guard, pure: whether the revokes a run is about to send can be trusted. A Content Lake read that
 * cannot see the policies (a token without read access, a private dataset read anonymously, the wrong dataset or
 * project) gets an empty or partial answer, not an error, and every Organization carrying our marker then looks
 * orphaned. Two rules refuse such a run before anything is revoked:
 *
 * - **Empty read**: the read saw no published accessPolicy at all (any status) while there is something of ours to
 *   revoke. A dataset whose every policy was deleted looks the same, so that rare real case takes the override,
 *   with one exception (`releasedByEvent`): the function handling the platform's own event saying that the very
 *   policy whose keys the Organization carries let go of it (deleted, or moved to another Organization). That event
 *   is evidence the read cannot fake; without it, deleting the last policy of a dataset (the first thing anyone
 *   tries) would need the override, and a late event of it would leave the keys behind for good. `sanity functions
 *   test` can send any event, so it never counts there; nor does a run by hand.
 * - **Mass revoke**: more revokes than `max(minCount, floor(maxPercent % of the managed Organizations))`, where
 *   "managed" means the Organizations the run saw carrying our marker (`readStamp`).
 *
 * Why 20 % and 5: the reads that go wrong revoke (nearly) everything, while real offboarding comes a few customers
 * at a time; one run revoking a fifth of all customers is rare enough to ask for the override. The floor of 5 keeps
 * small tenants and narrow runs (`--org`, a fan-out chunk) usable, where 20 % would be 0 or 1.
 */

export interface RevokeGuardLimits {
  /** REVOKE_GUARD_MAX_PERCENT: the share of the managed Organizations one run may revoke. */
  readonly maxPercent: number
  /** REVOKE_GUARD_MIN_COUNT: revokes always allowed, whatever the share (empty reads aside). */
  readonly minCount: number
}

export interface RevokeGuardSettings extends RevokeGuardLimits {
  /** ALLOW_MASS_REVOKE or `--allow-mass-revoke`: let a refused run's revokes through, for the rare real case. */
  readonly allowMassRevoke: boolean
}

export const REVOKE_GUARD_DEFAULTS: RevokeGuardSettings = { maxPercent: 20, minCount: 5, allowMassRevoke: false }

/** Who is about to revoke: decides which fix and which override the message names. */
export type RevokeEntry = 'function' | 'local-test' | 'reconcile' | 'scheduled' | 'fan-out'

export interface RevokeCensus {
  /** Whether the read saw any published accessPolicy in the whole dataset, whatever its status. */
  readonly policiesPublished: boolean
  /** Organizations the run saw carrying our marker. */
  readonly managed: number
  /** The Organizations the run would revoke (each carries our marker). */
  readonly revokes: readonly string[]
  /** Where the policies were read, e.g. `dataset "production" of project "abc123"`, for the message. */
  readonly source?: string | undefined
  /** Whether the share rule applies: false where the run is no sample of the tenant (the function's own event). */
  readonly share?: boolean | undefined
  /** The revoke answers the platform's event of the policy whose keys it removes (see `releasedByEvent`). */
  readonly releasedByEvent?: boolean | undefined
}

export type RevokeRefusalReason = 'untrusted-read' | 'mass-revoke'

export type RevokeVerdict =
  | { readonly allow: true; readonly overridden?: { readonly reason: RevokeRefusalReason; readonly message: string } }
  | { readonly allow: false; readonly reason: RevokeRefusalReason; readonly message: string }

/**
 * Whether the platform's event says that the policy whose marker the Organization carries let go of it: the policy
 * was deleted, or now names another Organization (or none). Never for a run by hand or under `sanity functions test`.
 */
export function releasedByEvent(
  event: {
    readonly operation: string
    readonly byHand: boolean
    readonly policyId: string
    readonly namedOrganizationId: string | undefined
  },
  organizationId: string,
  local: boolean,
  markerPolicyId: string | undefined,
): boolean {
  if (event.byHand || local || markerPolicyId !== event.policyId) return false
  return event.operation === 'delete' || event.namedOrganizationId !== organizationId
}

/** The most revokes one run may make without the override, for this many managed Organizations. */
export function revokeLimit(managed: number, limits: RevokeGuardLimits): number {
  return Math.max(limits.minCount, Math.floor((managed * limits.maxPercent) / 100))
}

export function judgeRevokes(census: RevokeCensus, settings: RevokeGuardSettings, entry: RevokeEntry): RevokeVerdict {
  const refusal = refusalOf(census, settings, entry)
  if (!refusal) return { allow: true }
  return settings.allowMassRevoke ? { allow: true, overridden: refusal } : { allow: false, ...refusal }
}

function refusalOf(
  census: RevokeCensus,
  settings: RevokeGuardSettings,
  entry: RevokeEntry,
): { reason: RevokeRefusalReason; message: string } | undefined {
  const count = census.revokes.length
  if (count === 0) return undefined
  const what = `Refused to revoke ${plural(count, 'Organization')} (${listed(census.revokes)}): nothing was revoked`
  const from = census.source ? ` of ${census.source}` : ''
  if (!census.policiesPublished && !census.releasedByEvent) {
    const managed = Math.max(census.managed, count)
    return {
      reason: 'untrusted-read',
      message:
        `${what}. The read${from} returned no published accessPolicy at all, while Auth0 holds ${plural(managed, 'Organization')} written by this project. ` +
        `An empty read is rarely an empty dataset: ${causes(entry)}. ${override(entry, 'untrusted-read')}`,
    }
  }
  if (census.share === false) return undefined
  const limit = revokeLimit(census.managed, settings)
  if (count <= limit) return undefined
  return {
    reason: 'mass-revoke',
    message:
      `${what} (grants were not held back). ${count} of the ${census.managed} Organizations carrying this project's marker is more than this run may revoke: ${limit} ` +
      `(REVOKE_GUARD_MAX_PERCENT=${settings.maxPercent} % of ${census.managed}, at least REVOKE_GUARD_MIN_COUNT=${settings.minCount}). ` +
      `A read that orphans this many usually comes from the wrong dataset or project, or a token that reads only some policies: check the read${from}. ${override(entry, 'mass-revoke')}`,
  }
}

function causes(entry: RevokeEntry): string {
  if (entry === 'local-test') {
    return 'under `sanity functions test` the function reads anonymously unless given `--with-user-token`, and a private dataset then answers with nothing; pass `--with-user-token` (and the `--project-id`/`--dataset` that hold the policy)'
  }
  return 'the token cannot read the policies (a robot token without read access to the dataset, or a private dataset read without a token), or SANITY_PROJECT_ID / SANITY_DATASET name the wrong project or dataset'
}

function override(entry: RevokeEntry, reason: RevokeRefusalReason): string {
  const real =
    reason === 'untrusted-read' ? 'If every policy really was deleted' : 'If these revokes are really intended'
  switch (entry) {
    case 'reconcile':
      return `${real}, run again with --allow-mass-revoke.`
    case 'scheduled':
      return `${real}, run \`npx access-sync reconcile --apply --allow-mass-revoke\`, or set ALLOW_MASS_REVOKE=true in the reconcile-access function's environment for one run.`
    default:
      return `${real}, run \`npx access-sync reconcile --apply --allow-mass-revoke\`, or set ALLOW_MASS_REVOKE=true in the function's environment.`
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

/** The first few IDs, so that a refusal of 10 000 stays one readable line. */
function listed(ids: readonly string[]): string {
  const shown = ids.slice(0, 3).join(', ')
  return ids.length > 3 ? `${shown} and ${ids.length - 3} more` : shown
}
