/**
 * The Auth0 emulator held to Auth0's recorded answers. Each fixture under ./fixtures/ names the public repository,
 * file and commit it was taken from (go-vcr recordings of a real tenant: bodies and status codes); openapi.json
 * holds the response schemas of Auth0's OpenAPI files for the calls no recording covers. Every recorded request
 * is sent again, over HTTPS, to the emulator, and its answer is compared with the recorded one: status, every
 * field present or absent, every value. ALLOWED below is the one list of what may differ, field by field, and why.
 * Every 2xx answer is also checked against the OpenAPI schema of its call.
 */
import { readFileSync } from 'node:fs'
import { STATUS_CODES } from 'node:http'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type Auth0Emulator,
  type Auth0Organization,
  DEFAULT_CLIENT,
  startAuth0Emulator,
} from '../../emulators/auth0.ts'
import { DEPLOY_CLIENT } from '../../emulators/auth0-actions.ts'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

interface Recorded {
  name: string
  interaction: number
  request: { method: string; path: string; query: Record<string, string>; body?: Json; form?: Record<string, string> }
  response: { status: number; body: Json }
}

interface Fixture {
  source: { repository: string; commit: string; files: string[] }
  recordings: Array<{ file: string; interactions: Recorded[] }>
}

interface Schema {
  $ref?: string
  type?: string | string[]
  enum?: Json[]
  required?: string[]
  properties?: Record<string, Schema>
  additionalProperties?: boolean
  items?: Schema
  oneOf?: Schema[]
}

interface OpenApi {
  sources: Array<{ operations: Array<{ method: string; path: string; status: number; schema: Schema }> }>
  schemas: Record<string, Schema>
}

const load = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T

const ORGANIZATIONS = load<Fixture>('organizations.json')
const ACTIONS = load<Fixture>('actions.json')
const BINDINGS = load<Fixture>('bindings.json')
const TOKEN = load<Fixture>('token.json')
const OPENAPI = load<OpenApi>('openapi.json')

/**
 * What may differ from the recordings (and from the OpenAPI file), per field. `value`: the field is there on both
 * sides with the same JSON type, its value differs. `extra`: the emulator sends a field the recording lacks.
 * `undocumented`: Auth0 sends it (recorded) but the OpenAPI schema does not list it. `status`: the OpenAPI file
 * names another success status than the one recorded. Paths: `$` is the body, `[]` any array element.
 */
const ALLOWED: ReadonlyArray<{
  readonly kind: 'value' | 'extra' | 'undocumented' | 'status'
  readonly path: RegExp
  readonly why: string
}> = [
  {
    kind: 'value',
    path: /(^|\.)(id|action_id)$/,
    why: "IDs are minted by each tenant: Organizations are seeded with the recorded IDs; Actions', versions' and bindings' are new, and later requests use the emulator's (mapped)",
  },
  {
    kind: 'value',
    path: /(^|\.)(created_at|updated_at|built_at|build_time)$/,
    why: 'timestamps: when each tenant handled the request (both must be ISO 8601; Auth0 has ns precision, the emulator ms)',
  },
  {
    kind: 'value',
    path: /^\$\.access_token$/,
    why: "the recorded token is redacted; Auth0's is a JWT, the emulator's is opaque",
  },
  {
    kind: 'extra',
    path: /^\$\.scope$/,
    why: "optional in the OpenAPI TokenResponse and absent from go-auth0's recording (a grant without scopes); the emulator names the granted scopes, which `access-sync doctor` reads when present (else the JWT's scope claim)",
  },
  {
    kind: 'value',
    path: /^\$\.(action|bindings\[\]\.action)\.all_changes_deployed$/,
    why: "Auth0's nested Action summaries (deploy answer, bindings) said false for an Action whose own GET said true; the emulator reports the Action's state; nothing here reads the summaries",
  },
  {
    kind: 'extra',
    path: /^\$\.attributes$/,
    why: "the emulator's 401 adds attributes.error, its authors' reading of Auth0's answer: no recording covers a 401",
  },
  {
    kind: 'undocumented',
    path: /(^|\.)current_version$/,
    why: 'recorded on every deployed Action (TestAccAction.yaml, TestAccTriggerActions.yaml); missing from the OpenAPI Action schema',
  },
  {
    kind: 'status',
    path: /^POST \/api\/v2\/actions\/actions\/\{[^}]+\}\/deploy$/,
    why: 'recorded 200 (TestAccAction.yaml #11, TestAccTriggerActions.yaml #2 and #7); the OpenAPI file says 202',
  },
  {
    kind: 'status',
    path: /^POST \/api\/v2\/actions\/actions\/\{[^}]+\}\/versions\/\{[^}]+\}\/deploy$/,
    why: 'not recorded; the OpenAPI file says 202 as it does for the Action deploy, which is recorded as 200, so 200 here too',
  },
]

