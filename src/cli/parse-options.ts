import { InvalidArgumentError } from 'commander'

/** Commander argument parser: a number of seconds above 0 (fractions allowed). */
export function parseSeconds (value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds above 0')
  return n
}

/** Commander argument parser: a whole number ≥ `min`. */
export function parseInteger (min: number): (value: string) => number {
  return value => {
    const n = Number(value)
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number of at least ${min}`)
    return n
  }
}

/** Commander argument parser: a bit rate in kbit/s, given as `800` or `800k` (kbit/s), `1.5M` (Mbit/s) or `64000b` (bit/s). */
export function parseBitrate (value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMbB]?)$/.exec(value.trim())
  const scale: Record<string, number> = { '': 1, k: 1, m: 1000, b: 0.001 }
  const kbps = m === null ? Number.NaN : Math.round(Number(m[1]) * scale[m[2].toLowerCase()])
  if (!Number.isSafeInteger(kbps) || kbps <= 0) throw new InvalidArgumentError('expected a bit rate such as 800k, 1.5M or 800 (kbit/s)')
  return kbps
}
