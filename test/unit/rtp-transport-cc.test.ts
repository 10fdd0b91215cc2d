import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { buildRemb, isRemb, parseRemb } from '../../src/rtp/bwe-remb.ts'
import { buildTransportFeedback, isTransportFeedback, parseTransportFeedback, type TransportFeedback } from '../../src/rtp/transport-cc-feedback.ts'
import { readTransportSequence, writeTransportSequence } from '../../src/rtp/transport-cc-extension.ts'
import { TransportFeedbackGenerator } from '../../src/rtp/transport-cc-generator.ts'
import { MalformedRtcpError } from '../../src/rtp/bwe-malformed-rtcp-error.ts'
import { parseRtpHeader } from '../../src/rtp/rtp-header.ts'

// Issue 17 groundwork: the wire formats of transport-wide congestion control
// (the sequence-number header extension, RTPFB FMT 15 feedback, REMB) and the
// receive side's feedback generator.

const RUNS = 1_000

function rtp (init: { csrcs?: number, payload?: Uint8Array, extension?: { profile: number, data: Uint8Array }, padding?: number }): Uint8Array {
  const csrcs = init.csrcs ?? 0
  const payload = init.payload ?? new Uint8Array([1, 2, 3, 4, 5])
  const ext = init.extension
  const extBytes = ext === undefined ? 0 : 4 + Math.ceil(ext.data.length / 4) * 4
  const padding = init.padding ?? 0
  const out = new Uint8Array(12 + csrcs * 4 + extBytes + payload.length + padding)
  out[0] = 0x80 | csrcs | (ext === undefined ? 0 : 0x10) | (padding > 0 ? 0x20 : 0)
  out[1] = 96
  out[3] = 7
  out[11] = 9
  let o = 12 + csrcs * 4
  if (ext !== undefined) {
    out[o] = ext.profile >> 8; out[o + 1] = ext.profile & 0xff
    const words = (extBytes - 4) / 4
    out[o + 2] = words >> 8; out[o + 3] = words & 0xff
    out.set(ext.data, o + 4)
    o += extBytes
  }
  out.set(payload, o)
  if (padding > 0) out[out.length - 1] = padding
  return out
}

function payloadOf (packet: Uint8Array): Uint8Array {
  const h = parseRtpHeader(packet)
  if (h === undefined) throw new Error('not RTP')
  return packet.subarray(h.payloadOffset, h.payloadEnd)
}

describe('transport-wide sequence number extension', () => {
  it('adds a one-byte extension block to a packet without one, and reads it back', () => {
    const packet = rtp({ csrcs: 2 })
    const out = writeTransportSequence(packet, 3, 0xbeef)
    expect(out).toBeDefined()
    expect(readTransportSequence(out!, 3)).toBe(0xbeef)
    expect(readTransportSequence(out!, 4)).toBeUndefined()
    expect(Array.from(payloadOf(out!))).toEqual([1, 2, 3, 4, 5])
    expect(readTransportSequence(packet, 3)).toBeUndefined()
  })

  it('appends to an existing one-byte block (another element, padding) and keeps the other element', () => {
    // Element id 1, 3 bytes (L=2), then a padding byte.
    const packet = rtp({ extension: { profile: 0xbede, data: new Uint8Array([0x12, 0xaa, 0xbb, 0xcc]) }, padding: 4 })
    const out = writeTransportSequence(packet, 5, 513)!
    expect(readTransportSequence(out, 5)).toBe(513)
    expect(Array.from(payloadOf(out))).toEqual([1, 2, 3, 4, 5])
    const h = parseRtpHeader(out)!
    expect(Array.from(out.subarray(16, 20))).toEqual([0x12, 0xaa, 0xbb, 0xcc])
    expect(h.payloadEnd - h.payloadOffset).toBe(5)
    // The new element, then the block's padding: zero, though the buffer comes unzeroed from Node's pool.
    expect(Array.from(out.subarray(20, 24))).toEqual([0x51, 0x02, 0x01, 0])
  })

  it('overwrites the element in place when the packet already has it', () => {
    const first = writeTransportSequence(rtp({}), 2, 1)!
    const again = writeTransportSequence(first, 2, 2)
    expect(again).toBe(first)
    expect(readTransportSequence(first, 2)).toBe(2)
    expect(first.length).toBe(rtp({}).length + 8)
  })

  it('writes into a two-byte (0x100X) block too', () => {
    const packet = rtp({ extension: { profile: 0x1000, data: new Uint8Array([7, 1, 0x55, 0]) } })
    const out = writeTransportSequence(packet, 9, 0x1234)!
    expect(readTransportSequence(out, 9)).toBe(0x1234)
    expect(Array.from(out.subarray(16, 19))).toEqual([7, 1, 0x55])
  })

  it('refuses ids outside 1-14 and says no to bytes that are not RTP', () => {
    expect(() => writeTransportSequence(rtp({}), 15, 1)).toThrow(RangeError)
    expect(() => writeTransportSequence(rtp({}), 0, 1)).toThrow(RangeError)
    expect(writeTransportSequence(new Uint8Array(5), 3, 1)).toBeUndefined()
    expect(writeTransportSequence(rtp({ extension: { profile: 0xabcd, data: new Uint8Array(4) } }), 3, 1)).toBeUndefined()
  })

  it('round-trips any sequence number, id and existing extension (property)', () => {
    const element = fc.record({ id: fc.integer({ min: 1, max: 14 }), data: fc.uint8Array({ minLength: 1, maxLength: 16 }) })
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 14 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 15 }),
      fc.uint8Array({ maxLength: 100 }), fc.option(fc.array(element, { maxLength: 4 })),
      (id, seq, csrcs, payload, elements) => {
        let extension: { profile: number, data: Uint8Array } | undefined
        if (elements !== null) {
          const others = elements.filter((e, i) => e.id !== id && elements.findIndex(o => o.id === e.id) === i)
          const data = others.flatMap(e => [(e.id << 4) | (e.data.length - 1), ...e.data])
          extension = { profile: 0xbede, data: new Uint8Array(data) }
        }
        const packet = rtp({ csrcs, payload, extension })
        const out = writeTransportSequence(packet, id, seq)!
        expect(readTransportSequence(out, id)).toBe(seq)
        expect(Array.from(payloadOf(out))).toEqual(Array.from(payload))
        for (const e of elements?.filter((e, i) => e.id !== id && e.data.length === 2 && elements.findIndex(o => o.id === e.id) === i) ?? []) {
          expect(readTransportSequence(out, e.id)).toBe((e.data[0] << 8) | e.data[1])
        }
      }), { numRuns: RUNS })
  })

  it('never throws on random bytes (read and write)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 14 }), (bytes, id) => {
      const seq = readTransportSequence(bytes, id)
      expect(seq === undefined || (seq >= 0 && seq <= 0xffff)).toBe(true)
      const out = writeTransportSequence(new Uint8Array(bytes), id, 77)
      if (out !== undefined) expect(readTransportSequence(out, id)).toBe(77)
    }), { numRuns: RUNS })
  })
})

