import fs from 'node:fs/promises'
import os from 'node:os'
import type { Figure } from './types.ts'
import { round } from './stats.ts'

export interface ResultRow {
  benchmark: string
  name: string
  value: number
  unit: string
  baseline: string
  baselineValue: number
  /** value / baselineValue; not finite when the baseline is 0 (null in results.json, n/a in the table) */
  ratio: number
  samples?: number[]
  baselineSamples?: number[]
}

export interface RunMeta {
  timestamp: string
  node: string
  platform: string
  arch: string
  cpus: number
  cpuModel: string
  totalMemMiB: number
  filters: string[]
  runs: number | undefined
  /** Benchmarks that threw, with their message; their figures are missing. */
  errors: Array<{ benchmark: string, message: string }>
}

export interface ResultsFile {
  meta: RunMeta
  results: ResultRow[]
}

export function toRow (benchmark: string, figure: Figure): ResultRow {
  return {
    benchmark,
    name: figure.name,
    value: round(figure.value, 3),
    unit: figure.unit,
    baseline: figure.baseline,
    baselineValue: round(figure.baselineValue, 3),
    ratio: round(figure.value / figure.baselineValue, 4),
    ...(figure.samples === undefined ? {} : { samples: figure.samples }),
    ...(figure.baselineSamples === undefined ? {} : { baselineSamples: figure.baselineSamples })
  }
}

export function machineMeta (filters: string[], runs: number | undefined): RunMeta {
  const cpus = os.cpus()
  return {
    timestamp: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemMiB: Math.round(os.totalmem() / 1024 / 1024),
    filters,
    runs,
    errors: []
  }
}

function formatNumber (value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : round(value, 2).toFixed(2)
}

/** A plain-text table of the rows, columns padded to fit. */
export function formatTable (rows: ResultRow[]): string {
  if (rows.length === 0) return '(no figures)'
  const header = ['figure', 'value', 'baseline', 'baseline value', 'ratio']
  const cells = rows.map(r => [
    r.name,
    `${formatNumber(r.value)} ${r.unit}`,
    r.baseline,
    `${formatNumber(r.baselineValue)} ${r.unit}`,
    Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}x` : 'n/a'
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map(c => c[i].length)))
  const numeric = new Set([1, 3, 4])
  const line = (c: string[]): string => c.map((v, i) => numeric.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i])).join('  ').trimEnd()
  return [line(header), widths.map(w => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')
}

export async function writeResults (file: string, results: ResultsFile): Promise<void> {
  await fs.writeFile(file, JSON.stringify(results, null, 2) + '\n')
}
