import { describe, expect, it } from 'vitest'
import { cachedRender, createMetrics, MAX_CHANNEL_SERIES, MAX_CONSUMER_SERIES, MAX_PEER_SERIES, OTHER } from '../../src/daemon/metrics.ts'
import type { BrowserInfo, SessionInfo } from '../../src/daemon/api-types.ts'
import { parsePromText as strictParse, series, type PromText } from '../helpers/prom-text.ts'

// prom-client writes Node's event-loop lag as `Nan` before its first sample (Prometheus reads it).
const parsePromText = (text: string): PromText => strictParse(text.replace(/ Nan$/gm, ' NaN'))

// /metrics stays bounded whatever the number of peers and channels, and a
// burst of scrapes costs one render.

function session (peer: string, labels: number): SessionInfo {
  return {
    peer,
    name: null,
    session: `s-${peer}`,
    state: 'connected',
    profile: 'data',
    role: 'offerer',
    pair: null,
    rttMs: 5,
    bytesSent: 10,
    bytesReceived: 20,
    channels: Array.from({ length: labels }, (_, i) => ({
      label: `label-${i}`, ordered: true, open: true, messagesSent: 1, messagesReceived: 2, bytesSent: 0, bytesReceived: 0, bufferedAmount: 0, dropped: 0, queued: 0
    })),
    sections: { local: [], remote: [] },
    tracks: [],
    connectedAt: null,
    attempts: 1,
    lastError: null
  }
}

function metricsOf (sessions: () => SessionInfo[], browsers?: () => BrowserInfo[]): ReturnType<typeof createMetrics> {
  return createMetrics({ peers: () => [], sessions, ...(browsers !== undefined ? { browsers } : {}), sources: () => [], info: () => ({ version: '0', peerId: 'me', swarm: 's', stack: 'data' }) })
}

