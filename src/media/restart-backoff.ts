export const RESTART_INITIAL_MS = 250
export const RESTART_MAX_MS = 10_000

/** Delay before restart attempt `attempt` (1, 2, …): doubling from 250 ms up to 10 s, ±20 % jitter. */
export function restartDelayMs (attempt: number, initialMs = RESTART_INITIAL_MS, maxMs = RESTART_MAX_MS): number {
  if (attempt <= 0) return 0
  const base = Math.min(maxMs, initialMs * 2 ** (attempt - 1))
  return Math.round(base * (0.8 + Math.random() * 0.4))
}