function allowed(kind: (typeof ALLOWED)[number]['kind'], path: string): boolean {
  const general = path.replace(/\[\d+\]/g, '[]')
  return ALLOWED.some((entry) => entry.kind === kind && entry.path.test(general))
}

function jsonType(value: Json | undefined): string {
  if (value === undefined) return 'absent'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

function isObject(value: Json | undefined): value is JsonObject {
  return jsonType(value) === 'object'
}

const isTimestamp = (value: Json | undefined) =>
  typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value)

/** Every difference between the recorded body and the emulator's, except those ALLOWED. */
function differences(recorded: Json | undefined, emulated: Json | undefined, path = '$'): string[] {
  const recordedType = jsonType(recorded)
  const emulatedType = jsonType(emulated)
  if (recordedType !== emulatedType) return [`${path}: recorded ${recordedType}, emulator ${emulatedType}`]
  if (isObject(recorded) && isObject(emulated)) {
    const found: string[] = []
    for (const key of new Set([...Object.keys(recorded), ...Object.keys(emulated)])) {
      const at = `${path}.${key}`
      if (!(key in emulated)) found.push(`${at}: recorded, absent from the emulator's answer`)
      else if (!(key in recorded)) {
        if (!allowed('extra', at)) found.push(`${at}: sent by the emulator, absent from the recording`)
      } else found.push(...differences(recorded[key], emulated[key], at))
    }
    return found
  }
  if (Array.isArray(recorded) && Array.isArray(emulated)) {
    if (recorded.length !== emulated.length) {
      return [`${path}: recorded ${recorded.length} elements, emulator ${emulated.length}`]
    }
    return recorded.flatMap((element, index) => differences(element, emulated[index], `${path}[${index}]`))
  }
  if (allowed('value', path)) {
    const timestamps = /(_at|build_time)$/.test(path)
    return timestamps && !(isTimestamp(recorded) && isTimestamp(emulated))
      ? [`${path}: not an ISO 8601 timestamp on both sides`]
      : []
  }
  return recorded === emulated
    ? []
    : [`${path}: recorded ${JSON.stringify(recorded)}, emulator ${JSON.stringify(emulated)}`]
}

