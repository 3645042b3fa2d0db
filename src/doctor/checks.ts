/**
 * `access-sync doctor`'s decisions: what the probes found (src/doctor/probes.ts) → one check each, passed (✓),
 * warned (!) or failed (✗), a failure always with its fix. Pure: no I/O, no clock.
 */

import type { ExistingAction } from '../core/action-deploy.ts'
import {
  ACTION_NAME,
  NAMESPACE_FINGERPRINT_PREFIX,
  NAMESPACE_SECRET,
  namespaceFingerprintName,
} from '../core/action-deploy.ts'
import { customDomainFix, type DomainKind } from '../core/auth0-domain.ts'
import { DEFAULT_CLAIM_NAMESPACE, namespaceProblem } from '../core/claims.ts'

export type CheckStatus = 'pass' | 'warn' | 'fail'

export interface Check {
  readonly id: CheckId
  readonly status: CheckStatus
  readonly title: string
  /** What was found, in one sentence. */
  readonly detail: string
  /** What to do; always set on a failure, sometimes on a warning. */
  readonly fix?: string | undefined
}

export type CheckId =
  | 'settings'
  | 'auth0-domain'
  | 'auth0-token'
  | 'auth0-scopes'
  | 'sanity-dataset'
  | 'sanity-policies'
  | 'function-scope'
  | 'action'
  | 'action-namespace'
  | 'scheduled-repair'

/** A probe's outcome: what it found, how it failed (a SyncError's reason and message), or why it did not run. */
export type Outcome<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'failed'; readonly reason: string; readonly message: string }
  | { readonly kind: 'skipped'; readonly why: string }

/** The scopes this product's Auth0 application needs, and no more (src/gateways/auth0.ts uses nothing else). */
export const NEEDED_SCOPES = ['read:organizations', 'update:organizations'] as const

export interface DoctorFacts {
  /** `--env` name, for the fixes (`--env production`); undefined when settings come from the shell. */
  readonly environment: string | undefined
  /** The settings file, to name in fixes. */
  readonly file: string | undefined
  /** What readReconcileConfig refused (every variable at fault), or undefined when the settings are complete. */
  readonly settingsProblem: string | undefined
  readonly auth0Domain: string | undefined
  readonly domainKind: DomainKind | undefined
  readonly projectId: string | undefined
  readonly dataset: string | undefined
  /** The client-credentials grant; `customDomain` when Auth0 refused it as a custom domain. */
  readonly grant: Outcome<{ readonly scopes: readonly string[] | undefined }> & { readonly customDomain?: boolean }
  /** Published policies as SANITY_API_TOKEN reads them; `missing` when the Content Lake says the dataset is not there. */
  readonly policies: Outcome<{ readonly published: number; readonly active: number }> & {
    readonly missing?: 'dataset' | 'project'
  }
  /** Organizations carrying our marker (read only when no policy was read; stops at the first page with one). */
  readonly marked: Outcome<{ readonly marked: readonly string[]; readonly listed: number; readonly complete: boolean }>
  /** The blueprint for this environment: each function's dataset scope (`event.resource.id`), and the repair's schedule. */
  readonly blueprint: Outcome<{
    readonly functions: readonly DeclaredFunction[]
    readonly repairSchedule: string | undefined
  }>
  /** The deployed stack as `sanity blueprints info` shows it. */
  readonly stack: Outcome<{ readonly name: string; readonly functions: readonly DeclaredFunction[] }>
  /** The post-login Action as the deploy client reads it. */
  readonly action: Outcome<{
    readonly action: ExistingAction | undefined
    /** Position in the post-login bindings (0-based), or -1 when not bound. */
    readonly boundAt: number
    readonly bindings: number
    /** auth0/actions/access-claims.js as committed. */
    readonly committedCode: string
  }>
  /** CLAIM_NAMESPACE as the app settings give it (undefined: the default). */
  readonly claimNamespace: string | undefined
}

export interface DeclaredFunction {
  readonly name: string
  readonly type: string
  /** `event.resource.id` (`<projectId>.<dataset>`) of a document function; undefined when it has none. */
  readonly resourceId: string | undefined
}

const DOCUMENT_FUNCTION = 'sanity.function.document'
const SCHEDULED_FUNCTION = 'sanity.function.cron'

