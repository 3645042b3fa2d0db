/**
 * Reading a client's credential: a secret or a private key, never both, never neither, each refusal naming the
 * setting and the fix; the forms a PEM takes in a .env file and in `sanity functions env add`.
 */

import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readDeployCredentials } from '../../cli/deploy-action.ts'
import { portableSigningKey, readAuth0Config, readReconcileConfig } from '../../src/config.ts'
import { SyncError } from '../../src/core/errors.ts'
import { loadEnvironment } from '../../src/environment.ts'
import { rsaKeyPair } from './support.ts'

const keys = rsaKeyPair()
const base = { AUTH0_DOMAIN: 'acme.eu.auth0.com', AUTH0_CLIENT_ID: 'sync-client' }
const refusal = (read: () => unknown): string => {
  try {
    read()
  } catch (error) {
    expect(error).toBeInstanceOf(SyncError)
    expect(error).toMatchObject({ reason: 'configuration' })
    return (error as Error).message
  }
  throw new Error('expected a configuration error')
}

describe('the sync client credential', () => {
  it('a client secret, as before', () => {
    expect(readAuth0Config({ ...base, AUTH0_CLIENT_SECRET: 's3cret' })).toMatchObject({ clientSecret: 's3cret' })
  })

  it('a private key: RS256 by default, PS256 and RS384 when asked, the key as PKCS#8 for the SDK', () => {
    const config = readAuth0Config({ ...base, AUTH0_CLIENT_ASSERTION_SIGNING_KEY: keys.privatePem })
    expect(config).toMatchObject({ clientAssertionSigningKey: keys.privatePem, clientAssertionSigningAlg: 'RS256' })
    expect(config).not.toHaveProperty('clientSecret')
    for (const alg of ['PS256', 'rs384']) {
      const read = readAuth0Config({
        ...base,
        AUTH0_CLIENT_ASSERTION_SIGNING_KEY: keys.privatePem,
        AUTH0_CLIENT_ASSERTION_SIGNING_ALG: alg,
      })
      expect(read).toMatchObject({ clientAssertionSigningAlg: alg.toUpperCase() })
    }
    // `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1) is what older tools write; the SDK's importPKCS8 would refuse it.
    const pkcs1 = readAuth0Config({ ...base, AUTH0_CLIENT_ASSERTION_SIGNING_KEY: keys.pkcs1Pem })
    expect(pkcs1).toMatchObject({ clientAssertionSigningKey: keys.privatePem })
  })

  it('both set: refused, naming both and the fix', () => {
    const message = refusal(() =>
      readAuth0Config({ ...base, AUTH0_CLIENT_SECRET: 's3cret', AUTH0_CLIENT_ASSERTION_SIGNING_KEY: keys.privatePem }),
    )
    expect(message).toContain('AUTH0_CLIENT_SECRET and AUTH0_CLIENT_ASSERTION_SIGNING_KEY are both set: set one')
    expect(message).toContain('remove AUTH0_CLIENT_SECRET')
    expect(message).not.toContain('PRIVATE KEY')
    expect(message).not.toContain('s3cret')
  })

  it('neither set: refused, naming both settings and the recommended one', () => {
    const message = refusal(() => readAuth0Config(base))
    expect(message).toContain('no credential for AUTH0_CLIENT_ID')
    expect(message).toContain('AUTH0_CLIENT_ASSERTION_SIGNING_KEY is not set (Private Key JWT, recommended')
    expect(message).toContain('AUTH0_CLIENT_SECRET is not set; set one of them')
  })

  it('the reconcile and `access-sync deploy` read it the same way (one error naming every problem)', () => {
    const message = refusal(() =>
      readReconcileConfig({
        ...base,
        SANITY_PROJECT_ID: 'abc123',
        SANITY_DATASET: 'production',
        SANITY_API_TOKEN: 'sk',
        AUTH0_CLIENT_ASSERTION_SIGNING_ALG: 'HS256',
      }),
    )
    expect(message).toContain('AUTH0_CLIENT_ASSERTION_SIGNING_ALG is set but AUTH0_CLIENT_ASSERTION_SIGNING_KEY is not')
    expect(message).toContain('no credential for AUTH0_CLIENT_ID')
  })

  it.each([
    ['a public key', () => keys.publicPem, /it is a public key: .*goes into Auth0/],
    ['an EC key', () => ecKey(), /is a ec key.*RSA/],
    ['a 1024-bit RSA key', () => rsaKeyPair(1024).privatePem, /1024-bit RSA key; use 2048 bits or more/],
    ['an encrypted key', () => encryptedKey(), /it is encrypted/],
    ['garbage', () => 'not a key at all, with spaces', /is not a PEM private key/],
    ['a missing file', () => '/nowhere/key.pem', /no readable file at "\/nowhere\/key.pem"/],
  ])('%s is refused, naming the setting', (_, value, why) => {
    const message = refusal(() => readAuth0Config({ ...base, AUTH0_CLIENT_ASSERTION_SIGNING_KEY: value() }))
    expect(message).toContain('AUTH0_CLIENT_ASSERTION_SIGNING_KEY ')
    expect(message).toMatch(why)
    expect(message).not.toContain('PRIVATE KEY-----\nMII')
  })

  it('an algorithm Auth0 does not offer for Private Key JWT is refused', () => {
    const message = refusal(() =>
      readAuth0Config({
        ...base,
        AUTH0_CLIENT_ASSERTION_SIGNING_KEY: keys.privatePem,
        AUTH0_CLIENT_ASSERTION_SIGNING_ALG: 'HS256',
      }),
    )
    expect(message).toContain('AUTH0_CLIENT_ASSERTION_SIGNING_ALG must be one of RS256, RS384, PS256')
  })
})

