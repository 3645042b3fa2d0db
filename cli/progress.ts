/**
 * Progress on stderr for long runs: on a terminal, one status line redrawn in place with counters and an ETA;
 * otherwise plain lines. Rate-limit and retry waits are shown, and a heartbeat makes sure the run is never
 * silent for more than HEARTBEAT_MS.
 */
import type { RetryObserver } from '../src/gateways/auth0.ts'
import type { Progress } from '../src/sync/reconcile.ts'

export const HEARTBEAT_MS = 3_000
const REDRAW_MS = 250
/** Shorter waits (backoff between quick retries) only show on the status line. */
const SHOWN_WAIT_MS = 200

export interface ProgressReporter {
  update(progress: Progress): void
  /** Wire to the Auth0 gateway: every wait between attempts. */
  readonly wait: RetryObserver
  /** A line of its own (the status line is redrawn under it on a terminal). */
  log(line: string): void
  stop(): void
}

interface Stream {
  write(text: string): unknown
  readonly isTTY?: boolean | undefined
}

export function progressReporter(stream: Stream, options: { apply: boolean; now?: () => number }): ProgressReporter {
  const now = options.now ?? Date.now
  const tty = stream.isTTY === true
  const started = now()
  let current: Progress | undefined
  let firstWriteAt: number | undefined
  let waiting: string | undefined
  let lastOutput = started
  let lastDraw = 0
  let drawn = false

  const describe = (): string => {
    const p = current
    if (!p) return 'reconcile: starting'
    const parts = [
      `${p.policies} policies`,
      `${p.organizations} organizations (${p.pages} page${p.pages === 1 ? '' : 's'})`,
    ]
    parts.push(options.apply ? `writes ${p.written}/${p.planned}` : `${p.planned} to write`)
    if (p.failed > 0) parts.push(`${p.failed} failed`)
    const eta = etaMs(p)
    if (eta !== undefined) parts.push(`ETA ${duration(eta)}`)
    parts.push(`${duration(now() - started)} elapsed`)
    if (waiting) parts.push(waiting)
    return `reconcile: ${parts.join(' · ')}`
  }

  /** Writes remaining at the pace so far; only once listing is done, since Auth0 does not say how many there are. */
  const etaMs = (p: Progress): number | undefined => {
    if (!options.apply || p.phase !== 'writing' || firstWriteAt === undefined || p.written < 1) return undefined
    const remaining = p.planned - p.written - p.failed
    if (remaining <= 0) return 0
    return ((now() - firstWriteAt) / p.written) * remaining
  }

  const draw = (force = false) => {
    const at = now()
    if (tty) {
      if (!force && at - lastDraw < REDRAW_MS) return
      stream.write(`\r\x1b[2K${describe().slice(0, 200)}`)
      drawn = true
      lastDraw = at
    } else {
      stream.write(`${describe()}\n`)
    }
    lastOutput = at
  }

  const timer = setInterval(
    () => {
      if (tty || now() - lastOutput >= HEARTBEAT_MS) draw(true)
    },
    tty ? 1_000 : HEARTBEAT_MS / 3,
  )
  timer.unref()

  const log = (line: string) => {
    if (tty && drawn) stream.write('\r\x1b[2K')
    stream.write(`${line}\n`)
    lastOutput = now()
    if (tty) draw(true)
  }

  let phase: Progress['phase'] | undefined
  return {
    update(progress) {
      current = progress
      waiting = undefined
      if (progress.phase === 'writing' && firstWriteAt === undefined) firstWriteAt = now()
      if (progress.phase !== phase) {
        phase = progress.phase
        if (!tty && progress.phase !== 'done') draw(true)
      }
      if (tty) draw()
    },
    wait(info) {
      const why =
        info.status === 429 ? 'Auth0 rate limit' : info.status ? `Auth0 answered ${info.status}` : 'Auth0 unreachable'
      const what =
        info.operation === 'list'
          ? 'listing'
          : info.operation === 'read'
            ? `reading ${info.organizationId}`
            : `writing ${info.organizationId}`
      waiting = `waiting ${duration(info.delayMs)} (${why}, ${what})`
      if (tty) draw(true)
      else if (info.delayMs >= SHOWN_WAIT_MS || now() - lastOutput >= HEARTBEAT_MS) log(`reconcile: ${waiting}`)
    },
    log,
    stop() {
      clearInterval(timer)
      if (tty && drawn) stream.write('\r\x1b[2K')
    },
  }
}

export function duration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000
  if (seconds < 10) return `${seconds.toFixed(1)} s`
  if (seconds < 120) return `${Math.round(seconds)} s`
  const minutes = Math.floor(seconds / 60)
  return `${minutes} min ${String(Math.round(seconds - minutes * 60)).padStart(2, '0')} s`
}
