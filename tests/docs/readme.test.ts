/**
 * The shape issue 19 asks of the README and docs/: a README a newcomer reads in one go, whose first code block is
 * the commands that run the product and its tests, and which links every page; every page opens with what the
 * reader can do after it.
 */
import { describe, expect, it } from 'vitest'
import { codeBlocks, links, page, pages } from './markdown.ts'

describe('README.md', () => {
  const readme = page('README.md').text

  it('is at most 200 lines', () => {
    expect(readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0)).toBeLessThanOrEqual(200)
  })

  it('opens with the commands that run it and its tests on a fresh machine (its first code block)', () => {
    const commands = (codeBlocks(readme)[0] ?? []).map((line) => line.split(/\s+#/)[0]?.trim())
    expect(commands.slice(0, 2)).toEqual(['npm install && npm run demo', 'npm test'])
    expect(commands).toContain('npm run dev')
  })

  it('links every page of docs/', () => {
    const linked = new Set(links(readme).map((link) => link.target.split('#')[0]))
    const docs = pages()
      .map((doc) => doc.path)
      .filter((path) => path.startsWith('docs/'))
    expect(docs.length).toBeGreaterThanOrEqual(12)
    expect(docs.filter((path) => !linked.has(path))).toEqual([])
  })
})

describe('docs/', () => {
  it.each(
    pages()
      .filter((doc) => doc.path.startsWith('docs/'))
      .map((doc) => [doc.path, doc.text] as const),
  )('%s opens with its title, then "After this page you can …"', (_path, text) => {
    const [title, blank, opening] = text.split('\n')
    expect(title).toMatch(/^# \S/)
    expect(blank).toBe('')
    expect(opening).toMatch(/^After this page you can /)
  })
})
