import { describe, expect, it } from 'vitest'
import { formatBitrate, formatTop, topTick, type TopSnapshot } from '../../src/cli/top-view.ts'
import type { SessionInfo } from '../../src/daemon/api-types.ts'

function session (over: Partial<SessionInfo>): SessionInfo {
  return {
    peer: '12D3KooWpeer', name: 'arm', session: 's1', state: 'connected', profile: 'webrtc', role: 'offerer', pair: null,
    rttMs: 2.5, bytesSent: 0, bytesReceived: 0, channels: [], sections: { local: [], remote: [] }, tracks: [], connectedAt: null, attempts: 1, lastError: null, ...over
  }
}

describe('edgectl top view', () => {
  it('computes bit rates between ticks of the same PeerConnection only', () => {
    const first: TopSnapshot = { at: 1_000, sessions: [session({ bytesSent: 1_000, bytesReceived: 500 })], sources: [] }
    const second: TopSnapshot = { at: 2_000, sessions: [session({ bytesSent: 126_000, bytesReceived: 1_500 })], sources: [] }
    expect(topTick(first, undefined).sessions[0]).toMatchObject({ sendBps: null, recvBps: null })
    expect(topTick(second, first).sessions[0]).toMatchObject({ sendBps: 1_000_000, recvBps: 8_000 })
    const reconnected: TopSnapshot = { at: 3_000, sessions: [session({ session: 's2', bytesSent: 10 })], sources: [] }
    expect(topTick(reconnected, second).sessions[0].sendBps).toBeNull()
  })

  it('adds up drops of every channel', () => {
    const ch = { label: 'x', ordered: false, open: true, messagesSent: 0, messagesReceived: 0, bytesSent: 0, bytesReceived: 0, bufferedAmount: 0, queued: 0 }
    const snap: TopSnapshot = { at: 0, sessions: [session({ channels: [{ ...ch, dropped: 2, localDropped: 3 }, { ...ch, label: 'y', dropped: 1 }] })], sources: [] }
    expect(topTick(snap, undefined).sessions[0].dropped).toBe(6)
  })

  it('formats bit rates and the screen', () => {
    expect([formatBitrate(null), formatBitrate(999), formatBitrate(850_000), formatBitrate(1_500_000)]).toEqual(['-', '999 bit/s', '850 kbit/s', '1.5 Mbit/s'])
    const screen = formatTop(topTick({ at: 0, sessions: [session({})], sources: [] }, undefined), '/run/edged/edged.sock')
    expect(screen).toContain('edged /run/edged/edged.sock  00:00:00  (q to quit)')
    expect(screen).toMatch(/12D3KooWpeer\s+arm\s+connected\s+webrtc\s+2\.5 ms\s+-\s+-\s+0/)
    expect(screen).toContain('no local sources')
    expect(screen).toContain('no consumers')
  })

  it('a row per consumer (send track), with the receiver\'s figures; receive tracks are not consumers', () => {
    const sender = { ssrc: 1, packets: 900, bytes: 900_000, bitrateKbps: 1200, fractionLost: 0.0234, packetsLost: 7, jitterMs: 2.25, rttMs: 12.5, reports: 3, nacks: 4, nackedPackets: 6, retransmits: 5, plis: 2, firs: 1, targetBitrateKbps: 1500 }
    const track = { direction: 'send' as const, codec: 'h264' as const, open: true, packets: 900, bytes: 900_000, dropped: 0, keyFrameRequests: 3 }
    const snap: TopSnapshot = {
      at: 0,
      sessions: [session({ tracks: [{ ...track, mid: 'w1', source: 'cam', sender }, { ...track, mid: 'w2', sender: { ...sender, fractionLost: null, packetsLost: null, rttMs: null, jitterMs: null, targetBitrateKbps: null } }, { ...track, mid: 'r1', direction: 'recv' }] })],
      sources: []
    }
    const tick = topTick(snap, undefined)
    expect(tick.consumers).toHaveLength(2)
    expect(tick.consumers[0]).toMatchObject({ consumer: 'w1', source: 'cam', bitrateKbps: 1200, targetBitrateKbps: 1500, lossPercent: 2.3, packetsLost: 7, rttMs: 12.5, nacks: 4, retransmits: 5, plis: 3 })
    const screen = formatTop(tick, '/s')
    expect(screen).toMatch(/12D3KooWpeer\s+arm\s+w1\s+cam\s+1\.2 Mbit\/s\s+1\.5 Mbit\/s\s+2\.3 %\s+7\s+12\.5 ms\s+2\.3 ms\s+4\s+5\s+3/)
    expect(screen).toMatch(/w2\s+-\s+1\.2 Mbit\/s\s+-\s+-\s+-\s+-\s+-\s+4\s+5\s+3/)
  })
})
