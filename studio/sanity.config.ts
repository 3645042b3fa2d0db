import { defineConfig } from 'sanity'
import { structureTool } from 'sanity/structure'
import { STATUS_TYPE } from '../src/status.ts'
import { devApiHost, studioEnv } from './env.ts'
import { schemaTypes } from './schemaTypes/index.ts'
import { defaultDocumentNode, structure } from './structure.ts'
import { Auth0SyncBadge } from './sync-status/badge.ts'

// Spelled out: the Studio build replaces these exact expressions, while a bare `process.env` becomes `{}`.
const { projectId, dataset } = studioEnv({
  SANITY_STUDIO_PROJECT_ID: process.env.SANITY_STUDIO_PROJECT_ID,
  SANITY_STUDIO_DATASET: process.env.SANITY_STUDIO_DATASET,
})
// Only `npm run dev` sets it: the Studio then talks to the local Content Lake emulator (the project ID is put in
// front, `http://<projectId>.localhost:PORT`, which browsers resolve to loopback). Unset in every other build.
const apiHost = devApiHost(process.env.SANITY_STUDIO_API_HOST)

export default defineConfig({
  name: 'default',
  title: 'Access policies',
  projectId,
  dataset,
  ...(apiHost ? { apiHost } : {}),
  plugins: [structureTool({ structure, defaultDocumentNode })],
  schema: { types: schemaTypes },
  document: {
    badges: (previous, { schemaType }) => (schemaType === 'accessPolicy' ? [...previous, Auth0SyncBadge] : previous),
    // Sync statuses are written by the function only: no publish, delete, duplicate or create in the Studio.
    actions: (previous, { schemaType }) => (schemaType === STATUS_TYPE ? [] : previous),
    newDocumentOptions: (previous) => previous.filter((item) => item.templateId !== STATUS_TYPE),
  },
})
