/**
 * The reference app (examples/nextjs, `@auth0/nextjs-auth0` v4) in a real Chromium, signing in through the Auth0
 * emulator's sign-in page, against the stack `npm run dev` runs (startDevStack: both Auth0 tenants with the Action
 * deployed, the Content Lake, the functions) without its Studio. The editor's archive and republish are written to
 * that Content Lake as API mutations (what a Studio publish commits), not clicked in the Studio: the Studio's own
 * browser test (studio.test.ts) already proves the Studio publishes an archive, and a second `sanity dev` would
 * cost a minute of this suite's CPU. The app runs under `next dev` (no production build; see README "Tokens and
 * apps" for why and what it costs).
 *
 * Each step saves a screenshot in test-results/browser-nextjs/ (gitignored); a failing step saves FAILED-<step>.png.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient, type SanityClient } from '@sanity/client'
import chromium from '@sparticuz/chromium'
import { type Browser, type BrowserContext, type Page, chromium as playwright } from 'playwright-core'
import { LIVE_POLICY_QUERY } from 'sanity-auth0-access-sync/app'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DevStack, startDevStack } from '../../emulators/dev-stack.ts'
import { type NextApp, referenceAppEnv, seedSampleContent, startNextApp } from '../../scripts/dev-app.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const SHOTS = join(root, 'test-results/browser-nextjs')
const PASSWORD = 'emulator-password'
const ACME_ARTICLES = ['Setting up SSO', 'Q1 market report', 'Webinar: AI in publishing']
const GLOBEX_ARTICLES = ['Partner price list']

let stack: DevStack
let sanity: SanityClient
let app: NextApp
let browser: Browser
const consoleLines: string[] = []
const timings: Record<string, number> = {}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function newUser(): Promise<{ context: BrowserContext; page: Page }> {
  // The emulator's HTTPS side has a self-signed certificate (what a user accepts once, see README).
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 900 } })
  const page = await context.newPage()
  page.setDefaultTimeout(60_000)
  page.on('console', (message) => consoleLines.push(`[${message.type()}] ${message.text().slice(0, 300)}`))
  page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.message}`))
  return { context, page }
}

async function step(page: Page, name: string, action: () => Promise<void>): Promise<void> {
  const started = performance.now()
  try {
    await action()
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
  } catch (error) {
    await page.screenshot({ path: join(SHOTS, `FAILED-${name}.png`), fullPage: true }).catch(() => undefined)
    const message = error instanceof Error ? error.message : String(error)
    throw new Error(
      `${name}: ${message}\nScreenshot: test-results/browser-nextjs/FAILED-${name}.png\nPage console (last 20):\n${consoleLines.slice(-20).join('\n')}\nnext dev (last 2000 chars):\n${app?.output().slice(-2000)}`,
    )
  } finally {
    timings[name] = Math.round(performance.now() - started)
  }
}

/**
 * From the app's signed-out page through the emulator's sign-in page (and picker), back to the app. A user who
 * already has a sign-in session at the emulator is not asked again (Auth0's SSO): the form is filled only if shown.
 */
async function signIn(page: Page, link: string, email: string, shot?: string): Promise<void> {
  await page.goto(app.url, { timeout: 120_000 })
  await page.getByTestId(link).click()
  const form = page.getByLabel('Email address')
  await form
    .or(page.getByTestId('user'))
    .or(page.getByText('error', { exact: false }))
    .first()
    .waitFor()
  if (!(await form.isVisible())) return
  await form.fill(email)
  await page.getByLabel('Password').fill(PASSWORD)
  if (shot) await page.screenshot({ path: join(SHOTS, `${shot}.png`) })
  await page.getByRole('button', { name: 'Continue' }).click()
}

const texts = (page: Page, testId: string) => page.getByTestId(testId).locator('li').allTextContents()

/**
 * The editor's write, as a Studio publish commits it to the Content Lake; then the functions' sync to Auth0, and the
 * wait until queries see it: the Content Lake answers queries with a lag ("there is a delay between a transaction
 * being committed and the changes being visible to queries", platform-facts.md), which the dev stack emulates. The
 * app's next request after that is the one that must show the change. Returns the lag observed, in ms.
 */
