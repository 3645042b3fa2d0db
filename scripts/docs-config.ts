/**
 * `node scripts/docs-config.ts`: rewrites the settings table of docs/configuration.md (between its two markers) from
 * the settings catalog (src/settings.ts), as scripts/env-example.ts writes `.env.example`. A test fails when the
 * committed page and the catalog disagree, so edit the catalog and run this.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { SETTINGS, type Setting } from '../src/settings.ts'

export const CONFIGURATION_DOC = new URL('../docs/configuration.md', import.meta.url)
export const BEGIN =
  '<!-- settings:begin (generated from src/settings.ts by `node scripts/docs-config.ts`; do not edit) -->'
export const END = '<!-- settings:end -->'

/** A table cell: no line breaks, and `|` escaped so it cannot end the cell. */
function cell(text: string): string {
  return text.replaceAll('\n', ' ').replaceAll('|', '\\|')
}

function row(entry: Setting): string {
  const readers = [
    ...entry.entryPoints.map((entryPoint) => `\`${entryPoint}\``),
    ...entry.functions.map((fn) => `\`${fn}\``),
  ]
  const via = entry.via ? ` (via ${entry.via})` : ''
  return `| ${[
    `\`${entry.name}\``,
    readers.length > 0 ? `${readers.join(', ')}${entry.functions.length > 0 ? via : ''}` : '',
    entry.required ? 'yes' : 'no',
    entry.default ?? '',
    entry.range ?? '',
    entry.secret ? 'secret' : '',
    entry.meaning,
  ]
    .map(cell)
    .join(' | ')} |`
}

/** The generated block, markers included. */
export function renderSettingsTable(): string {
  return [
    BEGIN,
    '',
    '| setting | read by | required | default | range | secret | meaning |',
    '|---|---|---|---|---|---|---|',
    ...SETTINGS.map(row),
    '',
    END,
  ].join('\n')
}

/** `text` with the block between the markers replaced by the catalog's table. */
export function withSettingsTable(text: string): string {
  // Found by its start, so a block whose marker was shortened by hand is still found.
  const begin = text.indexOf('<!-- settings:begin')
  const end = text.indexOf(END)
  if (begin < 0 || end < begin) throw new Error(`docs/configuration.md: the markers ${BEGIN} … ${END} are missing`)
  return text.slice(0, begin) + renderSettingsTable() + text.slice(end + END.length)
}

if (import.meta.main) {
  writeFileSync(CONFIGURATION_DOC, withSettingsTable(readFileSync(CONFIGURATION_DOC, 'utf8')))
  console.log(`wrote the settings table of ${CONFIGURATION_DOC.pathname} (${SETTINGS.length} settings)`)
}
