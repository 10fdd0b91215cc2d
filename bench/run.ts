import path from 'node:path'
import { parseArgs } from 'node:util'
import { killAllChildrenNow } from './lib/child.ts'
import { createContext } from './lib/context.ts'
import { discoverBenchmarks, filterBenchmarks } from './lib/discover.ts'
import { formatTable, machineMeta, toRow, writeResults, type ResultsFile } from './lib/report.ts'
import { removeAllTempDirsNow } from './lib/temp-dir.ts'

const BENCH_DIR = import.meta.dirname
const REPO_ROOT = path.resolve(BENCH_DIR, '..')
const RESULTS_FILE = path.join(BENCH_DIR, 'results.json')

const USAGE = `usage: npm run bench -- [FILTER ...] [--runs N]
  FILTER   run only benchmarks whose name or file contains it (case-insensitive)
  --runs   measured runs per figure (each benchmark has its own default)
writes ${path.relative(REPO_ROOT, RESULTS_FILE)}`

function cleanUpNow (): void {
  killAllChildrenNow()
  removeAllTempDirsNow()
}

process.on('exit', cleanUpNow)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping children\n`)
    cleanUpNow()
    process.exit(130)
  })
}

async function main (): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { runs: { type: 'string' }, help: { type: 'boolean', short: 'h' } }
  })
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const runs = values.runs === undefined ? undefined : Number(values.runs)
  if (runs !== undefined && (!Number.isInteger(runs) || runs < 1)) {
    process.stderr.write(`bench: --runs must be a positive integer\n${USAGE}\n`)
    return 2
  }

  const selected = filterBenchmarks(await discoverBenchmarks(BENCH_DIR), positionals)
  if (selected.length === 0) {
    process.stderr.write(`bench: no benchmark matches ${positionals.join(', ')}\n`)
    return 2
  }

  const output: ResultsFile = { meta: machineMeta(positionals, runs), results: [] }
  for (const { file, benchmark } of selected) {
    process.stderr.write(`bench: ${benchmark.name} (${file})\n`)
    const ctx = createContext(REPO_ROOT, runs, benchmark.name)
    try {
      const figures = await benchmark.run(ctx)
      output.results.push(...figures.map(f => toRow(benchmark.name, f)))
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      output.meta.errors.push({ benchmark: benchmark.name, message })
      process.stderr.write(`bench: ${benchmark.name} failed: ${message}\n`)
    } finally {
      for (const err of await ctx.scope.close()) {
        process.stderr.write(`bench: ${benchmark.name} cleanup: ${err instanceof Error ? err.message : String(err)}\n`)
      }
    }
  }

  await writeResults(RESULTS_FILE, output)
  process.stdout.write(`\n${formatTable(output.results)}\n\n`)
  process.stdout.write(`node ${output.meta.node}, ${output.meta.cpus} × ${output.meta.cpuModel}; wrote ${path.relative(process.cwd(), RESULTS_FILE)}\n`)
  return output.meta.errors.length === 0 ? 0 : 1
}

main().then(code => { process.exitCode = code }, err => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exitCode = 1
})