describe('/metrics bounds', () => {
  it('300 peers with 100 channels each give at most MAX_CHANNEL_SERIES channel series plus _other, summing all', async () => {
    const all = Array.from({ length: 300 }, (_, i) => session(`peer-${i}`, 100))
    const text = await metricsOf(() => all).render()
    const parsed = parsePromText(text)
    const sent = series(parsed, 'edge_channel_messages_total', { direction: 'sent' })
    expect(sent).toHaveLength(MAX_CHANNEL_SERIES + 1)
    expect(sent.reduce((n, s) => n + s.value, 0)).toBe(300 * 100)
    expect(series(parsed, 'edge_channel_messages_total', { peer: OTHER, channel: OTHER, direction: 'received' })[0].value).toBe(2 * (300 * 100 - MAX_CHANNEL_SERIES))
    const bytes = series(parsed, 'edge_session_sent_bytes_total', {})
    expect(bytes).toHaveLength(MAX_PEER_SERIES + 1)
    expect(bytes.reduce((n, s) => n + s.value, 0)).toBe(10 * 300)
    expect(series(parsed, 'edge_session_rtt_seconds', {})).toHaveLength(MAX_PEER_SERIES)
    // The same as with a handful of channels, give or take the label values: tens of KiB.
    expect(Buffer.byteLength(text)).toBeLessThan(64 * 1024)
  })

  it('200 peers watching 10 sources each: at most MAX_CONSUMER_SERIES consumer series plus _other, summing all', async () => {
    const sender = (i: number): any => ({ ssrc: i, packets: 100, bytes: 1000, bitrateKbps: 5, fractionLost: 0.5, packetsLost: 3, jitterMs: 4, rttMs: 20, reports: 1, nacks: 2, nackedPackets: 2, retransmits: 1, plis: 1, firs: 1, targetBitrateKbps: 800 })
    const congestion = (i: number): any => ({ estimateBps: 900_000 + i, source: 'transport-cc', queueingDelayMs: 12.5, rttMs: 20, lossFraction: 0, pacingBps: 2_250_000, pacerQueueMs: 1, retransmitted: 0, retransmitsSkipped: 0 })
    const all = Array.from({ length: 200 }, (_, p) => ({
      ...session(`peer-${p}`, 0),
      tracks: Array.from({ length: 10 }, (_, i) => ({ mid: `watch-${i}`, direction: 'send' as const, codec: 'h264' as const, open: true, packets: 100, bytes: 1000, dropped: 0, keyFrameRequests: 2, sender: sender(i), congestion: congestion(i) }))
    }))
    const text = await metricsOf(() => all).render()
    const parsed = parsePromText(text)
    const packets = series(parsed, 'edge_consumer_sent_packets_total', {})
    expect(packets).toHaveLength(MAX_CONSUMER_SERIES + 1)
    expect(packets.reduce((n, s) => n + s.value, 0)).toBe(200 * 10 * 100)
    expect(series(parsed, 'edge_consumer_sent_packets_total', { peer: OTHER, consumer: OTHER })[0].value).toBe((2000 - MAX_CONSUMER_SERIES) * 100)
    expect(series(parsed, 'edge_consumer_key_frame_requests_total', { peer: 'peer-0', consumer: 'watch-3' })[0].value).toBe(2)
    expect(series(parsed, 'edge_consumer_bitrate_bits_per_second', {}).reduce((n, s) => n + s.value, 0)).toBe(2000 * 5000)
    // Figures that cannot be summed have no _other series.
    for (const name of ['edge_consumer_rtt_seconds', 'edge_consumer_jitter_seconds', 'edge_consumer_fraction_lost', 'edge_consumer_target_bitrate_bits_per_second',
      'edge_consumer_estimate_bits_per_second', 'edge_consumer_queueing_delay_seconds']) {
      expect(series(parsed, name, {}), name).toHaveLength(MAX_CONSUMER_SERIES)
      expect(series(parsed, name, { peer: OTHER }), name).toHaveLength(0)
    }
    expect(series(parsed, 'edge_consumer_rtt_seconds', { peer: 'peer-0', consumer: 'watch-0' })[0].value).toBe(0.02)
    expect(series(parsed, 'edge_consumer_estimate_bits_per_second', { peer: 'peer-0', consumer: 'watch-3' })[0].value).toBe(900_003)
    expect(series(parsed, 'edge_consumer_queueing_delay_seconds', { peer: 'peer-0', consumer: 'watch-3' })[0].value).toBe(0.0125)
    // A receive track or a consumer with no reports yet adds no RTT series; one without congestion control
    // (congestion null), or before the receiver's first feedback (estimate null), no estimate nor queueing delay.
    const send = { direction: 'send' as const, codec: 'vp8' as const, open: true, packets: 1, bytes: 1, dropped: 0, keyFrameRequests: 0 }
    const quiet = [{ ...session('q', 0), tracks: [
      { ...send, mid: 'w', sender: { ...sender(1), rttMs: null }, congestion: null },
      { ...send, mid: 'w2', sender: sender(2), congestion: { ...congestion(2), estimateBps: null, source: null, queueingDelayMs: null } },
      { mid: 'r', direction: 'recv' as const, codec: 'vp8' as const, open: true, packets: 1, bytes: 1, dropped: 0, keyFrameRequests: 0 }
    ] }]
    const few = parsePromText(await metricsOf(() => quiet).render())
    expect(series(few, 'edge_consumer_rtt_seconds', {})).toEqual([expect.objectContaining({ labels: { peer: 'q', consumer: 'w2' } })])
    expect(series(few, 'edge_consumer_estimate_bits_per_second', {})).toHaveLength(0)
    expect(series(few, 'edge_consumer_queueing_delay_seconds', {})).toHaveLength(0)
    expect(series(few, 'edge_consumer_sent_packets_total', {}).map(s => s.labels)).toEqual([{ peer: 'q', consumer: 'w' }, { peer: 'q', consumer: 'w2' }])
    expect(Buffer.byteLength(text)).toBeLessThan(64 * 1024)
  })

  it('browsers\' send tracks are consumers within the same bound: peer="browser", consumer="<session id start>/<mid>", after the peers\'', async () => {
    const sender = { ssrc: 1, packets: 100, bytes: 1000, bitrateKbps: 5, fractionLost: 0.25, packetsLost: 3, jitterMs: 4, rttMs: 2, reports: 1, nacks: 2, nackedPackets: 2, retransmits: 1, plis: 1, firs: 0, targetBitrateKbps: 800 }
    const send = { direction: 'send' as const, codec: 'h264' as const, open: true, packets: 100, bytes: 1000, dropped: 0, keyFrameRequests: 1, sender, congestion: null }
    const peers = [{ ...session('p', 0), tracks: Array.from({ length: MAX_CONSUMER_SERIES - 2 }, (_, i) => ({ ...send, mid: `watch-${i}` })) }]
    const base = { kind: 'whep' as const, peer: null, source: 'cam', audio: null, state: 'connected', createdAt: '', connectedAt: null, rttMs: 1, bytesSent: 0, bytesReceived: 0, packetsSent: 0 }
    const browsers: BrowserInfo[] = [
      ...Array.from({ length: 5 }, (_, i) => ({ ...base, id: `browser${i}-abcdefgh`, tracks: [{ ...send, mid: '0', source: 'cam' }] })),
      // A WHIP publisher's received track is a producer: no consumer series.
      { ...base, id: 'publisher-00001', kind: 'whip' as const, source: 'phone', tracks: [{ ...send, mid: '0', direction: 'recv' as const, sender: undefined, congestion: undefined }] }
    ]
    const parsed = parsePromText(await metricsOf(() => peers, () => browsers).render())
    const packets = series(parsed, 'edge_consumer_sent_packets_total', {})
    expect(packets).toHaveLength(MAX_CONSUMER_SERIES + 1)
    expect(series(parsed, 'edge_consumer_sent_packets_total', { peer: 'browser' }).map(s => s.labels.consumer)).toEqual(['browser0/0', 'browser1/0'])
    expect(series(parsed, 'edge_consumer_sent_packets_total', { peer: OTHER, consumer: OTHER })[0].value).toBe(3 * 100)
    expect(packets.reduce((n, s) => n + s.value, 0)).toBe((MAX_CONSUMER_SERIES - 2 + 5) * 100)
    expect(series(parsed, 'edge_consumer_rtt_seconds', { peer: 'browser', consumer: 'browser1/0' })[0].value).toBe(0.002)
    expect(series(parsed, 'edge_consumer_fraction_lost', { peer: 'browser', consumer: 'browser0/0' })[0].value).toBe(0.25)
    expect(series(parsed, 'edge_consumer_target_bitrate_bits_per_second', { peer: 'browser' })).toHaveLength(2)
    expect(series(parsed, 'edge_consumer_rtt_seconds', {})).toHaveLength(MAX_CONSUMER_SERIES)
  })

  it('few channels keep their own series', async () => {
    const parsed = parsePromText(await metricsOf(() => [session('p', 3)]).render())
    expect(series(parsed, 'edge_channel_messages_total', { peer: 'p', channel: 'label-2', direction: 'sent' })).toHaveLength(1)
    expect(series(parsed, 'edge_channel_messages_total', { peer: OTHER })).toHaveLength(0)
  })

  it('concurrent scrapes share one render; the next one after RENDER_CACHE_MS renders again', async () => {
    let renders = 0
    const metrics = metricsOf(() => { renders++; return [session('p', 2)] })
    const texts = await Promise.all(Array.from({ length: 200 }, async () => await metrics.render()))
    expect(new Set(texts).size).toBe(1)
    // sessions() is read once per family that uses it in one render.
    const perRender = renders
    await metrics.render()
    expect(renders).toBe(perRender)
  })

  it('cachedRender: one render per ttl, a failed render is not served again', async () => {
    let t = 0
    let n = 0
    let fail = false
    const render = cachedRender(async () => { n++; if (fail) throw new Error('boom'); return `r${n}` }, 1000, () => t)
    expect(await render()).toBe('r1')
    t = 999
    expect(await render()).toBe('r1')
    t = 1000
    fail = true
    await expect(render()).rejects.toThrow('boom')
    fail = false
    expect(await render()).toBe('r3')
  })
})
