/**
 * `npm run functions:test -- <flags>`: the real `sanity functions test sync-access-policy <flags>` against the
 * local emulators, with no Sanity project, no Auth0 tenant and no network. It starts both emulators seeded with the
 * fixtures, builds the function's bundle (what the CLI runs), adds the emulated project's `--project-id` and
 * `--dataset` and the environment that routes the CLI there, prints the CLI's output and each Organization's
 * metadata before and after, and exits with the CLI's code. Paths are relative to the repository root.
 */
import { readFileSync } from 'node:fs'
import process from 'node:process'
import { startAuth0Emulator } from '../emulators/auth0.ts'
import { startContentLakeEmulator } from '../emulators/content-lake.ts'
import { emulatorEnv, projectArgs, repoRoot, runSanityCli } from '../emulators/sanity-cli.ts'
import { SYNC_FUNCTION } from '../sanity.blueprint.ts'
import { buildFunctions } from './build-functions.ts'
import { metadataLines } from './metadata-lines.ts'

const args = process.argv.slice(2)
if (args.length === 0 || args.includes('--help')) {
  console.log(`Usage: npm run functions:test -- <sanity functions test flags>
  e.g. npm run functions:test -- --file functions/sync-access-policy/fixtures/policy-acme.json
       npm run functions:test -- --event delete --file functions/sync-access-policy/fixtures/policy-acme.json
The emulated project (--project-id, --dataset) is added for you. See \`npx sanity functions test --help\`.`)
  process.exit(args.length === 0 ? 2 : 0)
}

const fixture = (name: string) =>
  JSON.parse(readFileSync(`${repoRoot}functions/${SYNC_FUNCTION.name}/fixtures/${name}`, 'utf8'))
const [auth0, lake] = await Promise.all([
  startAuth0Emulator({ organizations: fixture('organizations.json') }),
  startContentLakeEmulator({ documents: fixture('dataset.json') }),
])
const organizations = () => auth0.listOrganizations().map((org) => [org.id, org.metadata ?? {}] as const)
let code = 1
try {
  await buildFunctions()
  console.log(
    `Auth0 emulator https://${auth0.domain}; Content Lake emulator ${lake.url} (${lake.projectId}/${lake.dataset})`,
  )
  const before = new Map(organizations())
  const cli = ['functions', 'test', SYNC_FUNCTION.name, ...args, ...projectArgs(lake)]
  console.log(`\n$ sanity ${cli.join(' ')}`)
  const result = await runSanityCli(cli, { env: await emulatorEnv(auth0, lake) })
  // The CLI's progress and errors (stderr) first, then the function's logs (stdout), as they happened.
  console.log(`${result.stderr.replace(/^\n+/, '').trimEnd()}\n${result.stdout.trimEnd()}`)
  for (const [id, after] of organizations()) {
    const changed = JSON.stringify(before.get(id)) !== JSON.stringify(after)
    console.log()
    for (const line of metadataLines('before', id, before.get(id))) console.log(line)
    if (changed) for (const line of metadataLines('after', id, after)) console.log(line)
    else console.log('   after: unchanged')
  }
  code = result.code
} finally {
  await Promise.all([auth0.close(), lake.close()])
}
process.exit(code)
