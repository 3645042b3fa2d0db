import { type Auth0Emulator, DEFAULT_CLIENT } from '../../emulators/auth0.ts'
import type { ContentLakeEmulator } from '../../emulators/content-lake.ts'

/** The functions' settings for a stack of both emulators (project, dataset, tenant, its client), plus `extra`. */
export function functionEnv(
  lake: Pick<ContentLakeEmulator, 'projectId' | 'dataset'>,
  auth0: Pick<Auth0Emulator, 'domain'>,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    SANITY_PROJECT_ID: lake.projectId,
    SANITY_DATASET: lake.dataset,
    AUTH0_DOMAIN: auth0.domain,
    AUTH0_CLIENT_ID: DEFAULT_CLIENT.clientId,
    AUTH0_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret,
    ...extra,
  }
}
