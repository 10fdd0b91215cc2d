import fs from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Benchmark } from './types.ts'

export const BENCH_SUFFIX = '.bench.ts'

export interface FoundBenchmark {
  file: string
  benchmark: Benchmark
}

function isBenchmark (value: unknown): value is Benchmark {
  const b = value as Benchmark | undefined
  return typeof b === 'object' && b !== null && typeof b.name === 'string' && typeof b.run === 'function'
}

/** Every `<dir>/*.bench.ts`, in file-name order, each exporting `benchmark`. */
export async function discoverBenchmarks (dir: string): Promise<FoundBenchmark[]> {
  const files = (await fs.readdir(dir)).filter(f => f.endsWith(BENCH_SUFFIX)).sort()
  const found: FoundBenchmark[] = []
  for (const file of files) {
    const mod = await import(pathToFileURL(path.join(dir, file)).href) as { benchmark?: unknown }
    if (!isBenchmark(mod.benchmark)) throw new Error(`${file} must export \`benchmark\` ({ name, run })`)
    found.push({ file, benchmark: mod.benchmark })
  }
  return found
}

/** Keep benchmarks whose name or file name contains any filter (case-insensitive); no filter keeps all. */
export function filterBenchmarks (found: FoundBenchmark[], filters: string[]): FoundBenchmark[] {
  if (filters.length === 0) return found
  const wanted = filters.map(f => f.toLowerCase())
  return found.filter(({ file, benchmark }) =>
    wanted.some(w => benchmark.name.toLowerCase().includes(w) || file.toLowerCase().includes(w)))
}
