/**
 * The real Sanity CLI on the Studio, offline: `sanity build` (which also extracts the schema, see
 * studio/sanity.cli.ts) and `sanity typegen generate`, both into a scratch directory. The build must produce a
 * Studio, and the committed studio/schema.json and sanity.types.ts must equal what the CLI generates now.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runSanityCli } from '../../emulators/sanity-cli.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const studio = join(root, 'studio')
const scratch = mkdtempSync(join(tmpdir(), 'studio-build-'))
const STALE = 'is stale: run `npm run typegen` and commit the result'
const PROJECT_ID = 'buildcheck42'
const DATASET = 'buildcheck-dataset'

async function sanity(...args: string[]): Promise<string> {
  const { code, output } = await runSanityCli(args, {
    cwd: studio,
    timeoutMs: 240_000,
    env: {
      // The CLI resolves these paths against the Studio folder.
      SANITY_TYPEGEN_OUT_DIR: relative(studio, scratch),
      SANITY_STUDIO_PROJECT_ID: PROJECT_ID,
      SANITY_STUDIO_DATASET: DATASET,
    },
  })
  if (code !== 0) throw new Error(`sanity ${args.join(' ')} exited with ${code}:\n${output}`)
  return output
}

let buildSeconds = 0
beforeAll(async () => {
  const started = Date.now()
  await sanity('build', join(scratch, 'dist'), '--yes')
  buildSeconds = (Date.now() - started) / 1000
  await sanity('typegen', 'generate')
}, 300_000)
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true })
})

describe('sanity build (offline)', () => {
  it('produces a Studio that carries the validation and the sync status UI', () => {
    expect(existsSync(join(scratch, 'dist/index.html'))).toBe(true)
    const scripts = readdirSync(join(scratch, 'dist/static'))
      .filter((name) => name.endsWith('.js'))
      .map((name) => readFileSync(join(scratch, 'dist/static', name), 'utf8'))
      .join('\n')
    for (const text of ['Auth0: not synced yet', 'Auth0 contentTags', 'An organization takes one active policy']) {
      expect(scripts).toContain(text)
    }
    // The project settings reach the browser bundle (a bare `process.env` would not).
    const q = '[`"\']'
    expect(scripts).toMatch(
      new RegExp(`\\(\\{SANITY_STUDIO_PROJECT_ID:${q}${PROJECT_ID}${q},SANITY_STUDIO_DATASET:${q}${DATASET}${q}\\}\\)`),
    )
    // The Auth0 SDK and the function's gateways stay out of the browser bundle.
    expect(scripts).not.toContain('ManagementClient')
    console.log(`sanity build (with schema extraction): ${buildSeconds.toFixed(1)} s`)
  })
})

describe('generated files', () => {
  it('studio/schema.json is current', () => {
    const generated = readFileSync(join(scratch, 'schema.json'), 'utf8')
    expect(generated, `studio/schema.json ${STALE}`).toBe(readFileSync(join(studio, 'schema.json'), 'utf8'))
  })

  it('sanity.types.ts is current', () => {
    // The header names the schema file it was generated from: the scratch copy here, ./schema.json when committed.
    const generated = readFileSync(join(scratch, 'sanity.types.ts'), 'utf8').replace(
      `// Source: ${relative(studio, scratch)}/schema.json`,
      '// Source: schema.json',
    )
    expect(generated, `sanity.types.ts ${STALE}`).toBe(readFileSync(join(root, 'sanity.types.ts'), 'utf8'))
  })

  it('types the function’s query and the Studio’s conflict query from the schema', () => {
    const types = readFileSync(join(root, 'sanity.types.ts'), 'utf8')
    expect(types).toContain('// Variable: POLICY_STATE_QUERY')
    expect(types).toContain('// Variable: CONFLICTING_POLICIES_QUERY')
    expect(types).toMatch(
      /export type AccessPolicySyncStatus = \{[^}]*outcome\?: "synced" \| "unchanged" \| "revoked" \| "skipped" \| "conflict" \| "failed";/s,
    )
  })
})

describe('studio/package.json', () => {
  it('declares the root’s versions (the CLI checks the Studio’s manifest; the root installs them)', () => {
    const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    const studioManifest = JSON.parse(readFileSync(join(studio, 'package.json'), 'utf8'))
    const installed = { ...rootManifest.dependencies, ...rootManifest.devDependencies }
    for (const [name, version] of Object.entries(studioManifest.dependencies)) expect(installed[name]).toBe(version)
  })
})
