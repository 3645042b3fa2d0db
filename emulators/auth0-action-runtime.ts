/**
 * Runs a post-login Action's code the way Auth0 does, closely enough to test it: the code is a CommonJS module
 * (no npm dependencies: `require` only knows Node's built-ins), `onExecutePostLogin(event, api)` gets an
 * Auth0-shaped `event` and `api`, must finish within 20 s, and custom claims follow Auth0's rules (a claim that is
 * not namespaced with an http(s) URL, uses an Auth0 domain or a restricted name is dropped silently).
 */
import { builtinModules, createRequire } from 'node:module'
import { compileFunction } from 'node:vm'

export interface PostLoginEventInput {
  user: { user_id: string; email?: string; name?: string }
  client: { client_id: string; name: string }
  organization?: { id: string; name: string; display_name?: string; metadata: Record<string, string> } | undefined
  /** The API the access token is for (`event.resource_server.identifier`). */
  audience?: string | undefined
  secrets: Record<string, string>
  tenantId: string
}

export interface PostLoginResult {
  idTokenClaims: Record<string, unknown>
  accessTokenClaims: Record<string, unknown>
  /** Claims Auth0 would have dropped silently, with why. */
  dropped: Array<{ token: 'id' | 'access'; name: string; why: string }>
  /** What the Action wrote with console.log/warn/error, one entry per call. */
  logs: string[]
  /** Set when the Action called api.access.deny(reason). */
  denied?: string
}

export type PostLoginHandler = (event: unknown, api: unknown) => unknown

/** Auth0's execution limit for one trigger. */
const TIMEOUT_MS = 20_000
/** Auth0 drops custom claims with these names (auth0.com docs "Create custom claims"). */
const RESTRICTED = new Set(
  'acr amr at_hash aud auth_time azp c_hash client_id cnf exp gty iat iss jti nbf nonce org_id org_name permissions roles scope sid sub typ'.split(
    ' ',
  ),
)
const RESERVED_HOSTS = ['auth0.com', 'webtask.io', 'webtask.run']

/** Why Auth0 would drop this custom claim; undefined when it keeps it. */
export function claimDropReason(name: string): string | undefined {
  if (RESTRICTED.has(name)) return 'restricted claim name'
  let url: URL
  try {
    url = new URL(name)
  } catch {
    return 'not namespaced with an http(s) URL'
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'not namespaced with an http(s) URL'
  const host = url.hostname
  if (RESERVED_HOSTS.some((reserved) => host === reserved || host.endsWith(`.${reserved}`))) {
    return `namespace uses ${host}`
  }
  return undefined
}

/**
 * Loads Action code as a CommonJS module and returns its `onExecutePostLogin`. `console` is the module's own,
 * so each load can capture what the Action logs (Auth0's log stream) without touching the process's console.
 */
export function loadPostLoginAction(code: string, filename = 'action.js', console: Console = globalThis.console) {
  const module = { exports: {} as Record<string, unknown> }
  const nodeRequire = createRequire(import.meta.url)
  const builtins = new Set(builtinModules)
  const actionRequire = (id: string): unknown => {
    if (builtins.has(id.replace(/^node:/, ''))) return nodeRequire(id)
    throw new Error(`Cannot find module '${id}': the Action declares no dependencies`)
  }
  const params = ['exports', 'require', 'module', '__filename', '__dirname', 'console']
  const wrapper = compileFunction(code, params, { filename })
  wrapper(module.exports, actionRequire, module, filename, '/', console)
  const handler = module.exports.onExecutePostLogin
  if (typeof handler !== 'function') throw new Error(`${filename} does not export onExecutePostLogin`)
  return handler as PostLoginHandler
}

/** Runs one post-login Action; a throw or a timeout rejects, as the login would fail in Auth0. */
export async function runPostLogin(
  action: { code: string; filename?: string },
  input: PostLoginEventInput,
): Promise<PostLoginResult> {
  const result: PostLoginResult = { idTokenClaims: {}, accessTokenClaims: {}, dropped: [], logs: [] }
  const claimSetter = (token: 'id' | 'access', target: Record<string, unknown>) => ({
    setCustomClaim(name: unknown, value: unknown) {
      const key = String(name)
      const why = claimDropReason(key)
      if (why) result.dropped.push({ token, name: key, why })
      else target[key] = structuredClone(value)
    },
  })
  const api = {
    idToken: claimSetter('id', result.idTokenClaims),
    accessToken: { ...claimSetter('access', result.accessTokenClaims), addScope() {}, removeScope() {} },
    access: {
      deny(reason: unknown) {
        result.denied = String(reason)
      },
    },
  }
  const now = new Date().toISOString()
  const event = {
    user: { ...input.user, created_at: now, updated_at: now, app_metadata: {}, user_metadata: {}, identities: [] },
    client: { ...input.client, metadata: {} },
    organization: input.organization && structuredClone(input.organization),
    resource_server: input.audience ? { identifier: input.audience } : undefined,
    secrets: { ...input.secrets },
    tenant: { id: input.tenantId },
    transaction: { protocol: 'oidc-basic-profile', requested_scopes: ['openid', 'profile'] },
    request: { ip: '127.0.0.1', method: 'POST', hostname: 'localhost', geoip: {} },
    stats: { logins_count: 1 },
    authorization: { roles: [] },
    connection: { id: 'con_emulator', name: 'Username-Password-Authentication', strategy: 'auth0' },
  }
  const record =
    (level: string) =>
    (...args: unknown[]) => {
      result.logs.push(`${level === 'log' ? '' : `${level}: `}${args.map(String).join(' ')}`)
    }
  const actionConsole = {
    ...console,
    log: record('log'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  }
  const handler = loadPostLoginAction(action.code, action.filename, actionConsole)
  let timer: NodeJS.Timeout | undefined
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('The Action did not finish within 20 s')), TIMEOUT_MS)
    })
    await Promise.race([Promise.resolve().then(() => handler(event, api)), timeout])
  } finally {
    clearTimeout(timer)
  }
  return result
}