/** Feedback messages with any mix of losses and small, large and negative deltas. */
const feedbackArb: fc.Arbitrary<TransportFeedback> = fc.record({
  senderSsrc: fc.integer({ min: 0, max: 0xffffffff }),
  mediaSsrc: fc.integer({ min: 0, max: 0xffffffff }),
  baseSequence: fc.integer({ min: 0, max: 0xffff }),
  referenceTime: fc.integer({ min: 0, max: 0xffffff }),
  feedbackCount: fc.integer({ min: 0, max: 255 }),
  statuses: fc.array(fc.oneof(
    fc.constant(undefined),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: -0x8000, max: 0x7fff })
  ), { minLength: 1, maxLength: 300 }),
  longRun: fc.option(fc.record({ at: fc.nat(), length: fc.integer({ min: 1, max: 20_000 }), received: fc.boolean() }))
}).map(r => {
  const deltas: Array<number | undefined> = [...r.statuses]
  if (r.longRun !== null) {
    const at = r.longRun.at % (deltas.length + 1)
    deltas.splice(at, 0, ...Array.from({ length: Math.min(r.longRun.length, 0xffff - deltas.length) }, () => r.longRun!.received ? 1 : undefined))
  }
  const received: TransportFeedback['received'] = []
  let ticks = 0
  deltas.forEach((d, i) => {
    if (d === undefined) return
    ticks += d
    received.push({ sequence: (r.baseSequence + i) & 0xffff, arrivalUs: ticks * 250 })
  })
  return { senderSsrc: r.senderSsrc, mediaSsrc: r.mediaSsrc, baseSequence: r.baseSequence, statusCount: deltas.length, referenceTime: r.referenceTime, feedbackCount: r.feedbackCount, received }
})

