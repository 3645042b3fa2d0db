/**
 * `access-sync doctor`'s reads, one thin function each; none of them writes anything. Each returns an Outcome
 * (src/doctor/checks.ts) instead of throwing, so one broken piece never hides the others.
 */
import { spawn } from 'node:child_process'
import type { BlueprintResource } from '@sanity/blueprints'
import { accessSyncResources, repairFunction } from '../../sanity.blueprint.ts'
import type { Auth0Config, SanityConfig } from '../config.ts'
import { ACTION_NAME } from '../core/action-deploy.ts'
import { SyncError } from '../core/errors.ts'
import { readStamp } from '../core/metadata.ts'
import { CustomDomainError, connectAuth0, fetchManagementGrant } from '../gateways/auth0.ts'
import { connectActions, type DeployCredentials } from '../gateways/auth0-actions.ts'
import { lakeFailure } from '../gateways/lake-failure.ts'
import { sanityClient } from '../gateways/sanity.ts'
import type { DeclaredFunction, DoctorFacts, Outcome } from './checks.ts'

type Env = Readonly<Record<string, string | undefined>>

/** Every Auth0 and Content Lake read gets this long; the doctor is run by a person waiting for it. */
const PROBE_DEADLINE_MS = 60_000

function failed(error: unknown): { kind: 'failed'; reason: string; message: string } {
  if (error instanceof SyncError) return { kind: 'failed', reason: error.reason, message: error.message }
  return { kind: 'failed', reason: 'unexpected', message: error instanceof Error ? error.message : String(error) }
}

export async function probeGrant(config: Auth0Config): Promise<DoctorFacts['grant']> {
  try {
    return { kind: 'ok', value: await fetchManagementGrant(config) }
  } catch (error) {
    return { ...failed(error), customDomain: error instanceof CustomDomainError }
  }
}

/** Counts published policies with the environment's token, as the reconcile reads them (published perspective). */
export async function probePolicies(sanity: SanityConfig): Promise<DoctorFacts['policies']> {
  const client = sanityClient(sanity, { timeout: PROBE_DEADLINE_MS })
  try {
    const counts: { published: number; active: number } = await client.fetch(
      '{"published": count(*[_type == "accessPolicy"]), "active": count(*[_type == "accessPolicy" && status == "active"])}',
      {},
      { perspective: 'published', tag: 'auth0-access-sync.doctor' },
    )
    return { kind: 'ok', value: counts }
  } catch (error) {
    const { url, projectId, dataset } = client.config()
    const failure = lakeFailure(error, { url, projectId, dataset })
    const status = (error as { statusCode?: unknown }).statusCode
    const said = String((error as { message?: unknown }).message ?? '')
    // The Content Lake's 404s: `Dataset "x" not found for project ID "y"`, `Project ID "y" not found`.
    const missing =
      status === 404 && /dataset .*not found/i.test(said)
        ? 'dataset'
        : status === 404 && /project .*not found/i.test(said)
          ? 'project'
          : undefined
    return {
      kind: 'failed',
      reason: failure.reason,
      message: failure.description,
      ...(missing ? { missing } : {}),
    }
  }
}

/** Organizations carrying our marker, page by page until a page holds one (enough to tell an empty read). */
export async function probeMarked(config: Auth0Config): Promise<DoctorFacts['marked']> {
  const marked: string[] = []
  let listed = 0
  try {
    const lister = connectAuth0(config).forInvocation(Date.now() + PROBE_DEADLINE_MS)
    for await (const page of lister.pages()) {
      listed += page.organizations.length
      for (const organization of page.organizations) {
        if (organization.metadata && readStamp(organization.metadata)) marked.push(organization.id)
      }
      if (marked.length > 0) return { kind: 'ok', value: { marked, listed, complete: page.next === undefined } }
    }
    return { kind: 'ok', value: { marked, listed, complete: true } }
  } catch (error) {
    return failed(error)
  }
}

