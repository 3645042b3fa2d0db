/**
 * The Actions slice of the Auth0 Management API emulator: create, read, update and deploy Actions, and the
 * ordered trigger bindings. Hooked into emulators/auth0.ts, which does TLS, tokens, faults and rate limits.
 *
 * Behaviour copied from Auth0 (see ../shared/reference/platform-facts.md):
 * - a created or updated draft goes `pending` → `building` → `built` over `buildDelayMs`, or ends `failed`
 *   (`buildFailure`). The failed Action's body is as recorded by auth0/terraform-provider-auth0
 *   `test/data/recordings/TestAccAction_FailedBuild.yaml`: `status: "failed"` and no reason on the Action. Where
 *   Auth0 puts the reason is not recorded; the emulator puts it where Auth0's schema has a field for it
 *   (`ActionVersion.errors`, `{id, msg, url}`, auth0 SDK 7.1.0 types): a never-deployed version in the versions
 *   list ("Draft denotes a version that has never been deployed", Auth0 docs "Manage Versions");
 * - deploying a draft that is not `built` is refused with 400 "A draft must be in the 'built' state before it
 *   can be deployed";
 * - deploy answers the new version with `deployed: false` (recorded in TestAccAction.yaml) and the version takes
 *   over after `deployLagMs`; until then logins run the previous version, and binding an Action that has no
 *   deployed version is refused with 400 "Trying to create a binding for an action that has not been deployed
 *   yet" (auth0/auth0-deploy-cli #385, intermittent, quotes it up to "…that has"; the rest as a third-party
 *   deploy script quotes it; Auth0's deploy CLI now waits 2 s before binding, handlers/triggers.ts);
 * - Auth0 keeps versions: GET …/versions (newest first here; Auth0's order is not documented), GET
 *   …/versions/{id}, and POST …/versions/{id}/deploy, which "creates a new, deployed action version that is
 *   identical to the specified version" (SDK doc of `actions.versions.deploy`; docs "Manage Versions": "A new copy
 *   of the selected version will be created and deployed"), the draft untouched unless `update_draft`;
 * - a PATCH with `secrets` replaces the whole list; without `secrets` the draft keeps them; values never leave;
 * - the bindings PATCH replaces the trigger's whole ordered list;
 * - scopes: read:actions (list, get, versions, bindings list), create:actions (create, deploy, deploy a version),
 *   update:actions (update, bindings update).
 *
 * Durations are divided by `timeScale`, so a test can ask for Auth0's 5 s build and 2 s lag and wait 1/50 of that;
 * or the Actions API runs on a clock the test drives (`now`).
 */
import { randomUUID } from 'node:crypto'

export interface ActionsEmulatorOptions {
  /** How long a new or updated draft takes to reach `built` (or `failed`), in emulated ms. Default 300. */
  buildDelayMs?: number
  /** From a deploy until the new version runs at login and can be bound, in emulated ms. Default 0. */
  deployLagMs?: number
  /** Emulated ms per real ms: 50 makes a 5 s build take 100 ms. Default 1. */
  timeScale?: number
  /**
   * The Actions API's clock, in ms since the epoch. Default Date.now. A test can hand it the deploy command's own
   * clock and advance it in the command's sleep, so a 5 s build costs no time and every poll is countable.
   */
  now?: (() => number) | undefined
  /** Decides at create/update whether the draft's build will fail, and with which errors. Default: never. */
  buildFailure?: ((draft: { name: string; code: string }) => ActionError[] | undefined) | undefined
}

/** Auth0's `ActionError` (SDK 7.1.0 `Management.ActionError`). */
export interface ActionError {
  id: string
  msg: string
  url?: string
}

/** What the login runs: a deployed Action's code and secrets. */
export interface DeployedAction {
  readonly id: string
  readonly name: string
  readonly code: string
  readonly secrets: Readonly<Record<string, string>>
}

