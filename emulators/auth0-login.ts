/**
 * The login slice of the Auth0 emulator: signs a test user in as a member of an Organization, runs the post-login
 * Actions bound in the emulator (the real deployed code, with its secrets) and issues RS256 ID and access tokens
 * signed with a key whose public half is served at /.well-known/jwks.json, as a tenant does.
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

export interface LoginService {
  /** JSON for /.well-known/jwks.json and /.well-known/openid-configuration, undefined for other paths. */
  wellKnown(pathname: string): Promise<unknown>
  login(options?: LoginOptions): Promise<LoginResult>
}

interface OrganizationView {
  id: string
  name: string
  display_name?: string | undefined
  metadata?: Record<string, string> | undefined
}

export interface LoginServiceOptions {
  /** `https://localhost:PORT/`, known once the server listens. */
  issuer(): string
  organization(id: string): OrganizationView | undefined
  postLoginActions(): DeployedAction[]
}

export const DEFAULT_APP_CLIENT_ID = 'emulator-app'
export const DEFAULT_AUDIENCE = 'https://api.example.com/'

export async function createLoginService(options: LoginServiceOptions): Promise<LoginService> {
  const kid = `emulator-${randomUUID().slice(0, 8)}`
  // The RSA key is made on first use: most emulator users never sign anyone in, and key generation takes time.
  let keys: Promise<{ privateKey: CryptoKey; publicJwk: JWK }> | undefined
  const signingKey = () => {
    keys ??= generateKeyPair('RS256', { extractable: true }).then(async ({ privateKey, publicKey }) => ({
      privateKey,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
    }))
    return keys
  }

  async function sign(claims: Record<string, unknown>, audience: string | string[], ttl: number, subject: string) {
    const now = Math.floor(Date.now() / 1000)
    // A negative ttl issues an already expired token (for tests); iat stays before exp.
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .setIssuer(options.issuer())
      .setSubject(subject)
      .setAudience(audience)
      .setIssuedAt(Math.min(now, now + ttl - 60))
      .setExpirationTime(now + ttl)
      .sign((await signingKey()).privateKey)
  }

  return {
    async wellKnown(pathname) {
      const issuer = options.issuer()
      if (pathname === '/.well-known/jwks.json') return { keys: [(await signingKey()).publicJwk] }
      if (pathname === '/.well-known/openid-configuration') {
        return {
          issuer,
          jwks_uri: `${issuer}.well-known/jwks.json`,
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
        }
      }
      return undefined
    },
    async login(login = {}) {
      const userId = login.userId ?? 'auth0|emulator-user'
      const clientId = login.clientId ?? DEFAULT_APP_CLIENT_ID
      const audience = login.audience ?? DEFAULT_AUDIENCE
      const ttl = login.expiresInSeconds ?? 3600
      const org = login.organization === undefined ? undefined : options.organization(login.organization)
      if (login.organization !== undefined && !org) throw new Error(`login: no Organization ${login.organization}`)
      const idClaims: Record<string, unknown> = {}
      const accessClaims: Record<string, unknown> = {}
      const actionLogs: string[] = []
      const droppedClaims: LoginResult['droppedClaims'] = []
      for (const action of options.postLoginActions()) {
        let result: PostLoginResult
        try {
          result = await runPostLogin(
            { code: action.code, filename: `${action.name}.js` },
            {
              user: { user_id: userId, ...(login.email ? { email: login.email } : {}) },
              client: { client_id: clientId, name: clientId },
              organization: org && {
                id: org.id,
                name: org.name,
                ...(org.display_name ? { display_name: org.display_name } : {}),
                metadata: { ...(org.metadata ?? {}) },
              },
              audience,
              secrets: action.secrets,
              tenantId: 'emulator',
            },
          )
        } catch (error) {
          // A throwing Action fails the login, as it does in Auth0.
          throw new Error(`login failed: the post-login Action "${action.name}" threw`, { cause: error })
        }
        actionLogs.push(...result.logs)
        droppedClaims.push(...result.dropped)
        if (result.denied !== undefined) throw new Error(`login denied by "${action.name}": ${result.denied}`)
        Object.assign(idClaims, result.idTokenClaims)
        Object.assign(accessClaims, result.accessTokenClaims)
      }
      const orgClaims = org ? { org_id: org.id, org_name: org.name } : {}
      const idToken = await sign(
        { ...idClaims, ...orgClaims, ...(login.email ? { email: login.email } : {}) },
        clientId,
        ttl,
        userId,
      )
      const accessToken = await sign(
        { ...accessClaims, ...orgClaims, azp: clientId, scope: 'openid profile email' },
        audience,
        ttl,
        userId,
      )
      return { idToken, accessToken, actionLogs, droppedClaims }
    },
  }
}
