/**
 * The certificate of the Content Lake emulator's HTTPS port for the browser (content-lake-studio.ts): a
 * self-signed leaf for `localhost` and `<projectId>.localhost`, kept in `.tls/studio/` (gitignored) so a browser
 * that accepted it once keeps accepting it across `npm run dev` runs.
 */
import { X509Certificate } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generate } from 'selfsigned'

const DIR = fileURLToPath(new URL('../.tls/studio/', import.meta.url))
const VALIDITY_DAYS = 365
const DAY_MS = 24 * 60 * 60 * 1000

export async function ensureStudioCertificate(hosts: readonly string[]): Promise<{ cert: string; key: string }> {
  const [certPath, keyPath] = [join(DIR, 'cert.pem'), join(DIR, 'key.pem')]
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')])
    const x509 = new X509Certificate(cert)
    const fresh = new Date(x509.validTo).getTime() - Date.now() > DAY_MS
    if (fresh && hosts.every((host) => x509.checkHost(host) === host)) return { cert, key }
  } catch {
    // missing or unreadable: make a new one
  }
  const notBeforeDate = new Date(Date.now() - 60_000)
  const pems = await generate([{ name: 'commonName', value: hosts[0] ?? 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + VALIDITY_DAYS * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: hosts.map((value) => ({ type: 2, value })) },
    ],
  })
  await mkdir(DIR, { recursive: true })
  await writeFile(keyPath, pems.private, { mode: 0o600 })
  await writeFile(certPath, pems.cert)
  return { cert: pems.cert, key: pems.private }
}