/** Where a body breaks its OpenAPI schema (additionalProperties: false makes extra fields count). */
function violations(value: Json | undefined, schema: Schema, path = '$'): string[] {
  if (schema.$ref !== undefined) {
    const named = OPENAPI.schemas[schema.$ref]
    if (!named) throw new Error(`openapi.json has no schema ${schema.$ref}`)
    return violations(value, named, path)
  }
  if (schema.oneOf) {
    const each = schema.oneOf.map((option) => violations(value, option, path))
    return each.some((found) => found.length === 0) ? [] : (each.sort((a, b) => a.length - b.length)[0] ?? [])
  }
  const type = jsonType(value)
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type]
    if (!types.includes(type) && !(type === 'integer' && types.includes('number'))) {
      return [`${path}: ${type}, the schema says ${types.join('|')}`]
    }
  }
  const found: string[] = []
  if (schema.enum && !schema.enum.includes(value as Json))
    found.push(`${path}: ${JSON.stringify(value)} not in the enum`)
  if (isObject(value)) {
    for (const name of schema.required ?? []) if (!(name in value)) found.push(`${path}.${name}: required, absent`)
    for (const [key, field] of Object.entries(value)) {
      const property = schema.properties?.[key]
      if (property) found.push(...violations(field, property, `${path}.${key}`))
      else if (schema.additionalProperties === false && !allowed('undocumented', `${path}.${key}`)) {
        found.push(`${path}.${key}: not in the schema`)
      }
    }
  }
  if (Array.isArray(value) && schema.items) {
    const items = schema.items
    value.forEach((element, index) => {
      found.push(...violations(element, items, `${path}[${index}]`))
    })
  }
  return found
}

const MANAGEMENT = OPENAPI.sources[0]?.operations ?? []
const AUTHENTICATION = OPENAPI.sources[1]?.operations ?? []

function operation(method: string, path: string) {
  const found = MANAGEMENT.find(
    (candidate) =>
      candidate.method === method && new RegExp(`^${candidate.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
  )
  if (!found) throw new Error(`openapi.json has no ${method} ${path}`)
  return found
}

/** The emulator's 2xx answer against the OpenAPI file: its status (unless ALLOWED) and its body. */
function openApiViolations(method: string, path: string, status: number, body: Json): string[] {
  const op = operation(method, path)
  const found = violations(body, op.schema)
  if (status !== op.status && !allowed('status', `${op.method} ${op.path}`)) {
    found.push(`status ${status}, the OpenAPI file says ${op.status}`)
  }
  return found
}

/** The recorded Management API error envelope: statusCode, error (the reason phrase), message, errorCode if any. */
function envelopeViolations(status: number, body: Json): string[] {
  if (!isObject(body)) return [`error body is ${jsonType(body)}`]
  const found: string[] = []
  if (body.statusCode !== status) found.push(`statusCode ${JSON.stringify(body.statusCode)}, status ${status}`)
  if (body.error !== STATUS_CODES[status]) found.push(`error ${JSON.stringify(body.error)}`)
  if (typeof body.message !== 'string') found.push('message is not a string')
  if ('errorCode' in body && typeof body.errorCode !== 'string') found.push('errorCode is not a string')
  for (const key of Object.keys(body)) {
    if (!['statusCode', 'error', 'message', 'errorCode'].includes(key) && !allowed('extra', `$.${key}`)) {
      found.push(`${key}: unexpected`)
    }
  }
  return found
}

let emulator: Auth0Emulator
let clock = Date.parse('2026-05-29T10:45:58.000Z')
const BUILD_MS = 1_000
const tokens = new Map<string, string>()
/** Recorded ID → the emulator's, learnt from each answer and used in the requests that follow. */
const ids = new Map<string, string>()

beforeAll(async () => {
  emulator = await startAuth0Emulator({ clients: [DEFAULT_CLIENT, DEPLOY_CLIENT] })
  // The Actions clock is the test's: a build takes BUILD_MS of it, and only advancing it finishes one.
  emulator.actions.configure({ now: () => clock, buildDelayMs: BUILD_MS, deployLagMs: 0 })
})
afterAll(async () => {
  await emulator?.close()
})

async function token(client: { clientId: string; clientSecret: string }): Promise<string> {
  const cached = tokens.get(client.clientId)
  if (cached) return cached
  const response = await fetch(`${emulator.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
      audience: `https://${emulator.domain}/api/v2/`,
    }),
  })
  const { access_token: accessToken } = (await response.json()) as { access_token: string }
  tokens.set(client.clientId, accessToken)
  return accessToken
}

function mapIds<T extends Json | undefined>(value: T): T {
  if (typeof value === 'string') return (ids.get(value) ?? value) as T
  if (Array.isArray(value)) return value.map((element) => mapIds(element)) as T
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapIds(v)])) as T
  return value
}

