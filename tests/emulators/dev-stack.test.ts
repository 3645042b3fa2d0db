/**
 * `npm run dev`'s stack (without the Studio): two environments in one emulated project, production and staging,
 * each with its own dataset, its own Auth0 emulator tenant and its own scoped functions. Staging is seeded as a
 * `sanity dataset copy` of production (the same `org_…` IDs). A publish in staging, made with the real
 * `@sanity/client` from the settings `.env.dev-staging` holds, reaches the staging tenant and sends nothing to
 * production's; the settings files load with `loadEnvironment`, as every `--env` command reads them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { get } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@sanity/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DevStack, startDevStack } from '../../emulators/dev-stack.ts'
import { openFirstLine, readySummary } from '../../scripts/dev.ts'
import { loadEnvironment } from '../../src/environment.ts'

let stack: DevStack
let envDir: string
/** In order: `api` when the HTTPS side's certificate page could be opened, then every line the stack logged. */
const events: string[] = []
beforeAll(async () => {
  envDir = mkdtempSync(join(tmpdir(), 'dev-stack-'))
  stack = await startDevStack({
    studio: false,
    envDir,
    onStudioApi: (studioApi) => events.push(`api ${studioApi.projectUrl}`),
    log: (line) => events.push(line),
  })
}, 60_000)
afterAll(async () => {
  await stack?.close()
  rmSync(envDir, { recursive: true, force: true })
})

const tenant = (name: string) => {
  const environment = stack.environments.find((candidate) => candidate.name === name)
  if (!environment) throw new Error(`no environment ${name}`)
  return environment.auth0
}

describe('npm run dev: two environments', () => {
  it('hosts production and staging in one project, each environment with its own tenant and scoped functions', () => {
    expect(stack.lake.datasets).toEqual(['production', 'staging'])
    expect(tenant('production').domain).not.toBe(tenant('staging').domain)
    expect(
      stack.runner.deployments.map(({ environment, functionName, resource }) => [environment, functionName, resource]),
    ).toEqual([
      ['production', 'sync-access-policy', 'local-studio.production'],
      ['production', 'fan-out-role', 'local-studio.production'],
      ['production', 'fan-out-plan', 'local-studio.production'],
      ['staging', 'sync-access-policy', 'local-studio.staging'],
      ['staging', 'fan-out-role', 'local-studio.staging'],
      ['staging', 'fan-out-plan', 'local-studio.staging'],
    ])
    // Staging is a copy: the same documents and Organization IDs; each seed synced its own tenant.
    const ids = (dataset: string) =>
      stack.lake
        .documents(dataset)
        .filter((doc) => doc._type !== 'accessSyncStatus')
        .map((doc) => doc._id)
    expect(ids('staging')).toEqual(ids('production'))
    for (const name of ['production', 'staging']) {
      expect(tenant(name).getOrganization('org_acme123')?.metadata).toMatchObject({
        sanityPolicyId: 'policy-acme',
        plan: 'pro',
      })
    }
    expect(stack.runner.invocations.filter(({ error }) => error !== undefined)).toEqual([])
  })

  it('deploys and binds the post-login Action in each tenant, as deploy-action --env dev-<name> does', () => {
    for (const name of ['production', 'staging']) {
      expect(
        tenant(name)
          .actions.bound('post-login')
          .map((action) => action.name),
      ).toEqual(['sanity-access-claims'])
    }
  })

  it('writes .env.dev-production and .env.dev-staging with the agreed settings, loadable with --env', () => {
    for (const environment of stack.environments) {
      expect(environment.envFile).toBe(join(envDir, `.env.dev-${environment.name}`))
      const { env, name } = loadEnvironment(`dev-${environment.name}`, {}, { cwd: envDir })
      expect(name).toBe(`dev-${environment.name}`)
      expect(env).toMatchObject({
        SANITY_PROJECT_ID: 'local-studio',
        SANITY_DATASET: environment.dataset,
        SANITY_API_HOST: stack.lake.url,
        SANITY_API_TOKEN: expect.any(String),
        AUTH0_DOMAIN: environment.auth0.domain,
        AUTH0_CLIENT_ID: expect.any(String),
        AUTH0_CLIENT_SECRET: expect.any(String),
        AUTH0_DEPLOY_CLIENT_ID: expect.any(String),
        AUTH0_DEPLOY_CLIENT_SECRET: expect.any(String),
        CLAIM_NAMESPACE: expect.stringMatching(/^https:\/\//),
        NODE_EXTRA_CA_CERTS: expect.stringMatching(/cert\.pem$/),
      })
    }
    expect(readFileSync(join(envDir, '.env.dev-staging'), 'utf8')).toMatch(
      /^# Environment dev-staging: written by `npm run dev`/,
    )
  })

  it('a publish in staging reaches the staging tenant only: 0 requests to the production tenant', async () => {
    const { env } = loadEnvironment('dev-staging', {}, { cwd: envDir })
    const editor = createClient({
      projectId: env.SANITY_PROJECT_ID,
      dataset: env.SANITY_DATASET,
      apiHost: env.SANITY_API_HOST,
      useProjectHostname: false,
      useCdn: false,
      apiVersion: '2025-05-01',
      token: env.SANITY_API_TOKEN,
    })
    tenant('production').clearRequests()
    tenant('staging').clearRequests()
    await editor.patch('policy-acme').set({ plan: 'team' }).commit()
    await stack.runner.settled()

    expect(tenant('staging').getOrganization('org_acme123')?.metadata).toMatchObject({ plan: 'team' })
    expect(tenant('staging').count({ path: /organizations/ })).toBeGreaterThan(0)
    expect(tenant('production').requests).toHaveLength(0)
    expect(tenant('production').getOrganization('org_acme123')?.metadata).toMatchObject({ plan: 'pro' })
    expect(stack.lake.getDocument('policy-acme', 'production')?.plan).toBe('pro')
  })
})

/**
 * GET of the certificate page as a browser that accepted the certificate does it: the printed host
 * (`local-studio.localhost`, which browsers resolve to this machine) and the certificate `.tls/studio/` holds.
 */
function openCertificatePage(url: string): Promise<{ status: number; location: string | undefined; body: string }> {
  const ca = readFileSync(new URL('../../.tls/studio/cert.pem', import.meta.url), 'utf8')
  return new Promise((resolve, reject) => {
    const request = get(
      url,
      {
        ca,
        lookup: (_host, options, callback) =>
          options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4),
      },
      (response) => {
        let body = ''
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString()
        })
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, location: response.headers.location, body }),
        )
      },
    )
    request.on('error', reject)
  })
}

