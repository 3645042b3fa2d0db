/**
 * The deploy record of one stack (`.sanity/access-sync-deploy.<stack>.json`, gitignored with the CLI's own
 * `.sanity/` config): what `access-sync deploy` set on each function, as salted hashes, never the values.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { DeployRecord } from '../core/deploy-plan.ts'
import { SyncError } from '../core/errors.ts'

export function deployRecordPath(cwd: string, stack: string): string {
  return join(cwd, '.sanity', `access-sync-deploy.${stack.replace(/[^\w.-]/g, '_')}.json`)
}

/** The record, or an empty one with a fresh salt when there is none yet. */
export function readDeployRecord(path: string): DeployRecord {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { salt: randomBytes(16).toString('hex'), functions: {} }
    throw error
  }
  let record: Partial<DeployRecord> | null
  try {
    record = JSON.parse(text) as Partial<DeployRecord> | null
  } catch {
    record = null
  }
  if (!record || typeof record.salt !== 'string' || typeof record.functions !== 'object' || record.functions === null) {
    throw new SyncError(
      'configuration',
      `The deploy record ${path} is not one this command wrote. Delete it and run again: every setting is then set once more.`,
    )
  }
  return record as DeployRecord
}

/** Replaced by a rename, so an interrupted run leaves the previous record whole. */
export function writeDeployRecord(path: string, record: DeployRecord): void {
  mkdirSync(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 })
  renameSync(temporary, path)
}