describe('a PEM in a setting: every form reads as the same key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pkjwt-'))
  const keyFile = join(dir, 'sync-key.pem')
  writeFileSync(keyFile, keys.privatePem)
  const read = (value: string) => {
    const config = readAuth0Config({ ...base, AUTH0_CLIENT_ASSERTION_SIGNING_KEY: value })
    return 'clientAssertionSigningKey' in config ? config.clientAssertionSigningKey : undefined
  }

  it.each([
    ['the PEM itself (multi-line)', keys.privatePem],
    ['one line with \\n escapes', keys.privatePem.trim().replaceAll('\n', '\\n')],
    ['base64 of the PEM (one line)', Buffer.from(keys.privatePem).toString('base64')],
    ['a file path', keyFile],
  ])('%s', (_, value) => {
    expect(read(value)).toBe(keys.privatePem)
  })

  it('in a .env file: multi-line in double quotes, one line with \\n escapes (quoted or not), or base64', () => {
    const escaped = keys.privatePem.trim().replaceAll('\n', '\\n')
    const variants = {
      multiline: `AUTH0_CLIENT_ASSERTION_SIGNING_KEY="${keys.privatePem.trim()}"`,
      doubleQuotedEscapes: `AUTH0_CLIENT_ASSERTION_SIGNING_KEY="${escaped}"`,
      unquotedEscapes: `AUTH0_CLIENT_ASSERTION_SIGNING_KEY=${escaped}`,
      singleQuotedEscapes: `AUTH0_CLIENT_ASSERTION_SIGNING_KEY='${escaped}'`,
      base64: `AUTH0_CLIENT_ASSERTION_SIGNING_KEY=${Buffer.from(keys.privatePem).toString('base64')}`,
      path: `AUTH0_CLIENT_ASSERTION_SIGNING_KEY=${keyFile}`,
    }
    for (const [name, line] of Object.entries(variants)) {
      writeFileSync(join(dir, `.env.${name}`), `AUTH0_DOMAIN=acme.eu.auth0.com\nAUTH0_CLIENT_ID=sync-client\n${line}\n`)
      const { env } = loadEnvironment(name, {}, { cwd: dir })
      const config = readAuth0Config(env)
      expect('clientAssertionSigningKey' in config && config.clientAssertionSigningKey, name).toBe(keys.privatePem)
    }
  })

  it('what `access-sync deploy` gives the functions (one line of base64) reads back as the same key', () => {
    const config = readAuth0Config({ ...base, AUTH0_CLIENT_ASSERTION_SIGNING_KEY: keyFile })
    const portable = portableSigningKey(config)
    expect(portable).toMatch(/^[A-Za-z0-9+/=]+$/)
    expect(read(portable ?? '')).toBe(keys.privatePem)
    expect(portableSigningKey(readAuth0Config({ ...base, AUTH0_CLIENT_SECRET: 's' }))).toBeUndefined()
  })
})

describe('the deploy client credential (deploy-action)', () => {
  const deployBase = { AUTH0_DOMAIN: 'acme.eu.auth0.com', AUTH0_DEPLOY_CLIENT_ID: 'deploy-client' }

  it('a secret or a private key', () => {
    expect(readDeployCredentials({ ...deployBase, AUTH0_DEPLOY_CLIENT_SECRET: 'd' })).toMatchObject({
      clientSecret: 'd',
    })
    expect(
      readDeployCredentials({
        ...deployBase,
        AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY: Buffer.from(keys.privatePem).toString('base64'),
        AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_ALG: 'PS256',
      }),
    ).toMatchObject({ clientAssertionSigningKey: keys.privatePem, clientAssertionSigningAlg: 'PS256' })
  })

  it('both, or neither: refused, naming the deploy settings', () => {
    const both = refusal(() =>
      readDeployCredentials({
        ...deployBase,
        AUTH0_DEPLOY_CLIENT_SECRET: 'd',
        AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY: keys.privatePem,
      }),
    )
    expect(both).toContain('AUTH0_DEPLOY_CLIENT_SECRET and AUTH0_DEPLOY_CLIENT_ASSERTION_SIGNING_KEY are both set')
    const neither = refusal(() => readDeployCredentials(deployBase))
    expect(neither).toContain('no credential for AUTH0_DEPLOY_CLIENT_ID')
    expect(neither).toContain('AUTH0_DEPLOY_CLIENT_SECRET is not set')
  })
})

function ecKey(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return String(privateKey.export({ type: 'pkcs8', format: 'pem' }))
}

function encryptedKey(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return String(
    privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'not-in-a-setting' }),
  )
}
