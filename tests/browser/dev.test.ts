/**
 * `npm run dev` in a real Chromium (playwright-core + @sparticuz/chromium): the Studio and the reference app
 * (examples/nextjs, `@auth0/nextjs-auth0` v4, under `next dev`) against ONE stack, as a user runs them. The script
 * is started as a user would start it (it restarts itself with the emulator certificate); the app gets the
 * settings it writes (`.env.dev-production`, what `npm run dev:app` reads). One dev stack, one browser, the
 * scenarios in order:
 *
 * 1. the Studio: the editor's steps go through its UI, the outcome is read from the Auth0 emulator with the real
 *    `auth0` SDK; the Globex policy created here is the one Bob's Organization has in 2.;
 * 2. the reference app: Alice and Bob sign in through the emulator's sign-in page; the editor archives Acme's
 *    policy in the Studio (step 3) and republishes it there (step 4), clicked as a user clicks them, and Alice's
 *    next requests show the change;
 * 3. Ctrl-C: `npm run dev` stops and leaves no process.
 *
 * Each step saves a screenshot: the Studio's own scenarios in test-results/browser/, the app's steps 1–5 (with
 * the Studio's archive and republish) in test-results/browser-nextjs/ (gitignored). A failing step saves
 * `FAILED-<step>.png` and puts the page's console in the error.
 */
import { createClient, type SanityClient } from '@sanity/client'
import { ManagementClient } from 'auth0'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { LIVE_POLICY_QUERY } from 'sanity-auth0-access-sync/app'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_CLIENT } from '../../emulators/auth0.ts'
import { type NextApp, referenceAppEnv, seedSampleContent, startNextApp } from '../../scripts/dev-app.ts'
import { descendants, freePort, launchBrowser, type NpmRunDev, Shots, startNpmRunDev } from './dev-session.ts'

// The project's seven keys (src/core/metadata.ts), spelled out: the browser test reads Auth0 like an outsider.
const OWNED_KEYS = [
  'plan',
  'role',
  'contentTags',
  'entitlements',
  'sanityPolicyId',
  'sanityPolicyRev',
  'sanityPolicyUpdatedAt',
]
const STEP_TIMEOUT = 30_000
const PASSWORD = 'emulator-password'
const ACME_ARTICLES = ['Setting up SSO', 'Q1 market report', 'Webinar: AI in publishing']
// The Globex policy the Studio scenario publishes allows partners and pricing: Bob's one article, none of Acme's.
const GLOBEX_ARTICLES = ['Partner price list']

let dev: NpmRunDev
let auth0: ManagementClient
let sanity: SanityClient
let app: NextApp
let browser: Browser
/** The editor's Studio tab, kept open from the first scenario to the republish. */
let page: Page
const timings: Record<string, number> = {}

const studioShots = new Shots('browser')
const appShots = new Shots('browser-nextjs', {
  fullPage: true,
  context: () => `next dev (last 2000 chars):\n${app?.output().slice(-2000)}`,
})

beforeAll(async () => {
  let started = performance.now()
  dev = await startNpmRunDev()
  timings['npm run dev ready'] = Math.round(performance.now() - started)
  auth0 = new ManagementClient({
    domain: dev.auth0Domain,
    clientId: DEFAULT_CLIENT.clientId,
    clientSecret: DEFAULT_CLIENT.clientSecret,
  })
  const settings = dev.production
  sanity = createClient({
    projectId: settings.SANITY_PROJECT_ID as string,
    dataset: settings.SANITY_DATASET as string,
    apiHost: settings.SANITY_API_HOST as string,
    useProjectHostname: false,
    apiVersion: '2025-05-01',
    useCdn: false,
    perspective: 'published',
  })
  started = performance.now()
  // What `npm run dev:app` does with the settings file: the sample articles and onboarding, then `next dev`.
  const [, launched, startedApp] = await Promise.all([
    seedSampleContent(settings),
    launchBrowser(),
    freePort().then((port) => startNextApp(referenceAppEnv(settings, port), port)),
  ])
  browser = launched
  app = startedApp
  timings['next dev ready, browser launched'] = Math.round(performance.now() - started)
  ;({ page } = await studioShots.newPage(
    browser,
    { width: 1400, height: 900 },
    STEP_TIMEOUT,
    // What an offline Studio always logs: the CDN, the presence socket and the upsell endpoints are not emulated.
    /ERR_NAME_NOT_RESOLVED|socket|WebSocket|status of 404|Failed to fetch version|fetchLatestAvailable/,
  ))
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await app?.stop()
  dev?.kill()
  console.log(
    `browser test timings (ms): ${JSON.stringify({ ...timings, ...studioShots.timings, ...appShots.timings })}`,
  )
})

