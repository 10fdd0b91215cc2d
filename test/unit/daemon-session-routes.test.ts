import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { sessionRoutes } from '../../src/daemon/routes/sessions.ts'
import type { DaemonApi } from '../../src/daemon/daemon-api.ts'
import type { BrowserInfo, SessionInfo } from '../../src/daemon/api-types.ts'

// GET /v1/sessions joins each send track with the source that feeds it and
// that source's target; the track's own figures (sender, congestion) pass
// through as the session listed them. Browser sessions are listed beside
// them, their send tracks joined with their sources' targets the same way.

const PEER = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const sender = { ssrc: 7, packets: 10, bytes: 1000, bitrateKbps: 8, fractionLost: 0, packetsLost: 0, jitterMs: 1, rttMs: 3, reports: 1, nacks: 0, nackedPackets: 0, retransmits: 0, plis: 0, firs: 0, targetBitrateKbps: null }
const congestion = { estimateBps: 850_000, source: 'transport-cc' as const, queueingDelayMs: 14.5, rttMs: 31, lossFraction: 0.02, pacingBps: 2_125_000, pacerQueueMs: 4, retransmitted: 9, retransmitsSkipped: 3 }
const track = { direction: 'send' as const, codec: 'h264' as const, open: true, packets: 10, bytes: 1000, dropped: 0, keyFrameRequests: 0 }
const session: SessionInfo = {
  peer: PEER, name: 'arm', session: 's1', state: 'connected', profile: 'webrtc', role: 'offerer', pair: null, rttMs: 2, bytesSent: 0, bytesReceived: 0,
  channels: [], sections: { local: [], remote: [] }, connectedAt: null, attempts: 1, lastError: null,
  tracks: [{ ...track, mid: 'w1', sender, congestion }, { ...track, mid: 'w2', sender, congestion: null }]
}
const browser = (over: Partial<BrowserInfo>): BrowserInfo => ({
  id: 'Jq0c2m4XbT8yPwLr', kind: 'whep', peer: null, source: 'cam', audio: 'mic', state: 'connected', createdAt: '2026-01-01T00:00:00.000Z', connectedAt: null,
  rttMs: 1, bytesSent: 2000, bytesReceived: 300, packetsSent: 20, tracks: [], ...over
})
const browsers: BrowserInfo[] = [
  browser({ tracks: [{ ...track, mid: '0', source: 'cam', sender, congestion: null }, { ...track, mid: '1', source: 'mic', sender, congestion: null }] }),
  // A peer's cam, forwarded: not the target of our own cam.
  browser({ id: 'remote-player-1', peer: PEER, audio: null, tracks: [{ ...track, mid: '0', source: 'cam', sender, congestion: null }] }),
  browser({ id: 'publisher-00001', kind: 'whip', source: 'phone', audio: null, tracks: [{ ...track, direction: 'recv', mid: '0', source: 'phone' }] })
]
const api = {
  sessions: { list: () => [session], get: () => session },
  browsers: () => browsers,
  watch: { viewers: { list: () => [{ id: 'w1', peer: PEER, source: 'cam' }, { id: 'w2', peer: PEER, source: 'mic' }] } },
  media: { list: () => [{ name: 'cam', stats: { targetBitrateKbps: 800 } }, { name: 'mic', stats: null }] },
  channels: { find: () => undefined }
} as unknown as DaemonApi

const app = Fastify()
sessionRoutes(app, api)
afterAll(async () => { await app.close() })

describe('GET /v1/sessions', () => {
  it('a send track keeps its congestion figures beside the source and target the route adds', async () => {
    for (const url of ['/v1/sessions', `/v1/sessions/${PEER}`]) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(200)
      const body = res.json()
      const tracks = (url === '/v1/sessions' ? body.sessions[0] : body).tracks
      expect(tracks[0], url).toEqual({ ...track, mid: 'w1', source: 'cam', sender: { ...sender, targetBitrateKbps: 800 }, congestion })
      expect(tracks[1], url).toEqual({ ...track, mid: 'w2', source: 'mic', sender, congestion: null })
    }
  })

  it('lists browser sessions beside the peers\' (not under /v1/sessions/:peer); a player of our source has its target, of a peer\'s source or a publisher none', async () => {
    const body = (await app.inject({ method: 'GET', url: '/v1/sessions' })).json()
    expect(body.sessions).toHaveLength(1)
    expect(body.browsers).toHaveLength(3)
    const [local, remote, publisher] = body.browsers
    expect(local).toEqual({ ...browsers[0], tracks: [{ ...browsers[0].tracks[0], sender: { ...sender, targetBitrateKbps: 800 } }, browsers[0].tracks[1]] })
    expect(remote).toEqual(browsers[1])
    expect(publisher).toEqual(browsers[2])
    expect((await app.inject({ method: 'GET', url: `/v1/sessions/${PEER}` })).json().browsers).toBeUndefined()
  })
})
