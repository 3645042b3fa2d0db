/**
 * Every `npm run` script, `access-sync` command and flag that README.md or a page of docs/ names exists: the scripts
 * in package.json, the commands in COMMANDS (cli/access-sync.ts), each command's flags in its OPTIONS, and the flags
 * of `npm run <script> -- …` in that script's own parseArgs options.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../../cli/access-sync.ts'
import { OPTIONS as DEPLOY } from '../../cli/deploy.ts'
import { OPTIONS as DEPLOY_ACTION } from '../../cli/deploy-action.ts'
import { OPTIONS as DOCTOR } from '../../cli/doctor.ts'
import { OPTIONS as RECONCILE } from '../../cli/reconcile.ts'
import { codeLines, codeSpans, lines, type Page, pages, REPO_ROOT } from './markdown.ts'

type Options = Readonly<Record<string, { readonly type: string; readonly short?: string }>>

/** Each command's flags, as its module parses them. A command missing here fails the test below. */
const COMMAND_OPTIONS: Readonly<Record<string, Options>> = {
  reconcile: RECONCILE,
  deploy: DEPLOY,
  doctor: DOCTOR,
  'deploy-action': DEPLOY_ACTION,
}
/** `access-sync --help` and `-h`, before any command. */
const TOP_LEVEL_FLAGS = new Set(['help', 'h'])

/**
 * Flags of other tools the pages mention on their own (in a code span that is just the flag), with the tool. They
 * are not this product's to check; listing them here keeps a misspelt flag of ours from passing as someone else's.
 */
const OTHER_TOOLS: Readonly<Record<string, string>> = {
  'with-user-token': 'sanity functions test',
  'project-id': 'sanity functions test',
  dataset: 'sanity functions test',
  file: 'sanity functions test',
  'file-before': 'sanity functions test',
  'file-after': 'sanity functions test',
  event: 'sanity functions test',
  data: 'sanity functions test',
  'document-id': 'sanity functions test',
  stack: 'sanity blueprints',
  loglevel: 'npm',
  'max-semi-space-size': 'node',
}

const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>
}
const SCRIPTS = packageJson.scripts

