/**
 * The Studio in a real Chromium (playwright-core + @sparticuz/chromium), against `npm run dev` itself: the script
 * is started as a user would start it (it restarts itself with the emulator certificate), the editor's steps go
 * through the Studio's UI, and the outcome is read from the Auth0 emulator with the real `auth0` SDK. One dev
 * stack, one browser, the scenarios in order; the last test presses Ctrl-C and checks that nothing is left.
 *
 * Each step saves a screenshot in test-results/browser/ (gitignored). A failing step saves `FAILED-<step>.png` and
 * puts the page's console in the error.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import chromium from '@sparticuz/chromium'
import { ManagementClient } from 'auth0'
import { type Browser, type Page, chromium as playwright } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_CLIENT } from '../../emulators/auth0.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const SHOTS = join(root, 'test-results/browser')
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

let dev: ChildProcess
let output = ''
let studioUrl = ''
let auth0: ManagementClient
let browser: Browser
let page: Page
const consoleLines: string[] = []
const timings: Record<string, number> = {}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

function waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm run dev did not print ${pattern}:\n${output}`)), timeoutMs)
    const check = () => {
      const match = pattern.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match)
      }
    }
    dev.stdout?.on('data', check)
    dev.on('exit', (code) => reject(new Error(`npm run dev exited with ${code}:\n${output}`)))
    check()
  })
}

/** One editor step: a screenshot when it is done; on failure a FAILED screenshot and the page's console. */
async function step(name: string, action: () => Promise<void>): Promise<void> {
  const started = performance.now()
  try {
    await action()
    await page.screenshot({ path: join(SHOTS, `${name}.png`) })
  } catch (error) {
    await page.screenshot({ path: join(SHOTS, `FAILED-${name}.png`) }).catch(() => undefined)
    const message = error instanceof Error ? error.message : String(error)
    throw new Error(
      `${name}: ${message}\nScreenshot: test-results/browser/FAILED-${name}.png\nPage console (last 40):\n${consoleLines.slice(-40).join('\n')}`,
    )
  } finally {
    timings[name] = Math.round(performance.now() - started)
  }
}

async function organizationMetadata(id: string): Promise<Record<string, unknown>> {
  const organization = await auth0.organizations.get(id)
  return (organization as { metadata?: Record<string, unknown> }).metadata ?? {}
}

/** The input of a field: `select` for a list, `input` otherwise (the reference search box for `role`). */
const field = (name: string, element: 'input' | 'select' = 'input') =>
  name === 'role' ? page.locator('#role') : page.locator(`[data-testid="field-${name}"] ${element}`).first()
