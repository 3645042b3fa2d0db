/**
 * What `access-sync deploy-action` must do to bring a tenant's post-login Action in line with the committed file,
 * decided from what the tenant holds now. Pure: the gateway (src/gateways/auth0-actions.ts) reads and writes,
 * the CLI (cli/deploy-action.ts) wires them.
 *
 * Auth0's rules it follows (../shared/reference/platform-facts.md):
 * - Actions are found by name; a PATCH with `secrets` replaces the whole list, and secret values are never read
 *   back, so a value is only (re)sent when the secret is missing or the operator asks for it;
 * - the namespace goes with a second secret whose *name* carries a fingerprint of its value
 *   (`CLAIM_NAMESPACE_SHA256_<16 hex>`): names are read back, so a changed namespace is seen and re-sent, and
 *   `access-sync doctor` can check the Action's namespace against the app's. The namespace is no secret (every
 *   token shows it); it is a secret only because Actions have no other configuration;
 * - a draft is deployed only once `built`; a `failed` draft is reported with the reason Auth0 gives, and nothing is
 *   deployed or bound;
 * - a deploy answers `deployed: false` and binding can be refused for a while after it ("Trying to create a binding
 *   for an action that has…", auth0/auth0-deploy-cli #385): the binding is retried for BIND_RETRY_MS, then the run
 *   stops and says so (a re-run picks up where it stopped);
 * - Auth0 keeps versions, and deploying an old one makes a new version copying it (a rollback);
 * - the bindings PATCH replaces the trigger's ordered list: everyone else's bindings are sent back in their
 *   order, ours is appended once, and nothing is written when ours is already bound.
 */
import { createHash } from 'node:crypto'
import { namespaceProblem } from './claims.ts'

export const ACTION_NAME = 'sanity-access-claims'
/** Auth0's current Node runtime for Actions. */
export const ACTION_RUNTIME = 'node22'
export const POST_LOGIN = 'post-login'
export const POST_LOGIN_TRIGGER = { id: POST_LOGIN, version: 'v3' } as const
export const NAMESPACE_SECRET = 'CLAIM_NAMESPACE'
export const NAMESPACE_FINGERPRINT_PREFIX = 'CLAIM_NAMESPACE_SHA256_'

/** The name of the secret that records which namespace CLAIM_NAMESPACE holds: its SHA-256, 16 hex digits. */
export function namespaceFingerprintName(namespace: string): string {
  const digest = createHash('sha256').update(namespace, 'utf8').digest('hex').slice(0, 16).toUpperCase()
  return `${NAMESPACE_FINGERPRINT_PREFIX}${digest}`
}

/** CLAIM_NAMESPACE and its fingerprint, always sent together (a PATCH with secrets replaces the whole list). */
export function namespaceSecrets(namespace: string): Array<{ name: string; value: string }> {
  return [
    { name: NAMESPACE_SECRET, value: namespace },
    { name: namespaceFingerprintName(namespace), value: 'names the SHA-256 of CLAIM_NAMESPACE (access-sync doctor)' },
  ]
}
/** Auth0's limit on an Action's code, in bytes. */
export const ACTION_CODE_LIMIT = 100 * 1024

const byteLength = (text: string) => new TextEncoder().encode(text).length

/** The Action as the tenant holds it (only what the plan reads). */
export interface ExistingAction {
  readonly id: string
  readonly name: string
  readonly code: string
  readonly runtime: string | undefined
  readonly secretNames: readonly string[]
  readonly triggerIds: readonly string[]
  /** The draft's build status (`pending`, `building`, `built`, `failed` …). */
  readonly status: string | undefined
  /** Whether the draft is what is deployed. */
  readonly allChangesDeployed: boolean
  /** The deployed version (what logins run), when there is one and the caller read it. */
  readonly deployed?: { readonly code: string; readonly secretNames: readonly string[] } | undefined
}

export interface ExistingBinding {
  readonly id: string
  readonly actionId: string | undefined
  readonly actionName: string | undefined
  readonly displayName: string | undefined
}

export interface BindingRef {
  readonly ref: { readonly type: 'action_id' | 'action_name'; readonly value: string }
  readonly display_name: string
}

export interface DesiredAction {
  readonly name: string
  readonly code: string
  readonly runtime: string
  /** CLAIM_NAMESPACE to store as the Action's secret; undefined = leave the secret as it is (default namespace). */
  readonly namespace: string | undefined
  /** Send the namespace even when the Action already has the secret (its value cannot be read back). */
  readonly updateSecrets: boolean
}

