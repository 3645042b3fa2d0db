/**
 * docs/configuration.md against the code: its settings table is the catalog (src/settings.ts) rendered, every
 * environment variable the product's code reads is on the page, and every variable on the page is read by it.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CONFIGURATION_DOC, withSettingsTable } from '../../scripts/docs-config.ts'
import { lines, REPO_ROOT } from './markdown.ts'

/** The product's code: what users run or deploy. Tests, scripts and emulators set variables; they are not read here. */
const PRODUCT = ['src', 'cli', 'functions', 'app', 'examples', 'studio', 'auth0/actions']
/** Read, but not a setting of anyone's: the platform sets it per invocation. */
const PLATFORM_OWNED = new Set(['X_SANITY_LINEAGE'])

/** Every source file of the product without its comments, the catalog left out (listing a name is not reading it). */
function productSources(): { readonly path: string; readonly text: string }[] {
  const files = PRODUCT.flatMap((dir) =>
    readdirSync(join(REPO_ROOT, dir), { withFileTypes: true, recursive: true }).flatMap((entry) =>
      entry.isFile() && /\.(ts|tsx|mts)$/.test(entry.name) && !entry.parentPath.includes('node_modules')
        ? [join(entry.parentPath, entry.name)]
        : [],
    ),
  )
  return [...files, join(REPO_ROOT, 'sanity.blueprint.ts')]
    .filter((path) => !path.endsWith(join('src', 'settings.ts')))
    .map((path) => ({ path, text: code(readFileSync(path, 'utf8')) }))
}

/** The source without its comments, so a name mentioned in prose is not taken for one read. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
}

const NAME = '[A-Z][A-Z0-9_]{2,}'

/** The names a source reads: `env.NAME`, `env?.NAME`, `env['NAME']`, and the readers' `required(env, 'NAME'` etc. */
function namesRead(text: string): string[] {
  const patterns = [
    new RegExp(`\\benv\\??\\.(${NAME})\\b`, 'g'),
    new RegExp(`\\benv\\[['"](${NAME})['"]\\]`, 'g'),
    new RegExp(`\\b(?:required|numberSetting)\\(\\s*env,\\s*'(${NAME})'`, 'g'),
    new RegExp(`\\bneed\\('(${NAME})'\\)`, 'g'),
  ]
  return patterns.flatMap((pattern) => [...text.matchAll(pattern)].map((match) => match[1] ?? ''))
}

/** Whether a source reads `name` in any way: one of the patterns above, or the name as a string of its own. */
function reads(text: string, name: string): boolean {
  return namesRead(text).includes(name) || new RegExp(`['"\`]${name}['"\`]`).test(text)
}

/** The variables docs/configuration.md documents: the first column of its tables. */
function documented(text: string): string[] {
  return lines(text)
    .filter((line) => !line.code)
    .flatMap((line) => /^\|\s*`([A-Z][A-Z0-9_]{2,})`\s*\|/.exec(line.text)?.[1] ?? [])
}

describe('docs/configuration.md', () => {
  const page = readFileSync(CONFIGURATION_DOC, 'utf8')

  it('its settings table is the catalog rendered (run `node scripts/docs-config.ts` after editing src/settings.ts)', () => {
    expect(page).toBe(withSettingsTable(page))
  })

  it('lists every environment variable the code reads', () => {
    const read = new Set(productSources().flatMap((source) => namesRead(source.text)))
    for (const name of PLATFORM_OWNED) read.delete(name)
    expect(read.size).toBeGreaterThan(30)
    const onPage = new Set(documented(page))
    expect([...read].filter((name) => !onPage.has(name)).sort()).toEqual([])
  })

  it('lists only variables the code reads', () => {
    const sources = productSources()
    const names = documented(page)
    expect(names.length).toBeGreaterThan(30)
    expect(names.filter((name) => !sources.some((source) => reads(source.text, name)))).toEqual([])
  })

  it('lists each variable once', () => {
    const names = documented(page)
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([])
  })
})
