import { rmSync } from 'node:fs'
import { ensureTestCertificate } from '../../emulators/tls.ts'
import { APP_BUILD_DIR, buildApp } from './app-build.ts'

// Runs once in the main vitest process before any worker is forked. Workers inherit the environment, so the
// unmodified auth0 SDK (global fetch) trusts the emulator's self-signed certificate without any code change.
export default async function setup(): Promise<void> {
  const { certPath } = await ensureTestCertificate()
  process.env.NODE_EXTRA_CA_CERTS = certPath
  // The tests import the app helper by its package name, which resolves to its build (dist/app/).
  try {
    buildApp()
  } catch (error) {
    rmSync(APP_BUILD_DIR, { recursive: true, force: true })
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? ''
    console.error(
      `npm run build:app failed; the tests that import the app helper will fail:\n${output || String(error)}`,
    )
  }
}
