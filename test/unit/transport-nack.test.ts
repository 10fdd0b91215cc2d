import { describe, expect, it } from 'vitest'
import { buildNack, MAX_NACK_GAP, NACK_RETRY_MS, NACK_TRIES, NackGenerator, parseNack } from '../../src/transport/nack-generator.ts'

describe('NackGenerator', () => {
  it('asks for the gaps, again after the retry interval, and gives up after NACK_TRIES', () => {
    const g = new NackGenerator(1, 0xdeadbeef)
    for (const seq of [100, 101, 104, 105]) g.received(seq)
    const first = g.due(0)!
    expect(first.readUInt32BE(8)).toBe(0xdeadbeef)
    expect(parseNack(first)).toEqual([102, 103])
    expect(g.due(NACK_RETRY_MS - 1)).toBeUndefined()
    g.received(102) // came back
    expect(g.recovered).toBe(1)
    expect(parseNack(g.due(NACK_RETRY_MS)!)).toEqual([103])
    for (let i = 2; i < NACK_TRIES; i++) expect(parseNack(g.due(i * NACK_RETRY_MS)!)).toEqual([103])
    expect(g.due(NACK_TRIES * NACK_RETRY_MS)).toBeUndefined()
    expect(g.pending).toBe(0)
    expect(g.requested).toBe(2 + NACK_TRIES - 1)
  })

  it('crosses the sequence-number wrap, ignores duplicates and late packets, and skips huge gaps', () => {
    const g = new NackGenerator(1, 2)
    for (const seq of [65534, 1, 1, 65535]) g.received(seq)
    expect(parseNack(g.due(0)!)).toEqual([0])
    g.received(2 + MAX_NACK_GAP + 1)
    expect(g.due(1000)).toBeUndefined() // a restart or outage: no flood of NACKs
  })
})

describe('buildNack', () => {
  it('packs runs into PID + BLP pairs and round-trips', () => {
    const seqs = [10, 11, 26, 27, 60, 65535, 0]
    const packet = buildNack(7, 8, seqs)
    expect(packet[1]).toBe(205)
    expect(packet[0] & 0x1f).toBe(1)
    expect(packet.readUInt16BE(2)).toBe(packet.length / 4 - 1)
    expect(parseNack(packet).sort((x, y) => x - y)).toEqual([...seqs].sort((x, y) => x - y))
  })
})