const publishButton = () => page.getByTestId('action-publish')

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
  if (!page.url().startsWith(studioUrl)) {
    // The first load has Vite compile the Studio: give it time when the machine is busy (it waits for content next).
    await page.goto(`${studioUrl}${workspacePath}`, { waitUntil: 'commit', timeout: 120_000 })
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

beforeAll(async () => {
  rmSync(SHOTS, { recursive: true, force: true })
  mkdirSync(SHOTS, { recursive: true })
  const [studioPort, lakePort, apiPort] = [await freePort(), await freePort(), await freePort()]
  const env: Record<string, string | undefined> = {
    ...process.env,
    // No schema extraction and type generation in this sanity dev: not needed here, and they cost CPU.
    SANITY_TYPEGEN: 'off',
  }
  // As a user runs it: the script finds no certificate setting and restarts itself with one.
  delete env.NODE_EXTRA_CA_CERTS
  const started = performance.now()
  dev = spawn(
    join(root, 'node_modules/.bin/node'),
    ['scripts/dev.ts', '--port', String(studioPort), '--lake-port', String(lakePort), '--api-port', String(apiPort)],
    { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  dev.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  dev.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const ready = await waitForOutput(/Studio:\s+(http:\S+)[\s\S]*Auth0 emulator:\s+https:\/\/(\S+)/, 120_000)
  timings['npm run dev ready'] = Math.round(performance.now() - started)
  studioUrl = ready[1] ?? ''
  auth0 = new ManagementClient({
    domain: ready[2] ?? '',
    clientId: DEFAULT_CLIENT.clientId,
    clientSecret: DEFAULT_CLIENT.clientSecret,
  })

  browser = await playwright.launch({
    executablePath: await chromium.executablePath(),
    args: chromium.args,
    headless: true,
  })
  // The emulator's HTTPS side has a self-signed certificate (what a user accepts once, see README).
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 900 } })
  page = await context.newPage()
  page.setDefaultTimeout(STEP_TIMEOUT)
  page.on('console', (message) => {
    const text = message.text()
    // What an offline Studio always logs: the CDN, the presence socket and the upsell endpoints are not emulated.
    if (
      /ERR_NAME_NOT_RESOLVED|socket|WebSocket|status of 404|Failed to fetch version|fetchLatestAvailable/.test(text)
    ) {
      return
    }
    consoleLines.push(`[${message.type()}] ${text.slice(0, 400)}`)
  })
  page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.message}`))
}, 180_000)

afterAll(async () => {
  await browser?.close()
  if (dev && dev.exitCode === null) {
    try {
      process.kill(-(dev.pid as number), 'SIGKILL')
    } catch {
      // already gone
    }
  }
  console.log(`browser test timings (ms): ${JSON.stringify(timings)}`)
})

describe('the Studio against npm run dev', () => {
  it('shows the seeded policies', async () => {
    await step('0-seeded-policies', async () => {
      await open('/structure/policies;status-active')
      await page.getByText('Acme Corp — Enterprise (draft, unpublished)').first().waitFor({ timeout: 120_000 })
    })
  }, 180_000)

  it('create a policy, fill it in, publish: the badge says synced and Auth0 holds the metadata', async () => {
    await step('a1-filled', async () => {
      await newPolicy('Globex — Team access', 'org_globex456')
      const plan = field('plan', 'select')
      await plan.selectOption((await plan.locator('option', { hasText: 'Team' }).getAttribute('value')) ?? 'team')
      await field('role').fill('Viewer')
      await page
        .getByRole('option', { name: /Viewer/ })
        .first()
        .click()
      const tags = field('allowedContentTags')
      for (const tag of ['reports', 'webinars']) {
        await tags.fill(tag)
        await tags.press('Enter')
      }
      await page.locator('[data-testid="action-publish"][data-disabled="false"]').waitFor()
    })
    await step('a2-published-synced', async () => {
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
      contentTags: '["reports","webinars"]',
      sanityPolicyId: policyId,
    })
    await step('a3-sync-view', async () => {
      await page.getByRole('tab', { name: 'Auth0 sync' }).click()
      await page.getByText('org_globex456: granted').waitFor()
      await page.getByText('someone else (kept)').first().waitFor()
    })
  }, 120_000)

  it('an invalid Organization ID: the error is shown and publish is disabled', async () => {
    await step('b1-invalid-organization', async () => {
      await newPolicy('Acme, mistyped', 'acme')
      await showFieldError('auth0OrganizationId', /is not an Auth0 Organization ID/)
      await page.locator('[data-testid="action-publish"][data-disabled="true"]').waitFor()
    })
    expect(await publishButton().isDisabled()).toBe(true)
  }, 120_000)

  it('a second active policy on the same Organization is blocked', async () => {
    await step('c1-second-policy-blocked', async () => {
      await newPolicy('Acme, again', 'org_acme123')
      await showFieldError('auth0OrganizationId', /An organization takes one active policy/)
      await page.locator('[data-testid="action-publish"][data-disabled="true"]').waitFor()
    })
    expect(await publishButton().isDisabled()).toBe(true)
  }, 120_000)

  it('archive: the badge says revoked and the access keys are gone from Auth0', async () => {
    expect(Object.keys(await organizationMetadata('org_acme123'))).toEqual(expect.arrayContaining(OWNED_KEYS))
    await step('d1-archived', async () => {
      await open('/structure/policies;status-active;policy-acme')
      await page.getByText('Archived: access revoked for good').click()
      await page.locator('[data-testid="action-publish"][data-disabled="false"]').waitFor()
      await publishButton().click()
      await page.getByText(/^Auth0: access revoked/).waitFor()
    })
    const metadata = await organizationMetadata('org_acme123')
    for (const key of OWNED_KEYS) expect(metadata).not.toHaveProperty(key)
    expect(metadata).toEqual({ crmAccount: 'ACME-0042', supportTier: 'gold' })
  }, 120_000)

  it('Ctrl-C stops the Studio, the emulators and every process npm run dev started', async () => {
    const pids = descendants(dev.pid as number)
    // The script, its copy restarted with the certificate, sanity dev (and whatever it runs).
    expect(pids.length).toBeGreaterThanOrEqual(3)
    const exited = new Promise<number | null>((resolve) => dev.once('exit', (code) => resolve(code)))
    const started = performance.now()
    // What a terminal does on Ctrl-C: SIGINT to the foreground process group.
    process.kill(-(dev.pid as number), 'SIGINT')
    expect(await exited).toBe(0)
    timings['Ctrl-C to exit'] = Math.round(performance.now() - started)
    expect(output).toContain('Stopped.')
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    })
    expect(alive, `still running: ${alive.join(', ')}`).toEqual([])
    await expect(fetch(studioUrl)).rejects.toThrow()
  }, 30_000)
})

/** Every process below `pid` (and `pid` itself), from `ps`. */
function descendants(pid: number): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
  const found = [pid]
  for (let i = 0; i < found.length; i++) {
    for (const [child, parent] of table) if (parent === found[i] && child !== undefined) found.push(child)
  }
  return found
}
