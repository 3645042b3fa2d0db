/**
 * A browser's part of the Auth0 sign-in, over real HTTP: follow /authorize to the sign-in page, submit the form,
 * pick an Organization if asked, and stop at the application's callback. Cookies are kept per origin, as a browser
 * keeps them, so the emulator's sign-in session (its `auth0` cookie) carries over between sign-ins.
 */
export class Browser {
  readonly jar = new Map<string, Map<string, string>>()

  cookieHeader(url: URL): string {
    const cookies = this.jar.get(url.origin) ?? new Map<string, string>()
    return [...cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  keep(url: URL, response: Response): void {
    const cookies = this.jar.get(url.origin) ?? new Map<string, string>()
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const at = pair.indexOf('=')
      const name = pair.slice(0, at).trim()
      const value = pair.slice(at + 1).trim()
      if (value === '' || /max-age=0/i.test(line)) cookies.delete(name)
      else cookies.set(name, value)
    }
    this.jar.set(url.origin, cookies)
  }

  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url)
    const headers = new Headers(init.headers)
    const cookie = this.cookieHeader(target)
    if (cookie) headers.set('cookie', cookie)
    const response = await fetch(target, { ...init, headers, redirect: 'manual' })
    this.keep(target, response)
    return response
  }

  /** Follows redirects while they stay away from `stopAt` (an origin + path prefix); returns the last response. */
  async follow(url: string | URL, stopAt?: string, init: RequestInit = {}): Promise<{ url: URL; response: Response }> {
    let current = new URL(url)
    let response = await this.request(current, init)
    for (let hops = 0; hops < 10 && response.status >= 300 && response.status < 400; hops++) {
      const next = new URL(response.headers.get('location') ?? '', current)
      if (stopAt && next.toString().startsWith(stopAt)) return { url: next, response }
      current = next
      response = await this.request(current)
    }
    return { url: current, response }
  }
}

export interface SignInResult {
  /** The callback URL the emulator sent the browser to (with `code` and `state`, or `error`). */
  callback: URL
  /** The pages shown on the way (sign-in page, picker), as HTML. */
  pages: string[]
}

/** Submits a form of an emulator page: its action and hidden inputs, plus `fields`. */
async function submit(browser: Browser, html: string, fields: Record<string, string>, callbackPrefix: string) {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]
  if (!action) throw new Error(`no form on the page:\n${html.slice(0, 500)}`)
  const hidden = Object.fromEntries(
    [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]),
  )
  return browser.follow(action, callbackPrefix, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...hidden, ...fields }).toString(),
  })
}

/**
 * Signs in through the emulator's pages: `authorizeUrl` (from an SDK), the user's email and password, and the
 * Organization to pick if the picker is shown. Resolves at the callback (not requested).
 */
export async function signInThroughPages(
  browser: Browser,
  authorizeUrl: URL,
  credentials: { email: string; password: string; pick?: string },
  callbackPrefix: string,
): Promise<SignInResult> {
  const pages: string[] = []
  let { url, response } = await browser.follow(authorizeUrl, callbackPrefix)
  for (let step = 0; step < 4 && !url.toString().startsWith(callbackPrefix); step++) {
    const html = await response.text()
    pages.push(html)
    if (response.status !== 200) {
      const shown = /class="error"[^>]*>([^<]*)</.exec(html)?.[1] ?? html.slice(0, 300)
      throw new Error(`sign-in page answered ${response.status}: ${shown}`)
    }
    if (html.includes('name="password"')) {
      ;({ url, response } = await submit(
        browser,
        html,
        { username: credentials.email, password: credentials.password },
        callbackPrefix,
      ))
    } else if (html.includes('name="organization"')) {
      if (!credentials.pick) throw new Error('the Organization picker was shown but no Organization to pick was given')
      ;({ url, response } = await submit(browser, html, { organization: credentials.pick }, callbackPrefix))
    } else {
      throw new Error(`unexpected page: ${html.slice(0, 300)}`)
    }
  }
  if (!url.toString().startsWith(callbackPrefix)) throw new Error(`never reached the callback; last at ${url}`)
  return { callback: url, pages }
}

export function decodeJwt(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>
}
