/**
 * The settings catalog (src/settings.ts) against what reads settings: `.env.example` is generated from it, every
 * name the code reads is in it, and its functions are the blueprint's.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { describe, expect, it } from 'vitest'
import { accessSyncFunctions } from '../../sanity.blueprint.ts'
import { REPO_ROOT } from '../../scripts/build-functions.ts'
import { ENV_EXAMPLE, renderEnvExample } from '../../scripts/env-example.ts'
import { functionEnvSettings, SETTINGS } from '../../src/settings.ts'

/** Every .ts file under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true, recursive: true }).flatMap((entry) =>
    entry.isFile() && entry.name.endsWith('.ts') ? [join(entry.parentPath, entry.name)] : [],
  )
}

/** The setting names a source reads: `env.NAME`, `env['NAME']`, and the readers' `required(env, 'NAME'` etc. */
function namesRead(text: string): string[] {
  const patterns = [
    /\benv\??\.([A-Z][A-Z0-9_]{2,})\b/g,
    /\benv\[['"]([A-Z][A-Z0-9_]{2,})['"]\]/g,
    /\b(?:required|numberSetting)\(\s*env,\s*'([A-Z][A-Z0-9_]{2,})'/g,
    /\bneed\('([A-Z][A-Z0-9_]{2,})'\)/g,
  ]
  return patterns.flatMap((pattern) => [...text.matchAll(pattern)].map((match) => match[1] ?? ''))
}

describe('the settings catalog', () => {
  it('.env.example is the catalog rendered (run `node scripts/env-example.ts` after editing src/settings.ts)', () => {
    expect(readFileSync(ENV_EXAMPLE, 'utf8')).toBe(renderEnvExample())
  })

  it('.env.example lists every setting once, and a copy of it sets exactly the required ones', () => {
    const text = readFileSync(ENV_EXAMPLE, 'utf8')
    for (const entry of SETTINGS.filter((setting) => setting.envFile !== false)) {
      expect(text.match(new RegExp(`^(# )?${entry.name}=`, 'gm')), entry.name).toHaveLength(1)
    }
    expect(Object.keys(parseEnv(text)).sort()).toEqual(
      SETTINGS.filter((entry) => entry.required)
        .map((entry) => entry.name)
        .sort(),
    )
  })

  it('names every setting the code reads', () => {
    const files = [
      ...['src', 'cli', 'functions', 'app', 'examples'].flatMap(sources),
      join(REPO_ROOT, 'sanity.blueprint.ts'),
    ]
    const read = new Set(files.flatMap((file) => namesRead(readFileSync(file, 'utf8'))))
    // X_SANITY_LINEAGE is the platform's, set per invocation.
    read.delete('X_SANITY_LINEAGE')
    expect(read.size).toBeGreaterThan(15)
    const catalog = new Set(SETTINGS.map((entry) => entry.name))
    expect([...read].filter((name) => !catalog.has(name)).sort()).toEqual([])
  })

  it('its functions are the functions in functions/, every one the blueprint can declare', () => {
    const declared = accessSyncFunctions({ ACCESS_SYNC_SCHEDULE: 'hourly' }).map((resource) => resource.name)
    const named = new Set(SETTINGS.flatMap((entry) => entry.functions))
    expect([...named].sort()).toEqual([...declared].sort())
    for (const fn of declared) {
      expect(existsSync(join(REPO_ROOT, 'functions', fn, 'index.ts')), fn).toBe(true)
      // Every function talks to Auth0 with the sync client.
      expect(functionEnvSettings(fn).map((entry) => entry.name)).toEqual(
        expect.arrayContaining(['AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET']),
      )
    }
  })

  it('a secret never goes through the blueprint, and every function setting says how it gets there', () => {
    for (const entry of SETTINGS) {
      if (entry.secret) expect(entry.via, entry.name).not.toBe('blueprint')
      expect(entry.functions.length > 0, entry.name).toBe(entry.via !== undefined)
    }
  })
})
