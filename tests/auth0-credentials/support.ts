/**
 * Keys and Private Key JWT clients for the credential tests: RSA pairs made per run (never committed), a sync client
 * and a deploy client that Auth0 (the emulator) lets authenticate with a client assertion only.
 */
import { generateKeyPairSync } from 'node:crypto'
import { DEFAULT_CLIENT, type KeyClientConfig } from '../../emulators/auth0.ts'
import { DEPLOY_CLIENT } from '../../emulators/auth0-actions.ts'

export interface KeyPair {
  /** PKCS#8 PEM, as `openssl genrsa` (OpenSSL 3) writes it. */
  readonly privatePem: string
  /** PKCS#1 PEM (`-----BEGIN RSA PRIVATE KEY-----`), as older tools write it. */
  readonly pkcs1Pem: string
  readonly publicPem: string
}

export function rsaKeyPair(modulusLength = 2048): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength })
  return {
    privatePem: String(privateKey.export({ type: 'pkcs8', format: 'pem' })),
    pkcs1Pem: String(privateKey.export({ type: 'pkcs1', format: 'pem' })),
    publicPem: String(publicKey.export({ type: 'spki', format: 'pem' })),
  }
}

/** The sync client (read:organizations update:organizations) with Private Key JWT only: no secret is accepted. */
export function keyOnlySyncClient(
  keys: readonly KeyPair[],
  alg: 'RS256' | 'RS384' | 'PS256' = 'RS256',
): KeyClientConfig {
  return {
    clientId: 'pkjwt-sync-client',
    scopes: [...DEFAULT_CLIENT.scopes],
    credentials: keys.map((key, index) => ({ publicKey: key.publicPem, alg, kid: `kid-${index}` })),
  }
}

/** The deploy client (read/create/update:actions) with Private Key JWT only. */
export function keyOnlyDeployClient(key: KeyPair): KeyClientConfig {
  return {
    clientId: 'pkjwt-deploy-client',
    scopes: [...DEPLOY_CLIENT.scopes],
    credentials: [{ publicKey: key.publicPem, alg: 'RS256' }],
  }
}
