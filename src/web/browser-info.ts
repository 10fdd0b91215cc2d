import type { TrackStats } from '../transport/track-types.ts'

/** A browser session (WHEP player or WHIP publisher) as the web listener's /api/browsers lists it. */
export interface BrowserSessionInfo {
  id: string
  kind: 'whep' | 'whip'
  peer: string | null
  source: string
  /** WHEP: the audio source played in the same session, if any. */
  audio: string | null
  state: string
  createdAt: string
  connectedAt: string | null
  rttMs: number | null
  bytesSent: number
  bytesReceived: number
  packetsSent: number
}

/**
 * A browser session as the control API lists it (GET /v1/sessions
 * `browsers`): the same fields and its tracks, shaped like a peer session's.
 * A WHEP player's tracks are sent (each one consumer of a source, with
 * `sender` and `congestion`); a WHIP publisher's are received (each the
 * producer of a published source: only its basic figures).
 */
export interface BrowserInfo extends BrowserSessionInfo {
  tracks: Array<TrackStats & { source?: string }>
}

/** Browser consumers in `edgectl top` and /metrics: peer "browser", and the session's id shortened to this many characters before the track's mid. */
export const BROWSER_PEER = 'browser'
const BROWSER_ID_CHARS = 8

/** A browser track's consumer name, `<session id's first 8 characters>/<mid>`: short enough for top's table and a metric label. */
export const browserConsumer = (id: string, mid: string): string => `${id.slice(0, BROWSER_ID_CHARS)}/${mid}`
