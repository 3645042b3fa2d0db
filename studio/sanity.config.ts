import { type Config, defineConfig } from 'sanity'
import { structureTool } from 'sanity/structure'
import { FANOUT_STATUS_TYPE } from '../src/core/fanout.ts'
import { STATUS_TYPE } from '../src/status.ts'
import { devApiHost, devDatasets, studioEnv } from './env.ts'
import { fanOutActions } from './fan-out/guard.ts'
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
// Only `npm run dev` sets it too: one workspace per environment's dataset (`/production`, `/staging`).
const datasets = devDatasets(process.env.SANITY_STUDIO_DATASETS, apiHost)

const workspace = (name: string, title: string, workspaceDataset: string) =>
  defineConfig({
    name,
    title,
    projectId,
    dataset: workspaceDataset,
    ...(apiHost ? { apiHost } : {}),
    plugins: [structureTool({ structure, defaultDocumentNode })],
    schema: { types: schemaTypes },
    document: {
      badges: (previous, { schemaType }) => (schemaType === 'accessPolicy' ? [...previous, Auth0SyncBadge] : previous),
      // Sync and fan-out statuses are written by the functions only: no publish, delete, duplicate or create in the
      // Studio. A role or plan that published policies use cannot be deleted or unpublished (studio/fan-out/guard.ts).
      actions: (previous, context) => (context.schemaType === STATUS_TYPE ? [] : fanOutActions(previous, context)),
      newDocumentOptions: (previous) =>
        previous.filter((item) => item.templateId !== STATUS_TYPE && item.templateId !== FANOUT_STATUS_TYPE),
    },
  })

const single = workspace('default', 'Access policies', dataset)
// Typed as the one workspace every build outside `npm run dev` gets.
export default (datasets
  ? datasets.map((name) => ({ ...workspace(name, `Access policies (${name})`, name), basePath: `/${name}` }))
  : single) as Config as typeof single
