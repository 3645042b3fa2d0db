import { ensureTestCertificate } from '../../emulators/tls.ts'

// Runs once in the main vitest process before any worker is forked. Workers inherit the environment, so the
// unmodified auth0 SDK (global fetch) trusts the emulator's self-signed certificate without any code change.
export default async function setup(): Promise<void> {
  const { certPath } = await ensureTestCertificate()
  process.env.NODE_EXTRA_CA_CERTS = certPath
}
