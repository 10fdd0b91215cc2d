import { describe, expect, it } from 'vitest'
import { buildFir, buildPli } from '../../src/rtp/rtcp-feedback.ts'
import { isKeyFramePayload } from '../../src/media/rtp-keyframe.ts'
import { isRtcp, parseRtpHeader } from '../../src/rtp/rtp-header.ts'
import { RtpStats } from '../../src/media/rtp-stats.ts'
import { bindLoopback, closeSocket, LOOPBACK, lookupNow } from '../../src/media/udp-socket.ts'

function rtp (seq: number, ts: number, payload: number[], opts: { marker?: boolean, csrc?: number, ext?: number, pad?: number } = {}): Buffer {
  const csrc = opts.csrc ?? 0
  const ext = opts.ext ?? 0
  const pad = opts.pad ?? 0
  const head = Buffer.alloc(12 + csrc * 4 + (ext > 0 ? 4 + ext * 4 : 0))
  head[0] = 0x80 | (pad > 0 ? 0x20 : 0) | (ext > 0 ? 0x10 : 0) | csrc
  head[1] = (opts.marker === true ? 0x80 : 0) | 96
  head.writeUInt16BE(seq & 0xffff, 2)
  head.writeUInt32BE(ts >>> 0, 4)
  head.writeUInt32BE(0x01020304, 8)
  if (ext > 0) head.writeUInt16BE(ext, 12 + csrc * 4 + 2)
  const padding = pad > 0 ? [...Array(pad - 1).fill(0), pad] : []
  return Buffer.concat([head, Buffer.from(payload), Buffer.from(padding)])
}

describe('parseRtpHeader / isRtcp', () => {
  it('finds the payload after CSRCs and a header extension, before padding', () => {
    const p = rtp(65535, 0xfffffff0, [1, 2, 3], { marker: true, csrc: 2, ext: 1, pad: 4 })
    const h = parseRtpHeader(p)!
    expect(h).toMatchObject({ marker: true, payloadType: 96, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0x01020304 })
    expect([...p.subarray(h.payloadOffset, h.payloadEnd)]).toEqual([1, 2, 3])
  })

  it('rejects what is not RTP and tells RTCP apart (RFC 5761)', () => {
    expect(parseRtpHeader(Buffer.from([0x80, 96, 0]))).toBeUndefined()
    expect(parseRtpHeader(Buffer.alloc(12))).toBeUndefined() // version 0
    expect(isRtcp(buildPli(1, 2))).toBe(true)
    expect(isRtcp(rtp(1, 1, [0]))).toBe(false)
  })
})

describe('isKeyFramePayload', () => {
  it('H.264: IDR alone, inside a STAP-A, or starting an FU-A', () => {
    expect(isKeyFramePayload('h264', Buffer.from([0x65, 0x88]))).toBe(true)
    expect(isKeyFramePayload('h264', Buffer.from([0x41, 0x9a]))).toBe(false)
    // STAP-A: SPS (2 bytes), PPS (1 byte), IDR (2 bytes)
    expect(isKeyFramePayload('h264', Buffer.from([0x78, 0, 2, 0x67, 0x42, 0, 1, 0x68, 0, 2, 0x65, 0x88]))).toBe(true)
    expect(isKeyFramePayload('h264', Buffer.from([0x78, 0, 2, 0x67, 0x42, 0, 1, 0x68]))).toBe(false)
    expect(isKeyFramePayload('h264', Buffer.from([0x7c, 0x85, 0x88]))).toBe(true) // FU-A start, type 5
    expect(isKeyFramePayload('h264', Buffer.from([0x7c, 0x05, 0x88]))).toBe(false) // FU-A middle
    expect(isKeyFramePayload('h264', Buffer.from([0x7c, 0x81, 0x88]))).toBe(false) // FU-A start, type 1
  })

  it('VP8: the P bit of the first partition start, after the extended descriptor', () => {
    expect(isKeyFramePayload('vp8', Buffer.from([0x10, 0x00]))).toBe(true)
    expect(isKeyFramePayload('vp8', Buffer.from([0x10, 0x01]))).toBe(false)
    expect(isKeyFramePayload('vp8', Buffer.from([0x00, 0x00]))).toBe(false) // not a partition start
    // X, I with a 15-bit picture id, then the payload header
    expect(isKeyFramePayload('vp8', Buffer.from([0x90, 0x80, 0x81, 0x23, 0x00]))).toBe(true)
    expect(isKeyFramePayload('vp8', Buffer.from([0x90, 0x80, 0x81, 0x23, 0x01]))).toBe(false)
  })

  it('VP9 (no P, B set), AV1 (N bit), Opus (never)', () => {
    expect(isKeyFramePayload('vp9', Buffer.from([0x88]))).toBe(true)
    expect(isKeyFramePayload('vp9', Buffer.from([0xc8]))).toBe(false)
    expect(isKeyFramePayload('vp9', Buffer.from([0x80]))).toBe(false)
    expect(isKeyFramePayload('av1', Buffer.from([0x18]))).toBe(true)
    expect(isKeyFramePayload('av1', Buffer.from([0x10]))).toBe(false)
    expect(isKeyFramePayload('opus', Buffer.from([0xff]))).toBe(false)
  })
})

