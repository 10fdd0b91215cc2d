import { describe, expect, it } from 'vitest'
import { formatBitrate, formatTop, shortPeer, topTick, type TopSnapshot } from '../../src/cli/top-view.ts'
import type { BrowserInfo, SessionInfo } from '../../src/daemon/api-types.ts'

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

  it('a row per consumer (send track), with the receiver\'s figures and congestion control\'s; receive tracks are not consumers', () => {
    const sender = { ssrc: 1, packets: 900, bytes: 900_000, bitrateKbps: 1200, fractionLost: 0.0234, packetsLost: 7, jitterMs: 2.25, rttMs: 12.5, reports: 3, nacks: 4, nackedPackets: 6, retransmits: 5, plis: 2, firs: 1, targetBitrateKbps: 1500 }
    const congestion = { estimateBps: 1_640_000, source: 'transport-cc' as const, queueingDelayMs: 7.25, rttMs: 12, lossFraction: 0.01, pacingBps: 4_100_000, pacerQueueMs: 3, retransmitted: 5, retransmitsSkipped: 1 }
    const track = { direction: 'send' as const, codec: 'h264' as const, open: true, packets: 900, bytes: 900_000, dropped: 0, keyFrameRequests: 3 }
    const snap: TopSnapshot = {
      at: 0,
      sessions: [session({
        tracks: [
          { ...track, mid: 'w1', source: 'cam', sender, congestion },
          { ...track, mid: 'w2', sender: { ...sender, fractionLost: null, packetsLost: null, rttMs: null, jitterMs: null, targetBitrateKbps: null }, congestion: null },
          { ...track, mid: 'w3', source: 'cam', sender, congestion: { ...congestion, estimateBps: null, source: null, queueingDelayMs: null } },
          { ...track, mid: 'r1', direction: 'recv' }
        ]
      })],
      sources: []
    }
    const tick = topTick(snap, undefined)
    expect(tick.consumers).toHaveLength(3)
    expect(tick.consumers[0]).toMatchObject({ consumer: 'w1', source: 'cam', bitrateKbps: 1200, targetBitrateKbps: 1500, estimateBps: 1_640_000, estimateSource: 'transport-cc', queueingDelayMs: 7.25, lossPercent: 2.3, packetsLost: 7, rttMs: 12.5, nacks: 4, retransmits: 5, plis: 3 })
    // Without congestion control (or before the receiver's first feedback) there is no estimate.
    expect(tick.consumers[1]).toMatchObject({ consumer: 'w2', estimateBps: null, estimateSource: null, queueingDelayMs: null })
    expect(tick.consumers[2]).toMatchObject({ consumer: 'w3', estimateBps: null, estimateSource: null, queueingDelayMs: null })
    const screen = formatTop(tick, '/s')
    expect(screen).toMatch(/PEER\s+NAME\s+CONSUMER\s+SOURCE\s+BITRATE\s+TARGET\s+ESTIMATE\s+QDELAY\s+LOSS\s+LOST\s+RTT\s+JITTER\s+NACKS\s+RESENT\s+PLI$/m)
    expect(screen).toMatch(/…KooWpeer\s+arm\s+w1\s+cam\s+1\.2 Mbit\/s\s+1\.5 Mbit\/s\s+1\.6 Mbit\/s\s+7\.3 ms\s+2\.3 %\s+7\s+12\.5 ms\s+2\.3 ms\s+4\s+5\s+3$/m)
    expect(screen).toMatch(/w2\s+-\s+1\.2 Mbit\/s\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+4\s+5\s+3$/m)
    expect(screen).toMatch(/w3\s+cam\s+1\.2 Mbit\/s\s+1\.5 Mbit\/s\s+-\s+-\s+2\.3 %/)
  })

  it('keeps the consumers table narrow: peer ids shortened to their end (the sessions table has them whole)', () => {
    const peer = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
    expect(shortPeer(peer)).toBe('…kSCVe2Xo')
    expect(shortPeer('short')).toBe('short')
    const sender = { ssrc: 1, packets: 1, bytes: 1, bitrateKbps: 12_345, fractionLost: 0.5, packetsLost: 123_456, jitterMs: 123.25, rttMs: 1234.5, reports: 1, nacks: 99_999, nackedPackets: 1, retransmits: 99_999, plis: 999, firs: 0, targetBitrateKbps: 12_345 }
    const congestion = { estimateBps: 12_345_000, source: 'remb' as const, queueingDelayMs: 1234.5, rttMs: 1, lossFraction: 0, pacingBps: 1, pacerQueueMs: 0, retransmitted: 0, retransmitsSkipped: 0 }
    const snap: TopSnapshot = {
      at: 0,
      sessions: [session({ peer, name: 'robot-arm-7', tracks: [{ mid: 'watch-12', direction: 'send', codec: 'h264', open: true, packets: 1, bytes: 1, dropped: 0, keyFrameRequests: 0, source: 'front-camera', sender, congestion }] })],
      sources: []
    }
    const screen = formatTop(topTick(snap, undefined), '/s')
    const table = screen.slice(screen.indexOf('PEER  ', screen.indexOf('PEER') + 1))
    const rows = table.split('\n').slice(0, 2)
    expect(rows[1]).toContain(`…${peer.slice(-8)}  robot-arm-7`)
    expect(rows[1]).not.toContain(peer)
    // Wide figures everywhere still fit a 160-column terminal.
    for (const row of rows) expect(row.length).toBeLessThanOrEqual(160)
  })

  it('a browser\'s send tracks are consumers too, after the peers\': peer "browser", the session id\'s start and the mid', () => {
    const sender = { ssrc: 1, packets: 600, bytes: 600_000, bitrateKbps: 950, fractionLost: 0.012, packetsLost: 3, jitterMs: 1.5, rttMs: 0.75, reports: 2, nacks: 1, nackedPackets: 1, retransmits: 1, plis: 2, firs: 0, targetBitrateKbps: 1000 }
    const track = { codec: 'h264' as const, open: true, packets: 600, bytes: 600_000, dropped: 0, keyFrameRequests: 2 }
    const base = { kind: 'whep' as const, peer: null, audio: null, state: 'connected', createdAt: '', connectedAt: null, rttMs: 1, bytesSent: 0, bytesReceived: 0, packetsSent: 0 }
    const browsers: BrowserInfo[] = [
      { ...base, id: 'Jq0c2m4XbT8yPwLr', source: 'cam', audio: 'mic', tracks: [
        { ...track, mid: '0', direction: 'send', source: 'cam', sender, congestion: null },
        { ...track, mid: '1', direction: 'send', codec: 'opus', source: 'mic', sender: { ...sender, bitrateKbps: 40, fractionLost: null, packetsLost: null, rttMs: null, jitterMs: null, targetBitrateKbps: null }, congestion: null }
      ] },
      // A WHIP publisher's track is received: the producer of a published source, not a consumer.
      { ...base, id: 'publisher-00001', kind: 'whip', source: 'phone', tracks: [{ ...track, mid: '0', direction: 'recv', source: 'phone' }] }
    ]
    const peerTrack = { ...track, mid: 'w1', direction: 'send' as const, source: 'cam', sender, congestion: null }
    const tick = topTick({ at: 0, sessions: [session({ tracks: [peerTrack] })], browsers, sources: [] }, undefined)
    expect(tick.consumers.map(c => [c.peer, c.consumer, c.browser])).toEqual([
      ['12D3KooWpeer', 'w1', null], ['browser', 'Jq0c2m4X/0', 'Jq0c2m4XbT8yPwLr'], ['browser', 'Jq0c2m4X/1', 'Jq0c2m4XbT8yPwLr']
    ])
    expect(tick.consumers[1]).toMatchObject({ name: null, source: 'cam', bitrateKbps: 950, targetBitrateKbps: 1000, lossPercent: 1.2, packetsLost: 3, rttMs: 0.75, jitterMs: 1.5, nacks: 1, retransmits: 1, plis: 2, estimateBps: null })
    const screen = formatTop(tick, '/s')
    expect(screen).toMatch(/^browser\s+-\s+Jq0c2m4X\/0\s+cam\s+950 kbit\/s\s+1\.0 Mbit\/s\s+-\s+-\s+1\.2 %\s+3\s+0\.8 ms\s+1\.5 ms\s+1\s+1\s+2$/m)
    expect(screen).toMatch(/^browser\s+-\s+Jq0c2m4X\/1\s+mic\s+40 kbit\/s(\s+-){7}\s+1\s+1\s+2$/m)
    // No browsers (or a daemon too old to list them): the peers' rows only.
    expect(topTick({ at: 0, sessions: [session({ tracks: [peerTrack] })], sources: [] }, undefined).consumers).toHaveLength(1)
  })
})
