import { isDeepStrictEqual } from 'node:util'
import type { Config } from './config-schema.ts'

/** Keys a running edged applies on reload (SIGHUP, POST /v1/reload); any other change needs a restart. */
export const LIVE_KEYS = ['swarm.allow', 'media.sources', 'log.level', 'log.levels', 'rtc.channels', 'metrics.enabled'] as const
export type LiveKey = typeof LIVE_KEYS[number]

/**
 * The keys whose values differ between two configs, as `section.key`
 * (`stateDir` for top-level values); `source` (where a config came from) is
 * not a setting and is ignored.
 */
export function changedKeys (before: Config, after: Config): string[] {
  const out: string[] = []
  const a = before as unknown as Record<string, unknown>
  const b = after as unknown as Record<string, unknown>
  for (const top of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (top === 'source') continue
    const x = a[top]
    const y = b[top]
    if (isSection(x) && isSection(y)) {
      for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) {
        if (!isDeepStrictEqual(x[key], y[key])) out.push(`${top}.${key}`)
      }
    } else if (!isDeepStrictEqual(x, y)) {
      out.push(top)
    }
  }
  return out.sort()
}

export interface ConfigDiff {
  applied: LiveKey[]
  restartNeeded: string[]
}

export function diffConfig (before: Config, after: Config): ConfigDiff {
  const changed = changedKeys(before, after)
  const live = new Set<string>(LIVE_KEYS)
  return {
    applied: changed.filter((k): k is LiveKey => live.has(k)),
    restartNeeded: changed.filter(k => !live.has(k))
  }
}

/**
 * The running config after a reload: `before` with only the live keys taken
 * from `after` (the rest waits for a restart, and the next reload reports it again).
 */
export function applyLiveKeys (before: Config, after: Config, keys: LiveKey[]): Config {
  const next = structuredClone(before)
  for (const key of keys) {
    const [section, name] = key.split('.') as [keyof Config, string]
    ;(next[section] as Record<string, unknown>)[name] = structuredClone((after[section] as Record<string, unknown>)[name])
  }
  return next
}

function isSection (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
