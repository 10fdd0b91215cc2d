import type { TypedEmitter } from '../util/typed-emitter.ts'
import type { DaemonEvents, StatusResponse } from './api-types.ts'
import type { Notifier } from './sd-notify.ts'

type Counts = Pick<StatusResponse, 'peers' | 'sessions'>

/** The one line `systemctl status edged` shows. */
export function statusLine (s: Counts): string {
  return `peers ${s.peers}, sessions ${s.sessions}`
}

const CHANGES = ['peer:discovered', 'peer:lost', 'session:state'] as const

/**
 * Sends STATUS=peers N, sessions M now and after every peer or session change
 * (a burst of events gives one update, counted once the emitters are done).
 * Returns the unsubscribe.
 */
export function reportStatusToSystemd (
  daemon: { events: TypedEmitter<DaemonEvents>, status: () => Counts },
  notifier: Pick<Notifier, 'status'>
): () => void {
  let scheduled: NodeJS.Immediate | undefined
  const update = (): void => {
    scheduled = undefined
    void notifier.status(statusLine(daemon.status()))
  }
  const changed = (): void => { scheduled ??= setImmediate(update) }
  for (const event of CHANGES) daemon.events.on(event, changed)
  update()
  return () => {
    for (const event of CHANGES) daemon.events.off(event, changed)
    clearImmediate(scheduled)
    scheduled = undefined
  }
}
