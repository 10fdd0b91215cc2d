import type { SessionInfo } from '../../src/daemon/api-types.ts'
import type { ChannelStats } from '../../src/transport/types.ts'
import { json, notFound, type Handler } from './cli-fake-daemon.ts'

export function channelStats (label: string): ChannelStats {
  return {
    label, ordered: true, open: true, messagesSent: 0, messagesReceived: 0,
    bytesSent: 0, bytesReceived: 0, bufferedAmount: 0, dropped: 0, queued: 0
  }
}

/** A session as edged shows it right after `connect`: nothing negotiated yet. */
export function sessionInfo (peer: string, fields: Partial<SessionInfo> = {}): SessionInfo {
  return {
    peer, name: null, session: null, state: 'idle', profile: 'webrtc', role: null, pair: null, rttMs: null,
    bytesSent: 0, bytesReceived: 0, channels: [], sections: { local: [], remote: [] }, tracks: [], connectedAt: null, attempts: 0, lastError: null,
    ...fields
  }
}

export interface SentMessage {
  peer: string
  channel: string
  body: unknown
  /** The query string, without `?`. */
  query: string
}

export interface FakeSessionApi {
  routes: Record<string, Handler>
  sessions: Map<string, SessionInfo>
  sent: SentMessage[]
  /** When each GET /v1/sessions/:peer arrived (ms timestamps). */
  polls: number[]
  /** Most POST /v1/channels requests edged had in hand at once. */
  maxInFlight: () => number
}

export interface FakeSessionInit {
  sessions?: SessionInfo[]
  /** After `connect`, the session reads as connected from this GET on; never when absent. */
  connectedAfterPolls?: number
  /** How long each channel POST takes to answer. */
  sendDelayMs?: number
}

/** The session and channel endpoints of edged's control API, over an in-memory table. */
export function fakeSessionApi (init: FakeSessionInit = {}): FakeSessionApi {
  const sessions = new Map((init.sessions ?? []).map(s => [s.peer, s]))
  const sent: SentMessage[] = []
  const polls: number[] = []
  let inFlight = 0
  let maxInFlight = 0

  const routes: Record<string, Handler> = {
    'GET /v1/sessions': (_req, res) => { json(res, 200, { sessions: [...sessions.values()] }) },
    'GET /v1/sessions/:peer': (_req, res, _body, { params }) => {
      const s = sessions.get(params.peer)
      if (s === undefined) { notFound(res, `no session with ${params.peer}`); return }
      polls.push(Date.now())
      if (init.connectedAfterPolls !== undefined && polls.length >= init.connectedAfterPolls) {
        Object.assign(s, {
          state: 'connected',
          pair: { local: { type: 'host', address: '127.0.0.1', port: 5000, transport: 'UDP' }, remote: { type: 'host', address: '127.0.0.1', port: 6000, transport: 'UDP' } }
        })
      }
      json(res, 200, s)
    },
    'POST /v1/sessions': (_req, res, body) => {
      const { peer } = JSON.parse(body) as { peer: string }
      const s = sessions.get(peer) ?? sessionInfo(peer)
      if (s.state === 'idle') Object.assign(s, { state: 'connecting', role: 'offerer', session: 's-1', attempts: s.attempts + 1 })
      sessions.set(peer, s)
      json(res, 202, s)
    },
    'DELETE /v1/sessions/:peer': (_req, res, _body, { params }) => {
      if (!sessions.delete(params.peer)) { notFound(res, `no session with ${params.peer}`); return }
      res.writeHead(204).end()
    },
    'POST /v1/channels/:peer/:label': (_req, res, body, { params, query }) => {
      if (sessions.get(params.peer)?.state !== 'connected') { notFound(res, `no connected session with ${params.peer}`); return }
      const parsed = JSON.parse(body) as { text?: string, base64?: string }
      sent.push({ peer: params.peer, channel: params.label, body: parsed, query: query.toString() })
      const bytes = parsed.text !== undefined ? Buffer.byteLength(parsed.text) : Buffer.from(parsed.base64 ?? '', 'base64').byteLength
      maxInFlight = Math.max(maxInFlight, ++inFlight)
      setTimeout(() => {
        inFlight--
        json(res, 202, { peer: params.peer, channel: params.label, bytes })
      }, init.sendDelayMs ?? 0)
    }
  }
  return { routes, sessions, sent, polls, maxInFlight: () => maxInFlight }
}
