/**
 * The repository itself: .gitignore and the index agree. A tracked file that .gitignore also lists is either
 * generated output that slipped in, or a rule that hides a real source file from `git status`.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { expect, it } from 'vitest'
import { repoRoot } from '../emulators/sanity-cli.ts'

it.skipIf(!existsSync(`${repoRoot}.git`))('no tracked file is gitignored (git ls-files -ci --exclude-standard)', () => {
  const listed = execFileSync('git', ['ls-files', '-ci', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' })
  expect(listed.split('\n').filter(Boolean)).toEqual([])
})
