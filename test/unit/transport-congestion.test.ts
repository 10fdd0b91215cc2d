import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'
import type { BandwidthEstimate } from '../../src/rtp/bwe-estimate.ts'
import { readTransportSequence, TRANSPORT_CC_EXTENSION_URI } from '../../src/rtp/transport-cc-extension.ts'
import { TransportFeedbackGenerator } from '../../src/rtp/transport-cc-generator.ts'
import { CongestionController, PACING_FACTOR, UNPACED_BPS } from '../../src/transport/congestion-controller.ts'
import { buildNack } from '../../src/transport/nack-generator.ts'
import { withPayloadTypeSsrcAndTransportSequence } from '../../src/rtp/rtp-rewrite.ts'
import { RetransmitHistory } from '../../src/transport/retransmit-history.ts'
import { TRANSPORT_CC_EXTENSION_ID, transportCcExtmaps, withTransportCcExtmap } from '../../src/transport/sdp-extmap.ts'
import { SendPacer } from '../../src/transport/send-pacer.ts'
import { HYSTERESIS, INCREASE_INTERVAL_MS, REPAIR_HEADROOM, SourceRateControl } from '../../src/core/media-router/source-rate-control.ts'
import type { SendTrack } from '../../src/transport/types.ts'

// Issue 17: the pieces that close the loop between two daemons — the SDP
// declaration, the pacer, capped repairs, the per-consumer controller and
// the encoder following its viewers.

const log = pino({ level: 'silent' })

function rtp (seq: number, bytes = 1000, ssrc = 0x1234): Buffer {
  const p = Buffer.alloc(bytes)
  p[0] = 0x80
  p[1] = 96
  p.writeUInt16BE(seq, 2)
  p.writeUInt32BE(ssrc, 8)
  return p
}

const SDP = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:w1', 'a=sendonly', 'a=rtpmap:96 H264/90000',
  'm=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:w2', 'a=recvonly', 'a=rtpmap:96 H264/90000',
  ''
].join('\r\n')

describe('transport-cc in SDP', () => {
  it('declares the extension in the sections of the mids given, once, and reads it back by mid', () => {
    const sdp = withTransportCcExtmap(SDP, new Set(['w1']))
    expect(sdp).toContain(`a=mid:w1\r\na=extmap:${TRANSPORT_CC_EXTENSION_ID} ${TRANSPORT_CC_EXTENSION_URI}\r\n`)
    expect(withTransportCcExtmap(sdp, new Set(['w1']))).toBe(sdp)
    expect(transportCcExtmaps(sdp)).toEqual(new Map([['w1', TRANSPORT_CC_EXTENSION_ID]]))
    expect(transportCcExtmaps(SDP)).toEqual(new Map())
  })

  it('ignores an ID outside 1-14 and other extensions', () => {
    const sdp = SDP.replace('a=mid:w2\r\n', `a=mid:w2\r\na=extmap:15 ${TRANSPORT_CC_EXTENSION_URI}\r\na=extmap:2 urn:ietf:params:rtp-hdrext:sdes:mid\r\n`)
    expect(transportCcExtmaps(sdp)).toEqual(new Map())
  })
})

describe('SendPacer', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('spreads a burst over time at its rate, and sends repairs first', () => {
    const sent: Array<[number, boolean]> = []
    const pacer = new SendPacer({ rateBps: 1_000_000, send: (p, repair) => sent.push([p.readUInt16BE(2), repair]), now: () => Date.now() })
    for (let i = 0; i < 30; i++) pacer.enqueue(rtp(i))
    expect(sent.length).toBeLessThanOrEqual(2)
    pacer.enqueue(rtp(900), true)
    vi.advanceTimersByTime(10)
    expect(sent.find(([, repair]) => repair)).toBeDefined()
    expect(sent.findIndex(([, repair]) => repair)).toBeLessThan(4)
    vi.advanceTimersByTime(90)
    // 100 ms at 1 Mbit/s is 12.5 kB: about 12 of the 1 kB packets, not 31.
    expect(sent.length).toBeGreaterThanOrEqual(10)
    expect(sent.length).toBeLessThanOrEqual(15)
    vi.advanceTimersByTime(300)
    expect(sent.length).toBe(31)
    pacer.close()
  })

  it('drains a long queue faster than its rate, and drops the oldest past its bound', () => {
    const sent: number[] = []
    const pacer = new SendPacer({ rateBps: 100_000, maxPackets: 50, drainMs: 500, send: p => sent.push(p.readUInt16BE(2)), now: () => Date.now() })
    for (let i = 0; i < 60; i++) pacer.enqueue(rtp(i))
    expect(pacer.dropped).toBeGreaterThanOrEqual(9)
    // 50 kB at 100 kbit/s would take 4 s; the drain rule empties it in about 1 s.
    vi.advanceTimersByTime(1500)
    expect(pacer.length).toBe(0)
    expect(sent.length + pacer.dropped).toBe(60)
    pacer.close()
  })
})

