import { createClient } from 'next-sanity'

/**
 * Published content only, never the CDN (a revoke must show on the next request). SANITY_API_HOST is set for the
 * Content Lake emulator only; SANITY_API_TOKEN only for a private dataset (server side, never sent to the browser).
 */
export const sanity = createClient({
  projectId: process.env.SANITY_PROJECT_ID ?? 'missing-project-id',
  dataset: process.env.SANITY_DATASET ?? 'production',
  apiVersion: '2025-05-01',
  useCdn: false,
  perspective: 'published',
  ...(process.env.SANITY_API_HOST ? { apiHost: process.env.SANITY_API_HOST, useProjectHostname: false } : {}),
  ...(process.env.SANITY_API_TOKEN ? { token: process.env.SANITY_API_TOKEN } : {}),
})
