/**
 * The login slice of the Auth0 emulator: the tenant's signing keys (a key ring with a current, a next and, after a
 * rotation, a previous key, all served at /.well-known/jwks.json), the post-login Actions bound in the emulator (the
 * real deployed code, with its secrets) and RS256 token signing. The HTTP sign-in (/authorize, /oauth/token …) is
 * emulators/auth0-oidc.ts; `login()` here is the function-call shortcut the older tests and the demo use.
 */
import { randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'
import { type PostLoginResult, runPostLogin } from './auth0-action-runtime.ts'
import type { DeployedAction } from './auth0-actions.ts'

export interface LoginOptions {
  /** Organization ID the user signs in to; omit for a login without an Organization. */
  organization?: string
  userId?: string
  email?: string
  /** The application (`aud` of the ID token). Default `emulator-app`. */
  clientId?: string
  /** The API (`aud` of the access token). Default `https://api.example.com/`. */
  audience?: string
  /** Token lifetime in seconds; negative for an already expired token. Default 3600. */
  expiresInSeconds?: number
}

export interface LoginResult {
  idToken: string
  accessToken: string
  /** What each Action logged, in order (Auth0's real-time logs). */
  actionLogs: string[]
  /** Custom claims Auth0 would have dropped silently. */
  droppedClaims: PostLoginResult['dropped']
}

export interface OrganizationView {
  id: string
  name: string
  display_name?: string | undefined
  metadata?: Record<string, string> | undefined
}

/** What the post-login Actions made of one login (or one refresh-token exchange). */
export interface ActionsOutcome {
  idClaims: Record<string, unknown>
  accessClaims: Record<string, unknown>
  logs: string[]
  dropped: PostLoginResult['dropped']
}

/** A post-login Action called `api.access.deny(reason)`: the login (or refresh) fails with `access_denied`. */
export class LoginDeniedError extends Error {
  readonly action: string
  readonly reason: string
  constructor(action: string, reason: string) {
    super(`login denied by "${action}": ${reason}`)
    this.action = action
    this.reason = reason
  }
}

export interface ActionsInput {
  userId: string
  email?: string | undefined
  name?: string | undefined
  clientId: string
  organization: OrganizationView | undefined
  audience: string | undefined
}

export interface SignOptions {
  audience: string | string[]
  subject: string
  /** Lifetime in seconds; negative issues an already expired token (tests). */
  ttl: number
}

export interface KeyRing {
  /** The public keys, current first, then next, then previous (if any). */
  jwks(): Promise<{ keys: JWK[] }>
  sign(claims: Record<string, unknown>, options: SignOptions): Promise<string>
  /**
   * Auth0's "Rotate signing key" (Dashboard > Settings > Signing Keys): the next key becomes current, a new next key
   * is made, the old current stays published as previous until `revokePreviousKey()`. Tokens signed before keep
   * verifying; apps that cached the JWKS already know the new current key (it was published as next).
   */
  rotate(): Promise<void>
  /** Auth0's "Revoke" of the previous key: it leaves the JWKS, tokens it signed stop verifying. */
  revokePrevious(): void
  /** The `kid` of the key signing now. */
  currentKid(): Promise<string>
}

export interface LoginService {
  readonly keys: KeyRing
  /** Runs the bound post-login Actions, as Auth0 does on sign-in and on refresh-token exchange. */
  runActions(input: ActionsInput): Promise<ActionsOutcome>
  /** JSON for /.well-known/jwks.json, undefined for other paths (discovery is emulators/auth0-oidc.ts). */
  wellKnown(pathname: string): Promise<unknown>
  login(options?: LoginOptions): Promise<LoginResult>
}

export interface LoginServiceOptions {
  /** `https://localhost:PORT/`, known once the server listens. */
  issuer(): string
  organization(id: string): OrganizationView | undefined
  postLoginActions(): DeployedAction[]
}

export const DEFAULT_APP_CLIENT_ID = 'emulator-app'
export const DEFAULT_AUDIENCE = 'https://api.example.com/'

interface SigningKey {
  kid: string
  privateKey: CryptoKey
  publicJwk: JWK
}

async function makeKey(): Promise<SigningKey> {
  const kid = `emulator-${randomUUID().slice(0, 8)}`
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } }
}

