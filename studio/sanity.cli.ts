import { defineCliConfig } from 'sanity/cli'
import { studioEnv } from './env.ts'

const { projectId, dataset } = studioEnv(process.env)
// Where the schema and the types go, relative to this folder. The staleness check (tests/studio/build.test.ts)
// points it at a scratch directory and compares the result with the committed files.
const out = process.env.SANITY_TYPEGEN_OUT_DIR

export default defineCliConfig({
  api: { projectId, dataset },
  // The validation rules ship with the Studio they were tested with: no Studio updates from the CDN.
  deployment: { autoUpdates: false },
  // `sanity dev` and `sanity build` extract the schema and regenerate the types on every run.
  schemaExtraction: { enabled: true, path: out ? `${out}/schema.json` : './schema.json' },
  typegen: {
    enabled: true,
    path: ['./**/*.{ts,tsx}', '../src/**/*.ts', '../functions/**/*.ts'],
    schema: out ? `${out}/schema.json` : './schema.json',
    generates: out ? `${out}/sanity.types.ts` : '../sanity.types.ts',
    formatGeneratedCode: false,
    overloadClientMethods: true,
  },
})
