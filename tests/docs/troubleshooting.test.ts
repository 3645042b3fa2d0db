/**
 * docs/troubleshooting.md against the code: every error reason the product can report has its entry (one table row,
 * in the section for where it shows), and every entry is a reason the code has. The reasons: SYNC_ERROR_REASONS
 * (src/core/errors.ts), the app helper's DenyReason (app/index.ts) and the Action's NoClaimsReason
 * (src/core/claims.ts); the last two are type unions, read from their source.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SYNC_ERROR_REASONS } from '../../src/core/errors.ts'
import { lines, page, REPO_ROOT } from './markdown.ts'

/** The string literals of a union type `export type <name> = | 'a' | 'b' …`, read from its source file. */
function unionMembers(file: string, name: string): string[] {
  const source = readFileSync(join(REPO_ROOT, file), 'utf8')
  const start = source.indexOf(`export type ${name} =`)
  if (start < 0) throw new Error(`${file}: no \`export type ${name} =\``)
  const rest = source.slice(start).split('\n')
  // The declaration runs until the first line that is not indented (the next declaration or a blank line).
  const end = rest.findIndex((line, index) => index > 0 && !/^\s+\S/.test(line))
  const declaration = rest.slice(0, end < 0 ? undefined : end).join('\n')
  return [...declaration.replace(/\/\*[\s\S]*?\*\//g, '').matchAll(/'([a-z0-9-]+)'/g)].map((match) => match[1] ?? '')
}

/** The section of the page each set of reasons belongs to, by its heading. */
const SECTIONS = {
  'Sync errors': () => [...SYNC_ERROR_REASONS],
  'App helper denials': () => unionMembers('app/index.ts', 'DenyReason'),
  'Action: no claims': () => unionMembers('src/core/claims.ts', 'NoClaimsReason'),
} as const

/** The reasons a section's table lists: the first column, in backticks. */
function entries(text: string, heading: string): string[] {
  const all = lines(text)
  const start = all.findIndex((line) => !line.code && line.text === `## ${heading}`)
  if (start < 0) return []
  const end = all.findIndex((line, index) => index > start && !line.code && /^## /.test(line.text))
  return all
    .slice(start + 1, end < 0 ? undefined : end)
    .flatMap((line) => /^\|\s*`([a-z0-9-]+)`\s*\|/.exec(line.text)?.[1] ?? [])
}

describe('docs/troubleshooting.md', () => {
  const text = page('docs/troubleshooting.md').text

  it.each(Object.keys(SECTIONS))('"%s" has one entry per reason in the code, and no other', (heading) => {
    const reasons = SECTIONS[heading as keyof typeof SECTIONS]()
    expect(reasons.length).toBeGreaterThan(4)
    const listed = entries(text, heading)
    expect({
      missing: reasons.filter((reason) => !listed.includes(reason)),
      notInTheCode: listed.filter((reason) => !reasons.includes(reason)),
      twice: listed.filter((reason, index) => listed.indexOf(reason) !== index),
    }).toEqual({ missing: [], notInTheCode: [], twice: [] })
  })

  it('reads a union type as the compiler does (the checker itself)', () => {
    expect(unionMembers('app/index.ts', 'DenyReason')).toEqual(
      expect.arrayContaining(['missing-token', 'opaque-token', 'no-access-claims', 'policy-revoked']),
    )
    expect(unionMembers('src/core/claims.ts', 'NoClaimsReason')).toEqual([
      'invalid-namespace',
      'no-organization',
      'no-marker',
      'oversized',
      'malformed',
    ])
  })
})
