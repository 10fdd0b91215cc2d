import { describe, expect, it } from 'vitest'
import { rtcpPackets } from '../../src/rtp/rtcp-compound.ts'
import { buildFir, buildPli, feedbackMediaSsrcs, keyFrameRequests } from '../../src/rtp/rtcp-feedback.ts'
import { isRtcp, rtpSsrc } from '../../src/rtp/rtp-header.ts'
import { parseRtpHeader } from '../../src/rtp/rtp-header.ts'
import { withPayloadTypeAndSsrc, withPayloadTypeSsrcAndTransportSequence } from '../../src/rtp/rtp-rewrite.ts'
import { readTransportSequence, writeTransportSequence } from '../../src/rtp/transport-cc-extension.ts'

function rtp (payloadType: number, ssrc: number, marker = false): Buffer {
  const p = Buffer.alloc(16, 7)
  p[0] = 0x80
  p[1] = (marker ? 0x80 : 0) | payloadType
  p.writeUInt16BE(1, 2)
  p.writeUInt32BE(ssrc, 8)
  return p
}

describe('src/rtp: the one RTP/RTCP module both profiles use', () => {
  it('walks a compound RTCP packet and stops at a malformed tail', () => {
    const compound = Buffer.concat([buildFir(1, 0xaabbccdd, 3), buildPli(1, 0x11223344)])
    expect([...rtcpPackets(compound)].map(p => [p.offset, p.length, p.type, p.fmt])).toEqual([[0, 8, 201, 0], [8, 20, 206, 4], [28, 12, 206, 1]])
    const truncated = Buffer.concat([buildPli(1, 2), Buffer.from([0x81, 206, 0, 9, 0, 0])])
    expect([...rtcpPackets(truncated)]).toHaveLength(1)
    expect(keyFrameRequests(compound)).toEqual(['fir', 'pli'])
    expect(feedbackMediaSsrcs(compound)).toEqual([0xaabbccdd, 0x11223344])
  })

  it('tells RTCP from RTP and reads the SSRC', () => {
    expect(isRtcp(buildPli(1, 2))).toBe(true)
    expect(isRtcp(rtp(96, 5))).toBe(false)
    expect(rtpSsrc(rtp(96, 0xfedcba98))).toBe(0xfedcba98)
  })

  it('rewrites payload type and SSRC only when they differ, keeping the marker', () => {
    const p = rtp(96, 0x01020304, true)
    expect(withPayloadTypeAndSsrc(p, 96, 0x01020304)).toBe(p)
    const out = withPayloadTypeAndSsrc(p, 102, 0xf0000001)
    expect(out).not.toBe(p)
    expect(out[1]).toBe(0x80 | 102)
    expect(out.readUInt32BE(8)).toBe(0xf0000001)
    expect(p[1]).toBe(0x80 | 96) // the source's packet is shared by other tracks: never changed
    expect(out.subarray(12)).toEqual(p.subarray(12))
  })

  it('makes a congestion-controlled track its own copy in one go: payload type, SSRC and a transport-wide number element to stamp in place', () => {
    const p = rtp(96, 0x01020304, true)
    const before = Buffer.from(p)
    const own = withPayloadTypeSsrcAndTransportSequence(p, 102, 0xf0000001, 3)!
    expect(own).not.toBe(p)
    expect(p).toEqual(before) // shared by the other tracks: untouched
    expect(own[1]).toBe(0x80 | 102)
    expect(own.readUInt32BE(8)).toBe(0xf0000001)
    expect(readTransportSequence(own, 3)).toBe(0)
    expect(own.subarray(parseRtpHeader(own)!.payloadOffset)).toEqual(p.subarray(12))
    // The sender's stamp then lands in this buffer: no second copy.
    expect(writeTransportSequence(own, 3, 0xabcd)).toBe(own)
    expect(readTransportSequence(own, 3)).toBe(0xabcd)
    // Even when the payload type and SSRC are the track's already, the track gets a copy.
    expect(withPayloadTypeSsrcAndTransportSequence(p, 96, 0x01020304, 3)).not.toBe(p)
  })

  it('copies a packet that carries the element already before the stamp can write into it', () => {
    const shared = writeTransportSequence(rtp(96, 5), 3, 77) as Buffer
    const own = withPayloadTypeSsrcAndTransportSequence(shared, 102, 6, 3)!
    expect(own).not.toBe(shared)
    expect(own.length).toBe(shared.length)
    writeTransportSequence(own, 3, 1)
    expect(readTransportSequence(shared, 3)).toBe(77)
    expect(readTransportSequence(own, 3)).toBe(1)
    // Bytes that are not RTP, or an extension block of another profile: nothing to send.
    expect(withPayloadTypeSsrcAndTransportSequence(new Uint8Array(8), 102, 6, 3)).toBeUndefined()
  })
})
