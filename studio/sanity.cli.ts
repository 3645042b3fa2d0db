import { defineCliConfig } from 'sanity/cli'
import { studioEnv } from './env.ts'

const { projectId, dataset } = studioEnv(process.env)
// Where the schema and the types go, relative to this folder. The staleness check (tests/studio/build.test.ts)
// points it at a scratch directory and compares the result with the committed files.
const out = process.env.SANITY_TYPEGEN_OUT_DIR
// `SANITY_TYPEGEN=off` skips both (the browser tests' `sanity dev` does not need them; they cost CPU at start-up).
const generate = process.env.SANITY_TYPEGEN !== 'off'

export default defineCliConfig({
  api: { projectId, dataset },
  // The validation rules ship with the Studio they were tested with: no Studio updates from the CDN.
  deployment: { autoUpdates: false },
  // `sanity dev` and `sanity build` extract the schema and regenerate the types on every run.
  // `npm run dev` shows one workspace per dataset (studio/env.ts devDatasets), all with the same schema: extract the first.
  schemaExtraction: {
    enabled: generate,
    path: out ? `${out}/schema.json` : './schema.json',
    workspace: process.env.SANITY_STUDIO_DATASETS?.split(',')[0]?.trim() || undefined,
  },
  // `sanity build` rewrites .sanity/runtime/ (the build test does, while the browser tests drive `sanity dev`); a dev
  // server watching it would reload every open Studio mid-edit. `sanity dev` writes it once at start-up.
  vite: (config) => ({
    ...config,
    server: {
      ...config.server,
      watch: {
        ...config.server?.watch,
        ignored: [...ignoredPaths(config.server?.watch?.ignored), '**/.sanity/runtime/**'],
      },
    },
  }),
  typegen: {
    enabled: generate,
    path: ['./**/*.{ts,tsx}', '../src/**/*.ts', '../functions/**/*.ts'],
    schema: out ? `${out}/schema.json` : './schema.json',
    generates: out ? `${out}/sanity.types.ts` : '../sanity.types.ts',
    formatGeneratedCode: false,
    overloadClientMethods: true,
  },
})

function ignoredPaths<T>(value: T | readonly T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? [...value] : [value as T]
}
