/**
 * `npm run demo` as a new user runs it: it exits 0, and the function's own log lines sit indented under the step
 * that triggered them, like the rest of the demo's output.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

const demo = fileURLToPath(new URL('../scripts/demo.ts', import.meta.url))

it('the demo runs, and every line the function logs is indented', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [demo], { timeout: 60_000 })
  const functionLines = stdout
    .split('\n')
    .filter((line) => /policy policy-acme@|org_acme123: (granted|revoked)/.test(line))
  expect(functionLines.length).toBeGreaterThanOrEqual(4)
  for (const line of functionLines) expect(line).toMatch(/^ {3}function: /)
})