function learnIds(recorded: Json | undefined, emulated: Json | undefined): void {
  if (isObject(recorded) && isObject(emulated)) {
    for (const [key, value] of Object.entries(recorded)) {
      const mine = emulated[key]
      if ((key === 'id' || key === 'action_id') && typeof value === 'string' && typeof mine === 'string') {
        ids.set(value, mine)
      } else learnIds(value, mine)
    }
  } else if (Array.isArray(recorded) && Array.isArray(emulated)) {
    recorded.forEach((element, index) => {
      learnIds(element, emulated[index])
    })
  }
}

async function send(
  method: string,
  path: string,
  options: { query?: Record<string, string>; body?: Json; client?: { clientId: string; clientSecret: string } } = {},
): Promise<{ status: number; body: Json }> {
  const url = new URL(path, emulator.baseUrl)
  for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value)
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${await token(options.client ?? DEFAULT_CLIENT)}`,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  })
  const text = await response.text()
  return { status: response.status, body: text === '' ? null : (JSON.parse(text) as Json) }
}

/**
 * Sends a recorded request (recorded IDs replaced by the emulator's), compares the answer with the recording and,
 * for a 2xx, with the OpenAPI schema; returns every difference. Actions calls go out as the deploy client.
 */
async function replay(recorded: Recorded): Promise<string[]> {
  const { method, path, query, body } = recorded.request
  const isAction = path.startsWith('/api/v2/actions/')
  const draftChange = method === 'POST' && path === '/api/v2/actions/actions'
  const update = method === 'PATCH' && /^\/api\/v2\/actions\/actions\/[^/]+$/.test(path)
  // The recording polled until the draft was built before anything but a create or an update.
  if (isAction && !draftChange && !update) clock += BUILD_MS
  const answer = await send(
    method,
    path.replace(/[^/]+/g, (segment) => ids.get(segment) ?? segment),
    {
      query,
      ...(body === undefined ? {} : { body: mapIds(body) }),
      ...(isAction ? { client: DEPLOY_CLIENT } : {}),
    },
  )
  learnIds(recorded.response.body, answer.body)
  const found =
    answer.status === recorded.response.status
      ? []
      : [`status: recorded ${recorded.response.status}, emulator ${answer.status}`]
  found.push(...differences(recorded.response.body, answer.body))
  if (answer.status < 300) {
    found.push(...openApiViolations(method, path, answer.status, answer.body).map((v) => `OpenAPI ${v}`))
  }
  return found
}

const label = (fixture: Fixture, file: string, recorded: Recorded) =>
  `${fixture.source.repository} ${file.split('/').pop()} #${recorded.interaction}: ${recorded.name}`

function interactions(fixture: Fixture): Array<[string, Recorded]> {
  return fixture.recordings.flatMap((recording) =>
    recording.interactions.map((recorded): [string, Recorded] => [label(fixture, recording.file, recorded), recorded]),
  )
}

/** The state a recorded answer shows, as emulator seed: the Organization before the replayed request. */
function seedFrom(body: Json): Auth0Organization {
  return body as unknown as Auth0Organization
}

