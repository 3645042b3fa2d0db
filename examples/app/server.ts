/**
 * An example app: one HTTP endpoint that serves Sanity content gated by the caller's Auth0 token, using only the
 * package export an app would use (`sanity-auth0-access-sync/app`).
 *
 *   GET /content   Authorization: Bearer <access token>
 *   200 { claims, content, onboarding }      what the token's claims allow
 *   401 { reason, message }                  no token, or a token that does not verify
 *   403 { reason, message }                  a valid token without (valid) access claims
 *
 * Run it against a real tenant and project: AUTH0_DOMAIN, AUTH0_AUDIENCE, CLAIM_NAMESPACE (optional),
 * SANITY_PROJECT_ID, SANITY_DATASET, SANITY_API_TOKEN (optional, for private datasets), PORT (default 3000):
 * `node examples/app/server.ts`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import process from 'node:process'
import { parseArgs } from 'node:util'
import { createClient, type SanityClient } from '@sanity/client'
import {
  type AccessVerifier,
  createAccessVerifier,
  type DenyReason,
  type GatedContent,
  gatedContentQuery,
} from 'sanity-auth0-access-sync/app'
import { loadEnvironment } from '../../src/environment.ts'

export interface ExampleApp {
  readonly url: string
  close(): Promise<void>
}

/** Reasons that mean "who are you?" (401) rather than "you may not" (403). */
const UNAUTHENTICATED: ReadonlySet<DenyReason> = new Set([
  'missing-token',
  'token-too-large',
  'malformed-token',
  'algorithm-not-allowed',
  'bad-signature',
  'unknown-key',
  'expired',
  'not-yet-valid',
  'wrong-issuer',
  'wrong-audience',
  'invalid-token',
])

export async function startExampleApp(options: {
  verifier: AccessVerifier
  sanity: SanityClient
  port?: number
}): Promise<ExampleApp> {
  const { verifier, sanity } = options

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
      res.end(JSON.stringify(body))
    }
    const path = new URL(req.url ?? '/', 'http://app').pathname
    if (req.method !== 'GET' || path !== '/content') return send(404, { message: 'GET /content' })
    const decision = await verifier.verifyAuthorization(req.headers.authorization)
    if (!decision.allow) {
      const { reason, message } = decision
      return send(UNAUTHENTICATED.has(reason) ? 401 : 403, { reason, message, content: [], onboarding: [] })
    }
    const { query, params } = gatedContentQuery(decision.claims)
    const result = await sanity.fetch<GatedContent>(query, { ...params })
    send(200, { claims: decision.claims, ...result })
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ message: 'content could not be loaded' }))
    })
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

if (import.meta.main) {
  // `node examples/app/server.ts --env production` reads .env.production, as every entry point does.
  const { values } = parseArgs({ options: { env: { type: 'string' } } })
  const { env } = loadEnvironment(values.env, process.env)
  const need = (name: string) => {
    const value = env[name]?.trim()
    if (!value) throw new Error(`${name} is not set`)
    return value
  }
  const app = await startExampleApp({
    verifier: createAccessVerifier({
      domain: need('AUTH0_DOMAIN'),
      audience: need('AUTH0_AUDIENCE'),
      ...(env.CLAIM_NAMESPACE ? { namespace: env.CLAIM_NAMESPACE } : {}),
    }),
    sanity: createClient({
      projectId: need('SANITY_PROJECT_ID'),
      dataset: need('SANITY_DATASET'),
      apiVersion: '2025-05-01',
      useCdn: false,
      perspective: 'published',
      ...(env.SANITY_API_TOKEN ? { token: env.SANITY_API_TOKEN } : {}),
    }),
    port: Number(env.PORT ?? 3000),
  })
  console.log(`example app on ${app.url}/content`)
}
