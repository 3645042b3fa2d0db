import process from 'node:process'
import { parseArgs } from 'node:util'
import { trustEmulatorCertificate } from '../../emulators/tls.ts'
import { burstBench } from './burst.ts'
import { coldStart } from './cold-start.ts'
import { editorialTrace } from './editorial-trace.ts'
import { BENCH_PRESETS, type BenchPreset, isBenchPreset, reconcileBench } from './reconcile.ts'
import { releaseBench } from './release.ts'
import type { Bench, BenchReport } from './types.ts'

/**
 * In issue order. P4 is the reconcile at scale (also `npm run bench:reconcile`); P6 the release publish (issue 16).
 * P1, P2 and P6 run under the platform model (scripts/bench/platform.ts).
 */
export const BENCHES: readonly Bench[] = [editorialTrace, burstBench, coldStart, reconcileBench, releaseBench]
/** The benchmarks that run under a plan's rate limits: `--preset` repeats them per preset (issue 17). */
const PER_PRESET = new Set(['P2', 'P4'])

await trustEmulatorCertificate()

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string' },
    baseline: { type: 'boolean' },
    preset: { type: 'string', multiple: true },
    orgs: { type: 'string' },
    'query-lag': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (values.help) {
  console.log(
    `npm run bench [-- ${BENCHES.map((bench) => bench.id).join(' ')}] [--runs N] [--baseline] [--preset ${BENCH_PRESETS.join('|')}|all ...] [--orgs N] [--query-lag MS]\n` +
      '  --preset: the plan whose rate limits P2 and P4 run under (repeatable; "all" = each in turn); default professional, or BENCH_PRESET\n' +
      '  --orgs: the size of P4 (default 10 000), or BENCH_ORGS\n' +
      "  --query-lag MS: the Content Lake's query lag P1, P2 and P6 assume (default the strict runner's 1 000), or BENCH_QUERY_LAG_MS",
  )
  process.exit(0)
}
const presetNames = (values.preset ?? []).flatMap((name) => (name === 'all' ? [...BENCH_PRESETS] : [name]))
const badPreset = presetNames.filter((name) => !isBenchPreset(name))
if (badPreset.length > 0) {
  console.error(`unknown preset ${badPreset.join(', ')}: choose from ${BENCH_PRESETS.join(', ')}, or all`)
  process.exit(2)
}
const presets: readonly (BenchPreset | undefined)[] =
  presetNames.length > 0 ? (presetNames as BenchPreset[]) : [undefined]
if (values.orgs !== undefined) {
  if (!(Number.isInteger(Number(values.orgs)) && Number(values.orgs) > 0)) {
    console.error(`--orgs must be a positive whole number, got "${values.orgs}"`)
    process.exit(2)
  }
  process.env.BENCH_ORGS = values.orgs
}
if (values['query-lag'] !== undefined) {
  if (!(Number.isFinite(Number(values['query-lag'])) && Number(values['query-lag']) >= 0)) {
    console.error(`--query-lag must be a number of ms, got "${values['query-lag']}"`)
    process.exit(2)
  }
  process.env.BENCH_QUERY_LAG_MS = values['query-lag']
}
const runs = values.runs === undefined ? undefined : Number(values.runs)
if (runs !== undefined && !(Number.isInteger(runs) && runs > 0)) {
  console.error(`--runs must be a positive whole number, got "${values.runs}"`)
  process.exit(2)
}
const unknown = positionals.filter((id) => !BENCHES.some((bench) => bench.id === id.toUpperCase()))
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}: choose from ${BENCHES.map((bench) => bench.id).join(', ')}`)
  process.exit(2)
}
const chosen = positionals.length === 0 ? BENCHES : BENCHES.filter((bench) => positionals.includes(bench.id))

// The function's own log lines would drown the tables: the benchmarks count requests, not log lines.
const { log: consoleLog, warn: consoleWarn } = console
console.log = () => {}
console.warn = () => {}
const say = (line: string) => process.stderr.write(`${line}\n`)

let missed = 0
for (const bench of chosen) {
  for (const preset of PER_PRESET.has(bench.id) ? presets : [undefined]) {
    // The benches read BENCH_PRESET (scripts/bench/reconcile.ts, benchPreset); unset, today's Professional buckets.
    if (preset !== undefined) process.env.BENCH_PRESET = preset
    const report = await bench.run({ runs, baseline: values.baseline === true, log: say })
    consoleLog(`\n${bench.id}. ${bench.title}\n${formatReport(report)}`)
    missed += report.targets.filter((target) => !target.met).length
  }
}
console.log = consoleLog
console.warn = consoleWarn
console.log(missed === 0 ? '\nall targets met' : `\n${missed} target${missed === 1 ? '' : 's'} missed`)
process.exit(missed === 0 ? 0 : 1)

function formatReport(report: BenchReport): string {
  const table = [['', ...report.columns], ...report.rows.map((row) => [row.label, ...row.values])]
  const targets = report.targets.map((target) => [
    target.met ? 'met' : 'MISSED',
    target.label,
    target.measured,
    target.target,
  ])
  return [...formatTable(table), '', ...formatTable(targets).map((line) => `  ${line}`), `  (${report.method})`].join(
    '\n',
  )
}

function formatTable(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = []
  for (const row of rows) {
    for (const [index, cell] of row.entries()) widths[index] = Math.max(widths[index] ?? 0, cell.length)
  }
  return rows.map((row) =>
    row
      .map((cell, index) => (index === 0 ? cell.padEnd(widths[index] ?? 0) : cell.padStart(widths[index] ?? 0)))
      .join('  ')
      .trimEnd(),
  )
}
