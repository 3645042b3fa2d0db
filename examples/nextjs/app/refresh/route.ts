import { NextResponse } from 'next/server'
import { auth0 } from '../../lib/auth0.ts'

/**
 * "Refresh access": a refresh-token exchange, on which Auth0 runs the post-login Action again, so the new tokens carry
 * the Organization's metadata as it is now (grants included). The route handler can save the new token set.
 */
export async function GET(request: Request) {
  try {
    await auth0.getAccessToken({ refresh: true })
  } catch {
    // The refresh failed (revoked token, session gone): sign in again.
    return NextResponse.redirect(new URL('/auth/login', request.url))
  }
  return NextResponse.redirect(new URL('/', request.url))
}
