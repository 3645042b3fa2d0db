/** The pure half of `access-sync deploy` (src/core/deploy-plan.ts). */
import { describe, expect, it } from 'vitest'
import { accessSyncResources } from '../../sanity.blueprint.ts'
import {
  type DeployRecord,
  declaredFunctions,
  desiredFunctionEnv,
  MASK,
  maskSecrets,
  parseEnvList,
  planFunctionEnv,
  recordChange,
  showCommand,
  valueHash,
} from '../../src/core/deploy-plan.ts'

const ENV = {
  SANITY_PROJECT_ID: 'demo1234',
  SANITY_DATASET: 'staging',
  AUTH0_DOMAIN: 'acme.eu.auth0.com',
  AUTH0_CLIENT_ID: 'client',
  AUTH0_CLIENT_SECRET: 'secret-1',
  FANOUT_MAX_WRITES: '50',
  SANITY_API_TOKEN: 'sk-never-sent-to-a-function',
}

const empty: DeployRecord = { salt: 'salt', functions: {} }

describe('deploy plan', () => {
  it('lists the functions of the blueprint for an environment, with where each fires', () => {
    const functions = declaredFunctions(accessSyncResources({ ...ENV, ACCESS_SYNC_SCHEDULE: '*/30 * * * *' }))
    expect(functions.map((fn) => [fn.name, fn.kind, fn.scope ?? fn.schedule])).toEqual([
      ['sync-access-policy', 'document', 'demo1234.staging'],
      ['fan-out-role', 'document', 'demo1234.staging'],
      ['fan-out-plan', 'document', 'demo1234.staging'],
      ['reconcile-access', 'scheduled', '*/30 * * * *'],
    ])
    expect(functions.at(-1)?.env).toEqual({ SANITY_PROJECT_ID: 'demo1234', SANITY_DATASET: 'staging' })
  })

  it('gives a function only the settings it reads, and only those set', () => {
    expect([...desiredFunctionEnv('sync-access-policy', ENV).keys()]).toEqual([
      'AUTH0_DOMAIN',
      'AUTH0_CLIENT_ID',
      'AUTH0_CLIENT_SECRET',
    ])
    expect(desiredFunctionEnv('fan-out-role', { ...ENV, FANOUT_MAX_WRITES: ' 50 ' }).get('FANOUT_MAX_WRITES')).toBe(
      '50',
    )
    expect(desiredFunctionEnv('fan-out-role', { ...ENV, FANOUT_MAX_WRITES: '' }).has('FANOUT_MAX_WRITES')).toBe(false)
  })

  it('adds what is missing, unrecorded or changed; removes only product keys the file dropped', () => {
    const desired = new Map([
      ['AUTH0_DOMAIN', 'acme.eu.auth0.com'],
      ['AUTH0_CLIENT_ID', 'client'],
      ['AUTH0_CLIENT_SECRET', 'secret-2'],
    ])
    let record = recordChange(empty, 'fn', 'AUTH0_DOMAIN', 'acme.eu.auth0.com')
    record = recordChange(record, 'fn', 'AUTH0_CLIENT_SECRET', 'secret-1')
    record = recordChange(record, 'fn', 'FANOUT_MAX_WRITES', '50')
    const remote = new Set([
      'AUTH0_DOMAIN',
      'AUTH0_CLIENT_SECRET',
      'FANOUT_MAX_WRITES',
      'THEIR_OWN',
      'SYNC_TIME_BUDGET_SECONDS',
    ])
    const plan = planFunctionEnv('fn', desired, remote, record)
    expect(plan.unchanged).toEqual(['AUTH0_DOMAIN'])
    expect(plan.add.map((change) => [change.key, change.why])).toEqual([
      ['AUTH0_CLIENT_ID', 'missing'],
      ['AUTH0_CLIENT_SECRET', 'changed'],
    ])
    expect(plan.remove).toEqual(['FANOUT_MAX_WRITES', 'SYNC_TIME_BUDGET_SECONDS'])
    // A key on the stack this command never set is set once, since its value cannot be known.
    const unrecorded = planFunctionEnv('fn', desired, new Set(['AUTH0_CLIENT_ID']), empty)
    expect(unrecorded.add.find((change) => change.key === 'AUTH0_CLIENT_ID')?.why).toBe(
      'not set by this command before',
    )
  })

  it('records hashes, never values, and forgets a removed key', () => {
    const record = recordChange(empty, 'fn', 'AUTH0_CLIENT_SECRET', 'secret-1')
    expect(JSON.stringify(record)).not.toContain('secret-1')
    expect(record.functions.fn?.AUTH0_CLIENT_SECRET).toBe(valueHash('salt', 'secret-1'))
    expect(valueHash('other salt', 'secret-1')).not.toBe(valueHash('salt', 'secret-1'))
    expect(recordChange(record, 'fn', 'AUTH0_CLIENT_SECRET', undefined).functions.fn).toEqual({})
  })

  it('masks secrets in commands and text, the longer first', () => {
    expect(showCommand(['functions', 'env', 'add', 'fn', 'AUTH0_CLIENT_SECRET', 'secret-1'], ['secret-1'])).toBe(
      `sanity functions env add fn AUTH0_CLIENT_SECRET ${MASK}`,
    )
    expect(showCommand(['functions', 'env', 'add', 'fn', 'K', "it's a value"], [])).toBe(
      `sanity functions env add fn K 'it'\\''s a value'`,
    )
    expect(maskSecrets('a secret-12 and secret-1', ['secret-1', 'secret-12'])).toBe(`a ${MASK} and ${MASK}`)
  })

  it('reads `functions env list --json`, and refuses anything else', () => {
    expect(parseEnvList('{"name":"fn","envvars":["A","B"]}')).toEqual(new Set(['A', 'B']))
    expect(parseEnvList('A\nB\n')).toBeUndefined()
    expect(parseEnvList('{"name":"fn"}')).toBeUndefined()
  })
})
