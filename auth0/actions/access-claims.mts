/**
 * The Auth0 post-login Action. Source of auth0/actions/access-claims.js, which `npm run build:action` compiles
 * (esbuild, CommonJS, Node 22, the shared codec inlined) and `npx access-sync deploy-action` deploys.
 *
 * Turns the Organization's access metadata into the same namespaced claims on the ID token and the access
 * token. Fails closed and never throws: a throwing Action blocks every login of the tenant.
 */
import { decideClaims } from '../../src/core/claims.ts'

/** The slice of Auth0's post-login `event` this Action reads. */
export interface PostLoginEvent {
  readonly organization?: { readonly id?: unknown; readonly metadata?: unknown } | undefined
  readonly secrets?: Readonly<Record<string, unknown>> | undefined
}

interface TokenApi {
  setCustomClaim(name: string, value: unknown): unknown
}

/** The slice of Auth0's post-login `api` this Action calls. */
export interface PostLoginApi {
  readonly idToken: TokenApi
  readonly accessToken: TokenApi
}

type PostLoginHandler = (event: PostLoginEvent, api: PostLoginApi) => Promise<void>
// Auth0 loads the Action as a CommonJS module; the build wraps this file in a function, so `exports` is the module's.
declare const exports: { onExecutePostLogin: PostLoginHandler }

exports.onExecutePostLogin = async (event, api) => {
  try {
    const decision = decideClaims(event?.organization, event?.secrets?.CLAIM_NAMESPACE)
    if (!decision.grant) {
      console.log(decision.log)
      return
    }
    for (const [name, value] of Object.entries(decision.claims)) {
      api.idToken.setCustomClaim(name, value)
      api.accessToken.setCustomClaim(name, value)
    }
  } catch (error) {
    // Unreachable by design (decideClaims never throws); kept so a broken `api` object cannot block logins.
    console.log(`access-claims: no access claims (error): ${error instanceof Error ? error.name : 'unknown error'}`)
  }
}
