import type { Scope } from './scope.ts'
import type { Child, SpawnOptions } from './child.ts'

/** One measured number next to the same quantity measured on its baseline in the same run. */
export interface Figure {
  name: string
  value: number
  unit: string
  /** What the baseline is, e.g. "bare libp2p node (same services)". */
  baseline: string
  baselineValue: number
  /** Raw samples behind `value` and `baselineValue`, kept in results.json. */
  samples?: number[]
  baselineSamples?: number[]
}

/** What run.ts hands every benchmark. Everything made through it is cleaned up after the benchmark, even on failure. */
export interface BenchContext {
  repoRoot: string
  /** `--runs N` from the command line, if given; each benchmark picks its own default. */
  runs: number | undefined
  /** A fresh directory under the system temp dir, removed after the benchmark. */
  tempDir: (prefix: string) => Promise<string>
  /** Spawn a process in its own process group; stopped (SIGTERM, then SIGKILL) after the benchmark. */
  spawn: (command: string, args: string[], options?: SpawnOptions) => Child
  /** Progress line on stderr (the table goes to stdout). */
  log: (message: string) => void
  scope: Scope
}

export interface Benchmark {
  name: string
  description?: string
  run: (ctx: BenchContext) => Promise<Figure[]>
}
