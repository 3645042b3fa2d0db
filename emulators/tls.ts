import { spawn } from 'node:child_process'
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generate } from 'selfsigned'

// A self-signed leaf certificate for localhost / 127.0.0.1. Node accepts a self-signed leaf listed in
// NODE_EXTRA_CA_CERTS as its own trust anchor (verified: a child process with the variable set fetches from an
// https server using it; without it, fetch fails with DEPTH_ZERO_SELF_SIGNED_CERT), so no separate CA is needed.

export interface TestCertificate {
  certPath: string
  keyPath: string
  cert: string
  key: string
}

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const TLS_DIR = join(REPO_ROOT, '.tls')
// cert.pem and key.pem live together in one directory that is only ever replaced by an atomic directory rename,
// so a reader never sees a certificate paired with another generation's key.
const CERT_DIR = join(TLS_DIR, 'localhost')
const MIN_REMAINING_MS = 24 * 60 * 60 * 1000
const VALIDITY_DAYS = 30

async function readValid(dir: string): Promise<TestCertificate | undefined> {
  const certPath = join(dir, 'cert.pem')
  const keyPath = join(dir, 'key.pem')
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')])
    const x509 = new X509Certificate(cert)
    const now = Date.now()
    const fresh = new Date(x509.validFrom).getTime() <= now && new Date(x509.validTo).getTime() - now > MIN_REMAINING_MS
    const forLocalhost = x509.checkHost('localhost') === 'localhost' && x509.checkIP('127.0.0.1') === '127.0.0.1'
    if (fresh && forLocalhost && x509.checkPrivateKey(createPrivateKey(key))) return { certPath, keyPath, cert, key }
  } catch {
    // missing, unreadable or unparsable: regenerate
  }
  return undefined
}

async function generateInto(dir: string): Promise<void> {
  const notBeforeDate = new Date(Date.now() - 60_000)
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + VALIDITY_DAYS * 24 * 60 * 60 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  })
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'key.pem'), pems.private, { mode: 0o600 })
  await writeFile(join(dir, 'cert.pem'), pems.cert)
}

/** Returns the shared localhost test certificate, creating or renewing it when missing or within a day of expiry. */
export async function ensureTestCertificate(): Promise<TestCertificate> {
  const existing = await readValid(CERT_DIR)
  if (existing) return existing
  await mkdir(TLS_DIR, { recursive: true })
  const tmp = join(TLS_DIR, `tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
  await generateInto(tmp)
  try {
    try {
      await rename(tmp, CERT_DIR)
    } catch {
      // CERT_DIR exists. If another process just installed a valid one, use it; otherwise move the stale one aside.
      const raced = await readValid(CERT_DIR)
      if (raced) return raced
      const stale = join(TLS_DIR, `stale-${process.pid}-${randomBytes(6).toString('hex')}`)
      await rename(CERT_DIR, stale).catch(() => undefined)
      await rename(tmp, CERT_DIR).catch(() => undefined)
      await rm(stale, { recursive: true, force: true })
    }
    const installed = await readValid(CERT_DIR)
    if (!installed) throw new Error(`could not install a valid test certificate in ${CERT_DIR}`)
    return installed
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

/**
 * For scripts (demo, dev, bench): Node reads NODE_EXTRA_CA_CERTS only at start-up, so unless it already names the
 * emulator's certificate, this runs the same script again with it set, passes Ctrl-C and other signals on to that
 * copy, and exits with its code; it never returns then. Otherwise it returns at once and the script carries on.
 */
export async function trustEmulatorCertificate(): Promise<void> {
  const { certPath } = await ensureTestCertificate()
  if (process.env.NODE_EXTRA_CA_CERTS === certPath) return
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: certPath },
  })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal))
  await new Promise<never>(() => {
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
  })
}
