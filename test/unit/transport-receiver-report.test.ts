import { describe, expect, it } from 'vitest'
import { ReceptionStats } from '../../src/rtp/receiver-report.ts'
import { buildPli } from '../../src/rtp/rtcp-feedback.ts'

// The receiver reports edged sends a sender (a WHIP publisher, a peer):
// extended highest sequence number and cumulative loss right from the first
// packet, across the 16-bit wrap, and across a sender's restart.

function rtp (seq: number, ssrc = 0x11223344, timestamp = seq * 3000): Buffer {
  const p = Buffer.alloc(20)
  p[0] = 0x80
  p[1] = 96
  p.writeUInt16BE(seq & 0xffff, 2)
  p.writeUInt32BE(timestamp >>> 0, 4)
  p.writeUInt32BE(ssrc >>> 0, 8)
  return p
}

function sr (ssrc = 0x11223344): Buffer {
  const p = Buffer.alloc(28)
  p[0] = 0x80
  p[1] = 200
  p.writeUInt16BE(6, 2)
  p.writeUInt32BE(ssrc, 4)
  p.writeUInt32BE(0xaabbccdd, 8)
  p.writeUInt32BE(0xeeff0011, 12)
  return p
}

interface Block { ssrc: number, fraction: number, lost: number, highest: number, jitter: number, lsr: number, dlsr: number }
function parse (rr: Buffer | undefined): Block {
  if (rr === undefined) throw new Error('no report')
  expect(rr[1]).toBe(201)
  expect(rr[0] & 0x1f).toBe(1)
  return { ssrc: rr.readUInt32BE(8), fraction: rr[12], lost: rr.readIntBE(13, 3), highest: rr.readUInt32BE(16), jitter: rr.readUInt32BE(20), lsr: rr.readUInt32BE(24), dlsr: rr.readUInt32BE(28) }
}

function feed (stats: ReceptionStats, seqs: number[], ssrc?: number): void {
  for (const seq of seqs) stats.rtp(rtp(seq, ssrc), seq * 33)
}
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i)

describe('receiver reports', () => {
  it('a sender starting at a low sequence number is not reported as having lost everything below it', () => {
    const stats = new ReceptionStats(90000)
    feed(stats, range(1746, 539))
    const block = parse(stats.report(1, 0))
    expect(block.lost).toBe(0)
    expect(block.fraction).toBe(0)
    expect(block.highest).toBe(1746 + 538)
    expect(block.ssrc).toBe(0x11223344)
  })

  it('counts losses and the wrap: the extended highest sequence number goes past 65535', () => {
    const stats = new ReceptionStats(90000)
    const seqs = range(65000, 1000).map(s => s & 0xffff).filter((_, i) => i % 10 !== 5)
    feed(stats, seqs)
    const block = parse(stats.report(1, 0))
    expect(block.highest).toBe(65000 + 999)
    expect(block.lost).toBe(100)
    expect(block.fraction).toBe(Math.floor(100 * 256 / 999))
    // The next interval with no loss: fraction 0, cumulative loss unchanged.
    feed(stats, range(65000 + 1000, 100).map(s => s & 0xffff))
    const next = parse(stats.report(1, 0))
    expect(next.fraction).toBe(0)
    expect(next.lost).toBe(100)
  })

  it('a sender that restarts its sequence (same SSRC) or comes back with a new SSRC starts over, without a bogus loss', () => {
    const stats = new ReceptionStats(90000)
    feed(stats, range(40000, 500))
    feed(stats, range(123, 300)) // a jump: two in a row re-sync
    let block = parse(stats.report(1, 0))
    expect(block.lost).toBeLessThanOrEqual(0)
    expect(block.highest).toBe(123 + 299)
    feed(stats, range(9, 200), 0x55667788)
    block = parse(stats.report(1, 0))
    expect(block.ssrc).toBe(0x55667788)
    expect(block.lost).toBe(0)
    expect(block.highest).toBe(9 + 199)
  })

  it('duplicates and slight reordering do not count as loss; no report before a packet', () => {
    const stats = new ReceptionStats(90000)
    expect(stats.report(1, 0)).toBeUndefined()
    feed(stats, [100, 101, 103, 102, 104, 104, 105])
    const block = parse(stats.report(1, 0))
    expect(block.highest).toBe(105)
    expect(block.lost).toBeLessThanOrEqual(0)
  })

  it('carries the last SR\'s middle NTP bits and the delay since, in 1/65536 s', () => {
    const stats = new ReceptionStats(90000)
    feed(stats, range(10, 5))
    expect(stats.rtcp(sr(), 1000)).toBe(true)
    expect(stats.rtcp(sr(0x99), 1000)).toBe(false) // another source's
    const block = parse(stats.report(1, 1500))
    expect(block.lsr).toBe(0xccddeeff)
    expect(block.dlsr).toBe(32768)
  })

  it('buildPli: PSFB FMT 1 from us about the sender', () => {
    const pli = buildPli(7, 0x11223344)
    expect([pli[0], pli[1], pli.readUInt16BE(2), pli.readUInt32BE(4), pli.readUInt32BE(8)]).toEqual([0x81, 206, 2, 7, 0x11223344])
  })
})
