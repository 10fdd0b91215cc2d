import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { H264Depacketizer, type AccessUnit } from '../../src/rtp/h264-depacketizer.ts'

const SSRC = 0x1234abcd

/** An RTP packet (version 2, payload type 96) around an H.264 payload. */
function rtp (seq: number, timestamp: number, payload: Uint8Array, marker = false, ssrc = SSRC): Buffer {
  const b = Buffer.alloc(12 + payload.length)
  b[0] = 0x80
  b[1] = (marker ? 0x80 : 0) | 96
  b.writeUInt16BE(seq & 0xffff, 2)
  b.writeUInt32BE(timestamp >>> 0, 4)
  b.writeUInt32BE(ssrc, 8)
  b.set(payload, 12)
  return b
}

const nal = (type: number, size: number, fill = 0xaa): Buffer => Buffer.concat([Buffer.from([0x60 | type]), Buffer.alloc(size - 1, fill)])
const SPS = nal(7, 12, 0x42)
const PPS = nal(8, 5, 0x33)
const annexB = (...nals: Buffer[]): Buffer => Buffer.concat(nals.flatMap(n => [Buffer.from([0, 0, 0, 1]), n]))

function stapA (...nals: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([0x78]), ...nals.flatMap(n => { const s = Buffer.alloc(2); s.writeUInt16BE(n.length); return [s, n] })])
}

/** FU-A fragments of a NAL unit, `size` payload bytes each. */
function fuA (n: Buffer, size: number): Buffer[] {
  const out: Buffer[] = []
  const body = n.subarray(1)
  for (let o = 0; o < body.length; o += size) {
    const start = o === 0
    const end = o + size >= body.length
    out.push(Buffer.concat([Buffer.from([(n[0] & 0xe0) | 28, (start ? 0x80 : 0) | (end ? 0x40 : 0) | (n[0] & 0x1f)]), body.subarray(o, o + size)]))
  }
  return out
}

/** A stream writer: consecutive sequence numbers, one timestamp per frame, marker on its last packet. */
function stream (first = 1000): { frame: (ts: number, payloads: Buffer[]) => Buffer[] } {
  let seq = first
  return { frame: (ts, payloads) => payloads.map((p, i) => rtp(seq++, ts, p, i === payloads.length - 1)) }
}

function pushAll (d: H264Depacketizer, packets: Buffer[]): AccessUnit[] {
  return packets.flatMap(p => d.push(p, 42))
}

