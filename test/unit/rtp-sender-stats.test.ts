import { describe, expect, it } from 'vitest'
import { buildFir, buildPli } from '../../src/rtp/rtcp-feedback.ts'
import { reportBlocks } from '../../src/rtp/receiver-report.ts'
import { ntpMiddle, SenderStats } from '../../src/rtp/sender-stats.ts'
import { buildNack } from '../../src/transport/nack-generator.ts'

const SSRC = 0x11223344
const OTHER = 0x55667788

function rtp (seq: number, size = 1000, ssrc = SSRC): Buffer {
  const p = Buffer.alloc(size)
  p[0] = 0x80
  p[1] = 96
  p.writeUInt16BE(seq & 0xffff, 2)
  p.writeUInt32BE(seq * 3000 >>> 0, 4)
  p.writeUInt32BE(ssrc, 8)
  return p
}

interface Block { ssrc: number, fraction: number, lost: number, highest: number, jitter: number, lsr: number, dlsr: number }

/** An RR from `from` with these report blocks. */
function rr (from: number, blocks: Block[]): Buffer {
  const p = Buffer.alloc(8 + 24 * blocks.length)
  p[0] = 0x80 | blocks.length
  p[1] = 201
  p.writeUInt16BE(p.length / 4 - 1, 2)
  p.writeUInt32BE(from, 4)
  blocks.forEach((b, i) => {
    const at = 8 + 24 * i
    p.writeUInt32BE(b.ssrc, at)
    p[at + 4] = b.fraction
    p.writeIntBE(b.lost, at + 5, 3)
    p.writeUInt32BE(b.highest, at + 8)
    p.writeUInt32BE(b.jitter, at + 12)
    p.writeUInt32BE(b.lsr >>> 0, at + 16)
    p.writeUInt32BE(b.dlsr >>> 0, at + 20)
  })
  return p
}

const block = (b: Partial<Block>): Block => ({ ssrc: SSRC, fraction: 0, lost: 0, highest: 0, jitter: 0, lsr: 0, dlsr: 0, ...b })

