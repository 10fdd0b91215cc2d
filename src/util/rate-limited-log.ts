import type { Logger } from 'pino'

export type RateLimitedLog = (level: 'warn' | 'info', context: Record<string, unknown>, message: string) => void

/**
 * A log line at most once per `intervalMs` (per message), with the count of
 * the ones left out since: a flood of refusals is one line a minute, not one a request.
 */
export function logRateLimited (logger: Logger, intervalMs: number, now: () => number = Date.now): RateLimitedLog {
  const last = new Map<string, { at: number, suppressed: number }>()
  return (level, context, message) => {
    const t = now()
    const seen = last.get(message)
    if (seen !== undefined && t - seen.at < intervalMs) {
      seen.suppressed++
      return
    }
    logger[level]({ ...context, ...(seen !== undefined && seen.suppressed > 0 ? { suppressed: seen.suppressed } : {}) }, message)
    last.set(message, { at: t, suppressed: 0 })
    // Messages carry addresses: keep the map small.
    if (last.size > 256) last.delete(last.keys().next().value as string)
  }
}
