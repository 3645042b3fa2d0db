/**
 * The Actions side of Auth0 for the deploy script, with the official SDK: find, create, update, read and deploy
 * one Action, and read and replace the post-login bindings. Its client needs exactly `read:actions`,
 * `create:actions` and `update:actions`, and nothing on Organizations. An operator runs it, with no deadline, so
 * the SDK's own retries (2, on 408/429/5xx) are enough here.
 */
import { ManagementClient, ManagementError } from 'auth0'
import { type ClientCredential, credentialSettings, DEPLOY_CREDENTIAL } from '../config.ts'
import type { ActionVersionInfo, BindingRef, ExistingAction, ExistingBinding } from '../core/action-deploy.ts'
import { customDomainFix } from '../core/auth0-domain.ts'
import { SyncError } from '../core/errors.ts'
import { CustomDomainError, credentialOptions, tokenRefusalOf } from './auth0.ts'

/** The deploy client: AUTH0_DEPLOY_CLIENT_ID with its secret or its private key (Private Key JWT). */
export type DeployCredentials = {
  readonly domain: string
  readonly clientId: string
} & ClientCredential

export interface ActionInput {
  readonly name: string
  readonly code: string
  readonly runtime: string
  readonly trigger: { readonly id: 'post-login'; readonly version: string }
  readonly secrets: ReadonlyArray<{ readonly name: string; readonly value: string }> | undefined
}

export interface ActionsGateway {
  findAction(name: string): Promise<ExistingAction | undefined>
  createAction(input: ActionInput): Promise<ExistingAction>
  updateAction(id: string, input: ActionInput): Promise<ExistingAction>
  getAction(id: string): Promise<ExistingAction>
  /** Deploys the built draft: a new version, which Auth0 answers as not deployed yet. */
  deployAction(id: string): Promise<ActionVersionInfo>
  /** Every version of the Action (Auth0 keeps them). */
  listVersions(actionId: string): Promise<ActionVersionInfo[]>
  getVersion(actionId: string, versionId: string): Promise<ActionVersionInfo>
  /** Rollback: a new version copying `versionId`, deployed; the draft is left as it is. */
  deployVersion(actionId: string, versionId: string): Promise<ActionVersionInfo>
  listPostLoginBindings(): Promise<ExistingBinding[]>
  /** Throws BindingLagError while Auth0 refuses the binding because the deploy has not taken over yet. */
  replacePostLoginBindings(bindings: readonly BindingRef[]): Promise<void>
}

/** Auth0 refused a binding because the Action's deploy has not taken over yet: retry (auth0-deploy-cli #385). */
export class BindingLagError extends SyncError {}

/** Auth0's answer while a fresh deploy is not yet bindable (auth0/auth0-deploy-cli #385). */
const BINDING_LAG = /trying to create a binding for an action that has/i

type Call = 'read' | 'create' | 'update' | 'deploy' | 'bind'
const SCOPE: Record<Call, string> = {
  read: 'read:actions',
  create: 'create:actions',
  update: 'update:actions',
  deploy: 'create:actions',
  bind: 'update:actions',
}

export function connectActions(credentials: DeployCredentials): ActionsGateway {
  const client = new ManagementClient({
    domain: credentials.domain,
    clientId: credentials.clientId,
    ...credentialOptions(credentials),
    timeoutInSeconds: 30,
    maxRetries: 2,
  })

  async function call<T>(what: Call, doing: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send()
    } catch (error) {
      throw explain(error, what, doing, credentials)
    }
  }

  const toInput = (input: ActionInput) => ({
    name: input.name,
    code: input.code,
    runtime: input.runtime,
    supported_triggers: [{ ...input.trigger }],
    ...(input.secrets ? { secrets: input.secrets.map((secret) => ({ ...secret })) } : {}),
  })

  return {
    async findAction(name) {
      const page = await call('read', `listing Actions named "${name}"`, () =>
        client.actions.list({ actionName: name, per_page: 50 }),
      )
      const found = page.data.find((action) => action.name === name)
      return found && toExisting(found)
    },
    async createAction(input) {
      return toExisting(
        await call('create', `creating Action "${input.name}"`, () => client.actions.create(toInput(input))),
      )
    },
    async updateAction(id, input) {
      return toExisting(
        await call('update', `updating Action "${input.name}"`, () => client.actions.update(id, toInput(input))),
      )
    },
    async getAction(id) {
      return toExisting(await call('read', `reading Action ${id}`, () => client.actions.get(id)))
    },
    async deployAction(id) {
      return toVersion(await call('deploy', `deploying Action ${id}`, () => client.actions.deploy(id)))
    },
    async listVersions(actionId) {
      const versions: ActionVersionInfo[] = []
      const page = await call('read', `listing the versions of Action ${actionId}`, () =>
        client.actions.versions.list(actionId, { per_page: 50 }),
      )
      for await (const version of page) versions.push(toVersion(version))
      return versions
    },
    async getVersion(actionId, versionId) {
      return toVersion(
        await call('read', `reading version ${versionId} of Action ${actionId}`, () =>
          client.actions.versions.get(actionId, versionId),
        ),
      )
    },
    async deployVersion(actionId, versionId) {
      return toVersion(
        await call('deploy', `deploying version ${versionId} of Action ${actionId}`, () =>
          client.actions.versions.deploy(actionId, versionId, { update_draft: false }),
        ),
      )
    },
    async listPostLoginBindings() {
      const bindings: ExistingBinding[] = []
      const page = await call('read', 'listing the post-login bindings', () =>
        client.actions.triggers.bindings.list('post-login', { per_page: 20 }),
      )
      // Iterating the page fetches the next ones (a full page means there may be more).
      for await (const binding of page) {
        bindings.push({
          id: binding.id ?? '',
          actionId: binding.action?.id,
          actionName: binding.action?.name,
          displayName: binding.display_name,
        })
      }
      return bindings
    },
    async replacePostLoginBindings(bindings) {
      try {
        await client.actions.triggers.bindings.updateMany('post-login', {
          bindings: bindings.map((binding) => ({ ref: { ...binding.ref }, display_name: binding.display_name })),
        })
      } catch (error) {
        if (error instanceof ManagementError && error.statusCode === 400 && BINDING_LAG.test(auth0Message(error))) {
          throw new BindingLagError('auth0-unavailable', `Auth0 refused the binding for now: ${auth0Message(error)}`, {
            retryable: true,
            cause: error,
          })
        }
        throw explain(error, 'bind', 'replacing the post-login bindings', credentials)
      }
    },
  }
}

