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
