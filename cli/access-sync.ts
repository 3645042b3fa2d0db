#!/usr/bin/env node
/**
 * `access-sync <command>`: the project's CLI (package.json `bin`), one module per command. Each module exports
 * `run(argv): Promise<number>` (the exit code) and `USAGE`; registering a command is one line in COMMANDS.
 */
import { spawn } from 'node:child_process'
import process from 'node:process'
import { loadEnvironment } from '../src/environment.ts'

interface Command {
  readonly summary: string
  readonly load: () => Promise<{ run(argv: readonly string[]): Promise<number> }>
}

export const COMMANDS: Readonly<Record<string, Command>> = {
  reconcile: {
    summary: 'plan (and with --apply, write) Auth0 from what is published',
    load: () => import('./reconcile.ts'),
  },
  'deploy-action': { summary: 'deploy the post-login Action and bind it', load: () => import('./deploy-action.ts') },
  doctor: { summary: 'check that an environment’s pieces line up (read-only)', load: () => import('./doctor.ts') },
  deploy: {
    summary: 'deploy one environment: build, plan, deploy, set every function’s settings',
    load: () => import('./deploy.ts'),
  },
}

const USAGE = `Usage: access-sync <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(16)}${command.summary}`)
  .join('\n')}

Run \`access-sync <command> --help\` for a command's options.`

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return name === undefined ? 1 : 0
  }
  const command = COMMANDS[name]
  if (!command) {
    process.stderr.write(`access-sync: unknown command "${name}"\n\n${USAGE}\n`)
    return 1
  }
  return (await command.load()).run(rest)
}

/**
 * Node reads NODE_EXTRA_CA_CERTS only at start-up: when the environment file names a certificate to trust (the local
 * emulators' own, written by `npm run dev`), the command runs again in a child that has it. Undefined: no need.
 */
async function relaunchWithCertificate(argv: readonly string[]): Promise<number | undefined> {
  const flag = argv.findIndex((arg) => arg === '--env' || arg.startsWith('--env='))
  const name = flag < 0 ? undefined : argv[flag]?.startsWith('--env=') ? argv[flag]?.slice(6) : argv[flag + 1]
  let certificate: string | undefined
  try {
    certificate = loadEnvironment(name, process.env).env.NODE_EXTRA_CA_CERTS
  } catch {
    return undefined // the command itself reports a missing or unreadable file
  }
  if (!certificate || certificate === process.env.NODE_EXTRA_CA_CERTS) return undefined
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: certificate },
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal))
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))))
}

if (import.meta.main) {
  const argv = process.argv.slice(2)
  process.exitCode = (await relaunchWithCertificate(argv)) ?? (await main(argv))
}