interface SdkAction {
  id?: string | undefined
  name?: string | undefined
  code?: string | undefined
  runtime?: string | undefined
  secrets?: Array<{ name?: string | undefined }> | undefined
  supported_triggers?: Array<{ id: string }> | undefined
  status?: string | undefined
  all_changes_deployed?: boolean | undefined
  deployed_version?:
    | { code?: string | undefined; secrets?: Array<{ name?: string | undefined }> | undefined }
    | undefined
}

interface SdkVersion {
  id?: string | undefined
  number?: number | undefined
  deployed?: boolean | undefined
  status?: string | undefined
  created_at?: string | undefined
  code?: string | undefined
  secrets?: Array<{ name?: string | undefined }> | undefined
  errors?: Array<{ id?: string | undefined; msg?: string | undefined }> | undefined
}

function toVersion(version: SdkVersion): ActionVersionInfo {
  if (!version.id || typeof version.number !== 'number') {
    throw new SyncError('auth0-rejected', 'Auth0 returned an Action version without id or number')
  }
  return {
    id: version.id,
    number: version.number,
    deployed: version.deployed === true,
    status: version.status,
    createdAt: version.created_at,
    code: version.code ?? '',
    secretNames: (version.secrets ?? []).flatMap((secret) => (secret.name ? [secret.name] : [])),
    errors: (version.errors ?? []).map((error) => ({ id: error.id, msg: error.msg })),
  }
}

function toExisting(action: SdkAction): ExistingAction {
  if (!action.id || !action.name) throw new SyncError('auth0-rejected', 'Auth0 returned an Action without id or name')
  return {
    id: action.id,
    name: action.name,
    code: action.code ?? '',
    runtime: action.runtime,
    secretNames: (action.secrets ?? []).flatMap((secret) => (secret.name ? [secret.name] : [])),
    triggerIds: (action.supported_triggers ?? []).map((trigger) => trigger.id),
    status: action.status,
    allChangesDeployed: action.all_changes_deployed === true,
    deployed: action.deployed_version && {
      code: action.deployed_version.code ?? '',
      secretNames: (action.deployed_version.secrets ?? []).flatMap((secret) => (secret.name ? [secret.name] : [])),
    },
  }
}

/** The SDK's failure → a SyncError naming what to fix, never echoing the token or the secret. */
function explain(error: unknown, what: Call, doing: string, credentials: DeployCredentials): SyncError {
  const domain = credentials.domain
  if (tokenRefusalOf(error, domain) === 'custom-domain') {
    return new CustomDomainError(
      'configuration',
      `Auth0 refused a Management API token (${doing}): ${customDomainFix(domain)}`,
      {
        cause: error,
      },
    )
  }
  if (!(error instanceof ManagementError)) {
    return new SyncError('auth0-unavailable', `Auth0 could not be reached ${doing}`, { retryable: true, cause: error })
  }
  const message = auth0Message(error)
  switch (error.statusCode) {
    case 401:
      return new SyncError(
        'auth0-credentials',
        `Auth0 refused the deploy client's credentials ${doing}${tokenSaid(error)}: check ${credentialSettings(credentials, DEPLOY_CREDENTIAL)}`,
        { cause: error },
      )
    case 403:
      return new SyncError(
        'auth0-forbidden',
        `Auth0 denied ${doing}: grant ${SCOPE[what]} to the deploy client (it needs read:actions create:actions update:actions)`,
        { cause: error },
      )
    case undefined:
      return new SyncError('auth0-unavailable', `Auth0 could not be reached ${doing}`, {
        retryable: true,
        cause: error,
      })
  }
  const status = error.statusCode
  if (status === 429 || status >= 500) {
    return new SyncError('auth0-unavailable', `Auth0 answered ${status} ${doing}: ${message}`, {
      retryable: true,
      cause: error,
    })
  }
  return new SyncError('auth0-rejected', `Auth0 rejected ${doing} (${status}): ${message}`, { cause: error })
}

/** Auth0's reason when the token endpoint refused the client (its OAuth error body), never the credential. */
function tokenSaid(error: ManagementError): string {
  const body = error.body
  if (typeof body !== 'object' || body === null || !('error_description' in body)) return ''
  return ` (Auth0: "${String(body.error_description).slice(0, 300)}")`
}

function auth0Message(error: ManagementError): string {
  const body = error.body
  if (typeof body === 'object' && body !== null && 'message' in body) return String(body.message).slice(0, 300)
  return 'no details'
}