describe('Organizations, as recorded', () => {
  const all = interactions(ORGANIZATIONS)
  const seed = all[0]?.[1].response.body ?? null
  beforeAll(() => {
    emulator.putOrganization(seedFrom(seed))
  })

  for (const [name, recorded] of all) {
    test.skipIf(recorded.response.status === 400)(name, async () => {
      const body = recorded.response.body
      if (recorded.request.path === '/api/v2/organizations' && isObject(body) && Array.isArray(body.organizations)) {
        // The tenant as the listing shows it: exactly these Organizations, in this order.
        for (const org of emulator.listOrganizations()) emulator.deleteOrganization(org.id)
        for (const org of body.organizations) emulator.putOrganization(seedFrom(org))
      }
      expect(await replay(recorded)).toEqual([])
    })
  }

  test('a payload validation error has the recorded envelope, errorCode and wording', async () => {
    const recorded = all.find(([, r]) => r.response.status === 400)?.[1]
    const body = recorded?.response.body
    if (!isObject(body)) throw new Error('organizations.json has no recorded 400')
    emulator.putOrganization(seedFrom(seed))
    const id = isObject(seed) ? String(seed.id) : ''
    const answer = await send('PATCH', `/api/v2/organizations/${id}`, { body: { metadata: { count: 1 } } })
    expect(answer.status).toBe(400)
    expect(envelopeViolations(400, answer.body)).toEqual([])
    expect(Object.keys(answer.body as JsonObject).sort()).toEqual(Object.keys(body).sort())
    expect((answer.body as JsonObject).errorCode).toBe(body.errorCode)
    expect(String((answer.body as JsonObject).message)).toMatch(/^Payload validation error: /)
    expect(String(body.message)).toMatch(/^Payload validation error: /)
  })

  test('checkpoint pages (OpenAPI: no recording lists more than one page): next is a string, the last page has none', async () => {
    for (const id of ['org_contract1', 'org_contract2', 'org_contract3']) {
      emulator.putOrganization({ id, name: id.replace('_', '-') })
    }
    const count = emulator.listOrganizations().length
    const first = await send('GET', '/api/v2/organizations', { query: { take: String(count - 1) } })
    expect(first.status).toBe(200)
    expect(openApiViolations('GET', '/api/v2/organizations', first.status, first.body)).toEqual([])
    const next = (first.body as JsonObject).next
    expect(typeof next).toBe('string')
    const last = await send('GET', '/api/v2/organizations', { query: { from: String(next), take: String(count - 1) } })
    expect(openApiViolations('GET', '/api/v2/organizations', last.status, last.body)).toEqual([])
    // As the recorded last page: organizations only.
    expect(Object.keys(last.body as JsonObject)).toEqual(['organizations'])
  })
})

describe('Actions, as recorded', () => {
  for (const [name, recorded] of interactions(ACTIONS)) {
    test(name, async () => {
      expect(await replay(recorded)).toEqual([])
    })
  }

  test('versions, deploying a version (OpenAPI: not recorded)', async () => {
    const created = await send('POST', '/api/v2/actions/actions', {
      client: DEPLOY_CLIENT,
      body: {
        name: 'contract versions',
        code: 'exports.onExecutePostLogin = async () => {};',
        supported_triggers: [{ id: 'post-login', version: 'v3' }],
      },
    })
    const id = String((created.body as JsonObject).id)
    clock += BUILD_MS
    const deployed = await send('POST', `/api/v2/actions/actions/${id}/deploy`, { client: DEPLOY_CLIENT })
    const versionId = String((deployed.body as JsonObject).id)
    const list = await send('GET', `/api/v2/actions/actions/${id}/versions`, { client: DEPLOY_CLIENT })
    expect(list.status).toBe(200)
    expect(openApiViolations('GET', `/api/v2/actions/actions/${id}/versions`, list.status, list.body)).toEqual([])
    const one = await send('GET', `/api/v2/actions/actions/${id}/versions/${versionId}`, { client: DEPLOY_CLIENT })
    expect(one.status).toBe(200)
    expect(
      openApiViolations('GET', `/api/v2/actions/actions/${id}/versions/${versionId}`, one.status, one.body),
    ).toEqual([])
    const path = `/api/v2/actions/actions/${id}/versions/${versionId}/deploy`
    const again = await send('POST', path, { client: DEPLOY_CLIENT, body: {} })
    expect(openApiViolations('POST', path, again.status, again.body)).toEqual([])
  })
})

