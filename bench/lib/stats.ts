function sorted (values: number[]): number[] {
  if (values.length === 0) throw new RangeError('no samples')
  return [...values].sort((a, b) => a - b)
}

/** Percentile p in [0, 100] by linear interpolation between closest ranks. */
export function percentile (values: number[], p: number): number {
  if (p < 0 || p > 100) throw new RangeError(`percentile ${p} is outside 0..100`)
  const s = sorted(values)
  const rank = (p / 100) * (s.length - 1)
  const lo = Math.floor(rank)
  const hi = Math.ceil(rank)
  return s[lo] + (s[hi] - s[lo]) * (rank - lo)
}

export const median = (values: number[]): number => percentile(values, 50)
export const p95 = (values: number[]): number => percentile(values, 95)
export const p99 = (values: number[]): number => percentile(values, 99)

export function mean (values: number[]): number {
  if (values.length === 0) throw new RangeError('no samples')
  return values.reduce((a, b) => a + b, 0) / values.length
}

/** Round to `digits` decimals, for reports. */
export function round (value: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/** Percentile p of values for a report row, rounded to 2 decimals; NaN (an empty cell) when there are none. */
export const reportPercentile = (values: number[], p: number): number => values.length === 0 ? NaN : round(percentile(values, p), 2)
