import { Auth0Client } from '@auth0/nextjs-auth0/server'
import { NextResponse } from 'next/server'

/**
 * The Auth0 client: AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, AUTH0_SECRET and APP_BASE_URL come from the
 * environment (.env.local for a real tenant; `npm run dev:app` sets them for the emulator). The access token is asked
 * for the API (AUTH0_AUDIENCE): without an audience Auth0 issues an opaque token the app helper cannot verify.
 * `offline_access` gets a refresh token, so "Refresh access" can fetch new claims (the post-login Action runs again).
 */
export const auth0 = new Auth0Client({
  // The Auth0 emulator listens on https://localhost:PORT, which the SDK accepts only in its dev mode (a real tenant
  // needs neither: AUTH0_DOMAIN is a bare hostname there). See normalizeDomain in @auth0/nextjs-auth0.
  ...(process.env.AUTH0_EMULATOR === 'true' ? { allowInsecureRequests: true } : {}),
  authorizationParameters: {
    audience: process.env.AUTH0_AUDIENCE,
    scope: 'openid profile email offline_access',
  },
  // A refused sign-in (e.g. not a member of the Organization: Auth0's access_denied) goes back to the home page with
  // Auth0's own description, instead of the SDK's generic error page.
  async onCallback(error, context) {
    const base = context.appBaseUrl ?? process.env.APP_BASE_URL ?? 'http://localhost:3000'
    if (!error) return NextResponse.redirect(new URL(context.returnTo ?? '/', base))
    const home = new URL('/', base)
    const cause = (error as { cause?: { message?: unknown } }).cause
    home.searchParams.set('login_error', typeof cause?.message === 'string' ? cause.message : error.message)
    return NextResponse.redirect(home)
  },
})