// --- The Studio page ---

async function organizationMetadata(id: string): Promise<Record<string, unknown>> {
  const organization = await auth0.organizations.get(id)
  return (organization as { metadata?: Record<string, unknown> }).metadata ?? {}
}

/** The input of a field: `select` for a list, `input` otherwise (the reference search box for `role`). */
const field = (name: string, element: 'input' | 'select' = 'input') =>
  name === 'role' ? page.locator('#role') : page.locator(`[data-testid="field-${name}"] ${element}`).first()
const publishButton = () => page.getByTestId('action-publish')
const publishEnabled = () => page.locator('[data-testid="action-publish"][data-disabled="false"]')

/** Hovers the field's error marker; the Studio shows the validation message in its tooltip. */
async function showFieldError(name: string, message: RegExp): Promise<void> {
  await page.locator(`[data-testid="field-${name}"] [data-testid="input-validation-icon-error"]`).first().hover()
  await page.getByText(message).first().waitFor()
}

/**
 * Navigates inside the running Studio, as its own links do (history API), so the dev server does not serve the
 * whole app again: a full page load through Vite costs seconds.
 */
async function open(path: string): Promise<void> {
  // npm run dev shows one workspace per dataset (/production, /staging); these steps edit production.
  const workspacePath = `/production${path}`
  if (!page.url().startsWith(dev.studioUrl)) {
    // The first load has Vite compile the Studio: give it time when the machine is busy (it waits for content next).
    await page.goto(`${dev.studioUrl}${workspacePath}`, { waitUntil: 'commit', timeout: 120_000 })
    return
  }
  await page.evaluate((target) => {
    window.history.pushState(null, '', target)
    window.dispatchEvent(new PopStateEvent('popstate'))
  }, workspacePath)
}

async function newPolicy(title: string, organizationId: string): Promise<void> {
  await open('/intent/create/template=accessPolicy;type=accessPolicy/')
  await field('title').waitFor({ timeout: 90_000 })
  await field('title').fill(title)
  await field('auth0OrganizationId').fill(organizationId)
}

/**
 * The editor opens Acme's policy from the list of its current status, moving inside the Studio; ready once its form
 * and its sync badge show (the form of the document open before stays until the Studio has switched panes).
 */
async function openAcme(listedAs: 'active' | 'archived'): Promise<void> {
  await open(`/structure/policies;status-${listedAs};policy-acme`)
  await expect.poll(() => field('title').inputValue(), { timeout: 120_000 }).toMatch(/^Acme Corp — /)
  await page.getByText(/^Auth0: /).waitFor()
}

/**
 * The seeded Acme policy has an unpublished draft (someone's Enterprise upgrade, tags `everything`): a publish would
 * publish it too. The editor discards it first (the document's menu, "Discard changes", confirmed), so the archive
 * changes the status alone and the republish brings back what Alice had.
 * No reload after it: the form must drop the discarded draft from the listener's deletion event alone (it did not
 * while the emulator sent deletions without a `resultRev`, and the next publish failed).
 */
