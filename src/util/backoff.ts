export const BACKOFF_INITIAL_MS = 250
export const BACKOFF_MAX_MS = 10_000

/**
 * Delay before retry `attempt` (1, 2, …): doubling from 250 ms up to 10 s,
 * ±20 % jitter so restarted peers and processes do not retry in lockstep.
 */
export function backoffMs (attempt: number, initialMs = BACKOFF_INITIAL_MS, maxMs = BACKOFF_MAX_MS): number {
  if (attempt <= 0) return 0
  const base = Math.min(maxMs, initialMs * 2 ** (attempt - 1))
  return Math.round(base * (0.8 + Math.random() * 0.4))
}