async function setAcmeStatus(status: 'active' | 'archived'): Promise<number> {
  const written = performance.now()
  await stack.lake.transact([{ patch: { id: 'policy-acme', set: { status } } }], undefined, 'production')
  await stack.runner.settled()
  for (let polls = 0; polls < 300; polls++) {
    const rows = await sanity.fetch<unknown[]>(LIVE_POLICY_QUERY, { organizationId: 'org_acme123' })
    if (rows.length > 0 === (status === 'active')) return Math.round(performance.now() - written)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`queries never showed policy-acme as ${status}`)
}

beforeAll(async () => {
  rmSync(SHOTS, { recursive: true, force: true })
  mkdirSync(SHOTS, { recursive: true })
  let started = performance.now()
  stack = await startDevStack({ studio: false, envDir: false })
  const production = stack.environments[0]
  if (!production) throw new Error('the dev stack has no production environment')
  await seedSampleContent(production.env)
  const { env } = production
  sanity = createClient({
    projectId: env.SANITY_PROJECT_ID as string,
    dataset: env.SANITY_DATASET as string,
    apiHost: env.SANITY_API_HOST as string,
    useProjectHostname: false,
    apiVersion: '2025-05-01',
    useCdn: false,
    perspective: 'published',
  })
  // Globex gets a policy of its own, so the two Organizations' users have different content to (not) leak.
  await stack.lake.transact(
    [
      {
        createOrReplace: {
          _id: 'policy-globex',
          _type: 'accessPolicy',
          title: 'Globex — Team access',
          auth0OrganizationId: 'org_globex456',
          plan: 'team',
          role: { _type: 'reference', _ref: 'role-viewer' },
          allowedContentTags: ['partners', 'pricing'],
          status: 'active',
        },
      },
    ],
    undefined,
    'production',
  )
  await stack.runner.settled()
  timings['dev stack'] = Math.round(performance.now() - started)
  started = performance.now()
  const port = await freePort()
  app = await startNextApp(referenceAppEnv(production.env, port), port)
  timings['next dev ready'] = Math.round(performance.now() - started)
  browser = await playwright.launch({
    executablePath: await chromium.executablePath(),
    args: chromium.args,
    headless: true,
  })
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await app?.stop()
  await stack?.close()
  console.log(`reference app browser test timings (ms): ${JSON.stringify(timings)}`)
})

