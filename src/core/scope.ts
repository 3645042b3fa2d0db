/**
 * Defence in depth behind the blueprint's `event.resource`: every handler checks that it was invoked for the
 * project and dataset its environment was deployed for (SANITY_PROJECT_ID / SANITY_DATASET, which the blueprint
 * puts in every function's `env`). A staging dataset copied from production carries the same Organization IDs;
 * a function answering its events would let staging editors change production access.
 */
import { preview } from './auth0-rules.ts'
import { SyncError } from './errors.ts'

export interface DeployedScope {
  readonly projectId: string | undefined
  readonly dataset: string | undefined
}

/** What the runtime says the invocation is for: `context.eventResourceId` and `context.clientOptions`. */
export interface InvokedScope {
  readonly eventResourceType?: string | undefined
  readonly eventResourceId?: string | undefined
  readonly projectId?: string | undefined
  readonly dataset?: string | undefined
}

/** Undefined when the invocation is for the deployed dataset; otherwise why not, naming both and the fix. */
export function scopeProblem(deployed: DeployedScope, invoked: InvokedScope): string | undefined {
  if (!deployed.projectId || !deployed.dataset) {
    const missing = [!deployed.projectId && 'SANITY_PROJECT_ID', !deployed.dataset && 'SANITY_DATASET'].filter(Boolean)
    return `this function was deployed without ${missing.join(' and ')}, so it cannot tell which dataset it serves. Deploy it with \`npx access-sync deploy --env <name>\` (the blueprint sets both from the environment's file)`
  }
  const expected = `${deployed.projectId}.${deployed.dataset}`
  // A side that names no dataset says nothing here (`sanity functions test` without `--dataset` sends
  // `<project>.undefined`); the client options check then fails with what to pass, before anything is sent.
  const seen: string[] = []
  const id = invoked.eventResourceType === 'dataset' ? invoked.eventResourceId : undefined
  if (id && !/\.(undefined|null)?$/.test(id)) seen.push(id)
  if (invoked.projectId && invoked.dataset) seen.push(`${invoked.projectId}.${invoked.dataset}`)
  const other = seen.find((id) => id !== expected)
  if (other === undefined) return undefined
  return `invoked for dataset ${JSON.stringify(preview(other))}, but this function's environment is deployed for ${JSON.stringify(expected)}: nothing was read, written or sent to Auth0. Each environment needs its own stack, scoped to its own dataset (\`npx access-sync deploy --env <name>\`); locally, pass the environment's own \`--project-id\` and \`--dataset\``
}

/**
 * The first line of every handler: throws `wrong-dataset` before anything is read or sent when the invocation is
 * for another dataset. `env` is the function's own (SANITY_PROJECT_ID, SANITY_DATASET from the blueprint).
 */
export function assertDeployedScope(
  env: Readonly<Record<string, string | undefined>>,
  context: {
    readonly eventResourceType?: string | undefined
    readonly eventResourceId?: string | undefined
    readonly clientOptions?: { readonly projectId?: unknown; readonly dataset?: unknown } | undefined
  },
): void {
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined)
  const problem = scopeProblem(
    { projectId: text(env.SANITY_PROJECT_ID?.trim()), dataset: text(env.SANITY_DATASET?.trim()) },
    {
      eventResourceType: context.eventResourceType,
      eventResourceId: context.eventResourceId,
      projectId: text(context.clientOptions?.projectId),
      dataset: text(context.clientOptions?.dataset),
    },
  )
  if (problem) throw new SyncError('wrong-dataset', `Wrong dataset: ${problem}.`)
}
