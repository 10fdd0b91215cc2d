import { backoffMs } from '../../util/backoff.ts'

/** After a permanent refusal (not allowed, profile mismatch, attack) try again only this rarely. */
export const BACKOFF_PERMANENT_MS = 60_000

/** Delay before the next session attempt after `failures` failures in a row. */
export function sessionBackoffMs (failures: number, permanent = false): number {
  return permanent ? BACKOFF_PERMANENT_MS : backoffMs(failures)
}