describe('the reference app in Chromium', () => {
  let alice: { context: BrowserContext; page: Page }
  let bob: { context: BrowserContext; page: Page }

  it('1. Alice (member of Acme) signs in to Acme through the sign-in page: Acme content and her onboarding', async () => {
    alice = await newUser()
    const { page } = alice
    await step(page, '1-alice-signed-in', async () => {
      await signIn(page, 'sign-in-org_acme123', 'alice@acme.test', '1-emulator-sign-in-page')
      await page.getByTestId('user').waitFor({ timeout: 120_000 })
      expect(await page.getByTestId('organization').textContent()).toBe('org_acme123')
      expect(await page.getByTestId('plan').textContent()).toBe('pro')
      expect(await page.getByTestId('role').textContent()).toBe('editor')
      expect((await texts(page, 'content')).sort()).toEqual([...ACME_ARTICLES].sort())
      expect(await texts(page, 'onboarding')).toEqual(
        expect.arrayContaining(['Editing checklist', 'Pro plan features', 'Welcome to the portal']),
      )
      expect(await texts(page, 'onboarding')).not.toContain('How to browse')
    })
  }, 240_000)

  it('2. Bob (not a member of Acme) cannot sign in to Acme', async () => {
    bob = await newUser()
    const { page } = bob
    const callbacks: string[] = []
    page.on('request', (request) => {
      if (request.url().includes('/auth/callback')) callbacks.push(request.url())
    })
    await step(page, '2-bob-refused-at-acme', async () => {
      await signIn(page, 'sign-in-org_acme123', 'bob@globex.test')
      // Auth0's answer reaches the app's callback; the app shows Auth0's reason and keeps no session.
      await page.getByTestId('login-error').waitFor()
      const refused = new URL(callbacks.find((url) => url.includes('error=')) ?? app.url)
      expect(refused.searchParams.get('error')).toBe('access_denied')
      expect(refused.searchParams.get('error_description')).toBe(
        'user auth0|bob is not part of the org_acme123 organization',
      )
      expect(await page.getByTestId('login-error').textContent()).toBe(
        'Sign-in refused: user auth0|bob is not part of the org_acme123 organization',
      )
      expect(await page.getByTestId('user').count()).toBe(0)
    })
  }, 120_000)

  it('cache safety: Alice (Acme) and Bob (Globex) each see only their content, on first load and on reload', async () => {
    const { page } = bob
    await step(page, '2b-bob-signed-in-to-globex', async () => {
      // Bob did sign in at step 2 (the emulator knows him); only Acme refused him. Globex is his.
      await signIn(page, 'sign-in-org_globex456', 'bob@globex.test')
      await page.getByTestId('user').waitFor()
      expect(await texts(page, 'content')).toEqual(GLOBEX_ARTICLES)
    })
    for (let round = 0; round < 2; round++) {
      await alice.page.reload()
      const aliceSees = await texts(alice.page, 'content')
      await bob.page.reload()
      const bobSees = await texts(bob.page, 'content')
      expect(aliceSees.sort()).toEqual([...ACME_ARTICLES].sort())
      expect(bobSees).toEqual(GLOBEX_ARTICLES)
    }
    const response = await alice.page.reload()
    expect(response?.headers()['cache-control']).toMatch(/no-store/)
  }, 120_000)

  it("3. the editor archives Acme's policy: Alice's next request shows no gated content", async () => {
    const { page } = alice
    await step(page, '3-archived-no-gated-content', async () => {
      timings['archive visible to queries'] = await setAcmeStatus('archived')
      await page.reload()
      await page.getByTestId('decision').waitFor()
      expect(await page.getByTestId('decision').textContent()).toMatch(/no gated content \(policy-revoked/)
      expect(await texts(page, 'content')).toEqual([])
      expect(await texts(page, 'onboarding')).toEqual([])
      // Her token still carries the claims: it is the live policy that stopped the access, not the token's expiry.
      expect(await page.getByTestId('token-allows').textContent()).toMatch(/tags docs, reports, webinars/)
    })
  }, 120_000)

  it('3b. "Refresh access" while archived: the post-login Action runs on the refresh, the new token has no claims', async () => {
    const { page } = alice
    await step(page, '3b-refreshed-while-archived', async () => {
      await page.getByTestId('refresh').click()
      await page.waitForURL(`${app.url}/`)
      await page.getByTestId('token-allows').waitFor()
      expect(await page.getByTestId('token-allows').textContent()).toMatch(/^nothing \(no-access-claims/)
      expect(await texts(page, 'content')).toEqual([])
    })
  }, 120_000)

  it('4. the editor republishes it: a grant waits for the refresh; after "Refresh access" Alice sees it again', async () => {
    const { page } = alice
    await step(page, '4-republished-after-refresh', async () => {
      timings['republish visible to queries'] = await setAcmeStatus('active')
      // Her token (refreshed while archived) grants nothing, so the republished policy alone shows nothing yet.
      await page.reload()
      await page.getByTestId('token-allows').waitFor()
      expect(await texts(page, 'content')).toEqual([])
      await page.getByTestId('refresh').click()
      await page.waitForURL(`${app.url}/`)
      await page.getByTestId('content').locator('li').first().waitFor()
      expect((await texts(page, 'content')).sort()).toEqual([...ACME_ARTICLES].sort())
      expect(await page.getByTestId('token-allows').textContent()).toMatch(/tags docs, reports, webinars/)
    })
  }, 120_000)

  it('5. Alice signs out: the app session and the emulator session are gone', async () => {
    const { page, context } = alice
    await step(page, '5-signed-out', async () => {
      await page.getByTestId('sign-out').click()
      await page.getByTestId('sign-in-org_acme123').waitFor()
      expect(await page.getByTestId('user').count()).toBe(0)
      expect((await context.cookies(app.url)).map((cookie) => cookie.name)).not.toContain('__session')
      // Signing in again asks for the password: the emulator's sign-in session ended too.
      await page.getByTestId('sign-in-org_acme123').click()
      await page.getByLabel('Password').waitFor()
    })
  }, 120_000)
})
