import { readFileSync } from 'node:fs'
import process from 'node:process'
import { format } from 'node:util'
import { trustEmulatorCertificate } from '../emulators/tls.ts'
import { metadataLines } from './metadata-lines.ts'

await trustEmulatorCertificate()

const { startLocalStack } = await import('../emulators/stack.ts')
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../functions/sync-access-policy/fixtures/${name}`, import.meta.url), 'utf8'))
const dataset: Array<{ _id: string; _type: string }> = fixture('dataset.json')
const policy = fixture('policy-acme.json')
const ORG = policy.auth0OrganizationId as string

const bed = await startLocalStack({
  documents: dataset.filter((doc) => doc._type === 'role' || doc._type === 'plan'),
  auth0: { organizations: fixture('organizations.json') },
})
// The plan's fan-out function runs next to the policy's, on the same changes, as the runtime would.
const { createFunctionsRuntime } = await import('../emulators/functions-runtime.ts')
const { PLAN_FAN_OUT } = await import('../sanity.blueprint.ts')
const { handler: planFanOut } = await import('../functions/fan-out-plan/index.ts')
const planFunction = createFunctionsRuntime({
  fn: PLAN_FAN_OUT,
  handler: planFanOut,
  clientOptions: bed.lake.clientConfig,
  dataset: () => bed.lake.documents(),
})
const planChanges: Parameters<Parameters<typeof bed.lake.onMutation>[0]>[0][] = []
bed.lake.onMutation((change) => {
  planChanges.push(change)
})
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[22m` : text)
const step = (n: number, text: string) => console.log(`\n${bold(`${n}. ${text}`)}`)
function showMetadata(label: string) {
  for (const line of metadataLines(label, ORG, bed.metadata(ORG))) console.log(line)
}
function showStatus() {
  const status = bed.lake.getDocument(`accessPolicySyncStatus.${policy._id}`)
  if (status)
    console.log(`   Studio badge reads the status document: outcome "${status.outcome}" at ${status.attemptedAt}`)
}
/** Runs `work` with the function's console lines indented under the current step, like the demo's own. */
async function indentFunctionLogs<T>(work: () => Promise<T>): Promise<T> {
  const { log, warn } = console
  const indent =
    (write: typeof log) =>
    (...args: unknown[]) => {
      for (const line of format(...args).split('\n')) write(`   function: ${line}`)
    }
  console.log = indent(log)
  console.warn = indent(warn)
  try {
    return await work()
  } finally {
    console.log = log
    console.warn = warn
  }
}
async function runFunction() {
  const invocations = await indentFunctionLogs(async () => {
    const delivered = await bed.deliver()
    for (const change of planChanges.splice(0)) {
      const invocation = await planFunction.deliver(change)
      if (invocation) delivered.push(invocation)
    }
    return delivered
  })
  if (invocations.length === 0) console.log('   function: not triggered (filtered out, as in production)')
  for (const invocation of invocations) {
    if (invocation.error) throw invocation.error
  }
}

try {
  console.log(bold('Sanity → Auth0 access sync: local demo (embedded emulators, no credentials)'))
  console.log(`   Auth0 Management API emulator: https://${bed.auth0.domain}`)
  console.log(`   Content Lake emulator:         ${bed.lake.url} (${bed.lake.projectId}/${bed.lake.dataset})`)

  step(1, 'Before anything is published')
  showMetadata('before')

  step(
    2,
    `An editor publishes "${policy.title}" (plan ${policy.plan}, role → editor, tags ${policy.allowedContentTags.join(', ')})`,
  )
  await bed.sanity.createOrReplace(policy)
  await runFunction()
  showMetadata('after publish')
  showStatus()
  console.log('   internalNotes and title stayed in Sanity; crmAccount and supportTier were kept.')

  step(3, 'The editor saves a draft with plan "enterprise" (drafts never reach Auth0)')
  await bed.sanity.createOrReplace({ ...policy, _id: `drafts.${policy._id}`, plan: 'enterprise' })
  await runFunction()

  step(4, 'The editor republishes with only a new title')
  const writesBefore = bed.auth0.count({ method: 'PATCH' })
  await bed.sanity
    .patch(policy._id)
    .set({ title: `${policy.title} (renamed)` })
    .commit()
  await runFunction()
  console.log(`   Auth0 writes for this publish: ${bed.auth0.count({ method: 'PATCH' }) - writesBefore}`)

  step(5, 'An ops user adds "scim" to the Pro plan\'s entitlements: every organization on Pro is re-synced')
  await bed.sanity
    .patch('plan-pro')
    .set({ entitlements: ['sso', 'audit-log', 'scim'] })
    .commit()
  await runFunction()
  showMetadata('after the plan edit')

  step(6, 'The editor archives the policy (status → "archived"): access is revoked')
  await bed.sanity.patch(policy._id).set({ status: 'archived' }).commit()
  await runFunction()
  showMetadata('after revoke')
  showStatus()

  const count = (filter: Parameters<typeof bed.auth0.count>[0]) => bed.auth0.count(filter)
  console.log(
    `\nAuth0 requests in total: ${count({ path: '/oauth/token' })} token, ${count({ method: 'GET' })} reads, ${count({ method: 'PATCH' })} writes over ${bed.invocations.length + planFunction.invocations.length} invocations.`,
  )
  console.log('Deploy for real: see docs/deploy.md.')
} finally {
  await bed.close()
}

// Second act: the Action, a login and the example app (scripts/demo-app.ts).
await (await import('./demo-app.ts')).runAppAct(7)
