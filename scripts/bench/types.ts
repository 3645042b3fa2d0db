/**
 * What every benchmark of `npm run bench` reports. Each one lives in its own module and is listed in
 * scripts/bench/index.ts; the runner prints them side by side and exits non-zero when a target is missed.
 */
export interface Bench {
  /** Short id from issue #11, e.g. `P1`. */
  readonly id: string
  readonly title: string
  run(options: BenchOptions): Promise<BenchReport>
}

export interface BenchOptions {
  /** Repetitions where a bench repeats a measurement (child-process runs); each bench has its own default. */
  readonly runs: number | undefined
  /** `--baseline`: also measure what deploy shipped before the bundle (P3; installs from the npm registry). */
  readonly baseline: boolean
  readonly log: (line: string) => void
}

export interface BenchReport {
  /** Column headings after the first (the row label), e.g. `['this function', 'naive handler']`. */
  readonly columns: readonly string[]
  readonly rows: ReadonlyArray<{ readonly label: string; readonly values: readonly string[] }>
  readonly targets: readonly Target[]
  /** How it was measured, in one or two lines. */
  readonly method: string
}

export interface Target {
  readonly label: string
  readonly measured: string
  readonly target: string
  readonly met: boolean
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

export const kB = (bytes: number): string => `${(bytes / 1024).toFixed(0)} kB`
