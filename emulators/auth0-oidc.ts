/**
 * The Authentication API slice of the Auth0 emulator that app SDKs (`@auth0/nextjs-auth0`, `@auth0/auth0-server-js`)
 * sign users in with: OIDC discovery, `/authorize` (authorization code + PKCE) with a plain Universal-Login-like
 * sign-in page and an Organization picker, `/oauth/token` (authorization_code, refresh_token with rotation),
 * `/userinfo`, `/oauth/revoke`, `/v2/logout` and `/oidc/logout`. Mounted by emulators/auth0.ts, which keeps
 * client_credentials and the Management API.
 *
 * Shapes follow Auth0 (../shared/reference/platform-facts.md, "Tokens"): an opaque access token when no audience is
 * asked for; with `openid` and an audience the access token's `aud` is `[audience, "https://<tenant>/userinfo"]`;
 * `org_id` always, `org_name` only with the tenant setting; lifetimes access 86 400 s, ID 36 000 s; post-login
 * Actions run on sign-in and on every refresh-token exchange.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { type ActionsOutcome, LoginDeniedError, type LoginService, type OrganizationView } from './auth0-login.ts'

export interface OidcUser {
  user_id: string
  email: string
  name: string
  /** Organization IDs the user is a member of (Auth0: Organization > Members). */
  organizations: string[]
}

export interface OidcApplication {
  clientId: string
  clientSecret: string
  name: string
  /** Allowed Callback URLs; `*` matches within one URL part (e.g. any port), as the emulator's leniency for dev. */
  callbacks: string[]
  /** Allowed Logout URLs (same patterns); a URL under an allowed one (more path) is allowed too. */
  logoutUrls: string[]
  /** Auth0 application setting "Types of users": deny = individuals, require = business users, allow = both. */
  organizationUsage: 'deny' | 'allow' | 'require'
  /** Auth0 "Login flow" when an Organization is required and none is given. */
  organizationRequireBehavior: 'no_prompt' | 'post_login_prompt'
  /** ID token lifetime (Auth0 application setting, default 36 000 s). */
  idTokenLifetimeSeconds?: number
}

export interface OidcApi {
  identifier: string
  /** Auth0 API setting "Token Expiration", default 86 400 s. */
  tokenLifetimeSeconds?: number
  /** Auth0 API setting "Allow Offline Access": refresh tokens only when on. */
  allowOfflineAccess?: boolean
}

export interface OidcOptions {
  /** Test users; default the fixture emulators/fixtures/auth0-users.json. */
  users?: OidcUser[]
  /** Every user's password; default the fixture's. */
  password?: string
  applications?: OidcApplication[]
  apis?: OidcApi[]
  /** Auth0 tenant setting "Add the organization name to the authentication API tokens" (default off). */
  orgNameClaim?: boolean
  /** Overrides every API's access token lifetime and every application's ID token lifetime (tests). */
  accessTokenLifetimeSeconds?: number
  idTokenLifetimeSeconds?: number
  /** Refresh token rotation (Auth0 application setting); default on. Reuse of a rotated token revokes its family. */
  refreshTokenRotation?: boolean
}

/** What tests and the dev stack can change at run time. */
export interface OidcControl {
  users(): OidcUser[]
  addMember(organizationId: string, userId: string): void
  removeMember(organizationId: string, userId: string): void
  /** Rotate the tenant's signing key (the next key, published in advance, becomes current). */
  rotateSigningKey(): Promise<void>
  revokePreviousSigningKey(): void
  setOrgNameClaim(on: boolean): void
  /** Sign-in sessions at the emulator (its SSO cookie), for checks that sign-out ended them. */
  sessionCount(): number
  readonly password: string
}

interface Deps {
  issuer(): string
  organization(idOrName: string): OrganizationView | undefined
  logins: LoginService
}

interface Entry {
  status: number
  body: unknown
  clientId?: string
}

const FIXTURE = JSON.parse(readFileSync(new URL('./fixtures/auth0-users.json', import.meta.url), 'utf8')) as {
  password: string
  users: OidcUser[]
}