export type ActionChange =
  | { readonly kind: 'create' }
  | { readonly kind: 'update'; readonly changed: readonly string[] }
  | { readonly kind: 'unchanged' }

export interface DeployPlan {
  readonly action: ActionChange
  /** The secrets to send with the create/update; undefined keeps the Action's current secrets. */
  readonly secrets: ReadonlyArray<{ readonly name: string; readonly value: string }> | undefined
  /** Wait for `built`, then deploy the draft. */
  readonly deploy: boolean
  /** The full ordered bindings list to write, or undefined when ours is already bound. */
  readonly bindings: readonly BindingRef[] | undefined
  /** Everyone else's bindings, kept in this order. */
  readonly keptBindings: readonly string[]
}

/** Why the settings cannot be deployed; empty when they can. */
export function desiredProblems(desired: DesiredAction): string[] {
  const problems: string[] = []
  if (desired.namespace !== undefined) {
    const problem = namespaceProblem(desired.namespace)
    if (problem) problems.push(`CLAIM_NAMESPACE ${problem} (e.g. https://claims.example.com/)`)
  }
  const size = byteLength(desired.code)
  if (size >= ACTION_CODE_LIMIT) {
    problems.push(`the Action code is ${size} bytes; Auth0 allows less than ${ACTION_CODE_LIMIT}`)
  }
  if (!/^\s*exports\.onExecutePostLogin\s*=/m.test(desired.code)) {
    problems.push('the Action code does not assign exports.onExecutePostLogin: run `npm run build:action`')
  }
  return problems
}

export function planActionDeploy(
  existing: ExistingAction | undefined,
  bindings: readonly ExistingBinding[],
  desired: DesiredAction,
): DeployPlan {
  const namespaceSecret = desired.namespace === undefined ? undefined : namespaceSecrets(desired.namespace)
  const bindingPlan = mergeBindings(bindings, desired.name, existing?.id)
  if (!existing) {
    return { action: { kind: 'create' }, secrets: namespaceSecret, deploy: true, ...bindingPlan }
  }
  const changed: string[] = []
  if (existing.code !== desired.code) changed.push('code')
  if (existing.runtime !== desired.runtime) changed.push('runtime')
  if (!existing.triggerIds.includes(POST_LOGIN)) changed.push('supported_triggers')
  // Missing, or holding another namespace (or one set before fingerprints were): the names tell which.
  const missingSecret =
    namespaceSecret !== undefined && !namespaceSecret.every((secret) => existing.secretNames.includes(secret.name))
  if (namespaceSecret && (missingSecret || desired.updateSecrets)) changed.push(`secret ${NAMESPACE_SECRET}`)
  const action: ActionChange = changed.length > 0 ? { kind: 'update', changed } : { kind: 'unchanged' }
  // Sending secrets replaces the list, so they go only with a change that needs them, and then all of ours.
  const secrets = changed.some((what) => what.startsWith('secret')) ? namespaceSecret : undefined
  const deploy = action.kind === 'update' || !existing.allChangesDeployed
  return { action, secrets, deploy, ...bindingPlan }
}

/** Everyone else's bindings in their order, ours appended once; undefined `bindings` when ours is bound. */
export function mergeBindings(
  current: readonly ExistingBinding[],
  name: string,
  actionId: string | undefined,
): { bindings: BindingRef[] | undefined; keptBindings: string[] } {
  const isOurs = (binding: ExistingBinding) =>
    binding.actionName === name || (actionId !== undefined && binding.actionId === actionId)
  const others = current.filter((binding) => !isOurs(binding))
  const keptBindings = others.map((binding) => binding.displayName ?? binding.actionName ?? binding.id)
  if (current.some(isOurs)) return { bindings: undefined, keptBindings }
  const kept: BindingRef[] = others.map((binding) =>
    binding.actionId !== undefined
      ? { ref: { type: 'action_id', value: binding.actionId }, display_name: binding.displayName ?? binding.id }
      : { ref: { type: 'action_name', value: binding.actionName ?? '' }, display_name: binding.displayName ?? '' },
  )
  const ours: BindingRef =
    actionId !== undefined
      ? { ref: { type: 'action_id', value: actionId }, display_name: name }
      : { ref: { type: 'action_name', value: name }, display_name: name }
  return { bindings: [...kept, ours], keptBindings }
}