describe('SenderStats: one outgoing track\'s figures', () => {
  it('counts packets and bytes, and the bit rate of the last second only', () => {
    const s = new SenderStats({ ssrc: SSRC, clockRate: 90_000, history: 1024 })
    // 100 packets of 1000 bytes over one second: 800 kbit/s.
    for (let i = 0; i < 100; i++) s.sent(rtp(i), 10_000 + i * 10)
    expect(s.snapshot(10_990)).toMatchObject({ ssrc: SSRC, packets: 100, bytes: 100_000, bitrateKbps: 800 })
    // Half a second later only the second half counts; two seconds later nothing.
    expect(s.bitrateKbps(11_490)).toBe(400)
    expect(s.bitrateKbps(13_000)).toBe(0)
    // A burst after a pause is not diluted by stale buckets of the same slot.
    for (let i = 0; i < 10; i++) s.sent(rtp(100 + i), 20_000)
    expect(s.bitrateKbps(20_050)).toBe(80)
  })

  it('takes loss and jitter from the receiver\'s report block about its SSRC, not another', () => {
    const s = new SenderStats({ ssrc: SSRC, clockRate: 90_000, history: 1024 })
    expect(s.snapshot(0)).toMatchObject({ fractionLost: null, packetsLost: null, jitterMs: null, rttMs: null, reports: 0 })
    // A compound RR: a block about someone else first, then ours (64/256 lost, 37 in all, jitter 900 ticks = 10 ms).
    s.rtcp(rr(OTHER, [block({ ssrc: OTHER, fraction: 255, lost: 999 }), block({ fraction: 64, lost: 37, jitter: 900, highest: 70_000 })]), Date.now())
    expect(s.snapshot(0)).toMatchObject({ fractionLost: 0.25, packetsLost: 37, jitterMs: 10, reports: 1, rttMs: null })
    // Cumulative loss is signed (duplicates): -2 reads as -2.
    s.rtcp(rr(OTHER, [block({ lost: -2 })]), Date.now())
    expect(s.snapshot(0)).toMatchObject({ packetsLost: -2, fractionLost: 0, reports: 2 })
    // The shared parser reads what we wrote, in an SR's blocks too.
    const sr = Buffer.alloc(28 + 24)
    sr[0] = 0x81; sr[1] = 200; sr.writeUInt16BE(sr.length / 4 - 1, 2); sr.writeUInt32BE(OTHER, 4)
    rr(OTHER, [block({ fraction: 128, lost: 5 })]).copy(sr, 28, 8)
    expect(reportBlocks(sr)).toEqual([expect.objectContaining({ ssrc: SSRC, fractionLost: 0.5, cumulativeLost: 5 })])
    s.rtcp(sr, Date.now())
    expect(s.snapshot(0)).toMatchObject({ fractionLost: 0.5, packetsLost: 5, reports: 3 })
  })

  it('RTT from LSR and DLSR against the NTP time of arrival (RFC 3550 §6.4.1)', () => {
    const s = new SenderStats({ ssrc: SSRC, clockRate: 90_000, history: 1024 })
    const srAt = 1_760_000_000_000
    // Our SR left at srAt; the receiver held it 250 ms; its RR came back 330 ms after the SR: RTT 80 ms.
    s.rtcp(rr(OTHER, [block({ lsr: ntpMiddle(srAt), dlsr: 0.25 * 65536 })]), srAt + 330)
    expect(s.snapshot(0).rttMs).toBeCloseTo(80, 0)
    // Across the 32-bit wrap of the compact NTP time.
    const wrapAt = (Math.ceil((srAt / 1000 + 2_208_988_800) / 65536) * 65536 - 2_208_988_800) * 1000 - 100
    expect(ntpMiddle(wrapAt + 200)).toBeLessThan(ntpMiddle(wrapAt))
    s.rtcp(rr(OTHER, [block({ lsr: ntpMiddle(wrapAt), dlsr: 0.1 * 65536 })]), wrapAt + 150)
    expect(s.snapshot(0).rttMs).toBeCloseTo(50, 0)
    // An LSR after the arrival (a clock step, or not our SR) gives no new figure; LSR 0 is "no SR yet".
    s.rtcp(rr(OTHER, [block({ lsr: ntpMiddle(srAt + 10_000), dlsr: 0 })]), srAt)
    s.rtcp(rr(OTHER, [block({ lsr: 0, dlsr: 0 })]), srAt)
    expect(s.snapshot(0).rttMs).toBeCloseTo(50, 0)
  })

  it('counts NACKs for its SSRC and the resends the history still holds, across the sequence wrap', () => {
    const s = new SenderStats({ ssrc: SSRC, clockRate: 90_000, history: 100 })
    // Sent 65500..65535, 0..63 (100 packets, wrapping).
    for (let i = 0; i < 100; i++) s.sent(rtp((65_500 + i) & 0xffff), i)
    // 65535 and 0..2 are in the history; 65_399 is older than it (never sent).
    s.rtcp(buildNack(OTHER, SSRC, [65_535, 0, 1, 2]), 0)
    s.rtcp(buildNack(OTHER, SSRC, [65_399]), 0)
    // About another SSRC: not ours.
    s.rtcp(buildNack(OTHER, OTHER, [5]), 0)
    expect(s.snapshot(0)).toMatchObject({ nacks: 2, nackedPackets: 5, retransmits: 4 })
    // A track with no NACK history (audio, trusted) resends nothing.
    const audio = new SenderStats({ ssrc: SSRC, clockRate: 48_000, history: 0 })
    audio.sent(rtp(1), 0)
    audio.rtcp(buildNack(OTHER, SSRC, [1]), 0)
    expect(audio.snapshot(0)).toMatchObject({ nacks: 1, nackedPackets: 1, retransmits: 0 })
  })

  it('counts PLIs and FIRs (a FIR after its empty RR), and the target it is given', () => {
    const s = new SenderStats({ ssrc: SSRC, clockRate: 90_000, history: 1024 })
    s.rtcp(buildPli(OTHER, SSRC), 0)
    s.rtcp(Buffer.concat([rr(OTHER, [block({ fraction: 1 })]), buildPli(OTHER, SSRC)]), 0)
    s.rtcp(buildFir(OTHER, SSRC, 1), 0)
    expect(s.snapshot(0, 1500)).toMatchObject({ plis: 2, firs: 1, reports: 1, targetBitrateKbps: 1500 })
    expect(s.snapshot(0).targetBitrateKbps).toBeNull()
  })

  it('a malformed datagram is ignored, never read out of bounds', () => {
    const s = new SenderStats({ ssrc: SSRC, clockRate: 90_000, history: 1024 })
    const good = rr(OTHER, [block({ fraction: 64 })])
    // A block count the length cannot hold, a truncated tail, garbage.
    const lying = Buffer.from(good); lying[0] = 0x80 | 5
    for (const d of [lying, good.subarray(0, 20), Buffer.from([0x80, 201, 0, 200]), Buffer.alloc(3), buildNack(OTHER, SSRC, [1]).subarray(0, 12)]) s.rtcp(d, 0)
    expect(s.snapshot(0)).toMatchObject({ reports: 1, fractionLost: 0.25, nacks: 0 })
  })
})