export const DEFAULT_WEB_APP: OidcApplication = {
  clientId: 'emulator-app',
  clientSecret: 'emulator-app-secret',
  name: 'Emulator web app',
  callbacks: ['http://localhost:*/auth/callback', 'http://127.0.0.1:*/auth/callback', 'http://localhost:*/callback'],
  logoutUrls: ['http://localhost:*', 'http://127.0.0.1:*'],
  organizationUsage: 'require',
  organizationRequireBehavior: 'post_login_prompt',
}
export const DEFAULT_API: OidcApi = { identifier: 'https://api.example.com/', allowOfflineAccess: true }
export const SESSION_COOKIE = 'auth0'
const CODE_TTL_MS = 10 * 60_000
const TRANSACTION_TTL_MS = 30 * 60_000

interface Transaction {
  clientId: string
  redirectUri: string
  state: string | undefined
  nonce: string | undefined
  scope: string[]
  audience: string | undefined
  organization: OrganizationView | undefined
  codeChallenge: string | undefined
  codeChallengeMethod: string | undefined
  loginHint: string | undefined
  createdAt: number
}

/** What a code or a refresh token stands for: one signed-in user of one application, Organization and API. */
interface Grant {
  clientId: string
  userId: string
  orgId: string | undefined
  audience: string | undefined
  scope: string[]
  sid: string
  authTime: number
}

interface CodeRecord extends Grant {
  redirectUri: string
  nonce: string | undefined
  codeChallenge: string | undefined
  codeChallengeMethod: string | undefined
  actions: ActionsOutcome
  expiresAt: number
  used: boolean
}

interface RefreshRecord extends Grant {
  family: string
  used: boolean
  revoked: boolean
}

interface OpaqueRecord {
  userId: string
  scope: string[]
  idClaims: Record<string, unknown>
  expiresAt: number
}

class OAuthError extends Error {
  readonly status: number
  readonly error: string
  readonly description: string
  constructor(status: number, error: string, description: string) {
    super(description)
    this.status = status
    this.error = error
    this.description = description
  }
}

/** Auth0's pattern matching for allowed URLs, with `*` inside one URL part (here: any port). */
export function urlAllowed(url: string, patterns: readonly string[], allowSubpaths = false): boolean {
  return patterns.some((pattern) => {
    const source = pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
      .join('[^/?#]*')
    return new RegExp(`^${source}${allowSubpaths ? '([/?#].*)?' : ''}$`).test(url)
  })
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c)

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}label,input,button{display:block;width:100%;margin:.4rem 0}input,button{padding:.5rem;font-size:1rem}.error{color:#b00020}.hint{color:#555;font-size:.85rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`
}

function base64url(bytes: number): string {
  return randomBytes(bytes).toString('base64url')
}

/**
 * Auth0's opaque access token (no audience requested) is a JWE with `alg: dir` (five dot-separated parts): an app
 * cannot verify it, only the tenant's /userinfo reads it. The emulator's has the same outline and random content.
 */
function opaqueToken(issuer: string): string {
  const header = Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM', iss: issuer })).toString('base64url')
  return `${header}..${base64url(12)}.${base64url(96)}.${base64url(16)}`
}

export interface OidcService {
  readonly control: OidcControl
  /** Handles an Authentication API request; false when the path (or grant type) is not one of these. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, entry: Entry, body: unknown): Promise<boolean>
}

export function createOidcService(options: OidcOptions, deps: Deps): OidcService {
  const users = structuredClone(options.users ?? FIXTURE.users)
  const password = options.password ?? FIXTURE.password
  const applications = options.applications ?? [DEFAULT_WEB_APP]
  const apis = options.apis ?? [DEFAULT_API]
  const rotation = options.refreshTokenRotation ?? true
  let orgNameClaim = options.orgNameClaim ?? false
  const transactions = new Map<string, Transaction>()
  const codes = new Map<string, CodeRecord>()
  const refreshTokens = new Map<string, RefreshRecord>()
  const opaque = new Map<string, OpaqueRecord>()
  /** The emulator's sign-in sessions (Auth0's SSO session behind its `auth0` cookie). */
  const sessions = new Map<string, { userId: string; authTime: number }>()
  const user = (id: string) => users.find((u) => u.user_id === id)

