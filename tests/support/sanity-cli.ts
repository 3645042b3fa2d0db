// Moved to emulators/sanity-cli.ts, which `npm run functions:test` shares with the tests.
export { type CliResult, repoRoot, runSanityCli } from '../../emulators/sanity-cli.ts'
