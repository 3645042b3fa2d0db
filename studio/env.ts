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
