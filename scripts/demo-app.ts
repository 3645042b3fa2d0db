/**
 * The demo's second act, tokens and apps (called by scripts/demo.ts): the post-login Action is deployed with the
 * deploy script, a policy is published, a user of the Organization signs in and the token carries the claims,
 * the example app serves only the content they allow; the policy is archived, the user signs in again, and the
 * token has no claims and the app serves no gated content. Everything runs on a stack of its own.
 * Needs NODE_EXTRA_CA_CERTS set to the emulator's certificate (scripts/demo.ts does that).
 */
import { readFileSync } from 'node:fs'
import { format } from 'node:util'
import { createClient } from '@sanity/client'
import { createAccessVerifier } from 'sanity-auth0-access-sync/app'
import { deployAction } from '../cli/deploy-action.ts'
import { DEFAULT_CLIENT } from '../emulators/auth0.ts'
import { DEPLOY_CLIENT } from '../emulators/auth0-actions.ts'
import { startLocalStack } from '../emulators/stack.ts'
import { startExampleApp } from '../examples/app/server.ts'
import { ACTION_NAME, ACTION_RUNTIME } from '../src/core/action-deploy.ts'
import { connectActions } from '../src/gateways/auth0-actions.ts'

const json = (name: string) => JSON.parse(readFileSync(new URL(name, import.meta.url), 'utf8'))
const NAMESPACE = 'https://claims.acme.example/'
const AUDIENCE = 'https://portal.acme.example/api'

export async function runAppAct(firstStep: number): Promise<void> {
  const dataset: Array<{ _id: string; _type: string }> = json('../functions/sync-access-policy/fixtures/dataset.json')
  const policy = json('../functions/sync-access-policy/fixtures/policy-acme.json')
  const content: Array<{ _id: string; _type: string; title: string; tags?: string[] }> =
    json('../examples/app/content.json')
  const bed = await startLocalStack({
    documents: [...dataset.filter((doc) => doc._type === 'role'), ...content],
    auth0: {
      clients: [DEFAULT_CLIENT, DEPLOY_CLIENT],
      organizations: json('../functions/sync-access-policy/fixtures/organizations.json'),
      actionBuildDelayMs: 300,
    },
  })
  const verifier = createAccessVerifier({ domain: bed.auth0.domain, audience: AUDIENCE, namespace: NAMESPACE })
  const sanity = createClient({ ...bed.lake.clientConfig, perspective: 'published' })
  const app = await startExampleApp({ verifier, sanity })

  let n = firstStep
  const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[22m` : text)
  const step = (text: string) => console.log(`\n${bold(`${n++}. ${text}`)}`)
  const say = (text: string) => console.log(`   ${text}`)
  /** The function's own log lines, indented under the step. */
  async function runFunction() {
    const { log } = console
    console.log = (...args: unknown[]) => log(`   function: ${format(...args)}`)
    try {
      for (const invocation of await bed.deliver()) if (invocation.error) throw invocation.error
    } finally {
      console.log = log
    }
  }
  async function signIn() {
    const login = await bed.auth0.login({
      organization: policy.auth0OrganizationId,
      userId: 'auth0|alice',
      email: 'alice@acme.example',
      clientId: 'acme-portal',
      audience: AUDIENCE,
    })
    for (const line of login.actionLogs) say(`Action log: ${line}`)
    const payload = JSON.parse(Buffer.from(login.accessToken.split('.')[1] as string, 'base64url').toString())
    say('access token (decoded payload):')
    for (const line of JSON.stringify(payload, null, 2).split('\n')) say(`  ${line}`)
    return login.accessToken
  }
  async function getContent(token: string) {
    const response = await fetch(`${app.url}/content`, { headers: { authorization: `Bearer ${token}` } })
    const body = (await response.json()) as {
      reason?: string
      content: Array<{ _id: string; title: string; tags: string[] }>
      onboarding: Array<{ title: string }>
    }
    say(`GET ${app.url}/content → ${response.status}${body.reason ? ` (${body.reason})` : ''}`)
    say(`  content:    ${body.content.map((doc) => `${doc.title} [${doc.tags.join(', ')}]`).join('; ') || '(none)'}`)
    say(`  onboarding: ${body.onboarding.map((doc) => doc.title).join('; ') || '(none)'}`)
    return body
  }

  try {
    console.log(`\n${bold('Second act: tokens and apps')}`)
    say(`Auth0 emulator (tenant, login, JWKS): ${bed.auth0.issuer}`)
    say(`example app: ${app.url}/content (imports sanity-auth0-access-sync/app)`)

    step(`The post-login Action is deployed (access-sync deploy-action, CLAIM_NAMESPACE=${NAMESPACE})`)
    const gateway = connectActions({
      domain: bed.auth0.domain,
      clientId: DEPLOY_CLIENT.clientId,
      clientSecret: DEPLOY_CLIENT.clientSecret,
    })
    const code = readFileSync(new URL('../auth0/actions/access-claims.js', import.meta.url), 'utf8')
    await deployAction(
      gateway,
      { name: ACTION_NAME, code, runtime: ACTION_RUNTIME, namespace: NAMESPACE, updateSecrets: false },
      { dryRun: false, maxWaitMs: 10_000, pollMs: 100 },
      { log: say, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), now: Date.now },
    )

    step(`An editor publishes "${policy.title}": the function writes the Organization's metadata`)
    await bed.sanity.createOrReplace(policy)
    await runFunction()
    const metadata = bed.metadata(policy.auth0OrganizationId) ?? {}
    say(`plan=${metadata.plan} role=${metadata.role} contentTags=${metadata.contentTags}`)

    step('alice@acme.example signs in to Acme: the Action turns the metadata into claims')
    const token = await signIn()

    step('The example app verifies the token and serves only what the claims allow')
    const allowed = await getContent(token)
    const served = new Set(allowed.content.map((doc) => doc._id))
    const withheld = content.filter((doc) => doc._type === 'article' && !served.has(doc._id))
    say(`  withheld:   ${withheld.map((doc) => doc.title).join('; ')}`)

    step('The editor archives the policy: the function revokes the access keys')
    await bed.sanity.patch(policy._id).set({ status: 'archived' }).commit()
    await runFunction()

    step('alice signs in again: no access claims, and the app serves no gated content')
    await getContent(await signIn())
  } finally {
    await app.close()
    await bed.close()
  }
}
