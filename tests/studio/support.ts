/**
 * The Studio's schema and validation, run headless: Sanity's `validateDocument` is the engine the Studio runs on
 * every edit (environment "studio"), here with a real `@sanity/client` pointed at the Content Lake emulator for the
 * reference checks and the conflict query.
 */
import type { SanityClient } from '@sanity/client'
import { createSchema, type LocaleSource, type SanityDocument, validateDocument } from 'sanity'
import { schemaTypes } from '../../studio/schemaTypes/index.ts'

export const studioSchema = createSchema({ name: 'studio', types: schemaTypes })

export interface Marker {
  /** `auth0OrganizationId`, `allowedContentTags[3]`, `slug` */
  readonly field: string
  readonly message: string
}

/** The blocking markers (errors) the Studio shows for `document`. */
export async function studioErrors(
  document: Record<string, unknown>,
  client: SanityClient,
  options: { documentExists?: (id: string) => boolean } = {},
): Promise<Marker[]> {
  const { documentExists } = options
  const markers = await validateDocument({
    document: { _createdAt: '2026-03-01T00:00:00Z', _updatedAt: '', _rev: '', ...document } as SanityDocument,
    // No i18n: the engine falls back to its built-in English messages.
    workspace: {
      schema: studioSchema,
      getClient: ({ apiVersion }) => client.withConfig({ apiVersion }),
      i18n: undefined as unknown as LocaleSource,
    },
    // Sanity batches reference checks over a ~250 ms window; property tests answer them directly.
    ...(documentExists ? { getDocumentExists: async ({ id }: { id: string }) => documentExists(id) } : {}),
  })
  return markers
    .filter((marker) => marker.level === 'error')
    .map((marker) => ({
      field: marker.path
        .map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : `${i ? '.' : ''}${String(segment)}`))
        .join(''),
      message: marker.message,
    }))
}