export type BuildWait =
  | { readonly next: 'deploy' }
  | { readonly next: 'poll' }
  /** Auth0 could not build the draft: read its reason (buildFailureMessage), deploy and bind nothing. */
  | { readonly next: 'build-failed' }
  | { readonly next: 'fail'; readonly why: string }

/** After reading the draft's status: deploy, poll again, or give up. */
export function nextBuildStep(status: string | undefined, elapsedMs: number, maxWaitMs: number): BuildWait {
  if (status === 'built') return { next: 'deploy' }
  if (status === 'failed') return { next: 'build-failed' }
  if (elapsedMs >= maxWaitMs) {
    return {
      next: 'fail',
      why: `the Action was still "${status ?? 'unknown'}" after ${Math.round(elapsedMs / 1000)} s: run the command again (it picks up where it stopped) or raise --wait-seconds`,
    }
  }
  return { next: 'poll' }
}

/** The plan in words, one step per line, as `--dry-run` prints it and the run logs it. */
export function describePlan(plan: DeployPlan, desired: DesiredAction): string[] {
  const lines: string[] = []
  const size = `${byteLength(desired.code)} bytes, runtime ${desired.runtime}`
  if (plan.action.kind === 'create') lines.push(`create Action "${desired.name}" (${size})`)
  else if (plan.action.kind === 'update') {
    lines.push(`update Action "${desired.name}": ${plan.action.changed.join(', ')} (${size})`)
  } else lines.push(`Action "${desired.name}" is up to date`)
  if (plan.secrets) lines.push(`set secret ${plan.secrets.map((secret) => secret.name).join(', ')}`)
  else if (desired.namespace === undefined && plan.action.kind === 'create') {
    lines.push('no CLAIM_NAMESPACE given: the Action uses its default namespace')
  }
  if (plan.deploy) lines.push('wait until the draft is built, then deploy it')
  else lines.push('already deployed')
  if (plan.bindings) {
    const kept = plan.keptBindings.length > 0 ? ` after ${plan.keptBindings.map((n) => `"${n}"`).join(', ')}` : ''
    lines.push(`bind it to post-login${kept} (${plan.bindings.length} bindings in all)`)
  } else lines.push('already bound to post-login')
  return lines
}

/** One of the Action's versions (Auth0 keeps them all; a deploy or a rollback adds one). */
export interface ActionVersionInfo {
  readonly id: string
  readonly number: number
  /** Whether logins run this version now. */
  readonly deployed: boolean
  /** `built`, or `failed` for a build that did not succeed (never deployed). */
  readonly status: string | undefined
  readonly createdAt: string | undefined
  readonly code: string
  readonly secretNames: readonly string[]
  /** Auth0's build errors (`ActionError`: id, msg, url). */
  readonly errors: ReadonlyArray<{ readonly id?: string | undefined; readonly msg?: string | undefined }>
}

/**
 * What to say when Auth0 could not build the draft: Auth0's own errors when it gave any (on the newest version that
 * failed), else where to look. The Action's body carries no reason (terraform-provider-auth0's
 * TestAccAction_FailedBuild.yaml recording), and terraform says no more than "check the Auth0 UI for errors".
 */
export function buildFailureMessage(name: string, versions: readonly ActionVersionInfo[]): string {
  const failed = [...versions].sort((a, b) => b.number - a.number).find((version) => version.status === 'failed')
  const reasons = (failed?.errors ?? []).map((error) => (error.id ? `${error.msg ?? '?'} (${error.id})` : error.msg))
  const told = reasons.filter((reason): reason is string => Boolean(reason))
  const why =
    told.length > 0
      ? `Auth0: ${told.join('; ')}`
      : 'Auth0 gave no reason through the API: open Actions > Library > the Action to read the build log'
  return `Auth0 could not build the Action "${name}" (${why}). Nothing was deployed or bound: fix the Action (auth0/actions/access-claims.js, \`npm run build:action\`) and run the command again.`
}

/**
 * How long the binding is retried while Auth0 refuses it as not yet deployed. Auth0's own deploy CLI waits a fixed
 * 2 s before binding (4 s in an earlier release; auth0/auth0-deploy-cli #385 and handlers/triggers.ts), which was
 * enough for its users; 30 s is many times that, and short enough that an operator hears about a deploy that is
 * stuck rather than waiting on it. Nothing is lost when it runs out: a re-run binds.
 */
