/**
 * The app helper as apps get it (`sanity-auth0-access-sync/app` → dist/app/, package.json `exports`): built with
 * `npm run build:app` (tsc -p tsconfig.app.json). `npm install` builds it once (`prepare`); the tests rebuild it
 * when a source is newer than its output, so they always run the helper as it is now.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const APP_BUILD_DIR = join(REPO_ROOT, 'dist', 'app')
const ENTRY = join(APP_BUILD_DIR, 'app', 'index.js')

/** Whether dist/app/ is missing, or older than a source it came from, tsconfig.app.json or package.json. */
export function appBuildIsStale(): boolean {
  if (!existsSync(ENTRY)) return true
  const built = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? built(join(dir, entry.name)) : entry.name.endsWith('.js') ? [join(dir, entry.name)] : [],
    )
  const mtime = (file: string) => statSync(file).mtimeMs
  const config = Math.max(mtime(join(REPO_ROOT, 'tsconfig.app.json')), mtime(join(REPO_ROOT, 'package.json')))
  return built(APP_BUILD_DIR).some((output) => {
    const source = join(REPO_ROOT, relative(APP_BUILD_DIR, output).replace(/\.js$/, '.ts'))
    const outputTime = mtime(output)
    return !existsSync(source) || mtime(source) > outputTime || config > outputTime
  })
}

/** `npm run build:app` from scratch (no files of removed modules left behind), unless the build is current. */
export function buildApp({ force = false } = {}): void {
  if (!force && !appBuildIsStale()) return
  rmSync(APP_BUILD_DIR, { recursive: true, force: true })
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.app.json'], {
    cwd: REPO_ROOT,
    stdio: 'pipe',
  })
}
