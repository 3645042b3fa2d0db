/**
 * The README's offline recipe for the real CLI: `npm run functions:test -- <flags>` runs `sanity functions test`
 * against the emulators it starts, prints the function's logs and the Organizations' metadata before and after,
 * and exits with the CLI's code.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../../emulators/sanity-cli.ts'

async function functionsTest(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['scripts/functions-test.ts', ...args], {
      cwd: repoRoot,
      timeout: 90_000,
    })
    return { code: 0, stdout }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string }
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '' }
  }
}

describe('npm run functions:test', () => {
  it('--file of the fixture policy syncs it, and shows the metadata before and after', async () => {
    const { code, stdout } = await functionsTest('--file', 'functions/sync-access-policy/fixtures/policy-acme.json')
    expect(stdout).toContain('--project-id demo-project --dataset production')
    expect(stdout).toContain('policy policy-acme@r-acme-1: synced')
    expect(stdout).toMatch(
      /before — Auth0 Organization org_acme123 metadata:\n {5}crmAccount +ACME-0042\n {5}supportTier +gold\n {3}after —/,
    )
    expect(stdout).toMatch(
      /after — Auth0 Organization org_acme123 metadata:[\s\S]*\(contentTags decoded\) +docs, reports, webinars/,
    )
    expect(stdout).toMatch(/org_globex456 metadata:\n.*GLX-0007\n {3}after: unchanged/)
    expect(code).toBe(0)
  })

  it('exits with the CLI’s code when the function fails', async () => {
    const invalid = { _id: 'policy-x', _type: 'accessPolicy', auth0OrganizationId: 'acme/../x' }
    const { code, stdout } = await functionsTest('--data', JSON.stringify(invalid))
    expect(stdout).toContain('policy policy-x: failed')
    expect(code).toBe(2)
  })
})