export function evaluate(facts: DoctorFacts): Check[] {
  return [
    settings(facts),
    auth0Domain(facts),
    auth0Token(facts),
    auth0Scopes(facts),
    sanityDataset(facts),
    sanityPolicies(facts),
    functionScope(facts),
    action(facts),
    actionNamespace(facts),
    scheduledRepair(facts),
  ]
}

/** 0 when nothing failed (warnings allowed), 1 on any failure. */
export function exitCode(checks: readonly Check[]): 0 | 1 {
  return checks.some((check) => check.status === 'fail') ? 1 : 0
}

const pass = (id: CheckId, title: string, detail: string): Check => ({ id, status: 'pass', title, detail })
const warn = (id: CheckId, title: string, detail: string, fix?: string): Check => ({
  id,
  status: 'warn',
  title,
  detail,
  ...(fix ? { fix } : {}),
})
const fail = (id: CheckId, title: string, detail: string, fix: string): Check => ({
  id,
  status: 'fail',
  title,
  detail,
  fix,
})
const notChecked = (id: CheckId, title: string, why: string): Check => warn(id, title, `not checked: ${why}`)

function envFlag(facts: DoctorFacts): string {
  return facts.environment ? ` --env ${facts.environment}` : ''
}

function where(facts: DoctorFacts): string {
  return facts.file ? `in ${facts.file}` : 'in the environment file (see .env.example) or the shell'
}

function settings(facts: DoctorFacts): Check {
  const title = 'Settings'
  if (facts.settingsProblem) return fail('settings', title, facts.settingsProblem, `set them ${where(facts)}`)
  const source = facts.file ? `from ${facts.file}` : 'from the shell (no --env)'
  return pass('settings', title, `every required setting is set (${source})`)
}

function auth0Domain(facts: DoctorFacts): Check {
  const title = "AUTH0_DOMAIN is the tenant's canonical domain"
  const domain = facts.auth0Domain
  if (!domain || facts.domainKind === undefined) return notChecked('auth0-domain', title, 'AUTH0_DOMAIN is not set')
  if (facts.grant.kind === 'failed' && facts.grant.customDomain) {
    return fail(
      'auth0-domain',
      title,
      `Auth0 refused a Management API token at ${domain} (403 at the token endpoint, as for a custom domain)`,
      customDomainFix(domain),
    )
  }
  if (facts.domainKind === 'canonical') return pass('auth0-domain', title, `${domain} is a tenant domain`)
  if (facts.grant.kind !== 'ok') {
    return warn(
      'auth0-domain',
      title,
      `cannot tell: ${domain} is not <tenant>[.<region>].auth0.com, and no token was issued to show that the Management API is served there`,
    )
  }
  if (facts.domainKind === 'local') {
    return pass('auth0-domain', title, `${domain} is local (an emulator); it serves the Management API audience`)
  }
  return warn(
    'auth0-domain',
    title,
    `${domain} is not <tenant>[.<region>].auth0.com, yet Auth0 issued a Management API token there (a private cloud?)`,
  )
}

function auth0Token(facts: DoctorFacts): Check {
  const title = 'Auth0 credentials obtain a Management API token'
  const grant = facts.grant
  if (grant.kind === 'skipped') return notChecked('auth0-token', title, grant.why)
  if (grant.kind === 'failed') {
    const fix = grant.customDomain
      ? 'set AUTH0_DOMAIN to the canonical domain (see above)'
      : `check AUTH0_CLIENT_ID and its credential, AUTH0_CLIENT_ASSERTION_SIGNING_KEY or AUTH0_CLIENT_SECRET, ${where(facts)} (the function's Machine-to-Machine application)`
    return fail('auth0-token', title, `${grant.reason}: ${grant.message}`, fix)
  }
  return pass('auth0-token', title, `${facts.auth0Domain} issued a token to AUTH0_CLIENT_ID`)
}

