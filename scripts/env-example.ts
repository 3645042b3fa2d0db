/**
 * `node scripts/env-example.ts`: writes `.env.example` from the settings catalog (src/settings.ts). A test fails
 * when the committed file and the catalog disagree, so edit the catalog and run this.
 */
import { writeFileSync } from 'node:fs'
import { GROUPS, SETTINGS, type Setting, type SettingGroup } from '../src/settings.ts'

const HEADER = `# The settings of one environment: one Sanity dataset, one Auth0 tenant. Copy this file to .env.<name>
# (e.g. .env.production, .env.staging; gitignored) and fill it in. Every entry point reads it when told which
# environment: \`npx access-sync deploy --env production\`, \`reconcile --env …\`, \`deploy-action --env …\`,
# \`doctor --env …\`, or ACCESS_SYNC_ENV=production. Required settings are uncommented; optional ones show their
# default. Secrets go to the functions through \`access-sync deploy\` (never into git or the blueprint).
#
# Generated from src/settings.ts by \`node scripts/env-example.ts\`: edit the catalog, then run it.
`

function describe(entry: Setting): string[] {
  const traits = [
    entry.required ? 'required' : 'optional',
    ...(entry.secret ? ['secret'] : []),
    ...(entry.default ? [`default ${entry.default}`] : []),
    ...(entry.range ? [entry.range] : []),
  ]
  const readers = [
    ...entry.entryPoints,
    ...(entry.functions.length > 0 ? [`${entry.functions.join(', ')} (via ${entry.via})`] : []),
  ]
  const value = entry.example ?? (entry.default && !entry.default.includes(' ') ? entry.default : '')
  return [
    ...wrap(`${entry.name} (${traits.join('; ')}): ${entry.meaning}.`, '# '),
    ...wrap(`read by: ${readers.join(', ')}`, '#   '),
    entry.required ? `${entry.name}=${value}` : `# ${entry.name}=${value}`,
  ]
}

/** Comment lines of at most 116 characters, split at spaces. */
function wrap(text: string, prefix: string): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line && prefix.length + line.length + 1 + word.length > 116) {
      lines.push(prefix + line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  return [...lines, prefix + line]
}

export function renderEnvExample(): string {
  const sections = (Object.keys(GROUPS) as SettingGroup[]).flatMap((group) => {
    const entries = SETTINGS.filter((entry) => entry.group === group && entry.envFile !== false)
    if (entries.length === 0) return []
    return [[`## ${GROUPS[group]}`, '', ...entries.flatMap((entry) => [...describe(entry), ''])].join('\n')]
  })
  return `${HEADER}\n${sections.join('\n')}`
}

export const ENV_EXAMPLE = new URL('../.env.example', import.meta.url)

if (import.meta.main) {
  writeFileSync(ENV_EXAMPLE, renderEnvExample())
  console.log(`wrote ${ENV_EXAMPLE.pathname}`)
}