describe('npm run dev: the first minute', () => {
  const studioUrl = 'http://localhost:3333'

  it('the certificate page opens the Studio once it serves, and until then waits for it', async () => {
    expect(stack.studioApi.projectUrl).toMatch(/^https:\/\/local-studio\.localhost:\d+\/$/)
    // No Studio yet (this stack starts none): the page says so and reloads itself.
    const starting = await openCertificatePage(stack.studioApi.projectUrl)
    expect(starting.status).toBe(200)
    expect(starting.body).toContain('<meta http-equiv="refresh" content="2">')
    expect(starting.body).toMatch(/The Studio is still starting/)
    // What startDevStack does once `sanity dev` answers.
    stack.studioApi.setStudioUrl(studioUrl)
    try {
      const ready = await openCertificatePage(stack.studioApi.projectUrl)
      expect(ready.status).toBe(303)
      expect(ready.location).toBe(studioUrl)
      expect(ready.body).toContain(`<a href="${studioUrl}">`)
    } finally {
      stack.studioApi.setStudioUrl(undefined)
    }
  })

  it('prints the certificate page first, as soon as it listens, and says why', () => {
    // Before the Action deploys, the seeding and the Studio: the first line npm run dev prints after "Starting".
    expect(events[0]).toBe(`api ${stack.studioApi.projectUrl}`)
    expect(openFirstLine(stack.studioApi.projectUrl)).toMatch(
      /^Open first: https:\/\/local-studio\.localhost:\d+\/ .*certificate.*opens the Studio/,
    )
    const summary = readySummary({ ...stack, studioUrl }, 42)
    const addresses = summary.match(/https?:\/\/\S+/g) ?? []
    expect(addresses.slice(0, 2)).toEqual([stack.studioApi.projectUrl, studioUrl])
    const lines = summary.split('\n')
    const first = lines.findIndex((line) => line.includes(stack.studioApi.projectUrl))
    expect(lines[first]).toMatch(
      /^ {2}Open first: +https:\S+ +\(accept the certificate warning: it then opens the Studio\)$/,
    )
    // The lines above it say why: a self-signed certificate, or the Studio's "Network error".
    expect(lines.slice(0, first).join(' ')).toMatch(/self-signed certificate.*"Network error"/)
  })
})