describe('SendPacer, idle', () => {
  it('sends a packet inside enqueue() when nothing waits and the budget allows, with the one clock reading it took', () => {
    let clock = 1000
    let reads = 0
    const sent: Array<[number, boolean, number]> = []
    const pacer = new SendPacer({ rateBps: 1_000_000_000, send: (p, repair, now) => sent.push([p.readUInt16BE(2), repair, now]), now: () => { reads++; return clock } })
    clock = 1010
    reads = 0
    pacer.enqueue(rtp(1))
    expect(sent).toEqual([[1, false, 1010]])
    expect(reads).toBe(1)
    expect(pacer.length).toBe(0)
    pacer.enqueue(rtp(2), true)
    expect(sent[1]).toEqual([2, true, 1010])
    pacer.close()
  })
})

describe('RetransmitHistory', () => {
  it('resends within its share of the estimate, once per RTT, and counts what it skipped', () => {
    const history = new RetransmitHistory({ share: 0.25, bucketMs: 200 })
    for (let i = 0; i < 40; i++) history.sent(rtp(i))
    // 0.25 × 1 Mbit/s over 200 ms is 6250 bytes: six 1 kB packets.
    const seqs = Array.from({ length: 20 }, (_, i) => i)
    expect(history.repairs(seqs, 1_000_000, 50, 0).length).toBe(6)
    expect(history.skipped).toBe(14)
    // Later the bucket has refilled, but those six were resent less than an RTT ago.
    expect(history.repairs([0, 1, 2], 1_000_000, 50, 30).length).toBe(0)
    expect(history.repairs([0, 1, 2], 1_000_000, 50, 300).map(p => p.readUInt16BE(2))).toEqual([0, 1, 2])
    expect(history.repairs([999], 1_000_000, 50, 400)).toEqual([])
  })
})

