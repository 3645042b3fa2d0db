#!/usr/bin/env node
/**
 * `access-sync <command>`: the project's CLI (package.json `bin`), one module per command. Each module exports
 * `run(argv): Promise<number>` (the exit code) and `USAGE`; registering a command is one line in COMMANDS.
 */
import process from 'node:process'

interface Command {
  readonly summary: string
  readonly load: () => Promise<{ run(argv: readonly string[]): Promise<number> }>
}

const COMMANDS: Readonly<Record<string, Command>> = {
  reconcile: {
    summary: 'plan (and with --apply, write) Auth0 from what is published',
    load: () => import('./reconcile.ts'),
  },
  'deploy-action': { summary: 'deploy the post-login Action and bind it', load: () => import('./deploy-action.ts') },
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

if (import.meta.main) process.exitCode = await main(process.argv.slice(2))