/** The option names of a script's own parseArgs (`name: { type: … }`); undefined when it does not parse its flags. */
function scriptOptions(script: string): Set<string> | undefined {
  const file = /^node\s+(\S+\.ts)\b/.exec(SCRIPTS[script] ?? '')?.[1]
  if (!file) return undefined
  const source = readFileSync(join(REPO_ROOT, file), 'utf8')
  if (!source.includes('parseArgs(')) return undefined
  return new Set([...source.matchAll(/['"]?([a-z][a-z0-9-]*)['"]?\s*:\s*\{\s*type:/g)].map((match) => match[1] ?? ''))
}

/** `--name` and `--name=value` → `name`; `-h` → `h`. */
function flagsIn(words: readonly string[]): string[] {
  return words.flatMap((word) => /^--?([a-z][a-z0-9-]*)(=.*)?$/i.exec(word)?.[1] ?? [])
}

/** The words of a shell line up to its comment, or the end of the one command (`|`, `&&`, `;`). */
function commandWords(text: string): string[] {
  return (text.split(/\s#|&&|\|\||[|;]/)[0] ?? '').trim().split(/\s+/).filter(Boolean)
}

/** What is wrong with the commands and flags one piece of code names (a code span, or a line of a code block). */
function problems(code: string, standalone: boolean): string[] {
  const found: string[] = []
  for (const match of code.matchAll(/\bnpm run ([a-z][\w:.-]*)/g)) {
    const script = match[1] ?? ''
    if (!(script in SCRIPTS)) {
      found.push(`npm run ${script}: no such script in package.json`)
      continue
    }
    const words = commandWords(code.slice((match.index ?? 0) + match[0].length))
    if (words[0] !== '--' || script === 'access-sync') continue
    const options = scriptOptions(script)
    for (const flag of options ? flagsIn(words.slice(1)) : []) {
      if (!options?.has(flag)) found.push(`npm run ${script} -- --${flag}: the script does not take --${flag}`)
    }
  }
  for (const match of code.matchAll(/(?:^|[\s`(])access-sync((?:\s+--)?\s+)(\S+)/g)) {
    const words = commandWords(code.slice((match.index ?? 0) + match[0].length - (match[2] ?? '').length))
    const [command = '', ...rest] = words
    if (command.startsWith('-')) {
      for (const flag of flagsIn([command, ...rest])) {
        if (!TOP_LEVEL_FLAGS.has(flag)) found.push(`access-sync --${flag}: no such option before a command`)
      }
      continue
    }
    if (!/^[a-z][a-z-]*$/.test(command) || command === 'CLI' || command === 'command') continue
    if (!(command in COMMANDS)) {
      found.push(`access-sync ${command}: no such command in COMMANDS (cli/access-sync.ts)`)
      continue
    }
    found.push(...flagProblems(command, rest))
  }
  // A span of flags alone (`--apply`), or a command of ours without its prefix (`reconcile --apply`).
  if (standalone) {
    const words = commandWords(code)
    const [first = ''] = words
    if (first in COMMAND_OPTIONS && words.length > 1 && words[1]?.startsWith('--')) {
      found.push(...flagProblems(first, words.slice(1)))
    } else if (first.startsWith('--')) {
      for (const flag of flagsIn(words)) {
        const known =
          Object.values(COMMAND_OPTIONS).some((options) => flag in options) ||
          Object.keys(SCRIPTS).some((script) => scriptOptions(script)?.has(flag)) ||
          flag in OTHER_TOOLS
        if (!known) found.push(`--${flag}: no command of this product, no npm script and no listed tool takes it`)
      }
    }
  }
  return found
}

function flagProblems(command: string, words: readonly string[]): string[] {
  const options = COMMAND_OPTIONS[command]
  if (!options) return [`access-sync ${command}: its options are not known to this test (add them to COMMAND_OPTIONS)`]
  const shorts = new Set(Object.values(options).flatMap((option) => option.short ?? []))
  return flagsIn(words)
    .filter((flag) => !(flag in options) && !shorts.has(flag))
    .map((flag) => `access-sync ${command} --${flag}: no such option in its OPTIONS`)
}

/** Every problem of every page, as `page:line: problem`. */
function pageProblems(page: Page): string[] {
  // Prose names scripts too ("run npm run dev"); only the script is checked there, words around it are not code.
  const prose = lines(page.text)
    .filter((line) => !line.code)
    .flatMap((line) =>
      [...line.text.replace(/(`+)(.+?)\1/g, '').matchAll(/\bnpm run ([a-z][\w:.-]*[\w])/g)]
        .filter((match) => !((match[1] ?? '') in SCRIPTS))
        .map((match) => `${page.path}:${line.number}: npm run ${match[1]}: no such script in package.json`),
    )
  return [
    ...prose,
    ...codeSpans(page.text).flatMap((span) =>
      problems(span.code, true).map((problem) => `${page.path}:${span.line}: ${problem}`),
    ),
    ...codeLines(page.text).flatMap((line) =>
      problems(line.code, false).map((problem) => `${page.path}:${line.line}: ${problem}`),
    ),
  ]
}

describe('commands and flags in README.md and docs/', () => {
  it('every command of COMMANDS has its options here', () => {
    expect(Object.keys(COMMANDS).sort()).toEqual(Object.keys(COMMAND_OPTIONS).sort())
  })

  it('every npm run script, access-sync command and flag the docs mention exists', () => {
    const all = pages()
    const mentioned = all.flatMap((page) => [...codeSpans(page.text), ...codeLines(page.text)])
    expect(mentioned.filter((piece) => piece.code.includes('access-sync ')).length).toBeGreaterThan(20)
    expect(all.flatMap(pageProblems)).toEqual([])
  })

  it('catches a script, a command or a flag that does not exist (the checker itself)', () => {
    expect(problems('npm run demo && npm run deploy:everything', false)).toEqual([
      'npm run deploy:everything: no such script in package.json',
    ])
    expect(problems('npx access-sync reconcile --apply --force   # writes --it', false)).toEqual([
      'access-sync reconcile --force: no such option in its OPTIONS',
    ])
    expect(problems('npm run access-sync -- rollback', false)).toEqual([
      'access-sync rollback: no such command in COMMANDS (cli/access-sync.ts)',
    ])
    expect(problems('npm run dev -- --port 4000 --ports 4001', false)).toEqual([
      'npm run dev -- --ports: the script does not take --ports',
    ])
    expect(problems('--allow-mass-revok', true)).toEqual([
      '--allow-mass-revok: no command of this product, no npm script and no listed tool takes it',
    ])
    expect(problems('deploy-action --update-secret', true)).toEqual([
      'access-sync deploy-action --update-secret: no such option in its OPTIONS',
    ])
    expect(problems('npx access-sync --help', false)).toEqual([])
  })
})
