/**
 * What the browser tests share: `npm run dev` started as a user starts it (scripts/dev.ts, which restarts itself
 * with the emulator certificate), the settings it writes for the reference app (`.env.dev-production`, what
 * `npm run dev:app` reads), one Chromium (playwright-core + @sparticuz/chromium), and the per-step screenshots.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseEnv } from 'node:util'
import chromium from '@sparticuz/chromium'
import { type Browser, type BrowserContext, type Page, chromium as playwright } from 'playwright-core'

export const root = fileURLToPath(new URL('../..', import.meta.url))

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface NpmRunDev {
  readonly child: ChildProcess
  /** Everything it printed so far (stdout and stderr). */
  output(): string
  /** http://localhost:PORT */
  readonly studioUrl: string
  /** The production tenant's host:port, as printed ("Auth0 emulator: https://…"). */
  readonly auth0Domain: string
  /** The production environment's settings, from the `.env.dev-production` it names ("Settings:"). */
  readonly production: Readonly<Record<string, string>>
  /** SIGKILL to its whole process group, if it is still running (the clean-up after a failure). */
  kill(): void
}

/**
 * `npm run dev` on free ports, resolved once it prints its "Ready" summary. NODE_EXTRA_CA_CERTS is removed from its
 * environment, as in a user's shell: the script finds no certificate setting and restarts itself with one.
 */
export async function startNpmRunDev(timeoutMs = 120_000): Promise<NpmRunDev> {
  const [studioPort, lakePort, apiPort] = [await freePort(), await freePort(), await freePort()]
  const env: Record<string, string | undefined> = {
    ...process.env,
    // No schema extraction and type generation in this sanity dev: not needed here, and they cost CPU.
    SANITY_TYPEGEN: 'off',
  }
  delete env.NODE_EXTRA_CA_CERTS
  const child = spawn(
    join(root, 'node_modules/.bin/node'),
    ['scripts/dev.ts', '--port', String(studioPort), '--lake-port', String(lakePort), '--api-port', String(apiPort)],
    { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const kill = () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    try {
      process.kill(-(child.pid as number), 'SIGKILL')
    } catch {
      // already gone
    }
  }
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const pattern =
      /Studio:\s+(http:\S+)[\s\S]*Auth0 emulator:\s+https:\/\/(\S+)[\s\S]*Environment production:[\s\S]*?Settings:\s+(\S+)/
    const timer = setTimeout(() => reject(new Error(`npm run dev did not print ${pattern}:\n${output}`)), timeoutMs)
    const check = () => {
      const match = pattern.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match)
      }
    }
    child.stdout?.on('data', check)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`npm run dev exited with ${code}:\n${output}`))
    })
    check()
  }).catch((error: unknown) => {
    kill()
    throw error
  })
  const settingsFile = ready[3] ?? ''
  const production = parseEnv(readFileSync(isAbsolute(settingsFile) ? settingsFile : join(root, settingsFile), 'utf8'))
  return {
    child,
    output: () => output,
    studioUrl: ready[1] ?? '',
    auth0Domain: ready[2] ?? '',
    production: production as Record<string, string>,
    kill,
  }
}

export async function launchBrowser(): Promise<Browser> {
  return playwright.launch({ executablePath: await chromium.executablePath(), args: chromium.args, headless: true })
}

/** Every process below `pid` (and `pid` itself), from `ps`. */
export function descendants(pid: number): number[] {
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

/** Each page's console, whichever folder its screenshots go to. */
const consoles = new WeakMap<Page, string[]>()

/**
 * A folder of step screenshots under test-results/ (gitignored, emptied on creation) and the console of the pages
 * photographed there. Each step saves `<step>.png` when it is done; a failing one saves `FAILED-<step>.png` and
 * puts the page's console (and `context()`, e.g. a server's output) in the error.
 */
export class Shots {
  readonly timings: Record<string, number> = {}
  private readonly folder: string
  private readonly dir: string
  private readonly options: { readonly fullPage?: boolean; readonly context?: () => string }

  constructor(folder: string, options: { fullPage?: boolean; context?: () => string } = {}) {
    this.folder = folder
    this.options = options
    this.dir = join(root, 'test-results', folder)
    rmSync(this.dir, { recursive: true, force: true })
    mkdirSync(this.dir, { recursive: true })
  }

  /** A new browser context (one user, own cookies) and its page, whose console is kept; `ignore` drops known noise. */
  async newPage(
    browser: Browser,
    viewport: { width: number; height: number },
    timeoutMs: number,
    ignore?: RegExp,
  ): Promise<{ context: BrowserContext; page: Page }> {
    // The emulator's HTTPS side has a self-signed certificate (what a user accepts once, see README).
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport })
    const page = await context.newPage()
    page.setDefaultTimeout(timeoutMs)
    const lines: string[] = []
    consoles.set(page, lines)
    page.on('console', (message) => {
      const text = message.text()
      if (ignore?.test(text)) return
      lines.push(`[${message.type()}] ${text.slice(0, 400)}`)
    })
    page.on('pageerror', (error) => lines.push(`[pageerror] ${error.message}`))
    return { context, page }
  }

  /** Saves a screenshot now (e.g. a page on the way, inside a step). */
  async save(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(this.dir, `${name}.png`), fullPage: this.options.fullPage ?? false })
  }

  async step(page: Page, name: string, action: () => Promise<void>): Promise<void> {
    const started = performance.now()
    try {
      await action()
      await this.save(page, name)
    } catch (error) {
      await this.save(page, `FAILED-${name}`).catch(() => undefined)
      const message = error instanceof Error ? error.message : String(error)
      const consoleLines = consoles.get(page) ?? []
      const context = this.options.context?.()
      throw new Error(
        `${name}: ${message}\nScreenshot: test-results/${this.folder}/FAILED-${name}.png\nPage console (last 40):\n${consoleLines.slice(-40).join('\n')}${context ? `\n${context}` : ''}`,
      )
    } finally {
      this.timings[name] = Math.round(performance.now() - started)
    }
  }
}