export interface ActionsApi {
  /** Answers an /api/v2/actions request, or returns NOT_HANDLED for any other path. */
  handle(method: string, url: URL, body: unknown, authorize: (scope: string) => void): unknown
  /** The deployed Actions bound to a trigger, in execution order. */
  bound(triggerId: string): DeployedAction[]
  /** The API's view of every Action (secret values hidden), for assertions. */
  list(): Record<string, unknown>[]
  /** The trigger's bindings as the API shows them. */
  bindings(triggerId: string): Record<string, unknown>[]
  /** Test seeding: creates, builds, deploys and binds an Action at once (someone else's Action, say). */
  install(action: { name: string; code: string; secrets?: Record<string, string>; trigger?: string }): string
  /** Test reset: removes every binding of the trigger (the Actions stay). */
  unbindAll(triggerId: string): void
  /** Changes timings and build failures from now on (builds and deploys already started keep theirs). */
  configure(options: ActionsEmulatorOptions): void
}

export const NOT_HANDLED = Symbol('not handled')

/** An answer sent with 201 Created instead of 200. */
export class Created {
  readonly body: unknown
  constructor(body: unknown) {
    this.body = body
  }
}

/** The deploy script's own Machine-to-Machine client: Actions scopes only, nothing on Organizations. */
export const DEPLOY_CLIENT = {
  clientId: 'deploy-client-id',
  clientSecret: 'deploy-client-secret',
  scopes: ['read:actions', 'create:actions', 'update:actions'],
}

type Fail = (status: number, message: string, errorCode?: string) => never

interface Version {
  id: string
  number: number
  code: string
  runtime: string
  dependencies: unknown[]
  secrets: Record<string, string>
  status: 'built' | 'failed'
  errors: ActionError[]
  /** When it takes over (real ms since epoch); undefined for a version that was never deployed. */
  activatesAt: number | undefined
  createdAt: string
}

interface StoredAction {
  id: string
  name: string
  supportedTriggers: Array<{ id: string; version: string }>
  code: string
  runtime: string
  dependencies: unknown[]
  secrets: Map<string, { value: string; updatedAt: string }>
  createdAt: string
  updatedAt: string
  buildStartedAt: number
  /** Real ms the current build takes. */
  buildMs: number
  /** Set when the current build will fail. */
  buildErrors: ActionError[] | undefined
  /** Whether the failed build has been recorded in `versions`. */
  failureRecorded: boolean
  versions: Version[]
  allChangesDeployed: boolean
}

interface Binding {
  id: string
  triggerId: string
  displayName: string
  actionId: string
  createdAt: string
  updatedAt: string
}

const DEFAULT_RUNTIME = 'node22'
const TRIGGERS = new Set(['post-login', 'credentials-exchange', 'pre-user-registration', 'post-user-registration'])

const BINDING_LAG = 'Trying to create a binding for an action that has not been deployed yet.'

/**
 * A list page's counters as Auth0 sends them: zero values left out, so `page` only after the first page and
 * `total` only on a page with items (auth0/terraform-provider-auth0 TestAccDataSourceAction.yaml #0 and #8,
 * TestAccTriggerActions.yaml #11, #12 and the per_page=50 reads of no bindings). The versions list is not recorded:
 * the same here.
 */
function listFields(count: number, total: number, page: number, perPage: number) {
  return { ...(count > 0 ? { total } : {}), ...(page !== 0 ? { page } : {}), per_page: perPage }
}