describe('transport-cc feedback (RTPFB FMT 15)', () => {
  it('parses a message built by hand from the draft: run-length, 1-bit and 2-bit chunks, small and large deltas', () => {
    const bytes = new Uint8Array([
      0x80 | 15, 205, 0, 8, // V=2 FMT 15, PT 205, length 8 (36 bytes)
      0, 0, 0, 1, 0, 0, 0, 2, // sender, media SSRC
      0, 10, 0, 21, // base 10, 21 statuses
      0, 0, 5, 3, // reference 5 (320 ms), fb count 3
      0x20, 5, // run-length: 5 × small delta (10-14)
      0xd6, 0x00, // 2-bit vector 01 01 10 00 00 00 00: small, small, large, 4 × not received (15-21)
      0xa0, 0x00, // 1-bit vector: received, not received, ... (22-35; only 22-30 count)
      4, 4, 4, 4, 4, // five small deltas of 1 ms
      8, 4, // small, small
      0xff, 0xfc, // a large delta of -4 ticks (reordered)
      2 // small
    ])
    const fb = parseTransportFeedback(bytes)
    expect(fb).toMatchObject({ senderSsrc: 1, mediaSsrc: 2, baseSequence: 10, statusCount: 21, referenceTime: 5, feedbackCount: 3 })
    expect(fb.received.map(p => p.sequence)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 22])
    expect(fb.received.map(p => p.arrivalUs)).toEqual([1000, 2000, 3000, 4000, 5000, 7000, 8000, 7000, 7500])
  })

  it('round-trips any message (property)', () => {
    fc.assert(fc.property(feedbackArb, fb => {
      const bytes = buildTransportFeedback(fb)
      expect(bytes.length % 4).toBe(0)
      expect(isTransportFeedback(bytes)).toBe(true)
      expect(parseTransportFeedback(bytes)).toEqual(fb)
    }), { numRuns: RUNS / 4 })
  })

  it('wraps the sequence number past 65535', () => {
    const fb: TransportFeedback = { senderSsrc: 1, mediaSsrc: 2, baseSequence: 65534, statusCount: 4, referenceTime: 0xffffff, feedbackCount: 255, received: [{ sequence: 65535, arrivalUs: 0 }, { sequence: 1, arrivalUs: 250 }] }
    expect(parseTransportFeedback(buildTransportFeedback(fb))).toEqual(fb)
  })

  it('refuses, with MalformedRtcpError, truncation, a count the chunks or deltas cannot hold, and reserved statuses', () => {
    const good = buildTransportFeedback({ senderSsrc: 1, mediaSsrc: 2, baseSequence: 0, statusCount: 3, referenceTime: 0, feedbackCount: 0, received: [{ sequence: 0, arrivalUs: 0 }, { sequence: 2, arrivalUs: 1000 }] })
    expect(() => parseTransportFeedback(good.subarray(0, good.length - 4))).toThrow(MalformedRtcpError)
    const reserved = new Uint8Array([0x8f, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 1, 0, 0])
    expect(() => parseTransportFeedback(reserved)).toThrow(expect.objectContaining({ name: 'MalformedRtcpError' }))
    // A hostile header: 65535 statuses, all "received", in a 24-byte packet.
    const hostile = new Uint8Array([0x8f, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0x3f, 0xff, 0x3f, 0xff])
    expect(() => parseTransportFeedback(hostile)).toThrow(expect.objectContaining({ name: 'MalformedRtcpError' }))
  })

  it('bounds what a parse of random or mutated input allocates: received entries never outnumber the bytes', () => {
    const mutated = feedbackArb.chain(fb => fc.tuple(fc.constant(buildTransportFeedback(fb)), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 })))
      .map(([bytes, edits]) => { const b = new Uint8Array(bytes); for (const [at, v] of edits) b[at % b.length] = v; return b })
    const anything = fc.oneof(mutated, fc.uint8Array({ maxLength: 200 }).map(b => { const c = new Uint8Array(Math.max(b.length, 4)); c.set(b); c[0] = 0x8f; c[1] = 205; return c }))
    fc.assert(fc.property(anything, bytes => {
      try {
        const fb = parseTransportFeedback(bytes)
        expect(fb.received.length).toBeLessThanOrEqual(bytes.length)
        expect(fb.statusCount).toBeLessThanOrEqual(0xffff)
      } catch (err) {
        expect((err as Error).name).toBe('MalformedRtcpError')
      }
    }), { numRuns: RUNS / 2 })
  })

  it('refuses to build what the format cannot say', () => {
    const base = { senderSsrc: 1, mediaSsrc: 2, baseSequence: 0, referenceTime: 0, feedbackCount: 0 }
    expect(() => buildTransportFeedback({ ...base, statusCount: 0, received: [] })).toThrow(RangeError)
    expect(() => buildTransportFeedback({ ...base, statusCount: 2, received: [{ sequence: 0, arrivalUs: 0 }, { sequence: 1, arrivalUs: 9_000_000 }] })).toThrow(RangeError)
    expect(() => buildTransportFeedback({ ...base, statusCount: 2, received: [{ sequence: 5, arrivalUs: 0 }] })).toThrow(RangeError)
  })
})

