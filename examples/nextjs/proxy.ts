import type { NextRequest } from 'next/server'
import { auth0 } from './lib/auth0.ts'

/** Mounts /auth/login, /auth/callback, /auth/logout … and rolls the session cookie (@auth0/nextjs-auth0 v4). */
export async function proxy(request: NextRequest) {
  return auth0.middleware(request)
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}