describe('CongestionController', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('stamps every packet with consecutive transport-wide numbers and estimates from the feedback', () => {
    const wire: Buffer[] = []
    const cc = new CongestionController({ ssrc: 0x1234, minBitrateBps: 100_000, maxBitrateBps: 2_000_000, send: p => { wire.push(Buffer.from(p)); return true }, logger: log, now: () => Date.now() })
    const estimates: BandwidthEstimate[] = []
    cc.on('estimate', e => estimates.push(e))
    expect(cc.estimate).toBeUndefined()
    const receiver = new TransportFeedbackGenerator({ senderSsrc: 1, mediaSsrc: 0x1234 })
    // 1 s of 500 kbit/s over a link with 20 ms of constant delay.
    for (let ms = 0; ms < 1000; ms += 16) {
      cc.send(rtp(ms / 16))
      vi.advanceTimersByTime(16)
      for (const p of wire.splice(0)) receiver.record(readTransportSequence(p, TRANSPORT_CC_EXTENSION_ID) ?? -1, Date.now() + 20)
      for (const fb of receiver.poll(Date.now() + 20)) cc.onRtcp(Buffer.from(fb))
    }
    expect(estimates.length).toBeGreaterThan(5)
    expect(cc.estimate?.source).toBe('transport-cc')
    expect(cc.estimate?.bitrateBps).toBeGreaterThanOrEqual(100_000)
    // No delay grew over the second: the estimate stayed at the most, where frames are not paced.
    expect(cc.estimate?.bitrateBps).toBe(2_000_000)
    expect(cc.stats().pacingBps).toBe(UNPACED_BPS)
    cc.close()
  })

  it('takes the packet it is given as its own: stamped in place and sent as it is, with the pacer\'s clock for the send', () => {
    const wire: Array<[Buffer, number]> = []
    let clock = 500
    const cc = new CongestionController({ ssrc: 0x1234, minBitrateBps: 100_000, maxBitrateBps: 2_000_000, send: (p, now) => { wire.push([p, now]); return true }, logger: log, now: () => clock })
    expect(cc.extensionId).toBe(TRANSPORT_CC_EXTENSION_ID)
    const own = withPayloadTypeSsrcAndTransportSequence(rtp(7), 96, 0x1234, cc.extensionId)!
    clock = 510
    cc.send(own)
    // Unpaced (the estimate starts at the most): it left inside send(), no copy on the way.
    expect(wire).toHaveLength(1)
    expect(wire[0][0]).toBe(own)
    expect(wire[0][1]).toBe(510)
    expect(readTransportSequence(own, TRANSPORT_CC_EXTENSION_ID)).toBe(0)
    const second = withPayloadTypeSsrcAndTransportSequence(rtp(8), 96, 0x1234, cc.extensionId)!
    cc.send(second)
    expect(wire[1][0]).toBe(second)
    expect(readTransportSequence(second, TRANSPORT_CC_EXTENSION_ID)).toBe(1)
    cc.close()
  })

  it('keeps a packet the stack refused for repairs: its NACK is answered', () => {
    const wire: Buffer[] = []
    // The stack refuses 101 the first time only.
    let refused = 0
    const cc = new CongestionController({ ssrc: 0x1234, minBitrateBps: 100_000, maxBitrateBps: 2_000_000, send: p => { if (p.readUInt16BE(2) === 101 && refused++ === 0) return false; wire.push(Buffer.from(p)); return true }, logger: log, now: () => Date.now() })
    for (const seq of [100, 101, 102]) cc.send(rtp(seq, 200))
    vi.advanceTimersByTime(50)
    expect(wire.map(p => p.readUInt16BE(2))).toEqual([100, 102])
    // A refused packet took no transport-wide number: the receiver sees no gap there.
    expect(wire.map(p => readTransportSequence(p, TRANSPORT_CC_EXTENSION_ID))).toEqual([0, 1])
    cc.onRtcp(buildNack(9, 0x1234, [101]))
    vi.advanceTimersByTime(10)
    expect(wire.map(p => p.readUInt16BE(2))).toEqual([100, 102, 101])
    expect(cc.stats().retransmitted).toBe(1)
    cc.close()
  })

  it('answers a NACK from its own history with a new transport-wide number', () => {
    const wire: Buffer[] = []
    const cc = new CongestionController({ ssrc: 0x1234, minBitrateBps: 100_000, maxBitrateBps: 2_000_000, send: p => { wire.push(Buffer.from(p)); return true }, logger: log, now: () => Date.now() })
    for (let i = 0; i < 5; i++) cc.send(rtp(100 + i, 200))
    vi.advanceTimersByTime(50)
    expect(wire.map(p => readTransportSequence(p, TRANSPORT_CC_EXTENSION_ID))).toEqual([0, 1, 2, 3, 4])
    cc.onRtcp(buildNack(9, 0x1234, [102]))
    vi.advanceTimersByTime(10)
    expect(wire.length).toBe(6)
    expect(wire[5].readUInt16BE(2)).toBe(102)
    expect(readTransportSequence(wire[5], TRANSPORT_CC_EXTENSION_ID)).toBe(5)
    expect(cc.stats().retransmitted).toBe(1)
    cc.close()
  })

  it('lets a frame out at once while the estimate is at the most, and paces it once the estimate falls below', () => {
    const wire: Buffer[] = []
    const cc = new CongestionController({ ssrc: 0x1234, minBitrateBps: 100_000, maxBitrateBps: 2_000_000, send: p => { wire.push(Buffer.from(p)); return true }, logger: log, now: () => Date.now() })
    vi.advanceTimersByTime(20)
    for (let i = 0; i < 40; i++) cc.send(rtp(i, 1200))
    expect(wire.length).toBe(40)
    // A receiver report with half the packets lost: the estimate falls below the most.
    const rr = Buffer.alloc(32)
    rr[0] = 0x81; rr[1] = 201; rr.writeUInt16BE(7, 2); rr.writeUInt32BE(9, 4); rr.writeUInt32BE(0x1234, 8); rr[12] = 128
    cc.onRtcp(rr)
    expect(cc.estimate!.bitrateBps).toBeLessThan(2_000_000)
    expect(cc.stats().pacingBps).toBe(cc.estimate!.bitrateBps * PACING_FACTOR)
    wire.length = 0
    vi.advanceTimersByTime(20)
    for (let i = 40; i < 80; i++) cc.send(rtp(i, 1200))
    expect(wire.length).toBeLessThan(10)
    vi.advanceTimersByTime(500)
    expect(wire.length).toBe(40)
    cc.close()
  })

  it('falls back to receiver reports from a receiver that sends no feedback, and drops malformed feedback', () => {
    const cc = new CongestionController({ ssrc: 0x1234, minBitrateBps: 100_000, maxBitrateBps: 2_000_000, send: () => true, logger: log, now: () => Date.now() })
    const rr = Buffer.alloc(32)
    rr[0] = 0x81; rr[1] = 201; rr.writeUInt16BE(7, 2); rr.writeUInt32BE(9, 4); rr.writeUInt32BE(0x1234, 8); rr[12] = 0
    cc.onRtcp(rr)
    expect(cc.estimate?.source).toBe('receiver-reports')
    const bad = Buffer.from([0x8f, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0x12, 0x34, 0, 0, 0, 9, 0, 0, 0, 0])
    cc.onRtcp(bad)
    expect(cc.stats().feedbackMalformed).toBe(1)
    cc.close()
  })
})

