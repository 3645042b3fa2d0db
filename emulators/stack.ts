/**
 * The local stack: both emulators, the Auth0 settings pointing at them, a real `@sanity/client` for editing
 * and the runtime stand-in delivering every published change to the real handler. Used by the integration
 * tests and by `npm run demo`.
 */
import { createClient, type SanityClient } from '@sanity/client'
import type { DocumentEventHandler } from '@sanity/functions'
import { handler } from '../functions/sync-access-policy/index.ts'
import { SYNC_FUNCTION } from '../sanity.blueprint.ts'
import { type Auth0Emulator, type Auth0EmulatorOptions, DEFAULT_CLIENT, startAuth0Emulator } from './auth0.ts'
import { type ContentLakeEmulator, type MutationChange, startContentLakeEmulator } from './content-lake.ts'
import { createFunctionsRuntime, type DocumentChange, type Invocation } from './functions-runtime.ts'

export interface LocalStack {
  readonly auth0: Auth0Emulator
  readonly lake: ContentLakeEmulator
  /** An editor's client (raw perspective, so drafts are visible and writable). */
  readonly sanity: SanityClient
  readonly invocations: readonly Invocation[]
  /** Delivers every change committed since the last call to the function, in commit order. */
  deliver(): Promise<Invocation[]>
  /** Re-delivers an earlier change, as the runtime does with a late or duplicated event. */
  redeliver(change: DocumentChange): Promise<Invocation | undefined>
  metadata(organizationId: string): Record<string, string> | undefined
  close(): Promise<void>
}

export interface LocalStackOptions {
  readonly documents?: Array<{ _id: string; [key: string]: unknown }>
  readonly auth0?: Auth0EmulatorOptions
  /** The handler the runtime delivers to; the function's own by default (the bench runs others side by side). */
  readonly handler?: DocumentEventHandler
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const [auth0, lake] = await Promise.all([
    startAuth0Emulator(options.auth0),
    startContentLakeEmulator({ documents: options.documents ?? [] }),
  ])
  const client = options.auth0?.clients?.[0] ?? DEFAULT_CLIENT
  process.env.AUTH0_DOMAIN = auth0.domain
  process.env.AUTH0_CLIENT_ID = client.clientId
  // A Private Key JWT client has no secret: the test sets its key (AUTH0_CLIENT_ASSERTION_SIGNING_KEY) itself.
  if (client.clientSecret === undefined) delete process.env.AUTH0_CLIENT_SECRET
  else process.env.AUTH0_CLIENT_SECRET = client.clientSecret
  // The environment the function is deployed for (the blueprint's `env`): this lake's project and dataset.
  process.env.SANITY_PROJECT_ID = lake.projectId
  process.env.SANITY_DATASET = lake.dataset

  const runtime = createFunctionsRuntime({
    fn: SYNC_FUNCTION,
    handler: options.handler ?? handler,
    clientOptions: lake.clientConfig,
    dataset: () => lake.documents(),
  })
  const pending: MutationChange[] = []
  lake.onMutation((change) => {
    pending.push(change)
  })

  return {
    auth0,
    lake,
    sanity: createClient({ ...lake.clientConfig, perspective: 'raw' }),
    invocations: runtime.invocations,
    async deliver() {
      await lake.settled()
      const delivered: Invocation[] = []
      for (const change of pending.splice(0)) {
        const invocation = await runtime.deliver(change)
        if (invocation) delivered.push(invocation)
      }
      return delivered
    },
    redeliver: (change) => runtime.deliver(change),
    metadata: (organizationId) => auth0.getOrganization(organizationId)?.metadata,
    async close() {
      await Promise.all([auth0.close(), lake.close()])
    },
  }
}