describe('H264Depacketizer', () => {
  it('puts single NAL units, STAP-A and FU-A back together as Annex-B access units', () => {
    const d = new H264Depacketizer()
    const s = stream()
    const idr = nal(5, 3000, 0x11)
    const p = nal(1, 700, 0x22)
    const units = pushAll(d, [
      ...s.frame(3000, [stapA(SPS, PPS), ...fuA(idr, 1000)]),
      ...s.frame(6000, [p]),
      ...s.frame(9000, [SPS, PPS, nal(5, 100)])
    ])
    expect(units).toHaveLength(3)
    expect(units[0]).toEqual({ data: annexB(SPS, PPS, idr), rtpTimestamp: 3000, receivedAt: 42, keyFrame: true })
    expect(units[1]).toEqual({ data: annexB(p), rtpTimestamp: 6000, receivedAt: 42, keyFrame: false })
    expect(units[2].keyFrame).toBe(true)
    expect(units[2].data).toEqual(annexB(SPS, PPS, nal(5, 100)))
    expect(d.stats).toMatchObject({ units: 3, keyFrames: 2, dropped: 0, gaps: 0 })
  })

  it('ends a unit when the timestamp changes without a marker', () => {
    const d = new H264Depacketizer()
    const a = d.push(rtp(1, 100, nal(5, 50)))
    expect(a).toEqual([])
    const b = d.push(rtp(2, 200, nal(1, 50)), 7)
    expect(b).toHaveLength(1)
    expect(b[0]).toMatchObject({ rtpTimestamp: 100, keyFrame: true })
    expect(d.push(rtp(3, 200, nal(1, 20), true), 8)).toMatchObject([{ rtpTimestamp: 200, receivedAt: 7, keyFrame: false }])
  })

  it('starts at a key frame: what comes before it is dropped', () => {
    const d = new H264Depacketizer()
    const s = stream()
    expect(pushAll(d, s.frame(1, [nal(1, 80)]))).toEqual([])
    expect(d.waitingForKeyFrame).toBe(true)
    const units = pushAll(d, [...s.frame(2, [nal(5, 80)]), ...s.frame(3, [nal(1, 80)])])
    expect(units.map(u => u.keyFrame)).toEqual([true, false])
    expect(d.stats.dropped).toBe(1)
  })

  it('drops the unit a sequence gap hits and every one after it until a key frame, and asks for one', () => {
    let asked = 0
    const d = new H264Depacketizer({ onKeyFrameNeeded: () => { asked++ } })
    const packets = [
      ...stream(10).frame(1, [nal(5, 80)]),
      ...stream(11).frame(2, fuA(nal(1, 3000), 1000)), // seq 11, 12, 13
      ...stream(15).frame(3, [nal(1, 80)]), // 14 is lost
      ...stream(16).frame(4, [nal(1, 80)]),
      ...stream(17).frame(5, [nal(5, 80)]),
      ...stream(18).frame(6, [nal(1, 80)])
    ]
    // Lose the middle FU-A fragment of frame 2 too.
    const units = pushAll(d, packets.filter(p => p.readUInt16BE(2) !== 12))
    expect(units.map(u => u.rtpTimestamp)).toEqual([1, 5, 6])
    expect(d.stats.gaps).toBe(2)
    expect(d.stats.dropped).toBe(3)
    expect(asked).toBe(2)
  })

  it('drops a unit whose FU-A lost its end, repeats and late packets, and a unit over the size bound', () => {
    const d = new H264Depacketizer({ maxUnitBytes: 2000 })
    const s = stream()
    const [first, second] = fuA(nal(5, 1500), 1000)
    // The end of an FU-A without its start bit at the start of the next unit: the cut unit is dropped.
    expect(pushAll(d, [rtp(1, 1, first), rtp(2, 2, nal(5, 50), true)])).toMatchObject([{ rtpTimestamp: 2 }])
    expect(d.stats.dropped).toBe(1)
    expect(d.push(rtp(2, 2, nal(5, 50), true))).toEqual([]) // a repeat
    expect(d.push(rtp(1, 2, second, true))).toEqual([]) // late
    const big = new H264Depacketizer({ maxUnitBytes: 2000 })
    expect(pushAll(big, s.frame(10, fuA(nal(5, 2500), 1000)))).toEqual([])
    expect(pushAll(big, s.frame(11, [nal(5, 1000)]))).toHaveLength(1)
  })

  it('starts over at a key frame when the sender (SSRC) changes, whatever its sequence numbers', () => {
    const d = new H264Depacketizer()
    expect(pushAll(d, [rtp(5000, 1, nal(5, 40), true), rtp(5001, 2, nal(1, 40), true)])).toHaveLength(2)
    expect(d.push(rtp(100, 9, nal(1, 40), true, 77))).toEqual([])
    expect(d.push(rtp(101, 10, nal(5, 40), true, 77))).toHaveLength(1)
    // A restart far behind the last sequence number of the same SSRC is a gap, not a late packet.
    expect(d.push(rtp(30000, 11, nal(5, 40), true, 77))).toHaveLength(1)
  })

  it('refuses what is not RTP or not packetization-mode 1 without throwing', () => {
    const d = new H264Depacketizer()
    expect(d.push(Buffer.from([1, 2, 3]))).toEqual([])
    expect(d.push(rtp(1, 1, Buffer.from([0x19, 0, 1, 2]), true))).toEqual([]) // STAP-B
    expect(d.push(rtp(2, 2, Buffer.from([0x78, 0, 9, 0x65]), true))).toEqual([]) // STAP-A size past the end
    expect(d.push(rtp(3, 3, Buffer.from([0xe5, 1]), true))).toEqual([]) // forbidden bit
    expect(d.stats.invalid).toBe(4)
    expect(d.stats.units).toBe(0)
  })

  it('never throws on random packets; its output is bounded, Annex-B, and starts at a key frame', () => {
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.tuple(fc.integer({ min: 1, max: 23 }), fc.uint8Array({ maxLength: 200 })).map(([t, b]) => Buffer.concat([Buffer.from([0x60 | t]), b])),
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 60 }), { maxLength: 5 }).map(ns => stapA(...ns.map(Buffer.from))),
      fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 23 }), fc.uint8Array({ maxLength: 200 })).map(([se, t, b]) => Buffer.concat([Buffer.from([0x7c, (se << 6) | t]), b]))
    )
    const packet = fc.oneof(
      fc.uint8Array({ maxLength: 400 }).map(b => Buffer.from(b)),
      fc.record({ seq: fc.integer({ min: 0, max: 20 }), ts: fc.integer({ min: 0, max: 5 }), marker: fc.boolean(), ssrc: fc.constantFrom(1, 2), payload }).map(p => rtp(p.seq, p.ts, p.payload, p.marker, p.ssrc))
    )
    fc.assert(fc.property(fc.array(packet, { maxLength: 60 }), packets => {
      const d = new H264Depacketizer({ maxUnitBytes: 1500 })
      const units = packets.flatMap(p => d.push(p))
      const inBytes = packets.reduce((n, p) => n + p.length, 0)
      const outBytes = units.reduce((n, u) => n + u.data.length, 0)
      expect(outBytes).toBeLessThanOrEqual(5 * inBytes)
      for (const u of units) {
        expect(u.data.length).toBeLessThanOrEqual(1500)
        expect([...u.data.subarray(0, 4)]).toEqual([0, 0, 0, 1])
      }
      if (units.length > 0) expect(units[0].keyFrame).toBe(true)
      expect(d.stats.units).toBe(units.length)
    }), { numRuns: 500 })
  })
})

describe('H264Depacketizer: parameter sets', () => {
  it('moves SPS and PPS that come between the slices of a picture before its first slice, once each', () => {
    const d = new H264Depacketizer()
    const s1 = nal(5, 300, 1)
    const s2 = nal(5, 300, 2)
    const aud = Buffer.from([0x09, 0xf0])
    const [unit] = pushAll(d, stream().frame(1, [aud, SPS, PPS, s1, SPS, PPS, s2]))
    expect(unit.data).toEqual(annexB(aud, SPS, PPS, s1, s2))
    const [same] = pushAll(d, stream(8).frame(2, [SPS, PPS, s1]))
    expect(same.data).toEqual(annexB(SPS, PPS, s1))
  })
})