async function discardAcmeDraft(): Promise<void> {
  await page.getByTestId('action-menu-button').click()
  await page.getByRole('menuitem', { name: 'Discard changes' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Discard changes' }).click()
  await page.getByText(/changes has now been discarded/).waitFor()
  await expect.poll(() => field('title').inputValue(), { timeout: 120_000 }).toBe('Acme Corp — Pro access')
  await page.getByText(/^Auth0: /).waitFor()
}

/** The editor picks a status (its radio button's label) and publishes; the badge then reports the function's outcome. */
async function publishStatus(label: string, badge: RegExp): Promise<void> {
  await page.getByText(label).click()
  await publishEnabled().waitFor()
  await publishButton().click()
  await page.getByText(badge).waitFor()
}

/**
 * After the Studio's publish: the wait until queries see it. The Content Lake answers queries with a lag ("there is
 * a delay between a transaction being committed and the changes being visible to queries", platform-facts.md),
 * which the dev stack emulates. The app's next request after that is the one that must show the change. Returns
 * the time it took, in ms.
 */
async function visibleToQueries(status: 'active' | 'archived'): Promise<number> {
  const started = performance.now()
  for (let polls = 0; polls < 300; polls++) {
    const rows = await sanity.fetch<unknown[]>(LIVE_POLICY_QUERY, { organizationId: 'org_acme123' })
    if (rows.length > 0 === (status === 'active')) return Math.round(performance.now() - started)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`queries never showed policy-acme as ${status}`)
}

// --- The reference app's pages ---

async function newUser(): Promise<{ context: BrowserContext; page: Page }> {
  return appShots.newPage(browser, { width: 1100, height: 900 }, 60_000)
}

/**
 * From the app's signed-out page through the emulator's sign-in page (and picker), back to the app. A user who
 * already has a sign-in session at the emulator is not asked again (Auth0's SSO): the form is filled only if shown.
 */
async function signIn(user: Page, link: string, email: string, shot?: string): Promise<void> {
  await user.goto(app.url, { timeout: 120_000 })
  await user.getByTestId(link).click()
  const form = user.getByLabel('Email address')
  await form
    .or(user.getByTestId('user'))
    .or(user.getByText('error', { exact: false }))
    .first()
    .waitFor()
  if (!(await form.isVisible())) return
  await form.fill(email)
  await user.getByLabel('Password').fill(PASSWORD)
  if (shot) await appShots.save(user, shot)
  await user.getByRole('button', { name: 'Continue' }).click()
}

const texts = (user: Page, testId: string) => user.getByTestId(testId).locator('li').allTextContents()

describe('the Studio against npm run dev', () => {
  it('shows the seeded policies', async () => {
    await studioShots.step(page, '0-seeded-policies', async () => {
      await open('/structure/policies;status-active')
      await page.getByText('Acme Corp — Enterprise (draft, unpublished)').first().waitFor({ timeout: 120_000 })
    })
  }, 180_000)

  it('create a policy, fill it in, publish: the badge says synced and Auth0 holds the metadata', async () => {
    await studioShots.step(page, 'a1-filled', async () => {
      await newPolicy('Globex — Team access', 'org_globex456')
      const plan = field('plan', 'select')
      await plan.selectOption((await plan.locator('option', { hasText: 'Team' }).getAttribute('value')) ?? 'team')
      await field('role').fill('Viewer')
      await page
        .getByRole('option', { name: /Viewer/ })
        .first()
        .click()
      const tags = field('allowedContentTags')
      for (const tag of ['partners', 'pricing']) {
        await tags.fill(tag)
        await tags.press('Enter')
      }
      await publishEnabled().waitFor()
    })
    await studioShots.step(page, 'a2-published-synced', async () => {
      await publishButton().click()
      await page.getByText(/^Auth0: synced/).waitFor()
    })
    // The pane path ends in `<id>,template=…` (URL-encoded).
    const policyId = decodeURIComponent(new URL(page.url()).pathname.split(';').pop() ?? '').split(',')[0]
    const metadata = await organizationMetadata('org_globex456')
    expect(metadata).toMatchObject({
      crmAccount: 'GLX-0007',
      plan: 'team',
      role: 'viewer',
      contentTags: '["partners","pricing"]',
      sanityPolicyId: policyId,
    })
    await studioShots.step(page, 'a3-sync-view', async () => {
      await page.getByRole('tab', { name: 'Auth0 sync' }).click()
      await page.getByText('org_globex456: granted').waitFor()
      await page.getByText('someone else (kept)').first().waitFor()
    })
  }, 120_000)

  it('an invalid Organization ID: the error is shown and publish is disabled', async () => {
    await studioShots.step(page, 'b1-invalid-organization', async () => {
      await newPolicy('Acme, mistyped', 'acme')
      await showFieldError('auth0OrganizationId', /is not an Auth0 Organization ID/)
      await page.locator('[data-testid="action-publish"][data-disabled="true"]').waitFor()
    })
    expect(await publishButton().isDisabled()).toBe(true)
  }, 120_000)

  it('a second active policy on the same Organization is blocked', async () => {
    await studioShots.step(page, 'c1-second-policy-blocked', async () => {
      await newPolicy('Acme, again', 'org_acme123')
      await showFieldError('auth0OrganizationId', /An organization takes one active policy/)
      await page.locator('[data-testid="action-publish"][data-disabled="true"]').waitFor()
    })
    expect(await publishButton().isDisabled()).toBe(true)
  }, 120_000)
})

describe('the reference app in Chromium, the editor in the Studio', () => {
  let alice: { context: BrowserContext; page: Page }
  let bob: { context: BrowserContext; page: Page }

  it('1. Alice (member of Acme) signs in to Acme through the sign-in page: Acme content and her onboarding', async () => {
    alice = await newUser()
    const { page } = alice
    await appShots.step(page, '1-alice-signed-in', async () => {
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
    await appShots.step(page, '2-bob-refused-at-acme', async () => {
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
    await appShots.step(page, '2b-bob-signed-in-to-globex', async () => {
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

  it("3. the editor archives Acme's policy in the Studio (its draft discarded; badge: revoked, the keys gone from Auth0): Alice's next request shows no gated content", async () => {
    expect(Object.keys(await organizationMetadata('org_acme123'))).toEqual(expect.arrayContaining(OWNED_KEYS))
    await appShots.step(page, '3-0-studio-draft-discarded', async () => {
      await openAcme('active')
      await discardAcmeDraft()
    })
    await appShots.step(page, '3-1-studio-archived-published', async () => {
      await publishStatus('Archived: access revoked for good', /^Auth0: access revoked/)
    })
    const metadata = await organizationMetadata('org_acme123')
    for (const key of OWNED_KEYS) expect(metadata).not.toHaveProperty(key)
    expect(metadata).toEqual({ crmAccount: 'ACME-0042', supportTier: 'gold' })
    timings['archive visible to queries after the badge'] = await visibleToQueries('archived')
    await appShots.step(alice.page, '3-archived-no-gated-content', async () => {
      await alice.page.reload()
      await alice.page.getByTestId('decision').waitFor()
      expect(await alice.page.getByTestId('decision').textContent()).toMatch(/no gated content \(policy-revoked/)
      expect(await texts(alice.page, 'content')).toEqual([])
      expect(await texts(alice.page, 'onboarding')).toEqual([])
      // Her token still carries the claims: it is the live policy that stopped the access, not the token's expiry.
      expect(await alice.page.getByTestId('token-allows').textContent()).toMatch(/tags docs, reports, webinars/)
    })
  }, 180_000)

  it('3b. "Refresh access" while archived: the post-login Action runs on the refresh, the new token has no claims', async () => {
    const { page } = alice
    await appShots.step(page, '3b-refreshed-while-archived', async () => {
      await page.getByTestId('refresh').click()
      await page.waitForURL(`${app.url}/`)
      await page.getByTestId('token-allows').waitFor()
      expect(await page.getByTestId('token-allows').textContent()).toMatch(/^nothing \(no-access-claims/)
      expect(await texts(page, 'content')).toEqual([])
    })
  }, 120_000)

  it('4. the editor republishes it in the Studio (badge: synced, Auth0 holds the keys again): a grant waits for the refresh; after "Refresh access" Alice sees it again', async () => {
    await appShots.step(page, '4-0-studio-republished', async () => {
      await openAcme('archived')
      await publishStatus('Active: grants access', /^Auth0: synced/)
    })
    const metadata = await organizationMetadata('org_acme123')
    expect(Object.keys(metadata)).toEqual(expect.arrayContaining(OWNED_KEYS))
    expect(metadata).toMatchObject({
      crmAccount: 'ACME-0042',
      supportTier: 'gold',
      plan: 'pro',
      role: 'editor',
      sanityPolicyId: 'policy-acme',
    })
    timings['republish visible to queries after the badge'] = await visibleToQueries('active')
    await appShots.step(alice.page, '4-republished-after-refresh', async () => {
      // Her token (refreshed while archived) grants nothing, so the republished policy alone shows nothing yet.
      await alice.page.reload()
      await alice.page.getByTestId('token-allows').waitFor()
      expect(await texts(alice.page, 'content')).toEqual([])
      await alice.page.getByTestId('refresh').click()
      await alice.page.waitForURL(`${app.url}/`)
      await alice.page.getByTestId('content').locator('li').first().waitFor()
      expect((await texts(alice.page, 'content')).sort()).toEqual([...ACME_ARTICLES].sort())
      expect(await alice.page.getByTestId('token-allows').textContent()).toMatch(/tags docs, reports, webinars/)
    })
  }, 180_000)

  it('5. Alice signs out: the app session and the emulator session are gone', async () => {
    const { page, context } = alice
    await appShots.step(page, '5-signed-out', async () => {
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

describe('npm run dev, stopped', () => {
  it('Ctrl-C stops the Studio, the emulators and every process npm run dev started', async () => {
    const pids = descendants(dev.child.pid as number)
    // The script, its copy restarted with the certificate, sanity dev (and whatever it runs).
    expect(pids.length).toBeGreaterThanOrEqual(3)
    const exited = new Promise<number | null>((resolve) => dev.child.once('exit', (code) => resolve(code)))
    const started = performance.now()
    // What a terminal does on Ctrl-C: SIGINT to the foreground process group.
    process.kill(-(dev.child.pid as number), 'SIGINT')
    expect(await exited).toBe(0)
    timings['Ctrl-C to exit'] = Math.round(performance.now() - started)
    expect(dev.output()).toContain('Stopped.')
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    })
    expect(alive, `still running: ${alive.join(', ')}`).toEqual([])
    await expect(fetch(dev.studioUrl)).rejects.toThrow()
  }, 30_000)
})
