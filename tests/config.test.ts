/**
 * The Sanity project the runtime hands the function (`context.clientOptions`), checked at the edge. The CLI case
 * (no project at all) runs end to end in tests/cli/functions-test.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { readSanityClientOptions } from '../src/config.ts'

const failure = (options: unknown) => {
  try {
    readSanityClientOptions(options)
  } catch (error) {
    return error as { reason?: string; message: string; stack?: string }
  }
  throw new Error('expected a configuration error')
}

describe('readSanityClientOptions', () => {
  it('passes the runtime options through, checked', () => {
    const options = { projectId: 'abc123', dataset: 'production', token: 't', apiHost: 'https://api.sanity.io' }
    expect(readSanityClientOptions(options)).toEqual(options)
  })

  it.for([
    ['nothing at all', undefined, 'no projectId; no dataset'],
    ['an empty object (sanity functions test with no project)', {}, 'no projectId; no dataset'],
    ['a project but no dataset', { projectId: 'abc123' }, 'context.clientOptions: no dataset)'],
    ['a malformed project ID', { projectId: 'abc/../x', dataset: 'production' }, 'projectId "abc/../x" is not valid'],
    ['a malformed dataset', { projectId: 'abc123', dataset: 'Prod uction' }, 'dataset "Prod uction" is not valid'],
  ] as const)('%s: a configuration error saying what to pass', ([_name, options, problem]) => {
    const error = failure(options)
    expect(error.reason).toBe('configuration')
    expect(error.message).toContain(problem)
    expect(error.message).toContain('`--project-id <id> --dataset <name>`')
    expect(error.message).toContain('`npm run functions:test -- --file <policy.json>`')
    // Not a bug, so no stack: the CLI and the runtime print `stack`.
    expect(error.stack).toBe(`SyncError: ${error.message}`)
  })

  it('never echoes the token', () => {
    expect(failure({ token: 'sk-secret-token' }).message).not.toContain('sk-secret-token')
  })
})
