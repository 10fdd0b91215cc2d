import { describe, expect, it } from 'vitest'
import { trackStats, type RecvTrack, type SendTrack, type TrackStats } from '../../src/transport/track-types.ts'
import type { CongestionStats } from '../../src/transport/congestion-controller.ts'
import type { BandwidthEstimate } from '../../src/rtp/bwe-estimate.ts'

// trackStats() is where a session lists its tracks (GET /v1/sessions, edgectl
// top, /metrics): a send track gets its consumer figures and its congestion
// control's, each read once from the track.

const base = (direction: 'send' | 'recv'): TrackStats => ({ mid: 'w1', direction, codec: 'h264', open: true, packets: 10, bytes: 1000, dropped: 0, keyFrameRequests: 0 })
const sender = { ssrc: 7, packets: 10, bytes: 1000, bitrateKbps: 8, fractionLost: null, packetsLost: null, jitterMs: null, rttMs: null, reports: 0, nacks: 0, nackedPackets: 0, retransmits: 0, plis: 0, firs: 0, targetBitrateKbps: null }
const estimate: BandwidthEstimate = {
  bitrateBps: 850_000, delayBasedBps: 900_000, lossBasedBps: 850_000, acknowledgedBps: 800_000, state: 'hold',
  queueingDelayMs: 14.5, trend: 0.1, threshold: 12.5, lossFraction: 0.02, rttMs: 31, source: 'transport-cc'
}
const congestion = (e: BandwidthEstimate | undefined): CongestionStats => ({
  estimate: e, pacingBps: 2_125_000, pacerQueueMs: 4, pacerDropped: 0, retransmitted: 9, retransmitsSkipped: 3, feedbackMalformed: 0
})

function sendTrack (over: Partial<SendTrack>): SendTrack {
  return { stats: () => base('send'), ...over } as unknown as SendTrack
}

describe('trackStats', () => {
  it('a send track with congestion control: its estimate, queueing delay, pacer and repairs', () => {
    let reads = 0
    const track = sendTrack({ senderStats: () => sender, congestionStats: () => { reads++; return congestion(estimate) } })
    expect(trackStats(track)).toEqual({
      ...base('send'),
      sender,
      congestion: { estimateBps: 850_000, source: 'transport-cc', queueingDelayMs: 14.5, rttMs: 31, lossFraction: 0.02, pacingBps: 2_125_000, pacerQueueMs: 4, retransmitted: 9, retransmitsSkipped: 3 }
    })
    expect(reads).toBe(1)
  })

  it('before the receiver\'s first feedback: the pacer and repairs, no estimate', () => {
    const track = sendTrack({ senderStats: () => sender, congestionStats: () => congestion(undefined) })
    expect(trackStats(track).congestion).toEqual({ estimateBps: null, source: null, queueingDelayMs: null, rttMs: null, lossFraction: null, pacingBps: 2_125_000, pacerQueueMs: 4, retransmitted: 9, retransmitsSkipped: 3 })
  })

  it('a send track without congestion control (audio, adaptive: false, trusted) has congestion null', () => {
    expect(trackStats(sendTrack({ senderStats: () => sender, congestionStats: () => undefined })).congestion).toBeNull()
    expect(trackStats(sendTrack({ senderStats: () => sender })).congestion).toBeNull()
  })

  it('a track that goes nowhere on the network, and a receive track, get neither', () => {
    expect(trackStats(sendTrack({}))).toEqual(base('send'))
    const recv = { stats: () => base('recv') } as unknown as RecvTrack
    expect(trackStats(recv)).toEqual(base('recv'))
  })
})