function auth0Scopes(facts: DoctorFacts): Check {
  const title = `The grant holds exactly ${NEEDED_SCOPES.join(' ')}`
  const grant = facts.grant
  if (grant.kind !== 'ok') return notChecked('auth0-scopes', title, 'no token')
  const scopes = grant.value.scopes
  if (scopes === undefined) {
    return warn('auth0-scopes', title, "cannot tell: Auth0's token response named no scope and the token is opaque")
  }
  const missing = NEEDED_SCOPES.filter((scope) => !scopes.includes(scope))
  const extra = scopes.filter((scope) => !(NEEDED_SCOPES as readonly string[]).includes(scope))
  const grantFix = (names: readonly string[]) =>
    `grant ${names.join(' and ')} to the application (Applications > APIs > Auth0 Management API > Machine to Machine Applications)`
  if (missing.length > 0) {
    return fail(
      'auth0-scopes',
      title,
      `the grant lacks ${missing.join(' and ')}: the sync cannot ${missing.includes('read:organizations') ? 'read' : 'write'} Organizations`,
      grantFix(missing),
    )
  }
  if (extra.length > 0) {
    return warn(
      'auth0-scopes',
      title,
      `the grant also holds ${extra.join(' ')}, which this product never uses`,
      `remove them from the grant, so a leaked credential (AUTH0_CLIENT_ASSERTION_SIGNING_KEY or AUTH0_CLIENT_SECRET) can do no more than the sync does`,
    )
  }
  return pass('auth0-scopes', title, `granted ${scopes.join(' ')}`)
}

function sanityDataset(facts: DoctorFacts): Check {
  const title = 'SANITY_DATASET exists'
  const { projectId, dataset, policies } = facts
  if (policies.kind === 'skipped') return notChecked('sanity-dataset', title, policies.why)
  if (policies.kind === 'failed') {
    if (policies.missing === 'dataset') {
      return fail(
        'sanity-dataset',
        title,
        `the Content Lake has no dataset "${dataset}" in project ${projectId} (404)`,
        `set SANITY_DATASET ${where(facts)} to an existing dataset (\`npx sanity dataset list\`)`,
      )
    }
    if (policies.missing === 'project') {
      return fail(
        'sanity-dataset',
        title,
        `the Content Lake has no project "${projectId}" (404)`,
        `set SANITY_PROJECT_ID ${where(facts)} (sanity.io/manage shows it)`,
      )
    }
    return warn('sanity-dataset', title, `cannot tell: the read failed (see below)`)
  }
  return pass('sanity-dataset', title, `dataset "${dataset}" of project ${projectId} answers`)
}

function sanityPolicies(facts: DoctorFacts): Check {
  const title = 'The Sanity token reads published policies'
  const { policies, marked } = facts
  if (policies.kind === 'skipped') return notChecked('sanity-policies', title, policies.why)
  if (policies.kind === 'failed') {
    if (policies.missing) return notChecked('sanity-policies', title, `the ${policies.missing} does not exist`)
    return fail(
      'sanity-policies',
      title,
      `${policies.reason}: ${policies.message}`,
      `fix SANITY_API_TOKEN / SANITY_API_HOST ${where(facts)}`,
    )
  }
  const { published, active } = policies.value
  if (published > 0) return pass('sanity-policies', title, `reads ${published} published policies (${active} active)`)
  if (marked.kind !== 'ok') {
    return warn(
      'sanity-policies',
      title,
      `reads 0 published policies, and whether Auth0 holds Organizations we wrote is unknown (${marked.kind === 'failed' ? marked.message : marked.why})`,
      'if this tenant has Organizations synced from Sanity, this read cannot be trusted: see the empty read in docs/deploy.md, "Check an environment"',
    )
  }
  const { marked: ids, listed, complete } = marked.value
  if (ids.length === 0) {
    return warn(
      'sanity-policies',
      title,
      `reads 0 published policies, and none of the ${listed} Organizations carries our marker: a fresh setup, or a token that cannot read the dataset`,
      'publish a policy and run doctor again to check the read',
    )
  }
  const count = complete ? `${ids.length}` : `at least ${ids.length}`
  return fail(
    'sanity-policies',
    title,
    `reads 0 published policies while Auth0 holds ${count} Organizations carrying our marker (${ids.slice(0, 3).join(', ')}): the empty-read trap, a reconcile would revoke them all`,
    `give SANITY_API_TOKEN a role that reads accessPolicy documents (Viewer or above; a private dataset answers an anonymous or unprivileged token with nothing), and check SANITY_PROJECT_ID / SANITY_DATASET ${where(facts)} name the dataset the policies are in`,
  )
}

