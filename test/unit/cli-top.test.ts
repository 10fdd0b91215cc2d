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
  })
})