export function createActionsApi(initial: ActionsEmulatorOptions, fail: Fail): ActionsApi {
  const options: ActionsEmulatorOptions = { ...initial }
  const actions = new Map<string, StoredAction>()
  const bindingsByTrigger = new Map<string, Binding[]>()

  const clock = () => (options.now ?? Date.now)()
  const now = () => new Date(clock()).toISOString()
  const real = (emulatedMs: number) => emulatedMs / (options.timeScale ?? 1)

  function status(action: StoredAction): 'pending' | 'building' | 'built' | 'failed' {
    const elapsed = clock() - action.buildStartedAt
    if (elapsed >= action.buildMs) {
      if (!action.buildErrors) return 'built'
      recordFailure(action, action.buildErrors)
      return 'failed'
    }
    return elapsed < action.buildMs / 2 ? 'pending' : 'building'
  }

  function startBuild(action: StoredAction): void {
    action.buildStartedAt = clock()
    action.buildMs = real(options.buildDelayMs ?? 300)
    action.buildErrors = options.buildFailure?.({ name: action.name, code: action.code })
    action.failureRecorded = false
  }

  function recordFailure(action: StoredAction, errors: ActionError[]): void {
    if (action.failureRecorded) return
    action.failureRecorded = true
    action.versions.push({
      id: randomUUID(),
      number: action.versions.length + 1,
      code: action.code,
      runtime: action.runtime,
      dependencies: structuredClone(action.dependencies),
      secrets: Object.fromEntries([...action.secrets].map(([name, secret]) => [name, secret.value])),
      status: 'failed',
      errors: structuredClone(errors),
      activatesAt: undefined,
      createdAt: new Date(action.buildStartedAt + action.buildMs).toISOString(),
    })
  }

  /** The version logins run: the one that took over last. */
  function active(action: StoredAction): Version | undefined {
    const at = clock()
    let current: Version | undefined
    for (const version of action.versions) {
      if (version.activatesAt === undefined || version.activatesAt > at) continue
      if (!current || (current.activatesAt as number) <= version.activatesAt) current = version
    }
    return current
  }

  function find(id: string): StoredAction {
    const action = actions.get(id)
    // No errorCode, as recorded (auth0/terraform-provider-auth0 TestAccDataSourceAction.yaml #1).
    if (!action) fail(404, 'That action does not exist.')
    return action
  }

  function versionView(action: StoredAction, version: Version, deployed = active(action) === version) {
    return {
      id: version.id,
      action_id: action.id,
      code: version.code,
      dependencies: structuredClone(version.dependencies),
      deployed,
      runtime: version.runtime,
      secrets: Object.keys(version.secrets).map((name) => ({ name, updated_at: version.createdAt })),
      status: version.status,
      number: version.number,
      ...(version.errors.length > 0 ? { errors: structuredClone(version.errors) } : {}),
      action: { id: action.id, name: action.name, supported_triggers: action.supportedTriggers },
      ...(version.status === 'built' ? { built_at: version.createdAt } : {}),
      created_at: version.createdAt,
      updated_at: version.createdAt,
      supported_triggers: action.supportedTriggers,
    }
  }

  /**
   * An Action's `deployed_version` and `current_version`, as recorded after a deploy (auth0/terraform-provider-auth0
   * TestAccAction.yaml #12): no action_id, no action; `current_version` is a shorter summary with status "BUILT"
   * (sic) and build_time. Which version is current during a deploy's lag is not recorded: the newest deployed here.
   */
  function deployedVersionView(action: StoredAction, version: Version) {
    const { action: _action, action_id: _actionId, ...rest } = versionView(action, version)
    return rest
  }

  /**
   * The answer to a deploy, as recorded (TestAccAction.yaml #11, TestAccTriggerActions.yaml #2): the new version,
   * `deployed: false`, no action_id or built_at, and a summary of the Action. A version's deploy (rollback) is not
   * recorded: it answers the same.
   */
  function deployAnswer(action: StoredAction, version: Version) {
    const { action: _action, action_id: _actionId, built_at: _builtAt, ...rest } = versionView(action, version, false)
    return {
      ...rest,
      action: {
        id: action.id,
        name: action.name,
        supported_triggers: structuredClone(action.supportedTriggers),
        created_at: action.createdAt,
        updated_at: action.updatedAt,
        all_changes_deployed: action.allChangesDeployed,
      },
    }
  }

  function currentVersionView(version: Version) {
    return {
      id: version.id,
      code: version.code,
      runtime: version.runtime,
      status: version.status.toUpperCase(),
      number: version.number,
      build_time: version.createdAt,
      created_at: version.createdAt,
      updated_at: version.createdAt,
    }
  }

  function latestDeployed(action: StoredAction): Version | undefined {
    return action.versions.findLast((version) => version.activatesAt !== undefined)
  }

  function view(action: StoredAction): Record<string, unknown> {
    const deployed = active(action)
    const latest = latestDeployed(action)
    const current = status(action)
    return {
      id: action.id,
      name: action.name,
      supported_triggers: structuredClone(action.supportedTriggers),
      all_changes_deployed: action.allChangesDeployed,
      created_at: action.createdAt,
      updated_at: action.updatedAt,
      code: action.code,
      dependencies: structuredClone(action.dependencies),
      runtime: action.runtime,
      secrets: [...action.secrets].map(([name, secret]) => ({ name, updated_at: secret.updatedAt })),
      ...(latest ? { current_version: currentVersionView(latest) } : {}),
      ...(deployed ? { deployed_version: deployedVersionView(action, deployed) } : {}),
      // No built_at on the Action itself: recorded GETs of a built draft have none (TestAccAction.yaml #1).
      status: current,
    }
  }

  function invalid(problem: string): never {
    return fail(400, `Payload validation error: ${problem}`, 'invalid_body')
  }

  function readSecrets(value: unknown, previous?: StoredAction['secrets']): StoredAction['secrets'] {
    if (!Array.isArray(value)) invalid(`'Expected type array' on property secrets.`)
    const secrets: StoredAction['secrets'] = new Map()
    for (const secret of value) {
      const name = (secret as { name?: unknown })?.name
      const given = (secret as { value?: unknown })?.value
      if (typeof name !== 'string' || name === '' || name.length > 128) invalid(`'Invalid secret name' on secrets.`)
      if (given !== undefined && (typeof given !== 'string' || given.length > 4096)) {
        invalid(`'Secret values are strings of at most 4096 characters' on secrets.${name}.`)
      }
      const kept = previous?.get(name)
      if (given === undefined && !kept) invalid(`'Missing value for new secret ${name}' on secrets.`)
      secrets.set(name, given === undefined && kept ? kept : { value: given as string, updatedAt: now() })
    }
    return secrets
  }

  function readTriggers(value: unknown): StoredAction['supportedTriggers'] {
    if (!Array.isArray(value) || value.length === 0) invalid(`'Expected a non-empty array' on supported_triggers.`)
    return value.map((trigger) => {
      const id = (trigger as { id?: unknown })?.id
      if (typeof id !== 'string' || !TRIGGERS.has(id)) invalid(`'Unknown trigger ${String(id)}' on supported_triggers.`)
      const version = (trigger as { version?: unknown }).version
      return { id, version: typeof version === 'string' ? version : 'v3' }
    })
  }

  function record(body: unknown): Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return fail(400, 'Invalid request payload JSON format', 'invalid_body')
    }
    return body as Record<string, unknown>
  }

  function create(body: unknown): StoredAction {
    const input = record(body)
    const { name, code } = input
    if (typeof name !== 'string' || name.trim() === '') invalid(`'Missing required property: name'.`)
    if ([...actions.values()].some((action) => action.name === name)) {
      fail(409, `An action with the name '${name}' already exists.`, 'already_exists')
    }
    if (code !== undefined && typeof code !== 'string') invalid(`'Expected type string' on property code.`)
    const at = now()
    const action: StoredAction = {
      id: randomUUID(),
      name,
      supportedTriggers: readTriggers(input.supported_triggers),
      code: code ?? '',
      runtime: typeof input.runtime === 'string' ? input.runtime : DEFAULT_RUNTIME,
      dependencies: Array.isArray(input.dependencies) ? structuredClone(input.dependencies) : [],
      secrets: input.secrets === undefined ? new Map() : readSecrets(input.secrets),
      createdAt: at,
      updatedAt: at,
      buildStartedAt: 0,
      buildMs: 0,
      buildErrors: undefined,
      failureRecorded: false,
      versions: [],
      allChangesDeployed: false,
    }
    startBuild(action)
    actions.set(action.id, action)
    return action
  }

  function update(action: StoredAction, body: unknown): void {
    const input = record(body)
    if (input.name !== undefined) {
      if (typeof input.name !== 'string' || input.name.trim() === '') invalid(`'Invalid name'.`)
      action.name = input.name
    }
    if (input.code !== undefined) {
      if (typeof input.code !== 'string') invalid(`'Expected type string' on property code.`)
      action.code = input.code
    }
    if (input.runtime !== undefined) action.runtime = String(input.runtime)
    // Kept from the PATCH, as recorded (TestAccAction.yaml #5).
    if (input.dependencies !== undefined) {
      if (!Array.isArray(input.dependencies)) invalid(`'Expected type array' on property dependencies.`)
      action.dependencies = structuredClone(input.dependencies)
    }
    if (input.supported_triggers !== undefined) action.supportedTriggers = readTriggers(input.supported_triggers)
    if (input.secrets !== undefined) action.secrets = readSecrets(input.secrets, action.secrets)
    action.updatedAt = now()
    action.allChangesDeployed = false
    startBuild(action)
  }

  function deploy(action: StoredAction, lagMs = real(options.deployLagMs ?? 0)): Version {
    if (status(action) !== 'built') {
      fail(400, "A draft must be in the 'built' state before it can be deployed.", 'invalid_body')
    }
    const version = addVersion(action, {
      code: action.code,
      runtime: action.runtime,
      dependencies: action.dependencies,
      secrets: Object.fromEntries([...action.secrets].map(([name, secret]) => [name, secret.value])),
      lagMs,
    })
    action.allChangesDeployed = true
    return version
  }

  function addVersion(
    action: StoredAction,
    from: { code: string; runtime: string; dependencies: unknown[]; secrets: Record<string, string>; lagMs: number },
  ): Version {
    const version: Version = {
      id: randomUUID(),
      number: action.versions.length + 1,
      code: from.code,
      runtime: from.runtime,
      dependencies: structuredClone(from.dependencies),
      secrets: { ...from.secrets },
      status: 'built',
      errors: [],
      activatesAt: clock() + from.lagMs,
      createdAt: now(),
    }
    action.versions.push(version)
    return version
  }

  function findVersion(action: StoredAction, versionId: string): Version {
    const version = action.versions.find((candidate) => candidate.id === versionId)
    // The wording of this 404 and of the next 400 is the emulator's: no recording covers them.
    if (!version) fail(404, 'That action version does not exist.')
    return version
  }

  /** Rollback: a new version copying an old one (the draft too with `update_draft`). */
  function deployVersion(action: StoredAction, versionId: string, body: unknown): Version {
    const old = findVersion(action, versionId)
    if (old.status !== 'built') fail(400, `Version ${old.number} did not build and cannot be deployed.`, 'invalid_body')
    const updateDraft = (body as { update_draft?: unknown } | undefined)?.update_draft === true
    const version = addVersion(action, { ...old, lagMs: real(options.deployLagMs ?? 0) })
    if (updateDraft) {
      action.code = old.code
      action.runtime = old.runtime
      const at = now()
      action.secrets = new Map(Object.entries(old.secrets).map(([name, value]) => [name, { value, updatedAt: at }]))
      action.updatedAt = at
      action.buildStartedAt = clock()
      action.buildMs = 0
      action.buildErrors = undefined
    }
    const draftSecrets = Object.fromEntries([...action.secrets].map(([name, secret]) => [name, secret.value]))
    action.allChangesDeployed = action.code === old.code && JSON.stringify(draftSecrets) === JSON.stringify(old.secrets)
    return version
  }

  /**
   * The Action as a binding shows it, as recorded (TestAccTriggerActions.yaml #10, #11): no draft (code,
   * dependencies, runtime, secrets, status).
   */
  function bindingActionView(action: StoredAction) {
    const {
      code: _code,
      dependencies: _deps,
      runtime: _runtime,
      secrets: _secrets,
      status: _status,
      ...summary
    } = view(action)
    return summary
  }

  function bindingView(binding: Binding) {
    const action = actions.get(binding.actionId)
    return {
      id: binding.id,
      trigger_id: binding.triggerId,
      display_name: binding.displayName,
      action: action ? bindingActionView(action) : undefined,
      created_at: binding.createdAt,
      updated_at: binding.updatedAt,
    }
  }

  function replaceBindings(triggerId: string, body: unknown): Binding[] {
    const input = record(body)
    if (!Array.isArray(input.bindings)) invalid(`'Expected type array' on property bindings.`)
    const current = bindingsByTrigger.get(triggerId) ?? []
    const next: Binding[] = input.bindings.map((entry: unknown, index: number) => {
      const ref = (entry as { ref?: { type?: unknown; value?: unknown } })?.ref
      const displayName = (entry as { display_name?: unknown })?.display_name
      if (typeof ref?.value !== 'string') invalid(`'Missing ref.value' on bindings[${index}].`)
      const value = ref.value
      if (ref.type === 'binding_id') {
        const existing = current.find((binding) => binding.id === value)
        if (!existing) fail(404, `Binding ${value} does not exist on trigger ${triggerId}.`)
        return { ...existing, displayName: typeof displayName === 'string' ? displayName : existing.displayName }
      }
      let action: StoredAction | undefined
      if (ref.type === 'action_id') action = actions.get(value)
      else if (ref.type === 'action_name') action = [...actions.values()].find((a) => a.name === value)
      else invalid(`'ref.type must be binding_id, action_id or action_name' on bindings[${index}].`)
      if (!action) return fail(404, `Action ${value} does not exist.`)
      if (!action.supportedTriggers.some((trigger) => trigger.id === triggerId)) {
        invalid(`Action '${action.name}' does not support the trigger ${triggerId}.`)
      }
      if (!active(action)) fail(400, BINDING_LAG, 'invalid_body')
      const at = now()
      const name = typeof displayName === 'string' ? displayName : action.name
      return { id: randomUUID(), triggerId, displayName: name, actionId: action.id, createdAt: at, updatedAt: at }
    })
    bindingsByTrigger.set(triggerId, next)
    return next
  }

  function handle(method: string, url: URL, body: unknown, authorize: (scope: string) => void): unknown {
    const path = url.pathname
    if (path === '/api/v2/actions/actions') {
      if (method === 'GET') {
        authorize('read:actions')
        const name = url.searchParams.get('actionName')
        const trigger = url.searchParams.get('triggerId')
        const page = Number(url.searchParams.get('page') ?? 0)
        const perPage = Number(url.searchParams.get('per_page') ?? 50)
        const all = [...actions.values()].filter(
          (action) =>
            (name === null || action.name === name) &&
            (trigger === null || action.supportedTriggers.some((t) => t.id === trigger)),
        )
        const items = all.slice(page * perPage, page * perPage + perPage).map(view)
        return { actions: items, ...listFields(items.length, all.length, page, perPage) }
      }
      if (method === 'POST') {
        authorize('create:actions')
        // 201, as recorded (auth0/terraform-provider-auth0 TestAccAction.yaml #0) and in the OpenAPI file.
        return new Created(view(create(body)))
      }
    }
    const one = /^\/api\/v2\/actions\/actions\/([^/]+)(\/deploy)?$/.exec(path)
    if (one?.[1] !== undefined) {
      const id = decodeURIComponent(one[1])
      if (one[2] && method === 'POST') {
        authorize('create:actions')
        const action = find(id)
        return deployAnswer(action, deploy(action))
      }
      if (!one[2] && method === 'GET') {
        authorize('read:actions')
        return view(find(id))
      }
      if (!one[2] && method === 'PATCH') {
        authorize('update:actions')
        const action = find(id)
        update(action, body)
        return view(action)
      }
    }
    const versions = /^\/api\/v2\/actions\/actions\/([^/]+)\/versions(?:\/([^/]+)(\/deploy)?)?$/.exec(path)
    if (versions?.[1] !== undefined) {
      const action = find(decodeURIComponent(versions[1]))
      status(action)
      const versionId = versions[2] === undefined ? undefined : decodeURIComponent(versions[2])
      if (versionId === undefined && method === 'GET') {
        authorize('read:actions')
        const page = Number(url.searchParams.get('page') ?? 0)
        const perPage = Number(url.searchParams.get('per_page') ?? 20)
        const all = [...action.versions].reverse()
        const items = all.slice(page * perPage, page * perPage + perPage).map((v) => versionView(action, v))
        return { versions: items, ...listFields(items.length, all.length, page, perPage) }
      }
      if (versionId !== undefined && !versions[3] && method === 'GET') {
        authorize('read:actions')
        return versionView(action, findVersion(action, versionId))
      }
      if (versionId !== undefined && versions[3] && method === 'POST') {
        authorize('create:actions')
        return deployAnswer(action, deployVersion(action, versionId, body))
      }
    }
    const triggerBindings = /^\/api\/v2\/actions\/triggers\/([^/]+)\/bindings$/.exec(path)
    if (triggerBindings?.[1] !== undefined) {
      const triggerId = decodeURIComponent(triggerBindings[1])
      if (!TRIGGERS.has(triggerId)) fail(404, `Trigger ${triggerId} does not exist.`)
      if (method === 'GET') {
        authorize('read:actions')
        const page = Number(url.searchParams.get('page') ?? 0)
        const perPage = Number(url.searchParams.get('per_page') ?? 20)
        const all = bindingsByTrigger.get(triggerId) ?? []
        const items = all.slice(page * perPage, page * perPage + perPage).map(bindingView)
        return { bindings: items, ...listFields(items.length, all.length, page, perPage) }
      }
      if (method === 'PATCH') {
        authorize('update:actions')
        return { bindings: replaceBindings(triggerId, body).map(bindingView) }
      }
    }
    return NOT_HANDLED
  }

  return {
    handle,
    bound(triggerId) {
      return (bindingsByTrigger.get(triggerId) ?? []).flatMap((binding) => {
        const action = actions.get(binding.actionId)
        const version = action && active(action)
        return action && version
          ? [{ id: action.id, name: action.name, code: version.code, secrets: { ...version.secrets } }]
          : []
      })
    },
    list: () => [...actions.values()].map(view),
    unbindAll: (triggerId) => void bindingsByTrigger.delete(triggerId),
    configure: (changes) => void Object.assign(options, changes),
    bindings: (triggerId) => (bindingsByTrigger.get(triggerId) ?? []).map(bindingView),
    install({ name, code, secrets = {}, trigger = 'post-login' }) {
      const action = create({
        name,
        code,
        supported_triggers: [{ id: trigger, version: 'v3' }],
        secrets: Object.entries(secrets).map(([secretName, value]) => ({ name: secretName, value })),
      })
      action.buildMs = 0
      action.buildErrors = undefined
      deploy(action, 0)
      const current = bindingsByTrigger.get(trigger) ?? []
      const at = now()
      current.push({
        id: randomUUID(),
        triggerId: trigger,
        displayName: name,
        actionId: action.id,
        createdAt: at,
        updatedAt: at,
      })
      bindingsByTrigger.set(trigger, current)
      return action.id
    },
  }
}