export const BIND_RETRY_MS = 30_000

export type BindStep = { readonly next: 'retry' } | { readonly next: 'fail'; readonly why: string }

/** After Auth0 refused the binding because the deploy has not taken over yet: try again, or stop. */
export function nextBindStep(elapsedMs: number, maxWaitMs: number, version: number | undefined): BindStep {
  if (elapsedMs < maxWaitMs) return { next: 'retry' }
  return {
    next: 'fail',
    why: `Auth0 still refused to bind the Action ${Math.round(elapsedMs / 1000)} s after deploying version ${version ?? '?'} (not deployed yet): run the command again (it only binds)`,
  }
}

export type ActivationStep =
  | { readonly next: 'done' }
  | { readonly next: 'poll' }
  | { readonly next: 'fail'; readonly why: string }

/** After reading a deployed version: it runs at login (done), poll again, or give up. */
export function nextActivationStep(
  version: Pick<ActionVersionInfo, 'deployed' | 'number'>,
  elapsedMs: number,
  maxWaitMs: number,
): ActivationStep {
  if (version.deployed) return { next: 'done' }
  if (elapsedMs < maxWaitMs) return { next: 'poll' }
  return {
    next: 'fail',
    why: `version ${version.number} was still not deployed ${Math.round(elapsedMs / 1000)} s after Auth0 accepted it: check Actions > Library in the dashboard, then run the command again`,
  }
}

export type RollbackPlan =
  | { readonly kind: 'rollback'; readonly target: ActionVersionInfo; readonly deployed: ActionVersionInfo | undefined }
  | { readonly kind: 'nothing'; readonly why: string }
  | { readonly kind: 'fail'; readonly why: string }

const sameContent = (a: ActionVersionInfo, b: ActionVersionInfo) =>
  a.code === b.code && [...a.secretNames].sort().join('\n') === [...b.secretNames].sort().join('\n')

/**
 * Which version `--rollback [N]` deploys. Without N: the newest built version older than the deployed one whose
 * code or secrets differ from it. A version whose content is already deployed is nothing to do, so
 * `--rollback N` can be re-run safely.
 */
export function planRollback(versions: readonly ActionVersionInfo[], requested: number | undefined): RollbackPlan {
  const deployed = versions.find((version) => version.deployed)
  const numbers = [...versions].sort((a, b) => b.number - a.number)
  let target: ActionVersionInfo | undefined
  if (requested !== undefined) {
    target = versions.find((version) => version.number === requested)
    if (!target) {
      const known = numbers.map((version) => version.number).join(', ') || 'none'
      return { kind: 'fail', why: `the Action has no version ${requested} (versions: ${known}); see --list-versions` }
    }
    if (target.status !== 'built') {
      return { kind: 'fail', why: `version ${requested} never built, so it cannot be deployed; see --list-versions` }
    }
  } else {
    if (!deployed)
      return { kind: 'fail', why: 'no version is deployed, so there is none before it: name one (--rollback N)' }
    target = numbers.find(
      (version) => version.number < deployed.number && version.status === 'built' && !sameContent(version, deployed),
    )
    if (!target) {
      return { kind: 'fail', why: `no version before ${deployed.number} differs from it; see --list-versions` }
    }
  }
  if (deployed && (target === deployed || sameContent(target, deployed))) {
    const as = target === deployed ? '' : ` (as version ${deployed.number})`
    return { kind: 'nothing', why: `version ${target.number}'s code is already deployed${as}` }
  }
  return { kind: 'rollback', target, deployed }
}

/** `--list-versions`: newest first, one line each. */
export function describeVersions(name: string, versions: readonly ActionVersionInfo[]): string[] {
  if (versions.length === 0) return [`Action "${name}" has no versions yet (nothing was ever deployed)`]
  const lines = [`versions of Action "${name}" (newest first):`]
  for (const version of [...versions].sort((a, b) => b.number - a.number)) {
    const state = version.deployed ? 'deployed' : version.status === 'failed' ? 'build failed' : '-'
    lines.push(
      `  ${String(version.number).padStart(4)}  ${state.padEnd(12)}  created ${version.createdAt ?? 'unknown'}`,
    )
  }
  return lines
}
