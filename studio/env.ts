/**
 * Which project and dataset the Studio and the CLI use. The defaults only make local builds and type generation
 * work without a project; set both variables (in `studio/.env` or the shell) to work against a real one.
 */
export const DEFAULT_PROJECT_ID = 'local-studio'
export const DEFAULT_DATASET = 'production'

export function studioEnv(env: Readonly<Record<string, string | undefined>>): { projectId: string; dataset: string } {
  return {
    projectId: env.SANITY_STUDIO_PROJECT_ID || DEFAULT_PROJECT_ID,
    dataset: env.SANITY_STUDIO_DATASET || DEFAULT_DATASET,
  }
}

/**
 * The API host of the local Content Lake emulator, set only by `npm run dev` (SANITY_STUDIO_API_HOST). Unset, the
 * Studio talks to Sanity as usual. Only loopback hosts are accepted, so a build can never be pointed elsewhere by
 * accident.
 */
export function devApiHost(value: string | undefined): string | undefined {
  if (!value) return undefined
  const url = URL.canParse(value) ? new URL(value) : undefined
  if (
    (url?.protocol !== 'http:' && url?.protocol !== 'https:') ||
    !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
  ) {
    throw new Error(`SANITY_STUDIO_API_HOST must be a local emulator such as https://localhost:3335, got "${value}"`)
  }
  return url.origin
}

/**
 * The datasets `npm run dev` shows as workspaces, one per environment (SANITY_STUDIO_DATASETS, comma-separated,
 * e.g. `production,staging`), so an editor switches datasets in the Studio's workspace menu. Honoured only together
 * with a dev apiHost (`devApiHost`): every other build, and the deployed Studio, keep their one workspace.
 */
export function devDatasets(value: string | undefined, apiHost: string | undefined): string[] | undefined {
  if (!value || !apiHost) return undefined
  const names = value.split(',').map((name) => name.trim())
  const bad = names.filter((name) => !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name))
  if (bad.length > 0 || new Set(names).size !== names.length) {
    throw new Error(
      `SANITY_STUDIO_DATASETS must list distinct dataset names such as "production,staging", got "${value}"`,
    )
  }
  return names
}