describe('RtpStats', () => {
  it('counts frames by timestamp, key frames once per frame, loss across the 16-bit wrap', () => {
    const stats = new RtpStats('h264')
    expect(stats.add(rtp(65533, 1000, [0x65]), 0)).toBe(true)
    expect(stats.add(rtp(65534, 1000, [0x7c, 0x85]), 0)).toBe(false) // same key frame
    stats.add(rtp(65535, 4000, [0x41]), 10)
    stats.add(rtp(1, 7000, [0x41]), 20) // 0 lost
    stats.add(rtp(2, 7000, [0x41]), 30)
    const s = stats.snapshot(40)
    expect(s).toMatchObject({ packets: 5, frames: 3, keyFrames: 1, lost: 1, lastPacketAt: 30, lastKeyFrameAt: 0 })
    stats.add(rtp(0, 7000, [0x41]), 40) // late, not lost after all
    expect(stats.lost).toBe(0)
  })

  it('treats a large jump as a restarted sender, not as loss', () => {
    const stats = new RtpStats('vp8')
    // a new source counts once two packets came in a row (RFC 3550 A.1 probation)
    stats.add(rtp(100, 0, [0x10, 0]))
    stats.add(rtp(101, 0, [0x10, 0]))
    stats.add(rtp(103, 1, [0x10, 1])) // 1 lost
    stats.add(rtp(40_000, 2, [0x10, 1]))
    stats.add(rtp(40_001, 3, [0x10, 1]))
    expect(stats.lost).toBe(1)
    // a new SSRC (the sender's pipeline restarted) starts counting over too, keeping what was lost before
    const other = (seq: number): Buffer => { const p = rtp(seq, 4, [0x10, 1]); p.writeUInt32BE(0x0a0b0c0d, 8); return p }
    for (const seq of [7, 8, 10, 11]) stats.add(other(seq)) // 9 lost
    expect(stats.lost).toBe(2)
    expect(stats.snapshot().packets).toBe(9)
  })

  it('reports the bit rate of the last second', () => {
    const stats = new RtpStats('opus')
    for (let t = 0; t < 2_000; t += 20) stats.add(rtp(t / 20, t * 48, Array(113).fill(1)), t) // 125-byte packets
    expect(stats.bitrateKbps(1_990)).toBe(50) // 50 packets (t = 1000…1980) × 125 B × 8 / 1 s
    expect(stats.bitrateKbps(5_000)).toBe(0)
  })
})

describe('RTCP feedback', () => {
  it('builds a PLI (RFC 4585: PSFB, FMT 1, 3 words)', () => {
    expect([...buildPli(0x11223344, 0xaabbccdd)]).toEqual([0x81, 206, 0, 2, 0x11, 0x22, 0x33, 0x44, 0xaa, 0xbb, 0xcc, 0xdd])
  })

  it('builds an RR + FIR compound (RFC 5104: PSFB, FMT 4, FCI = SSRC + sequence)', () => {
    const p = buildFir(1, 0xaabbccdd, 7)
    expect([...p.subarray(0, 8)]).toEqual([0x80, 201, 0, 1, 0, 0, 0, 1])
    expect([...p.subarray(8)]).toEqual([0x84, 206, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd, 7, 0, 0, 0])
  })
})

describe('bindLoopback sockets', () => {
  it('answer an IPv4 address at once (no tick per datagram), a name through dns.lookup', async () => {
    const answers: Array<[string, number]> = []
    lookupNow('127.0.0.1', 4, (err, address, family) => { expect(err).toBeNull(); answers.push([address, family]) })
    lookupNow('10.1.2.3', 4, (err, address, family) => { expect(err).toBeNull(); answers.push([address, family]) })
    expect(answers).toEqual([['127.0.0.1', 4], ['10.1.2.3', 4]])
    const named = await new Promise<[string, number]>((resolve, reject) => {
      lookupNow('localhost', 4, (err, address, family) => { if (err !== null) reject(err); else resolve([address, family]) })
    })
    expect(named[1]).toBe(4)
    // A bound socket still sends to an address string.
    const rx = await bindLoopback()
    const tx = await bindLoopback()
    try {
      const got = new Promise<Buffer>(resolve => rx.once('message', resolve))
      tx.send(Buffer.from('hi'), rx.address().port, LOOPBACK)
      expect((await got).toString()).toBe('hi')
    } finally {
      await closeSocket(rx)
      await closeSocket(tx)
    }
  })
})
