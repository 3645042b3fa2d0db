/**
 * Which host AUTH0_DOMAIN names, and what Auth0's token endpoint means when it refuses the Management API there.
 * The Management API's audience is `https://<canonical tenant domain>/api/v2/`; a custom domain (login.acme.com)
 * serves logins and tokens for your own APIs, but its token endpoint refuses the Management API audience with 403
 * (../shared/reference/platform-facts.md, "Management API audience"). Pure.
 */

/** `canonical`: `<tenant>[.<region>].auth0.com`; `local`: a loopback host (the emulator); `custom`: anything else. */
export type DomainKind = 'canonical' | 'local' | 'custom'

const CANONICAL = /^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)?\.auth0\.com$/
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/

export function domainKind(domain: string): DomainKind {
  const host = domain
    .trim()
    .toLowerCase()
    .replace(/:\d{1,5}$/, '')
  if (CANONICAL.test(host)) return 'canonical'
  if (LOOPBACK.test(host) || host.endsWith('.localhost')) return 'local'
  return 'custom'
}

/** The refusal a custom domain gives the Management API audience (`error_description` of the 403). */
const NOT_THIS_DOMAIN = /service not enabled within domain/i
/** The refusal an application without a grant on the Management API gets. */
const NO_GRANT = /client-grant|not authorized to access/i

export type TokenRefusal = 'custom-domain' | 'no-grant' | 'other'

/** Why the token endpoint answered 403, from its `error_description` and the domain's name. */
export function tokenRefusal(domain: string, description: string | undefined): TokenRefusal {
  if (description && NOT_THIS_DOMAIN.test(description)) return 'custom-domain'
  if (description && NO_GRANT.test(description)) return 'no-grant'
  return domainKind(domain) === 'custom' ? 'custom-domain' : 'other'
}

/** The fix for a custom AUTH0_DOMAIN, in one sentence an operator can act on. */
export function customDomainFix(domain: string): string {
  return `AUTH0_DOMAIN=${domain} is a custom domain, where Auth0 issues no Management API token: set AUTH0_DOMAIN to the tenant's canonical domain, <tenant>.auth0.com or <tenant>.<region>.auth0.com (Dashboard > Settings, or the domain of the Auth0 Management API under Applications > APIs); apps and the Action's token issuer may keep using ${domain}`
}

export const NO_GRANT_FIX =
  'authorize the application for the Auth0 Management API with read:organizations and update:organizations (Applications > APIs > Auth0 Management API > Machine to Machine Applications)'
