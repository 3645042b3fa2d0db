/**
 * `npm run build:functions`: one bundled, tree-shaken ESM file per function the blueprint declares, written where
 * the blueprint's `src` points (dist/functions/<name>/, see `shipBundles` in sanity.blueprint.ts). That folder is
 * what `sanity blueprints deploy` zips and what `sanity functions test` runs: one artifact, and it is the one tested.
 * `buildFunction()` builds in memory, so tests and the bench can compare it with what is on disk.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BlueprintResource } from '@sanity/blueprints'
import { type BuildOptions, build } from 'esbuild'
import { accessSyncFunctions, FUNCTION_BUNDLES_DIR, functionSourceDir, shipBundles } from '../sanity.blueprint.ts'

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
/** The target for the deployed artifact; the build fails above it. */
export const FUNCTION_SIZE_LIMIT = 2 * 1024 * 1024
/** Beside the bundle, so the runtime (and `sanity functions test`) load it as an ES module. */
export const BUNDLE_PACKAGE_JSON = `${JSON.stringify({ private: true, type: 'module', main: 'index.js' }, null, 2)}\n`

export interface FunctionBundle {
  readonly name: string
  /** The source entry, relative to the repository. */
  readonly entry: string
  /** The folder the blueprint's `src` names, absolute. */
  readonly dir: string
  readonly code: string
  /** Packages in the bundle and the bytes each contributes, largest first. */
  readonly packages: ReadonlyArray<readonly [string, number]>
  /** What the bundle still imports at run time (Node's own modules only, as nothing is installed). */
  readonly imports: readonly string[]
}

/** Every function resource in the blueprint (document, scheduled, …), as the CLI reads it, whatever the dataset. */
export function functionResources(): Array<BlueprintResource & { src: string }> {
  return shipBundles(accessSyncFunctions(process.env)).flatMap((resource) =>
    resource.type.startsWith('sanity.function.') ? [resource as BlueprintResource & { src: string }] : [],
  )
}

/**
 * The blueprint's functions, and every other `functions/<name>/index.ts`: a function the blueprint declares only
 * under some setting (the scheduled repair, `ACCESS_SYNC_SCHEDULE`) is built too, whatever the build's environment,
 * so a deploy with that setting finds its bundle.
 */
function functionsToBuild(): Array<{ name: string; src: string }> {
  const declared = functionResources()
  const folders = readdirSync(join(REPO_ROOT, 'functions'), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() && existsSync(join(REPO_ROOT, 'functions', entry.name, 'index.ts')) ? [entry.name] : [],
  )
  const undeclared = folders.filter((name) => !declared.some((resource) => resource.name === name))
  return [...declared, ...undeclared.map((name) => ({ name, src: `./${FUNCTION_BUNDLES_DIR}/${name}` }))]
}

/** How every function is bundled (and the benchmarks' naive handler, to compare like with like). */
export const FUNCTION_BUILD_OPTIONS = {
  absWorkingDir: REPO_ROOT,
  bundle: true,
  write: false,
  metafile: true,
  format: 'esm',
  // Deployed functions run on Node 24 (`runtime: 'nodejs24.x'`).
  target: 'node24',
  // `neutral` rather than `node`: esbuild always adds the `node` export condition on `node`, and that condition
  // picks the heavy builds below. Node's own modules stay imports.
  platform: 'neutral',
  external: ['node:*', ...builtinModules],
  mainFields: ['module', 'main'],
  // `sanity-function`: @sanity/client's own build for Sanity Functions (global fetch). `worker`: get-it's fetch
  // build; its Node build bundles undici for HTTP_PROXY support (520 kB, ~90 ms at import). `es2015`: rxjs as
  // ES modules, so esbuild can tree-shake it (its Node build is CommonJS, 150 kB whole).
  conditions: ['sanity-function', 'worker', 'es2015'],
  minify: true,
  legalComments: 'eof',
  charset: 'utf8',
  logLevel: 'silent',
} satisfies BuildOptions

export async function buildFunction(resource: {
  readonly name: string
  readonly src: string
}): Promise<FunctionBundle> {
  const entry = `${functionSourceDir(resource)}/index.ts`
  const result = await build({ ...FUNCTION_BUILD_OPTIONS, entryPoints: [join(REPO_ROOT, entry)] })
  const [file] = result.outputFiles
  if (!file || result.outputFiles.length !== 1) throw new Error(`${resource.name}: esbuild produced no single file`)
  // An ESM bundle cannot `require()`: esbuild would leave a shim that throws at run time. Fail the build instead.
  if (file.text.includes('Dynamic require of')) {
    throw new Error(`${resource.name}: a dependency calls require(); give esbuild its ES module build`)
  }
  const packages = new Map<string, number>()
  const imports = new Set<string>()
  for (const output of Object.values(result.metafile.outputs)) {
    for (const { path, external } of output.imports) if (external) imports.add(path)
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? '(this repository)'
      packages.set(name, (packages.get(name) ?? 0) + bytesInOutput)
    }
  }
  return {
    name: resource.name,
    entry,
    dir: join(REPO_ROOT, resource.src),
    code: file.text,
    packages: [...packages].sort((a, b) => b[1] - a[1]),
    imports: [...imports].sort(),
  }
}

/**
 * Builds every function and writes each folder with exactly `index.js` and `package.json`. Each file is replaced by
 * a rename, so a test or a CLI reading the folder never sees half a file, even while another build runs.
 */
export async function buildFunctions(): Promise<FunctionBundle[]> {
  const bundles = await Promise.all(functionsToBuild().map(buildFunction))
  for (const bundle of bundles) {
    if (Buffer.byteLength(bundle.code) > FUNCTION_SIZE_LIMIT) {
      throw new Error(
        `${bundle.name}: the bundle is over ${FUNCTION_SIZE_LIMIT} bytes; see docs/performance.md, "The artifact: one bundled file"`,
      )
    }
    mkdirSync(bundle.dir, { recursive: true })
    for (const stray of readdirSync(bundle.dir)) {
      if (stray !== 'index.js' && stray !== 'package.json') rmSync(join(bundle.dir, stray), { recursive: true })
    }
    replaceFile(join(bundle.dir, 'index.js'), bundle.code)
    replaceFile(join(bundle.dir, 'package.json'), BUNDLE_PACKAGE_JSON)
  }
  return bundles
}

function replaceFile(path: string, content: string): void {
  // Written outside the function's folder, which is zipped whole, then moved in.
  const scratch = join(REPO_ROOT, FUNCTION_BUNDLES_DIR, '.tmp')
  mkdirSync(scratch, { recursive: true })
  const temporary = join(scratch, `${process.pid}-${Math.random().toString(36).slice(2)}`)
  writeFileSync(temporary, content)
  renameSync(temporary, path)
}

if (import.meta.main) {
  for (const bundle of await buildFunctions()) {
    const top = bundle.packages
      .slice(0, 4)
      .map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(0)} kB`)
      .join(', ')
    const kb = (Buffer.byteLength(bundle.code) / 1024).toFixed(0)
    console.log(`${bundle.name}: ${bundle.entry} → ${bundle.dir.slice(REPO_ROOT.length)}/index.js, ${kb} kB (${top})`)
  }
}