describe('REMB (PSFB FMT 15)', () => {
  it('round-trips bit rate (to 18 bits of mantissa) and SSRCs (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.double({ min: 0, max: 1e12, noNaN: true }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 255 }), (sender, bps, ssrcs) => {
      const bytes = buildRemb({ senderSsrc: sender, bitrateBps: bps, ssrcs })
      expect(isRemb(bytes)).toBe(true)
      const remb = parseRemb(bytes)
      expect(remb.senderSsrc).toBe(sender)
      expect(remb.ssrcs).toEqual(ssrcs)
      expect(remb.bitrateBps).toBeLessThanOrEqual(Math.floor(bps))
      expect(remb.bitrateBps).toBeGreaterThanOrEqual(Math.floor(bps) * (1 - 2 ** -17) - 1)
    }), { numRuns: RUNS })
  })

  it('reads libwebrtc\'s example: 1 SSRC, exponent 3, mantissa 0x1c7a1 → 933,128 bit/s... exactly mantissa × 2^exp', () => {
    const bytes = new Uint8Array([0x8f, 206, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0x52, 0x45, 0x4d, 0x42, 1, (3 << 2) | 0x01, 0xc7, 0xa1, 0, 0, 0x30, 0x39])
    expect(parseRemb(bytes)).toEqual({ senderSsrc: 1, bitrateBps: 0x1c7a1 * 8, ssrcs: [12345] })
  })

  it('refuses a count the packet cannot hold', () => {
    const bytes = buildRemb({ senderSsrc: 1, bitrateBps: 1e6, ssrcs: [1] })
    bytes[16] = 200
    expect(() => parseRemb(bytes)).toThrow(expect.objectContaining({ name: 'MalformedRtcpError' }))
    expect(() => parseRemb(new Uint8Array(8))).toThrow(MalformedRtcpError)
  })
})

describe('transport-cc feedback generator (receive side)', () => {
  function collect (gen: TransportFeedbackGenerator, nowMs: number): Map<number, number | undefined> {
    const seen = new Map<number, number | undefined>()
    for (const bytes of gen.poll(nowMs)) {
      const fb = parseTransportFeedback(bytes)
      const arrivals = new Map(fb.received.map(p => [p.sequence, fb.referenceTime * 64 + p.arrivalUs / 1000]))
      for (let i = 0; i < fb.statusCount; i++) {
        const seq = (fb.baseSequence + i) & 0xffff
        if (!seen.has(seq) || seen.get(seq) === undefined) seen.set(seq, arrivals.get(seq))
      }
    }
    return seen
  }

  it('reports every packet once per interval, losses included, across the 16-bit wrap', () => {
    const gen = new TransportFeedbackGenerator({ senderSsrc: 1, mediaSsrc: 2, intervalMs: 50 })
    let t = 1000
    for (let seq = 65500; seq < 65600; seq++) {
      if (seq % 10 !== 3) gen.record(seq & 0xffff, t)
      t += 1
    }
    expect(gen.poll(1040)).toEqual([]) // not due yet
    const seen = collect(gen, 1100)
    expect(seen.size).toBe(100)
    for (let seq = 65500; seq < 65600; seq++) {
      const arrival = seen.get(seq & 0xffff)
      if (seq % 10 === 3) expect(arrival).toBeUndefined()
      else expect(arrival).toBeCloseTo(1000 + seq - 65500, 2)
    }
    expect(gen.poll(1200)).toEqual([]) // nothing new
  })

  it('reports a reordered packet that arrives after its report', () => {
    const gen = new TransportFeedbackGenerator({ senderSsrc: 1, mediaSsrc: 2, intervalMs: 50 })
    gen.record(1, 0); gen.record(3, 1)
    expect(collect(gen, 60).get(2)).toBeUndefined()
    gen.record(2, 70)
    expect(collect(gen, 120).get(2)).toBeCloseTo(70, 2)
  })

  it('splits a long or sparse window into messages within the size bound, and deltas over 8 s', () => {
    const gen = new TransportFeedbackGenerator({ senderSsrc: 1, mediaSsrc: 2, maxPacketBytes: 200, maxPacketsPerPoll: 100 })
    for (let seq = 0; seq < 2000; seq++) gen.record(seq, seq < 1000 ? seq * 0.5 : 9000 + seq * 0.5)
    const packets = gen.poll(20_000)
    expect(packets.length).toBeGreaterThan(2)
    for (const p of packets) expect(p.length).toBeLessThanOrEqual(200)
    const seen = new Set(packets.flatMap(p => parseTransportFeedback(p).received.map(r => r.sequence)))
    expect(seen.size).toBe(2000)
  })

  it('keeps bounded state when a peer jumps the sequence number or floods', () => {
    const gen = new TransportFeedbackGenerator({ senderSsrc: 1, mediaSsrc: 2, historySize: 1024, maxPacketsPerPoll: 4 })
    for (let i = 0; i < 50_000; i++) gen.record((i * 7919) & 0xffff, i * 0.01)
    const packets = gen.poll(1000)
    expect(packets.length).toBeLessThanOrEqual(4)
    for (const p of packets) {
      const fb = parseTransportFeedback(p)
      expect(fb.statusCount).toBeLessThanOrEqual(1024)
    }
  })
})
