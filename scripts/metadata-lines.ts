/** An Organization's metadata as the demo and `npm run functions:test` print it: one key a line, tags and entitlements decoded. */
import { decodeContentTags, decodeEntitlements } from '../src/core/metadata.ts'

export function metadataLines(label: string, organizationId: string, metadata: Record<string, string> = {}): string[] {
  const lines = [`   ${label} — Auth0 Organization ${organizationId} metadata:`]
  for (const [key, value] of Object.entries(metadata)) lines.push(`     ${key.padEnd(22)} ${value}`)
  const tags = decodeContentTags(metadata.contentTags)
  if (tags) lines.push(`     ${'(contentTags decoded)'.padEnd(22)} ${tags.join(', ')}`)
  const entitlements = metadata.entitlements === undefined ? undefined : decodeEntitlements(metadata.entitlements)
  if (entitlements) lines.push(`     ${'(entitlements decoded)'.padEnd(22)} ${entitlements.join(', ') || '(none)'}`)
  return lines
}
