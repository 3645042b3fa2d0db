/**
 * Runs the `sanity` CLI found on PATH (`npx` and npm scripts put node_modules/.bin first), in the folder that holds
 * the blueprint. Output can be echoed as it comes, line by line with secrets masked, or only collected.
 */
import { spawn } from 'node:child_process'
import { maskSecrets } from '../core/deploy-plan.ts'
import { SyncError } from '../core/errors.ts'

export interface SanityCliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface Output {
  write(text: string): unknown
}

export interface SanityCliOptions {
  readonly cwd: string
  /** The child's whole environment; PATH decides which `sanity` runs. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Masked wherever output is echoed. */
  readonly secrets: readonly string[]
  readonly stdout: Output
  readonly stderr: Output
}

export type SanityCli = (args: readonly string[], options?: { readonly echo?: boolean }) => Promise<SanityCliResult>

export function sanityCli(options: SanityCliOptions): SanityCli {
  return (args, { echo = false } = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn('sanity', [...args], {
        cwd: options.cwd,
        env: options.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const collected = { stdout: '', stderr: '' }
      // Whole lines only, so a secret split across two chunks is still masked.
      const pending = { stdout: '', stderr: '' }
      const forward = (stream: 'stdout' | 'stderr', text: string, flush: boolean) => {
        if (!echo) return
        const lines = pending[stream] + text
        const end = flush ? lines.length : lines.lastIndexOf('\n') + 1
        if (end > 0) options[stream].write(maskSecrets(lines.slice(0, end), options.secrets))
        pending[stream] = lines.slice(end)
      }
      for (const stream of ['stdout', 'stderr'] as const) {
        child[stream].setEncoding('utf8')
        child[stream].on('data', (text: string) => {
          collected[stream] += text
          forward(stream, text, false)
        })
      }
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') return reject(error)
        reject(
          new SyncError(
            'configuration',
            'The Sanity CLI (`sanity`) is not on PATH. Run this through `npx access-sync …` or `npm run access-sync -- …`, which put node_modules/.bin first, after `npm install`.',
          ),
        )
      })
      child.on('close', (code, signal) => {
        forward('stdout', '', true)
        forward('stderr', '', true)
        resolve({ code: code ?? (signal ? 128 : 1), ...collected })
      })
    })
}
