/**
 * Issue 15: `sanity functions test … --document-id X` without a token that can read X never revokes X, and says
 * what to pass. The real pinned CLI fetches the document with the user's token (SANITY_AUTH_TOKEN), then runs the
 * bundled function, which queries anonymously unless given `--with-user-token`; the Content Lake emulator's
 * dataset is private, so that query answers with nothing, as Sanity's does.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Auth0Emulator, startAuth0Emulator } from '../../emulators/auth0.ts'
import { type ContentLakeEmulator, startContentLakeEmulator } from '../../emulators/content-lake.ts'
import { emulatorEnv, projectArgs, runSanityCli } from '../../emulators/sanity-cli.ts'
import { organization, policy, syncedMetadata } from '../reconcile/support.ts'
import { roleDocuments } from '../support/policies.ts'

const USER_TOKEN = 'sk-user-session-token'
const acmeKeys = { crmAccount: 'ACME-0042', ...syncedMetadata('policy-acme') }

let auth0: Auth0Emulator
let lake: ContentLakeEmulator
beforeEach(async () => {
  ;[auth0, lake] = await Promise.all([
    startAuth0Emulator({ organizations: [organization('org_acme123', acmeKeys)] }),
    startContentLakeEmulator({
      projectId: 'demo-project',
      dataset: 'production',
      aclMode: 'private',
      tokens: { [USER_TOKEN]: { read: true, write: true } },
      documents: [...roleDocuments(), policy('policy-acme', 'org_acme123')],
    }),
  ])
})
afterEach(async () => {
  await Promise.all([auth0.close(), lake.close()])
})

async function functionsTest(...args: string[]) {
  return runSanityCli(['functions', 'test', 'sync-access-policy', ...args, ...projectArgs(lake)], {
    // The CLI's own token (it fetches the document with it); under NODE_ENV=test it would use a fixed stand-in.
    env: { ...(await emulatorEnv(auth0, lake)), SANITY_AUTH_TOKEN: USER_TOKEN, NODE_ENV: 'production' },
  })
}

describe('sanity functions test --document-id on a private dataset', () => {
  it('without --with-user-token: the empty read revokes nothing, the run fails and says what to pass', async () => {
    const { code, output } = await functionsTest('--document-id', 'policy-acme')
    expect(code).not.toBe(0)
    expect(output).toContain('org_acme123: failed (untrusted-read)')
    expect(output).toContain('pass `--with-user-token`')
    expect(auth0.count({ method: 'PATCH' })).toBe(0)
    expect(auth0.getOrganization('org_acme123')?.metadata).toEqual(acmeKeys)
  })

  it('with --with-user-token: the function reads as the user, finds the policy and changes nothing', async () => {
    const { code, output } = await functionsTest('--document-id', 'policy-acme', '--with-user-token')
    expect(output).toContain('org_acme123: unchanged (in-sync)')
    expect(code).toBe(0)
    expect(auth0.count({ method: 'PATCH' })).toBe(0)
  })
})
