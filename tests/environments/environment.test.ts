/**
 * `.env.<name>` files: what every entry point reads when told `--env <name>` (src/environment.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SyncError } from '../../src/core/errors.ts'
import { describeEnvironment, environmentFile, loadEnvironment } from '../../src/environment.ts'

const folder = () => mkdtempSync(join(tmpdir(), 'access-sync-env-'))

describe('loadEnvironment', () => {
  it('reads .env.<name>: the file wins over the shell, and says which shell values it did not use', () => {
    const cwd = folder()
    writeFileSync(
      join(cwd, '.env.staging'),
      '# staging\nSANITY_PROJECT_ID=abc123\nSANITY_DATASET=staging\nAUTH0_DOMAIN="staging.eu.auth0.com"\n',
    )
    const shell = { AUTH0_DOMAIN: 'prod.eu.auth0.com', SANITY_DATASET: 'staging', PATH: '/bin' }
    const environment = loadEnvironment('staging', shell, { cwd })
    expect(environment.name).toBe('staging')
    expect(environment.file).toBe(join(cwd, '.env.staging'))
    expect(environment.env).toMatchObject({
      SANITY_PROJECT_ID: 'abc123',
      SANITY_DATASET: 'staging',
      AUTH0_DOMAIN: 'staging.eu.auth0.com',
      PATH: '/bin',
      ACCESS_SYNC_ENV: 'staging',
    })
    expect(environment.shadowed).toEqual(['AUTH0_DOMAIN'])
    expect(describeEnvironment(environment)).toContain('AUTH0_DOMAIN differs: the file')
  })

  it('takes ACCESS_SYNC_ENV when no name is given, and the shell alone when neither is', () => {
    const cwd = folder()
    writeFileSync(join(cwd, '.env.production'), 'SANITY_DATASET=production\n')
    expect(loadEnvironment(undefined, { ACCESS_SYNC_ENV: 'production' }, { cwd }).env.SANITY_DATASET).toBe('production')
    const shell = { SANITY_DATASET: 'x' }
    expect(loadEnvironment(undefined, shell, { cwd })).toEqual({
      name: undefined,
      file: undefined,
      env: shell,
      shadowed: [],
    })
  })

  it('a value with a path separator is a file of its own; the children it starts get the absolute path', () => {
    const cwd = folder()
    writeFileSync(join(cwd, 'my.env'), 'SANITY_DATASET=qa\n')
    const environment = loadEnvironment('./my.env', {}, { cwd })
    expect(environment.env.SANITY_DATASET).toBe('qa')
    expect(environment.env.ACCESS_SYNC_ENV).toBe(join(cwd, 'my.env'))
    expect(environmentFile('./my.env', cwd)).toBe(join(cwd, 'my.env'))
  })

  it('a missing file or a bad name fails with what to do, never falls back to the shell', () => {
    const cwd = folder()
    const missing = () => loadEnvironment('prodution', { SANITY_DATASET: 'production' }, { cwd })
    expect(missing).toThrow(SyncError)
    expect(missing).toThrow(/environment "prodution" has no settings file .*Copy \.env\.example to \.env\.prodution/)
    expect(() => loadEnvironment('a b', {}, { cwd })).toThrow(/not valid: use letters, digits/)
  })
})
