/**
 * The layout shows the architecture and stays that way: entry points (functions/, cli/, auth0/actions/, app/) on top,
 * the shell in src/, the pure core in src/core/ at the bottom. Three rules, read from the tracked files:
 * no file beside a folder of the same name, no import circle, and the core imports nothing but itself.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../emulators/sanity-cli.ts'

const CODE = /\.(ts|tsx|mts)$/
const ROOTS = ['src/', 'cli/', 'functions/', 'app/', 'auth0/', 'emulators/', 'scripts/', 'sanity.blueprint.ts']

function trackedCode(): string[] {
  return execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' })
    .split('\n')
    .filter((file) => CODE.test(file) && ROOTS.some((root) => file.startsWith(root)))
}

/** Relative imports (static, dynamic and re-exports) of one file, as repository paths. */
export function relativeImports(file: string, source: string): string[] {
  const found: string[] = []
  const pattern = /(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g
  for (const match of source.matchAll(pattern)) found.push(normalize(join(dirname(file), match[1] ?? '')))
  return found
}

/** The first cycle found in a graph, as the list of files around it, or undefined. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node]
    state.set(node, 'open')
    path.push(node)
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next)
      if (cycle) return cycle
    }
    path.pop()
    state.set(node, 'done')
    return undefined
  }
  for (const node of graph.keys()) {
    const cycle = visit(node)
    if (cycle) return cycle
  }
  return undefined
}

describe.skipIf(!existsSync(`${repoRoot}.git`))('repository layout', () => {
  const files = trackedCode()
  const graph = new Map(
    files.map((file) => [
      file,
      relativeImports(file, readFileSync(join(repoRoot, file), 'utf8')).filter((target) => files.includes(target)),
    ]),
  )

  it('no file sits beside a folder of the same name (src/sync.ts next to src/sync/)', () => {
    const folders = new Set(files.map((file) => dirname(file)))
    const beside = files.filter((file) => folders.has(file.replace(CODE, '')))
    expect(beside).toEqual([])
  })

  it('no import circle among the tracked modules', () => {
    expect(findCycle(graph)).toBeUndefined()
  })

  it('the core (src/core/) imports only the core and the settings catalog: no gateway, no entry point', () => {
    // src/settings.ts is data (names, defaults, who reads each) with no import and no I/O.
    const allowed = (target: string) => target.startsWith('src/core/') || target === 'src/settings.ts'
    const outward = [...graph]
      .filter(([file]) => file.startsWith('src/core/'))
      .flatMap(([file, targets]) => targets.filter((t) => !allowed(t)).map((t) => `${file} → ${t}`))
    expect(outward).toEqual([])
  })

  it('the checks can see a circle and an import (the detector itself)', () => {
    expect(relativeImports('src/a.ts', "import { x } from './sync/b.ts'\nexport * from '../c.ts'")).toEqual([
      'src/sync/b.ts',
      'c.ts',
    ])
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['a']],
        ]),
      ),
    ).toEqual(['a', 'b', 'a'])
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toBeUndefined()
  })
})
