// What the daemons say to each other on the `_edge` channel of every session
// (one JSON object per message), about the user channel `label`:
//
//   flow    the sender's daemon should pause (or resume) sending: the local
//           programs here are behind (end-to-end backpressure).
//   resume  this end took the channel of this session for the label; it had
//           `received` messages of the channel of session `session` before
//           (null: none known). The sender goes on from the first message
//           after those, on this session's channel (see channel-endpoint.ts).
//           A channel this end took nothing from is skipped: the resume names
//           what the one for that channel named (the sender may not know it).
//   ack     `received` messages of the channel of session `session` so far:
//           the sender may forget them.
//
// and about the path itself (no label; see path-heartbeat.ts and standby.ts):
//
//   beat    the path is alive (a few a second on a standby, more on the
//           active path: its silence is what triggers a failover).
//   switch  this end moved its traffic onto this path (a failover): do the same.

export type EdgeMessage =
  | { t: 'flow', label: string, paused: boolean }
  | { t: 'resume', label: string, session: string | null, received: number }
  | { t: 'ack', label: string, session: string, received: number }
  | { t: 'beat' }
  | { t: 'switch' }

/** The messages about the path, not about a channel. */
export type PathMessage = Extract<EdgeMessage, { t: 'beat' | 'switch' }>
export const isPathMessage = (m: EdgeMessage): m is PathMessage => m.t === 'beat' || m.t === 'switch'

const count = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0

export function parseEdgeMessage (data: string | Buffer): EdgeMessage | undefined {
  let m: Record<string, unknown>
  try {
    m = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'))
  } catch {
    return undefined
  }
  if (m === null || typeof m !== 'object') return undefined
  if (m.t === 'beat' || m.t === 'switch') return { t: m.t }
  if (typeof m.label !== 'string') return undefined
  switch (m.t) {
    case 'flow':
      return typeof m.paused === 'boolean' ? { t: 'flow', label: m.label, paused: m.paused } : undefined
    case 'resume':
      return (m.session === null || typeof m.session === 'string') && count(m.received)
        ? { t: 'resume', label: m.label, session: m.session, received: m.received }
        : undefined
    case 'ack':
      return typeof m.session === 'string' && count(m.received)
        ? { t: 'ack', label: m.label, session: m.session, received: m.received }
        : undefined
    default:
      return undefined
  }
}
