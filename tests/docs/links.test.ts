/**
 * Every relative link of README.md and docs/ resolves: the file exists, and an anchor (`#…`, in the same page or
 * another) is a heading of that page as GitHub renders it.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { anchors, fromRoot, links, pages, REPO_ROOT, slug } from './markdown.ts'

/** Every broken relative link of the pages, as `page:line → target (why)`. */
function brokenLinks(all = pages()): string[] {
  const anchorsOf = new Map<string, Set<string>>()
  const anchorsFor = (path: string): Set<string> => {
    let found = anchorsOf.get(path)
    if (!found) {
      found = anchors(readFileSync(join(REPO_ROOT, path), 'utf8'))
      anchorsOf.set(path, found)
    }
    return found
  }
  for (const { path, text } of all) anchorsOf.set(path, anchors(text))
  return all.flatMap(({ path, text }) =>
    links(text).flatMap(({ target, line }) => {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return [] // https:, mailto: …: not this test's business
      const [file = '', anchor] = target.split('#', 2)
      const resolved = file === '' ? path : fromRoot(join(REPO_ROOT, dirname(path), decodeURIComponent(file)))
      const where = `${path}:${line} → ${target}`
      const exists = anchorsOf.has(resolved) || existsSync(join(REPO_ROOT, resolved))
      if (resolved.startsWith('..') || !exists) return [`${where} (no file ${resolved})`]
      if (anchor === undefined) return []
      if (!resolved.endsWith('.md')) return [`${where} (an anchor into a file that is not Markdown)`]
      return anchorsFor(resolved).has(anchor) ? [] : [`${where} (no heading of ${resolved} has this anchor)`]
    }),
  )
}

describe('links in README.md and docs/', () => {
  it('every relative link and anchor resolves', () => {
    const all = pages()
    expect(all.flatMap((page) => links(page.text)).length).toBeGreaterThan(50)
    expect(brokenLinks(all)).toEqual([])
  })

  it('finds links and anchors as GitHub renders them (the checker itself)', () => {
    expect(slug('Run it locally: `npm run dev`')).toBe('run-it-locally-npm-run-dev')
    expect(slug('Filter and projection (`sanity.blueprint.ts`)')).toBe('filter-and-projection-sanityblueprintts')
    expect(slug("Every plan's rate limits")).toBe('every-plans-rate-limits')
    expect(slug('Sanity → Auth0 access sync')).toBe('sanity--auth0-access-sync')
    expect([...anchors('# A\n\n```sh\n# not a heading\n```\n\n## A\n')]).toEqual(['a', 'a-1'])
    const page = {
      path: 'docs/example.md',
      text: '[ok](getting-started.md) [gone](missing.md) [here](#nowhere) `[in code](nowhere.md)`\n',
    }
    expect(brokenLinks([page])).toEqual([
      'docs/example.md:1 → missing.md (no file docs/missing.md)',
      'docs/example.md:1 → #nowhere (no heading of docs/example.md has this anchor)',
    ])
  })
})