export function createKeyRing(issuer: () => string): KeyRing {
  // Keys are made on first use: most emulator users never sign anyone in, and RSA key generation takes time.
  let ring: Promise<{ current: SigningKey; next: SigningKey; previous?: SigningKey | undefined }> | undefined
  const keys = () => {
    ring ??= Promise.all([makeKey(), makeKey()]).then(([current, next]) => ({ current, next }))
    return ring
  }
  return {
    async jwks() {
      const { current, next, previous } = await keys()
      return { keys: [current, next, ...(previous ? [previous] : [])].map((key) => key.publicJwk) }
    },
    async sign(claims, { audience, subject, ttl }) {
      const { current } = await keys()
      const now = Math.floor(Date.now() / 1000)
      // A negative ttl issues an already expired token (for tests); iat stays before exp.
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: current.kid })
        .setIssuer(issuer())
        .setSubject(subject)
        .setAudience(audience)
        .setIssuedAt(Math.min(now, now + ttl - 60))
        .setExpirationTime(now + ttl)
        .sign(current.privateKey)
    },
    async rotate() {
      const { current, next } = await keys()
      const fresh = await makeKey()
      ring = Promise.resolve({ current: next, next: fresh, previous: current })
    },
    revokePrevious() {
      if (!ring) return
      ring = ring.then(({ current, next }) => ({ current, next }))
    },
    async currentKid() {
      return (await keys()).current.kid
    },
  }
}

export async function createLoginService(options: LoginServiceOptions): Promise<LoginService> {
  const keys = createKeyRing(options.issuer)

  async function runActions(input: ActionsInput): Promise<ActionsOutcome> {
    const outcome: ActionsOutcome = { idClaims: {}, accessClaims: {}, logs: [], dropped: [] }
    const org = input.organization
    for (const action of options.postLoginActions()) {
      let result: PostLoginResult
      try {
        result = await runPostLogin(
          { code: action.code, filename: `${action.name}.js` },
          {
            user: {
              user_id: input.userId,
              ...(input.email ? { email: input.email } : {}),
              ...(input.name ? { name: input.name } : {}),
            },
            client: { client_id: input.clientId, name: input.clientId },
            organization: org && {
              id: org.id,
              name: org.name,
              ...(org.display_name ? { display_name: org.display_name } : {}),
              metadata: { ...(org.metadata ?? {}) },
            },
            audience: input.audience,
            secrets: action.secrets,
            tenantId: 'emulator',
          },
        )
      } catch (error) {
        // A throwing Action fails the login, as it does in Auth0.
        throw new Error(`login failed: the post-login Action "${action.name}" threw`, { cause: error })
      }
      outcome.logs.push(...result.logs)
      outcome.dropped.push(...result.dropped)
      if (result.denied !== undefined) throw new LoginDeniedError(action.name, result.denied)
      Object.assign(outcome.idClaims, result.idTokenClaims)
      Object.assign(outcome.accessClaims, result.accessTokenClaims)
    }
    return outcome
  }

  return {
    keys,
    runActions,
    async wellKnown(pathname) {
      if (pathname === '/.well-known/jwks.json') return keys.jwks()
      return undefined
    },
    async login(login = {}) {
      const userId = login.userId ?? 'auth0|emulator-user'
      const clientId = login.clientId ?? DEFAULT_APP_CLIENT_ID
      const audience = login.audience ?? DEFAULT_AUDIENCE
      const ttl = login.expiresInSeconds ?? 3600
      const org = login.organization === undefined ? undefined : options.organization(login.organization)
      if (login.organization !== undefined && !org) throw new Error(`login: no Organization ${login.organization}`)
      const outcome = await runActions({ userId, email: login.email, clientId, organization: org, audience })
      // The shortcut keeps its friendlier shapes (aud a string, org_name always): the HTTP sign-in has Auth0's.
      const orgClaims = org ? { org_id: org.id, org_name: org.name } : {}
      const idToken = await keys.sign(
        { ...outcome.idClaims, ...orgClaims, ...(login.email ? { email: login.email } : {}) },
        { audience: clientId, ttl, subject: userId },
      )
      const accessToken = await keys.sign(
        { ...outcome.accessClaims, ...orgClaims, azp: clientId, scope: 'openid profile email' },
        { audience, ttl, subject: userId },
      )
      return { idToken, accessToken, actionLogs: outcome.logs, droppedClaims: outcome.dropped }
    },
  }
}