function functionScope(facts: DoctorFacts): Check {
  const title = 'The functions are scoped to this dataset'
  const { blueprint, stack } = facts
  const expected = `${facts.projectId}.${facts.dataset}`
  const deployFix = `deploy this environment: \`npx access-sync deploy${envFlag(facts)}\``
  if (blueprint.kind === 'skipped') return notChecked('function-scope', title, blueprint.why)
  if (blueprint.kind === 'failed') {
    return fail('function-scope', title, blueprint.message, `set SANITY_PROJECT_ID and SANITY_DATASET ${where(facts)}`)
  }
  const declared = blueprint.value.functions.filter((fn) => fn.type === DOCUMENT_FUNCTION)
  const unscoped = declared.filter((fn) => fn.resourceId !== expected)
  if (unscoped.length > 0) {
    return fail(
      'function-scope',
      title,
      `the blueprint scopes ${unscoped.map((fn) => `${fn.name} to ${fn.resourceId ?? 'every dataset'}`).join(', ')}, not ${expected}`,
      'restore `accessSyncResources` in sanity.blueprint.ts (every document function gets `event.resource`)',
    )
  }
  const inBlueprint = `the blueprint scopes all ${declared.length} document functions to ${expected}`
  if (stack.kind !== 'ok') {
    const why = stack.kind === 'failed' ? stack.message : stack.why
    return warn(
      'function-scope',
      title,
      `${inBlueprint}; the deployed stack cannot be told (${why})`,
      stack.kind === 'failed' ? 'check with `npx sanity blueprints info --stack <stack>`' : undefined,
    )
  }
  const deployed = stack.value.functions.filter((fn) => fn.type === DOCUMENT_FUNCTION)
  const wrong = deployed.filter((fn) => fn.resourceId !== expected)
  if (wrong.length > 0) {
    return fail(
      'function-scope',
      title,
      `stack ${stack.value.name} runs ${wrong.map((fn) => `${fn.name} for ${fn.resourceId ?? 'every dataset of the project (unscoped)'}`).join(', ')}, not ${expected}`,
      deployFix,
    )
  }
  const absent = declared.filter((fn) => !deployed.some((other) => other.name === fn.name))
  if (absent.length > 0) {
    return fail(
      'function-scope',
      title,
      `stack ${stack.value.name} lacks ${absent.map((fn) => fn.name).join(', ')}`,
      deployFix,
    )
  }
  return pass('function-scope', title, `${inBlueprint}, and stack ${stack.value.name} runs them so`)
}

function action(facts: DoctorFacts): Check {
  const title = 'The post-login Action is deployed and bound'
  const deployFix = `run \`npx access-sync deploy-action${envFlag(facts)}\``
  const probe = facts.action
  if (probe.kind === 'skipped') return notChecked('action', title, probe.why)
  if (probe.kind === 'failed') {
    return fail(
      'action',
      title,
      `${probe.reason}: ${probe.message}`,
      facts.grant.kind === 'failed' && facts.grant.customDomain
        ? 'set AUTH0_DOMAIN to the canonical domain (see above); the deploy client uses it too'
        : `check AUTH0_DEPLOY_CLIENT_ID and its credential, AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY or AUTH0_DEPLOY_CLIENT_SECRET, ${where(facts)} (a client with read:actions)`,
    )
  }
  const { action: found, boundAt, bindings, committedCode } = probe.value
  if (!found)
    return fail(
      'action',
      title,
      `the tenant has no Action named "${ACTION_NAME}": logins get no access claims`,
      deployFix,
    )
  if (!found.deployed) return fail('action', title, `"${ACTION_NAME}" exists but was never deployed`, deployFix)
  if (boundAt < 0) {
    return fail(
      'action',
      title,
      `"${ACTION_NAME}" is deployed but not bound to post-login: logins do not run it, so tokens carry no access claims`,
      `${deployFix} (it binds the Action after everyone else's)`,
    )
  }
  const at = `bound to post-login (${boundAt + 1} of ${bindings})`
  if (found.deployed.code !== committedCode) {
    return warn(
      'action',
      title,
      `deployed and ${at}, but its code differs from auth0/actions/access-claims.js`,
      deployFix,
    )
  }
  if (!found.allChangesDeployed) {
    return warn('action', title, `deployed and ${at}; its draft has changes that are not deployed`, deployFix)
  }
  return pass('action', title, `"${ACTION_NAME}" is deployed (the committed code) and ${at}`)
}

