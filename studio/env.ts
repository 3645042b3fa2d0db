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