/** The Action by name and where it sits in the post-login bindings, read with the deploy client (read:actions). */
export async function probeAction(
  credentials: DeployCredentials,
  committedCode: string,
): Promise<DoctorFacts['action']> {
  try {
    const gateway = connectActions(credentials)
    const [action, bindings] = await Promise.all([gateway.findAction(ACTION_NAME), gateway.listPostLoginBindings()])
    const boundAt = bindings.findIndex(
      (binding) => (action !== undefined && binding.actionId === action.id) || binding.actionName === ACTION_NAME,
    )
    return { kind: 'ok', value: { action, boundAt, bindings: bindings.length, committedCode } }
  } catch (error) {
    return failed(error)
  }
}

/** The blueprint this environment deploys: what each function is scoped to, and the repair's schedule. */
export function readBlueprint(env: Env): DoctorFacts['blueprint'] {
  try {
    const functions = accessSyncResources(env).map(declared)
    const repair = repairFunction(env)
    const when = repair?.event
    const repairSchedule = when && `${when.minute} ${when.hour} ${when.dayOfMonth} ${when.month} ${when.dayOfWeek}`
    return { kind: 'ok', value: { functions, repairSchedule } }
  } catch (error) {
    return failed(error)
  }
}

/**
 * The deployed stack, from `sanity blueprints info --stack <stack> --json` (the CLI on PATH, logged in). Its JSON is
 * `{ stack }` with the stack's `resources` (@sanity/runtime-cli 17 `cores/blueprints/info.js`); a resource's
 * event may sit on the resource or in its `parameters` (the Blueprints API's record keeps the authored values there).
 */
export async function probeStack(
  stack: string,
  options: { readonly cwd: string; readonly env: Env; readonly timeoutMs?: number },
): Promise<DoctorFacts['stack']> {
  const result = await runSanity(['blueprints', 'info', '--stack', stack, '--json'], options)
  if (result.kind !== 'ok') return result
  let parsed: unknown
  try {
    parsed = JSON.parse(result.value)
  } catch {
    return { kind: 'failed', reason: 'unexpected', message: 'the Sanity CLI printed no JSON' }
  }
  const resources = (parsed as { stack?: { resources?: unknown } })?.stack?.resources
  if (!Array.isArray(resources)) {
    return { kind: 'failed', reason: 'unexpected', message: 'the Sanity CLI listed no resources for the stack' }
  }
  const functions = resources
    .filter((resource) => String((resource as { type?: unknown }).type ?? '').startsWith('sanity.function.'))
    .map((resource) => declared(resource as BlueprintResource))
  return { kind: 'ok', value: { name: stack, functions } }
}

function declared(resource: BlueprintResource): DeclaredFunction {
  const record = resource as unknown as {
    name: string
    type: string
    event?: { resource?: { id?: unknown } }
    parameters?: { event?: { resource?: { id?: unknown } } }
  }
  const id = record.event?.resource?.id ?? record.parameters?.event?.resource?.id
  return { name: record.name, type: record.type, resourceId: typeof id === 'string' ? id : undefined }
}

async function runSanity(
  args: readonly string[],
  options: { readonly cwd: string; readonly env: Env; readonly timeoutMs?: number },
): Promise<Outcome<string>> {
  return new Promise((resolve) => {
    const child = spawn('sanity', [...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text
    })
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text
    })
    const timer = setTimeout(() => child.kill(), options.timeoutMs ?? PROBE_DEADLINE_MS)
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      const message =
        error.code === 'ENOENT'
          ? 'the Sanity CLI (`sanity`) is not on PATH: run doctor through `npx access-sync`'
          : error.message
      resolve({ kind: 'failed', reason: 'configuration', message })
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) return resolve({ kind: 'ok', value: stdout })
      const said = (stderr.trim() || stdout.trim()).split('\n').find((line) => line.trim() !== '') ?? ''
      const why = signal ? `no answer within ${(options.timeoutMs ?? PROBE_DEADLINE_MS) / 1000} s` : `exit ${code}`
      resolve({
        kind: 'failed',
        reason: 'sanity-cli',
        message: `\`sanity ${args.join(' ')}\` failed (${why})${said ? `: ${said.slice(0, 200)}` : ''}`,
      })
    })
  })
}
