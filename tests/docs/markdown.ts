/**
 * What the docs tests read from the Markdown pages (README.md and docs/*.md): headings and their anchors as GitHub
 * renders them, links, inline code and the lines of fenced code blocks. A small reader, not a Markdown parser: it
 * knows fences, inline code and `[text](target)`, which is all these pages use.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface Page {
  /** Relative to the repository root, with `/`. */
  readonly path: string
  readonly text: string
}

/** README.md and every page of docs/. */
export function pages(): Page[] {
  const docs = readdirSync(join(REPO_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`)
  return ['README.md', ...docs].map((path) => ({ path, text: readFileSync(join(REPO_ROOT, path), 'utf8') }))
}

export function page(path: string): Page {
  return { path, text: readFileSync(join(REPO_ROOT, path), 'utf8') }
}

export interface Line {
  readonly text: string
  /** 1-based. */
  readonly number: number
  /** Inside a fenced code block (the fence lines themselves count as inside). */
  readonly code: boolean
}

export function lines(text: string): Line[] {
  let fence: string | undefined
  return text.split('\n').map((line, index) => {
    const opener = /^\s*(```+|~~~+)/.exec(line)?.[1]
    let code = fence !== undefined
    if (opener && fence === undefined) {
      fence = opener
      code = true
    } else if (opener && fence !== undefined && opener.startsWith(fence.slice(0, 3))) {
      fence = undefined
      code = true
    }
    return { text: line, number: index + 1, code }
  })
}

/** A line with its inline code spans blanked out, so what they hold is not read as Markdown. */
function withoutCode(line: string): string {
  return line.replace(/(`+)(.+?)\1/g, (span) => ' '.repeat(span.length))
}

/** Inline code spans of the prose (not of fenced blocks). */
export function codeSpans(text: string): { readonly code: string; readonly line: number }[] {
  return lines(text)
    .filter((line) => !line.code)
    .flatMap((line) =>
      [...line.text.matchAll(/(`+)(.+?)\1/g)].map((match) => ({ code: match[2] ?? '', line: line.number })),
    )
}

/** The lines of fenced code blocks, fences left out. */
export function codeLines(text: string): { readonly code: string; readonly line: number }[] {
  return lines(text)
    .filter((line) => line.code && !/^\s*(```|~~~)/.test(line.text))
    .map((line) => ({ code: line.text, line: line.number }))
}

/** The fenced code blocks, each as its lines (fences left out), in order. */
export function codeBlocks(text: string): string[][] {
  const blocks: string[][] = []
  let current: string[] | undefined
  for (const line of lines(text)) {
    const fence = /^\s*(```|~~~)/.test(line.text)
    if (fence && current === undefined) current = []
    else if (fence && current !== undefined) {
      blocks.push(current)
      current = undefined
    } else if (current !== undefined) current.push(line.text)
  }
  return blocks
}

/** GitHub's anchor for a heading: its text as rendered, lower-cased, punctuation dropped, spaces as `-`. */
export function slug(heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .replace(/\*\*|__/g, '')
    .trim()
  return rendered
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')
}

/** Every anchor a page has: one per heading, a repeated one suffixed `-1`, `-2` … as GitHub does. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>()
  const result = new Set<string>()
  for (const line of lines(text)) {
    const heading = line.code ? undefined : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line.text)?.[1]
    if (heading === undefined) continue
    const base = slug(heading)
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    result.add(count === 0 ? base : `${base}-${count}`)
  }
  return result
}

export interface Link {
  readonly target: string
  readonly line: number
}

/** `[text](target)` and `![alt](target)` in the prose, not in code. */
export function links(text: string): Link[] {
  return lines(text)
    .filter((line) => !line.code)
    .flatMap((line) =>
      [...withoutCode(line.text).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => ({
        target: match[1] ?? '',
        line: line.number,
      })),
    )
}

/** A path relative to the repository root, with `/`. */
export function fromRoot(absolute: string): string {
  return relative(REPO_ROOT, absolute).split('\\').join('/')
}