  const control: OidcControl = {
    users: () => structuredClone(users),
    addMember(organizationId, userId) {
      const found = user(userId)
      if (!found) throw new Error(`no user ${userId}`)
      if (!found.organizations.includes(organizationId)) found.organizations.push(organizationId)
    },
    removeMember(organizationId, userId) {
      const found = user(userId)
      if (found) found.organizations = found.organizations.filter((id) => id !== organizationId)
    },
    rotateSigningKey: () => deps.logins.keys.rotate(),
    revokePreviousSigningKey: () => deps.logins.keys.revokePrevious(),
    setOrgNameClaim(on) {
      orgNameClaim = on
    },
    sessionCount: () => sessions.size,
    password,
  }

  function discovery() {
    const issuer = deps.issuer()
    // The fields openid-client / oauth4webapi read (auth0-server-js, nextjs-auth0), as a tenant's document has them.
    return {
      issuer,
      authorization_endpoint: `${issuer}authorize`,
      token_endpoint: `${issuer}oauth/token`,
      device_authorization_endpoint: `${issuer}oauth/device/code`,
      userinfo_endpoint: `${issuer}userinfo`,
      mfa_challenge_endpoint: `${issuer}mfa/challenge`,
      jwks_uri: `${issuer}.well-known/jwks.json`,
      registration_endpoint: `${issuer}oidc/register`,
      revocation_endpoint: `${issuer}oauth/revoke`,
      end_session_endpoint: `${issuer}oidc/logout`,
      scopes_supported: ['openid', 'profile', 'offline_access', 'name', 'given_name', 'family_name', 'nickname'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256', 'plain'],
      response_modes_supported: ['query'],
      subject_types_supported: ['public'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      claims_supported: ['aud', 'auth_time', 'created_at', 'email', 'email_verified', 'exp', 'family_name'],
      request_uri_parameter_supported: false,
      request_parameter_supported: false,
      id_token_signing_alg_values_supported: ['HS256', 'RS256', 'PS256'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    }
  }

  function redirect(res: ServerResponse, entry: Entry, location: string, headers: Record<string, string> = {}) {
    entry.status = 302
    res.writeHead(302, { location, 'cache-control': 'no-store', ...headers })
    res.end()
  }

  function html(
    res: ServerResponse,
    entry: Entry,
    status: number,
    markup: string,
    headers: Record<string, string> = {},
  ) {
    entry.status = status
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers })
    res.end(markup)
  }

  function json(res: ServerResponse, entry: Entry, status: number, body: unknown) {
    entry.status = status
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
    res.end(body === undefined ? '' : JSON.stringify(body))
  }

  /** An error sent back to the application's callback, as Auth0 does once the redirect_uri is trusted. */
  function callbackError(
    res: ServerResponse,
    entry: Entry,
    txn: Transaction,
    error: string,
    description: string,
    headers: Record<string, string> = {},
  ) {
    const target = new URL(txn.redirectUri)
    target.searchParams.set('error', error)
    target.searchParams.set('error_description', description)
    if (txn.state !== undefined) target.searchParams.set('state', txn.state)
    redirect(res, entry, target.toString(), headers)
  }

  function expired(res: ServerResponse, entry: Entry) {
    html(res, entry, 400, page('Sign-in expired', '<p class="error">Start again from the application.</p>'))
  }

  function sessionOf(req: IncomingMessage): { sid: string; userId: string; authTime: number } | undefined {
    const cookies = Object.fromEntries(
      (req.headers.cookie ?? '').split(';').map((pair) => {
        const at = pair.indexOf('=')
        return [pair.slice(0, at).trim(), decodeURIComponent(pair.slice(at + 1).trim())]
      }),
    )
    const sid = cookies[SESSION_COOKIE]
    const session = sid ? sessions.get(sid) : undefined
    return sid && session && user(session.userId) ? { sid, ...session } : undefined
  }

  // GET /authorize (Auth0 docs "Authentication API: Authorize"; errors before the redirect_uri is trusted are shown
  // on a page, later ones go back to the callback with error and error_description).
  function authorize(req: IncomingMessage, res: ServerResponse, url: URL, entry: Entry) {
    const q = url.searchParams
    const clientId = q.get('client_id') ?? ''
    if (clientId) entry.clientId = clientId
    const app = applications.find((a) => a.clientId === clientId)
    if (!app)
      return html(
        res,
        entry,
        400,
        page('Unknown client', `<p class="error">Unknown client: ${escapeHtml(clientId)}</p>`),
      )
    const redirectUri = q.get('redirect_uri') ?? ''
    if (!urlAllowed(redirectUri, app.callbacks)) {
      const why = `The provided redirect_uri is not in the list of allowed callback URLs: ${redirectUri}. Add it to the application's Allowed Callback URLs.`
      return html(res, entry, 400, page('Callback URL mismatch', `<p class="error">${escapeHtml(why)}</p>`))
    }
    const txn: Transaction = {
      clientId,
      redirectUri,
      state: q.get('state') ?? undefined,
      nonce: q.get('nonce') ?? undefined,
      scope: (q.get('scope') ?? 'openid').split(/\s+/).filter(Boolean),
      audience: q.get('audience') ?? undefined,
      organization: undefined,
      codeChallenge: q.get('code_challenge') ?? undefined,
      codeChallengeMethod: q.get('code_challenge_method') ?? undefined,
      loginHint: q.get('login_hint') ?? undefined,
      createdAt: Date.now(),
    }
    if (q.get('response_type') !== 'code') {
      return callbackError(
        res,
        entry,
        txn,
        'unsupported_response_type',
        `Unsupported response type: ${q.get('response_type')}`,
      )
    }
    if (txn.codeChallenge && !['S256', 'plain'].includes(txn.codeChallengeMethod ?? 'plain')) {
      return callbackError(res, entry, txn, 'invalid_request', 'Unsupported code_challenge_method')
    }
    // Auth0's answer for an audience with no API behind it (seen in aws-samples/ask-around-me #2).
    if (txn.audience !== undefined && !apis.some((api) => api.identifier === txn.audience)) {
      return callbackError(res, entry, txn, 'access_denied', `Service not found: ${txn.audience}`)
    }
    const orgParam = q.get('organization')
    if (orgParam) {
      if (app.organizationUsage === 'deny') {
        return callbackError(
          res,
          entry,
          txn,
          'invalid_request',
          'parameter organization is not allowed for this client',
        )
      }
      txn.organization = deps.organization(orgParam)
      if (!txn.organization) {
        return callbackError(res, entry, txn, 'invalid_request', `parameter organization is invalid: ${orgParam}`)
      }
    } else if (app.organizationUsage === 'require' && app.organizationRequireBehavior === 'no_prompt') {
      // The error Auth0 sends (seen in danestves/remix-auth-auth0 #75).
      return callbackError(res, entry, txn, 'invalid_request', 'parameter organization is required for this client')
    }
    const txnId = base64url(18)
    transactions.set(txnId, txn)
    const session = sessionOf(req)
    const prompt = q.get('prompt')
    if (prompt === 'none') {
      if (!session) return callbackError(res, entry, txn, 'login_required', 'Login required')
      return continueLogin(res, entry, txnId, session.sid)
    }
    if (session && prompt !== 'login') return continueLogin(res, entry, txnId, session.sid)
    redirect(res, entry, `${deps.issuer()}u/login?state=${txnId}`)
  }

  function takeTransaction(id: string | null | undefined): Transaction | undefined {
    const txn = id ? transactions.get(id) : undefined
    if (!txn || Date.now() - txn.createdAt > TRANSACTION_TTL_MS) return undefined
    return txn
  }

  function loginPage(res: ServerResponse, entry: Entry, txnId: string, txn: Transaction, error?: string) {
    const app = applications.find((a) => a.clientId === txn.clientId)
    const org = txn.organization
    const title = `Sign in to ${org?.display_name ?? org?.name ?? app?.name ?? 'the application'}`
    const body = `${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${deps.issuer()}u/login">
<input type="hidden" name="state" value="${escapeHtml(txnId)}">
<label for="username">Email address</label>
<input id="username" name="username" type="email" autocomplete="username" value="${escapeHtml(txn.loginHint ?? '')}" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Continue</button>
</form>
<p class="hint">Auth0 emulator. Test users: ${users.map((u) => escapeHtml(u.email)).join(', ')}; password <code>${escapeHtml(password)}</code> (emulators/fixtures/auth0-users.json).</p>`
    html(res, entry, error ? 400 : 200, page(title, body))
  }

  function signIn(res: ServerResponse, entry: Entry, body: Record<string, string>) {
    const txnId = body.state ?? ''
    const txn = takeTransaction(txnId)
    entry.body = { state: txnId, username: body.username }
    if (!txn) return expired(res, entry)
    const found = users.find((u) => u.email.toLowerCase() === (body.username ?? '').trim().toLowerCase())
    // Auth0's message for a wrong email or password ("Wrong email or password.", with its full stop).
    if (!found || body.password !== password) return loginPage(res, entry, txnId, txn, 'Wrong email or password.')
    const sid = base64url(18)
    sessions.set(sid, { userId: found.user_id, authTime: Math.floor(Date.now() / 1000) })
    const cookie = `${SESSION_COOKIE}=${sid}; Path=/; HttpOnly; Secure; SameSite=None`
    return continueLogin(res, entry, txnId, sid, { 'set-cookie': cookie })
  }

  function organizationPicker(
    res: ServerResponse,
    entry: Entry,
    txnId: string,
    member: OrganizationView[],
    headers: Record<string, string>,
  ) {
    const buttons = member
      .map(
        (org) =>
          `<button type="submit" name="organization" value="${escapeHtml(org.id)}">${escapeHtml(org.display_name ?? org.name)}</button>`,
      )
      .join('\n')
    const body = `<form method="post" action="${deps.issuer()}u/organization"><input type="hidden" name="state" value="${escapeHtml(txnId)}">${buttons}</form>`
    html(res, entry, 200, page('Select your organization', body), headers)
  }

  function pickOrganization(req: IncomingMessage, res: ServerResponse, entry: Entry, body: Record<string, string>) {
    const txnId = body.state ?? ''
    const txn = takeTransaction(txnId)
    const session = sessionOf(req)
    if (!txn || !session) return expired(res, entry)
    txn.organization = deps.organization(body.organization ?? '')
    if (!txn.organization) return callbackError(res, entry, txn, 'invalid_request', 'parameter organization is invalid')
    return continueLogin(res, entry, txnId, session.sid)
  }

  /** After authentication: the Organization (picker, membership), the post-login Actions, the code. */
  async function continueLogin(
    res: ServerResponse,
    entry: Entry,
    txnId: string,
    sid: string,
    headers: Record<string, string> = {},
  ) {
    const txn = takeTransaction(txnId)
    const session = sessions.get(sid)
    const app = applications.find((a) => a.clientId === txn?.clientId)
    if (!txn || !session || !app) return expired(res, entry)
    const signedIn = user(session.userId) as OidcUser
    if (!txn.organization && app.organizationUsage === 'require') {
      const member = signedIn.organizations.map((id) => deps.organization(id)).filter((o): o is OrganizationView => !!o)
      if (member.length === 0) {
        transactions.delete(txnId)
        return callbackError(
          res,
          entry,
          txn,
          'access_denied',
          `user ${signedIn.user_id} is not a member of any organization`,
        )
      }
      return organizationPicker(res, entry, txnId, member, headers)
    }
    transactions.delete(txnId)
    const org = txn.organization
    if (org && !signedIn.organizations.includes(org.id)) {
      // Auth0 answers a non-member with access_denied (auth0/auth0-server-python PR #114's table of org errors).
      return callbackError(
        res,
        entry,
        txn,
        'access_denied',
        `user ${signedIn.user_id} is not part of the ${org.id} organization`,
        headers,
      )
    }
    let actions: ActionsOutcome
    try {
      actions = await deps.logins.runActions({
        userId: signedIn.user_id,
        email: signedIn.email,
        name: signedIn.name,
        clientId: txn.clientId,
        organization: org,
        audience: txn.audience,
      })
    } catch (error) {
      const description = error instanceof LoginDeniedError ? error.reason : (error as Error).message
      return callbackError(res, entry, txn, 'access_denied', description, headers)
    }
    const code = base64url(24)
    codes.set(code, {
      clientId: txn.clientId,
      userId: signedIn.user_id,
      orgId: org?.id,
      audience: txn.audience,
      scope: txn.scope,
      sid,
      authTime: session.authTime,
      redirectUri: txn.redirectUri,
      nonce: txn.nonce,
      codeChallenge: txn.codeChallenge,
      codeChallengeMethod: txn.codeChallengeMethod,
      actions,
      expiresAt: Date.now() + CODE_TTL_MS,
      used: false,
    })
    const target = new URL(txn.redirectUri)
    target.searchParams.set('code', code)
    if (txn.state !== undefined) target.searchParams.set('state', txn.state)
    redirect(res, entry, target.toString(), headers)
  }

  function authenticateClient(req: IncomingMessage, params: Record<string, string>, entry: Entry): OidcApplication {
    let clientId = params.client_id
    let secret = params.client_secret
    const authorization = req.headers.authorization
    if (authorization?.startsWith('Basic ')) {
      const decoded = Buffer.from(authorization.slice(6), 'base64').toString()
      const colon = decoded.indexOf(':')
      clientId = decodeURIComponent(decoded.slice(0, colon < 0 ? undefined : colon))
      secret = colon < 0 ? undefined : decodeURIComponent(decoded.slice(colon + 1))
    }
    if (clientId) entry.clientId = clientId
    const app = applications.find((a) => a.clientId === clientId)
    if (!app || app.clientSecret !== secret) throw new OAuthError(401, 'access_denied', 'Unauthorized')
    return app
  }

  async function mintTokens(
    app: OidcApplication,
    grant: Grant,
    actions: ActionsOutcome,
    nonce: string | undefined,
    refresh: string | undefined,
  ) {
    const issuer = deps.issuer()
    const signedIn = user(grant.userId)
    if (!signedIn) throw new OAuthError(403, 'invalid_grant', 'Unknown or invalid refresh token.')
    const org = grant.orgId ? deps.organization(grant.orgId) : undefined
    const orgClaims = org ? { org_id: org.id, ...(orgNameClaim ? { org_name: org.name } : {}) } : {}
    const scope = grant.scope.join(' ')
    const openid = grant.scope.includes('openid')
    const api = apis.find((a) => a.identifier === grant.audience)
    const accessTtl = options.accessTokenLifetimeSeconds ?? api?.tokenLifetimeSeconds ?? 86_400
    const idTtl = options.idTokenLifetimeSeconds ?? app.idTokenLifetimeSeconds ?? 36_000
    const profile = {
      ...(grant.scope.includes('profile') ? { name: signedIn.name, nickname: signedIn.email.split('@')[0] } : {}),
      ...(grant.scope.includes('email') ? { email: signedIn.email, email_verified: true } : {}),
    }
    let accessToken: string
    if (api) {
      accessToken = await deps.logins.keys.sign(
        { ...actions.accessClaims, ...orgClaims, azp: app.clientId, scope },
        {
          audience: openid ? [api.identifier, `${issuer}userinfo`] : api.identifier,
          subject: grant.userId,
          ttl: accessTtl,
        },
      )
    } else {
      accessToken = opaqueToken(issuer)
      opaque.set(accessToken, {
        userId: grant.userId,
        scope: grant.scope,
        idClaims: { ...actions.idClaims, ...profile },
        expiresAt: Date.now() + accessTtl * 1000,
      })
    }
    const idToken = openid
      ? await deps.logins.keys.sign(
          {
            ...actions.idClaims,
            ...profile,
            ...orgClaims,
            sid: grant.sid,
            auth_time: grant.authTime,
            ...(nonce ? { nonce } : {}),
          },
          { audience: app.clientId, subject: grant.userId, ttl: idTtl },
        )
      : undefined
    return {
      access_token: accessToken,
      ...(idToken ? { id_token: idToken } : {}),
      ...(refresh ? { refresh_token: refresh } : {}),
      scope,
      expires_in: accessTtl,
      token_type: 'Bearer',
    }
  }

  function newRefreshToken(grant: Grant, family: string): string | undefined {
    if (!grant.scope.includes('offline_access')) return undefined
    // Without an audience Auth0 still issues refresh tokens (for /userinfo); with one, the API must allow it.
    const api = apis.find((a) => a.identifier === grant.audience)
    if (grant.audience !== undefined && !api?.allowOfflineAccess) return undefined
    const token = `v1.${base64url(48)}`
    refreshTokens.set(token, { ...grant, family, used: false, revoked: false })
    return token
  }

  async function exchangeCode(app: OidcApplication, params: Record<string, string>) {
    const record = codes.get(params.code ?? '')
    if (!record || record.clientId !== app.clientId || record.expiresAt < Date.now()) {
      throw new OAuthError(403, 'invalid_grant', 'Invalid authorization code')
    }
    if (record.used) {
      // A replayed code: Auth0 refuses it (and the tokens it gave stay valid; no revocation here).
      throw new OAuthError(403, 'invalid_grant', 'Invalid authorization code')
    }
    record.used = true
    if (params.redirect_uri !== record.redirectUri) {
      throw new OAuthError(
        403,
        'invalid_grant',
        `Redirect URI is wrong. You sent ${params.redirect_uri}, and we expected ${record.redirectUri}`,
      )
    }
    if (record.codeChallenge !== undefined) {
      const verifier = params.code_verifier ?? ''
      const computed =
        record.codeChallengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier
      // Auth0's 403 for a PKCE mismatch (as auth0/go-auth0's recorded Authentication API tests show).
      if (computed !== record.codeChallenge)
        throw new OAuthError(403, 'invalid_grant', 'Failed to verify code verifier')
    }
    const refresh = newRefreshToken(record, base64url(12))
    return mintTokens(app, record, record.actions, record.nonce, refresh)
  }

  async function exchangeRefreshToken(app: OidcApplication, params: Record<string, string>) {
    const record = refreshTokens.get(params.refresh_token ?? '')
    // Auth0's 403 for an unknown, revoked or rotated-away refresh token; Auth0's own SDKs match this text.
    if (!record || record.clientId !== app.clientId || record.revoked) {
      throw new OAuthError(403, 'invalid_grant', 'Unknown or invalid refresh token.')
    }
    if (rotation && record.used) {
      // Reuse detection (Auth0 docs "Refresh Token Rotation"): a rotated token used again revokes its whole family.
      for (const other of refreshTokens.values()) if (other.family === record.family) other.revoked = true
      throw new OAuthError(403, 'invalid_grant', 'Unknown or invalid refresh token.')
    }
    const signedIn = user(record.userId)
    const org = record.orgId ? deps.organization(record.orgId) : undefined
    if (!signedIn || (record.orgId && !org))
      throw new OAuthError(403, 'invalid_grant', 'Unknown or invalid refresh token.')
    const requested = params.scope ? params.scope.split(/\s+/).filter(Boolean) : record.scope
    const scope = requested.filter((s) => record.scope.includes(s))
    let actions: ActionsOutcome
    try {
      // Post-login Actions run on refresh-token exchange too, with the Organization's metadata as it is now.
      actions = await deps.logins.runActions({
        userId: signedIn.user_id,
        email: signedIn.email,
        name: signedIn.name,
        clientId: app.clientId,
        organization: org,
        audience: record.audience,
      })
    } catch (error) {
      const description = error instanceof LoginDeniedError ? error.reason : (error as Error).message
      throw new OAuthError(403, 'access_denied', description)
    }
    const grant: Grant = { ...record, scope }
    let next: string | undefined
    if (rotation) {
      record.used = true
      next = newRefreshToken(record, record.family)
    }
    return mintTokens(app, grant, actions, undefined, next)
  }

  async function token(req: IncomingMessage, res: ServerResponse, entry: Entry, params: Record<string, string>) {
    try {
      const app = authenticateClient(req, params, entry)
      const answer =
        params.grant_type === 'authorization_code'
          ? await exchangeCode(app, params)
          : await exchangeRefreshToken(app, params)
      json(res, entry, 200, answer)
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error
      json(res, entry, error.status, { error: error.error, error_description: error.description })
    }
  }

  async function userinfo(req: IncomingMessage, res: ServerResponse, entry: Entry) {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const record = token ? opaque.get(token) : undefined
    if (record && record.expiresAt > Date.now()) {
      return json(res, entry, 200, { sub: record.userId, ...record.idClaims })
    }
    // JWT access tokens carry the userinfo audience when `openid` was asked for with an audience.
    if (token?.split('.').length === 3) {
      try {
        const issuer = deps.issuer()
        const { payload } = await jwtVerify(token, createLocalJWKSet(await deps.logins.keys.jwks()), {
          issuer,
          audience: `${issuer}userinfo`,
        })
        const found = typeof payload.sub === 'string' ? user(payload.sub) : undefined
        if (found) {
          return json(res, entry, 200, {
            sub: found.user_id,
            name: found.name,
            email: found.email,
            email_verified: true,
          })
        }
      } catch {
        // not ours, expired or not for /userinfo: 401 below
      }
    }
    entry.status = 401
    res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'text/plain' })
    res.end('Unauthorized')
  }

  function logout(req: IncomingMessage, res: ServerResponse, url: URL, entry: Entry) {
    const q = url.searchParams
    const oidc = url.pathname === '/oidc/logout'
    const returnTo = q.get(oidc ? 'post_logout_redirect_uri' : 'returnTo')
    const clientId = q.get('client_id') ?? ''
    const app = applications.find((a) => a.clientId === clientId)
    const session = sessionOf(req)
    if (session) sessions.delete(session.sid)
    const clear = { 'set-cookie': `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=None` }
    if (!returnTo) return html(res, entry, 200, page('Signed out', '<p>You are signed out.</p>'), clear)
    if (!app || !urlAllowed(returnTo, app.logoutUrls, true)) {
      const why = `The "returnTo" URL is not in the application's Allowed Logout URLs: ${returnTo}`
      return html(res, entry, 400, page('Logout URL not allowed', `<p class="error">${escapeHtml(why)}</p>`), clear)
    }
    const target = new URL(returnTo)
    const state = q.get('state')
    if (oidc && state) target.searchParams.set('state', state)
    redirect(res, entry, target.toString(), clear)
  }

  function revoke(req: IncomingMessage, res: ServerResponse, entry: Entry, params: Record<string, string>) {
    try {
      const app = authenticateClient(req, params, entry)
      const record = refreshTokens.get(params.token ?? '')
      if (record && record.clientId === app.clientId) {
        for (const other of refreshTokens.values()) if (other.family === record.family) other.revoked = true
      }
      json(res, entry, 200, undefined)
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error
      json(res, entry, error.status, { error: error.error, error_description: error.description })
    }
  }

  return {
    control,
    async handle(req, res, url, entry, body) {
      const method = (req.method ?? 'GET').toUpperCase()
      const params = formParams(body)
      const path = url.pathname
      const route = `${method} ${path}`
      if (route === 'POST /oauth/token') {
        if (params.grant_type !== 'authorization_code' && params.grant_type !== 'refresh_token') return false
        await token(req, res, entry, params)
        return true
      }
      if (route === 'GET /u/login') {
        const txnId = url.searchParams.get('state') ?? ''
        const txn = takeTransaction(txnId)
        if (txn) loginPage(res, entry, txnId, txn)
        else expired(res, entry)
        return true
      }
      const handlers: Record<string, () => unknown> = {
        'GET /.well-known/openid-configuration': () => json(res, entry, 200, discovery()),
        'GET /authorize': () => authorize(req, res, url, entry),
        'POST /u/login': () => signIn(res, entry, params),
        'POST /u/organization': () => pickOrganization(req, res, entry, params),
        'GET /userinfo': () => userinfo(req, res, entry),
        'POST /userinfo': () => userinfo(req, res, entry),
        'GET /v2/logout': () => logout(req, res, url, entry),
        'GET /oidc/logout': () => logout(req, res, url, entry),
        'POST /oauth/revoke': () => revoke(req, res, entry, params),
      }
      const handler = handlers[route]
      if (!handler) return false
      await handler()
      return true
    },
  }
}

function formParams(body: unknown): Record<string, string> {
  if (typeof body !== 'object' || body === null) return {}
  return Object.fromEntries(
    Object.entries(body).filter((pair): pair is [string, string] => typeof pair[1] === 'string'),
  )
}
