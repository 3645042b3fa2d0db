/**
 * The app helper as an app installs it: `npm pack`, the tarball installed into a fresh project (no TypeScript
 * loader, no symlink into this repository), then imported with plain Node and type-checked with `tsc` as an app's
 * own code would be. Uses the build the global setup made (tests/setup/app-build.ts); `npm pack` runs with
 * --ignore-scripts so it does not rebuild dist/app/ under the files other test workers are importing.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, REPO_ROOT } from '../setup/app-build.ts'

const run = promisify(execFile)
const NPM_FLAGS = ['--no-audit', '--no-fund', '--loglevel=error']
/** The repository's npm: the one the running Node comes with (npm's own script runner sets npm_execpath). */
const npm = (args: string[], cwd: string) =>
  process.env.npm_execpath
    ? run(process.execPath, [process.env.npm_execpath, ...args], { cwd, maxBuffer: 16 * 1024 * 1024 })
    : run('npm', args, { cwd, maxBuffer: 16 * 1024 * 1024 })

let work: string
let consumer: string
let packed: { filename: string; files: { path: string }[] }
let installedManifest: { exports: Record<string, unknown>; private?: boolean; license?: string }

beforeAll(async () => {
  buildApp()
  work = mkdtempSync(join(tmpdir(), 'access-sync-pack-'))
  const { stdout } = await npm(
    ['pack', '--ignore-scripts', '--json', '--pack-destination', work, ...NPM_FLAGS],
    REPO_ROOT,
  )
  packed = (JSON.parse(stdout) as (typeof packed)[])[0] as typeof packed
  consumer = join(work, 'consumer')
  await run('mkdir', [consumer])
  writeFileSync(join(consumer, 'package.json'), '{ "name": "consumer", "private": true, "type": "module" }\n')
  // The CI's npm cache is warm from the repository's own `npm install`; no install scripts are needed.
  await npm(['install', '--prefer-offline', '--ignore-scripts', ...NPM_FLAGS, join(work, packed.filename)], consumer)
  installedManifest = JSON.parse(
    readFileSync(join(consumer, 'node_modules/sanity-auth0-access-sync/package.json'), 'utf8'),
  )
}, 120_000)
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('the app helper as a package (npm pack → npm install in a fresh project)', () => {
  it('ships the built helper with its declaration files, LICENSE and README; no sources, tests or emulators', () => {
    const paths = packed.files.map((file) => file.path).sort()
    const built = paths.filter((path) => path.startsWith('dist/app/'))
    expect(built).toContain('dist/app/app/index.js')
    expect(built).toContain('dist/app/app/index.d.ts')
    // Every module has its declarations, and nothing but .js and .d.ts is in the build.
    for (const path of built.filter((path) => path.endsWith('.js')))
      expect(built).toContain(path.replace(/\.js$/, '.d.ts'))
    expect(built.every((path) => /\.(js|d\.ts)$/.test(path))).toBe(true)
    // npm always packs a `bin` target: the CLI's entry is there, but it is a repository tool (see the README).
    expect(paths.filter((path) => !path.startsWith('dist/app/'))).toEqual([
      'LICENSE',
      'README.md',
      'cli/access-sync.ts',
      'package.json',
    ])
    expect(installedManifest.license).toBe('MIT')
    expect(installedManifest.exports['./app']).toEqual({
      types: './dist/app/app/index.d.ts',
      import: './dist/app/app/index.js',
    })
  })

  it('imports with plain Node (no TypeScript loader) and its functions work', async () => {
    const script = `
import { createAccessVerifier, gatedContentQuery, applyLivePolicy, bearerToken, ALLOWED_ALGORITHMS } from 'sanity-auth0-access-sync/app'
const verifier = createAccessVerifier({ domain: 'tenant.example', audience: 'https://api.example' })
const missing = await verifier.verifyAuthorization(undefined)
const malformed = await verifier.verify('not-a-token')
const query = gatedContentQuery({ plan: 'pro', role: 'editor', contentTags: ['news'], entitlements: [] })
const revoked = applyLivePolicy({ allow: true, subject: 'u', organizationId: 'org_1', claims: {} }, { ok: true, rows: [] })
console.log(JSON.stringify({
  resolved: import.meta.resolve('sanity-auth0-access-sync/app'),
  missing: missing.allow || missing.reason,
  malformed: malformed.allow || malformed.reason,
  plan: query.params.plan,
  revoked: revoked.allow || revoked.reason,
  bearer: bearerToken('Bearer abc'),
  algorithms: ALLOWED_ALGORITHMS,
}))`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: consumer,
      // Plain Node: no loader, no --import, no options inherited from the test runner.
      env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: '' },
    })
    const result = JSON.parse(stdout)
    expect(result).toMatchObject({
      missing: 'missing-token',
      malformed: 'malformed-token',
      plan: 'pro',
      bearer: 'abc',
      algorithms: ['RS256'],
    })
    expect(result.revoked).not.toBe(true)
    expect(result.resolved).toMatch(/\/node_modules\/sanity-auth0-access-sync\/dist\/app\/app\/index\.js$/)
  })

  it("type-checks an app's code with tsc: correct usage passes, wrong usage fails where it is wrong", async () => {
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM'],
          types: [],
          strict: true,
          noEmit: true,
          // The package's declaration files are checked too.
          skipLibCheck: false,
        },
        files: ['app.ts', 'wrong.ts'],
      }),
    )
    writeFileSync(
      join(consumer, 'app.ts'),
      `import {
  type AccessDecision,
  type AccessVerifier,
  createAccessVerifier,
  type DenyReason,
  gatedContentQuery,
} from 'sanity-auth0-access-sync/app'

const verifier: AccessVerifier = createAccessVerifier({ domain: 'tenant.example', audience: 'https://api.example' })
export async function gate(header: string | undefined): Promise<string> {
  const decision: AccessDecision = await verifier.verifyAuthorization(header)
  if (!decision.allow) {
    const reason: DenyReason = decision.reason
    return reason
  }
  const { query, params } = gatedContentQuery(decision.claims)
  return \`\${query} \${params.plan}\`
}
`,
    )
    writeFileSync(
      join(consumer, 'wrong.ts'),
      `import { createAccessVerifier, gatedContentQuery } from 'sanity-auth0-access-sync/app'

createAccessVerifier({ domain: 42, audience: 'https://api.example' })
export const plan: number = gatedContentQuery({ plan: 'pro', role: 'r', contentTags: [], entitlements: [] }).params.plan
export async function reasonOfAllowed(token: string): Promise<string> {
  const decision = await createAccessVerifier({ domain: 'd', audience: 'a' }).verify(token)
  return decision.reason
}
`,
    )
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc')
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], {
      cwd: consumer,
    }).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    )
    const errors = result.stdout
      .split('\n')
      .filter((line) => /error TS\d+/.test(line))
      .map((line) => line.replace(/^(\S+?)\((\d+),\d+\): error (TS\d+):.*$/, '$1:$2 $3'))
    // app.ts is clean; each wrong line of wrong.ts is an error: a number for the domain, a string plan
    // assigned to a number, and `reason` read without checking `allow` first.
    expect(errors).toEqual(['wrong.ts:3 TS2322', 'wrong.ts:4 TS2322', 'wrong.ts:7 TS2339'])
    expect(result.code).toBe(2)
  })
})
