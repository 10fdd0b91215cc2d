const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** A byte count the way people read it: `512 B`, `1.5 KiB`, `12.0 MiB`, `340 GiB` (powers of 1024). */
export function formatBytes (bytes: number): string {
  const n = Math.max(0, Math.round(bytes))
  if (n < 1024) return `${n} B`
  let value = n / 1024
  let unit = 0
  // Carry before rounding would: 1023.7 KiB reads as 1.0 MiB, not 1024 KiB.
  while (value >= 1023.5 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 99.95 ? 1 : 0)} ${UNITS[unit]}`
}
