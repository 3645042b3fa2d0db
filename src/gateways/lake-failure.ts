/**
 * Why a Content Lake request failed, and the fix, in words an operator can act on. `@sanity/client` reports a DNS
 * or connection failure as `TypeError: fetch failed` with the system error as its `cause`, a timeout as a
 * `TimeoutError`, and an HTTP error with `statusCode`. Shared by the policy query (a SyncError) and the status write
 * (one log line). Never carries a token: only a host name, a status and the server's short message.
 */
import { preview } from '../core/auth0-rules.ts'
import type { SyncErrorReason } from '../core/errors.ts'

export interface LakeFailure {
  readonly reason: SyncErrorReason
  readonly retryable: boolean
  /** The cause first, then the fix, e.g. `DNS lookup of x.invalid failed (ENOTFOUND): check …`. */
  readonly description: string
}

/** What the client was configured with, to name the host, project and dataset in the message. */
export interface LakeTarget {
  readonly url?: string | undefined
  readonly projectId?: string | undefined
  readonly dataset?: string | undefined
  readonly timeoutMs?: number | undefined
}

type Failure = { statusCode?: unknown; code?: unknown; name?: unknown; message?: unknown; cause?: unknown } | null

const field = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined

export function lakeFailure(error: unknown, target: LakeTarget): LakeFailure {
  const failure = error as Failure
  const host = hostOf(target.url)
  const status = failure?.statusCode
  const said = preview(String(failure?.message ?? 'no message'), 120)
  if (typeof status === 'number') return httpFailure(status, said, target)

  const code = [failure?.code, field(failure?.cause, 'code')].find((value) => typeof value === 'string') as
    | string
    | undefined
  const unavailable = (description: string): LakeFailure => ({
    reason: 'content-lake-unavailable',
    retryable: true,
    description,
  })
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    const name = String(field(failure?.cause, 'hostname') ?? host)
    return unavailable(
      `DNS lookup of ${name} failed (${code}): no such host, or no DNS here. Check the API host and project ID the function was given` +
        ` (locally, \`npm run functions:test\` runs it against the emulators), and this machine's network`,
    )
  }
  if (code === 'ECONNREFUSED') {
    return unavailable(`${host} refused the connection (ECONNREFUSED): nothing listens there; check the API host`)
  }
  if (failure?.name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    const limit = target.timeoutMs === undefined ? '' : ` within ${target.timeoutMs / 1000} s`
    return unavailable(`timeout: no answer from ${host}${limit}. Sanity or the network is slow; run the event again`)
  }
  if (code !== undefined) {
    return unavailable(`the connection to ${host} failed (${code}): run the event again`)
  }
  return unavailable(`${said}: run the event again`)
}

function httpFailure(status: number, said: string, target: LakeTarget): LakeFailure {
  const project = `project "${target.projectId ?? '?'}", dataset "${target.dataset ?? '?'}"`
  if (status === 401) {
    return {
      reason: 'content-lake-credentials',
      retryable: false,
      description:
        `HTTP 401 (${said}): the Content Lake refused the token. Deployed, the runtime provides it: redeploy with ` +
        '`npx sanity blueprints deploy`. Locally, `npx sanity login`, then pass `--with-user-token`',
    }
  }
  if (status === 403) {
    return {
      reason: 'content-lake-credentials',
      retryable: false,
      description:
        `HTTP 403 (${said}): the token's role does not allow this on ${project}; give it one that can read ` +
        'accessPolicy and write accessPolicySyncStatus documents (see docs/studio.md)',
    }
  }
  if (status === 404) {
    return {
      reason: 'configuration',
      retryable: false,
      description: `HTTP 404 (${said}): ${project} was not found; check --project-id and --dataset, or the blueprint's project`,
    }
  }
  if (status === 429 || status >= 500) {
    return {
      reason: 'content-lake-unavailable',
      retryable: true,
      description: `HTTP ${status} (${said}): the Content Lake is ${status === 429 ? 'rate-limiting' : 'failing'}; run the event again later`,
    }
  }
  return { reason: 'content-lake-unavailable', retryable: false, description: `HTTP ${status} (${said})` }
}

function hostOf(url: string | undefined): string {
  try {
    return url ? new URL(url).host : 'the Content Lake'
  } catch {
    return 'the Content Lake'
  }
}