class FakeTrack extends TypedEmitter<{ estimate: [BandwidthEstimate] }> {}

function estimate (bps: number, lossFraction = 0): BandwidthEstimate {
  return { bitrateBps: bps, delayBasedBps: bps, lossBasedBps: bps, acknowledgedBps: bps, state: 'hold', queueingDelayMs: 0, trend: 0, threshold: 6, lossFraction, rttMs: 20, source: 'transport-cc' }
}

describe('SourceRateControl', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('sets the encoder to the slowest viewer less headroom, within [min, max], rate-limited with hysteresis', async () => {
    const set: number[] = []
    const source = { setBitrate: async (kbps: number) => { set.push(kbps) } }
    const control = new SourceRateControl({ source: source as any, range: { minKbps: 8, floorKbps: 150, maxKbps: 2000 }, logger: log, now: () => Date.now() })
    const fast = new FakeTrack()
    const slow = new FakeTrack()
    control.add(fast as unknown as SendTrack)
    control.add(slow as unknown as SendTrack)
    fast.emit('estimate', estimate(5_000_000))
    await vi.advanceTimersByTimeAsync(0)
    expect(set).toEqual([]) // at the max already
    slow.emit('estimate', estimate(1_000_000))
    await vi.advanceTimersByTimeAsync(0)
    expect(set).toEqual([Math.round(1000 * (1 - REPAIR_HEADROOM))])
    // A change under the hysteresis is ignored.
    slow.emit('estimate', estimate(1_000_000 * (1 - HYSTERESIS / 2)))
    await vi.advanceTimersByTimeAsync(0)
    expect(set.length).toBe(1)
    // An increase waits its interval; the slow viewer leaving lets the rate go up to the max.
    control.remove(slow as unknown as SendTrack)
    await vi.advanceTimersByTimeAsync(INCREASE_INTERVAL_MS / 2)
    expect(set.length).toBe(1)
    await vi.advanceTimersByTimeAsync(INCREASE_INTERVAL_MS)
    expect(set).toEqual([Math.round(1000 * (1 - REPAIR_HEADROOM)), 2000])
    // Never below the min.
    fast.emit('estimate', estimate(50_000))
    await vi.advanceTimersByTimeAsync(INCREASE_INTERVAL_MS)
    expect(set.at(-1)).toBe(150)
    control.close()
  })
})