function actionNamespace(facts: DoctorFacts): Check {
  const title = "The Action's claim namespace matches CLAIM_NAMESPACE"
  const app = facts.claimNamespace ?? DEFAULT_CLAIM_NAMESPACE
  const appSays = facts.claimNamespace ? `CLAIM_NAMESPACE is ${app}` : `CLAIM_NAMESPACE is not set (the default ${app})`
  const problem = facts.claimNamespace ? namespaceProblem(facts.claimNamespace) : undefined
  if (problem) {
    return fail(
      'action-namespace',
      title,
      `CLAIM_NAMESPACE ${problem}`,
      `set CLAIM_NAMESPACE ${where(facts)} to an https URL ending in "/" (e.g. https://claims.example.com/)`,
    )
  }
  const probe = facts.action
  if (probe.kind !== 'ok' || !probe.value.action?.deployed) {
    return notChecked('action-namespace', title, 'the deployed Action could not be read (see above)')
  }
  const names = probe.value.action.deployed.secretNames
  const fix = `run \`npx access-sync deploy-action${envFlag(facts)}\` to give the Action ${app}, or set CLAIM_NAMESPACE ${where(facts)} to the namespace apps already read`
  if (!names.includes(NAMESPACE_SECRET)) {
    if (app === DEFAULT_CLAIM_NAMESPACE) return pass('action-namespace', title, `both use the default ${app}`)
    return fail(
      'action-namespace',
      title,
      `the Action has no CLAIM_NAMESPACE secret, so it uses the default ${DEFAULT_CLAIM_NAMESPACE}, but ${appSays}: apps find no access claims`,
      fix,
    )
  }
  const fingerprints = names.filter((name) => name.startsWith(NAMESPACE_FINGERPRINT_PREFIX))
  if (fingerprints.length === 0) {
    return warn(
      'action-namespace',
      title,
      'cannot tell: Auth0 never returns secret values, and this Action was deployed without the namespace fingerprint',
      `run \`npx access-sync deploy-action${envFlag(facts)} --update-secrets\` once (it records the fingerprint)`,
    )
  }
  if (fingerprints.includes(namespaceFingerprintName(app))) {
    return pass('action-namespace', title, `the Action's CLAIM_NAMESPACE is ${app} (by its fingerprint)`)
  }
  return fail(
    'action-namespace',
    title,
    `the Action's CLAIM_NAMESPACE is another namespace than ${app} (its fingerprint differs), so apps reading ${app} find no access claims`,
    fix,
  )
}

function scheduledRepair(facts: DoctorFacts): Check {
  const title = 'Scheduled repair'
  const { blueprint, stack } = facts
  if (blueprint.kind !== 'ok') return notChecked('scheduled-repair', title, 'the blueprint could not be built')
  const schedule = blueprint.value.repairSchedule
  const withoutIt =
    'a failed invocation stays failed until its policy is published again or someone runs `access-sync reconcile --apply`'
  if (schedule === undefined) {
    return warn(
      'scheduled-repair',
      title,
      `off (ACCESS_SYNC_SCHEDULE is not set): ${withoutIt}`,
      `set ACCESS_SYNC_SCHEDULE=hourly ${where(facts)} and deploy (it needs an organization-scoped stack), or run the reconcile on a schedule of your own`,
    )
  }
  const runs = `runs "${schedule}": a failed invocation is repaired by the next run`
  if (stack.kind !== 'ok') return pass('scheduled-repair', title, `declared; ${runs} (the deployed stack was not read)`)
  if (!stack.value.functions.some((fn) => fn.type === SCHEDULED_FUNCTION)) {
    return warn(
      'scheduled-repair',
      title,
      `declared, but stack ${stack.value.name} has no scheduled function: ${withoutIt}`,
      `deploy this environment: \`npx access-sync deploy${envFlag(facts)}\``,
    )
  }
  return pass('scheduled-repair', title, `deployed in stack ${stack.value.name}; ${runs}`)
}