describe('Trigger bindings, as recorded', () => {
  beforeAll(() => {
    emulator.actions.unbindAll('post-login')
  })
  // Replayed in the recorded order: each step depends on the ones before.
  for (const [name, recorded] of interactions(BINDINGS)) {
    test(name, async () => {
      if (recorded.request.method === 'GET' && recorded.request.query.per_page === '50') {
        emulator.actions.unbindAll('post-login')
      }
      expect(await replay(recorded)).toEqual([])
    })
  }
})

describe('The token endpoint, as recorded and as the Authentication API OpenAPI file says', () => {
  const [[name, recorded] = ['', undefined]] = interactions(TOKEN)
  const schema = (status: number) => {
    const op = AUTHENTICATION.find((candidate) => candidate.status === status)
    if (!op) throw new Error(`openapi.json has no /oauth/token ${status}`)
    return op.schema
  }
  const ask = (form: Record<string, string>) =>
    fetch(`${emulator.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    })
  const form = (client: { clientId: string; clientSecret: string }) => ({
    grant_type: String(recorded?.request.form?.grant_type),
    client_id: client.clientId,
    client_secret: client.clientSecret,
    audience: `https://${emulator.domain}/api/v2/`,
  })

  test(name, async () => {
    if (!recorded) throw new Error('token.json has no interaction')
    const response = await ask(form(DEFAULT_CLIENT))
    expect(response.status).toBe(recorded.response.status)
    const body = (await response.json()) as Json
    expect(differences(recorded.response.body, body)).toEqual([])
    expect(violations(body, schema(200))).toEqual([])
  })

  test('wrong credentials: 401 with an OAuth error body', async () => {
    const response = await ask(form({ clientId: DEFAULT_CLIENT.clientId, clientSecret: 'not-the-secret' }))
    expect(response.status).toBe(401)
    expect(violations((await response.json()) as Json, schema(401))).toEqual([])
  })

  test('a client without a grant for the Management API: 403 with an OAuth error body', async () => {
    const grantless = { clientId: 'no-grant', clientSecret: 'no-grant-secret', scopes: [] }
    const other = await startAuth0Emulator({ clients: [grantless] })
    try {
      const response = await fetch(`${other.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...form(grantless), audience: `https://${other.domain}/api/v2/` }),
      })
      expect(response.status).toBe(403)
      expect(violations((await response.json()) as Json, schema(403))).toEqual([])
    } finally {
      await other.close()
    }
  })
})

describe('Management API errors no recording covers: the recorded envelope', () => {
  test('401 for a token the tenant does not know', async () => {
    const response = await fetch(`${emulator.baseUrl}/api/v2/organizations`, {
      headers: { authorization: 'Bearer not-a-token' },
    })
    expect(response.status).toBe(401)
    expect(envelopeViolations(401, (await response.json()) as Json)).toEqual([])
  })

  test('403 for a token without the scope', async () => {
    const answer = await send('GET', '/api/v2/organizations', { client: DEPLOY_CLIENT })
    expect(answer.status).toBe(403)
    expect(envelopeViolations(403, answer.body)).toEqual([])
  })

  test('429 from the rate limiter', async () => {
    const limited = await startAuth0Emulator({
      organizations: [{ id: 'org_limited', name: 'limited' }],
      rateLimits: { read: { capacity: 1, refillPerMinute: 1 } },
    })
    try {
      const response = await fetch(`${limited.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: DEFAULT_CLIENT.clientId,
          client_secret: DEFAULT_CLIENT.clientSecret,
          audience: `https://${limited.domain}/api/v2/`,
        }),
      })
      const { access_token: accessToken } = (await response.json()) as { access_token: string }
      const get = () =>
        fetch(`${limited.baseUrl}/api/v2/organizations/org_limited`, {
          headers: { authorization: `Bearer ${accessToken}` },
        })
      expect((await get()).status).toBe(200)
      const refused = await get()
      expect(refused.status).toBe(429)
      expect(envelopeViolations(429, (await refused.json()) as Json)).toEqual([])
    } finally {
      await limited.close()
    }
  })
})
