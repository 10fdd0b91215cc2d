import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { offeredSections, pickCodec, publisherCodec, receivingSection, sendingSections, trackCodecOf } from '../../src/web/offer-sdp.ts'

const OFFER = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 106 107',
  'a=mid:0', 'a=recvonly',
  'a=rtpmap:96 VP8/90000', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96',
  'a=rtpmap:102 H264/90000', 'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
  'a=rtpmap:103 H264/90000', 'a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:106 H264/90000', 'a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:107 H264/90000', 'a=fmtp:107 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:1', 'a=sendonly', 'a=rtpmap:111 opus/48000/2', ''
].join('\r\n')

describe('browser offers', () => {
  it('picks constrained baseline H.264 with packetization-mode=1, VP8 and Opus by payload type', () => {
    const sections = offeredSections(OFFER)
    expect(sections.map(s => [s.kind, s.mid, s.direction])).toEqual([['video', '0', 'recvonly'], ['audio', '1', 'sendonly']])
    const video = receivingSection(sections, 'video')
    expect(pickCodec(video, 'h264')?.payloadType).toBe(106)
    expect(pickCodec(video, 'vp8')?.payloadType).toBe(96)
    expect(pickCodec(video, 'av1')).toBeUndefined()
    expect(pickCodec(sections[1], 'opus')?.payloadType).toBe(111)
  })

  it('takes plain baseline when no constrained baseline is offered, never mode 0 or high profile', () => {
    const only = OFFER.replace('a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f', 'a=fmtp:106 packetization-mode=0;profile-level-id=42e01f')
    expect(pickCodec(offeredSections(only)[0], 'h264')?.payloadType).toBe(103)
    const none = only.replace('profile-level-id=42001f', 'profile-level-id=4d001f')
    expect(pickCodec(offeredSections(none)[0], 'h264')).toBeUndefined()
  })

  it('refuses an offer with no receiving section of the kind (BadSdpError)', () => {
    expect(() => receivingSection(offeredSections(OFFER), 'audio')).toThrow(expect.objectContaining({ name: 'BadSdpError' }))
  })

  it('finds what a WHIP client sends, and the SSRC it announces (the media one of an FID group)', () => {
    const publish = OFFER.replace('a=recvonly', 'a=sendonly\r\na=ssrc-group:FID 1111 2222\r\na=ssrc:1111 cname:x\r\na=ssrc:2222 cname:x')
      .replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:111 opus/48000/2\r\na=ssrc:3333 cname:x\r\na=ssrc:3333 msid:- a')
    const sending = sendingSections(offeredSections(publish))
    expect(sending.map(s => [s.kind, s.ssrc])).toEqual([['video', 1111], ['audio', 3333]])
    expect(sendingSections(offeredSections(OFFER)).map(s => [s.kind, s.ssrc])).toEqual([['audio', undefined]])
  })

  it('WHIP: takes the publisher\'s order of preference among the codecs accepted (VP8 first gets VP8), H.264 in its best variant', () => {
    const video = offeredSections(OFFER.replace('a=recvonly', 'a=sendonly'))[0]
    const accepted = ['h264', 'vp8', 'vp9', 'av1'] as const
    // aiortc and Chromium list VP8 first.
    expect(publisherCodec(video, accepted)).toMatchObject({ codec: 'vp8', offered: { payloadType: 96 } })
    // H.264 first (mode 0 at 102 is not taken, so the first H.264 that counts is 103, whose best variant is 106).
    const h264First = OFFER.replace('a=recvonly', 'a=sendonly').replace('SAVPF 96 97 102 103 106 107', 'SAVPF 102 103 106 107 96 97')
    expect(publisherCodec(offeredSections(h264First)[0], accepted)).toMatchObject({ codec: 'h264', offered: { payloadType: 106 } })
    // Only what we accept: VP8 offered first but not accepted.
    expect(publisherCodec(video, ['h264'])).toMatchObject({ codec: 'h264', offered: { payloadType: 106 } })
    // rtx, mode-0 H.264 and high profile never count; nothing acceptable is undefined.
    const rtxAndMode0 = OFFER.replace('a=recvonly', 'a=sendonly').replace('SAVPF 96 97 102 103 106 107', 'SAVPF 97 102 107')
    expect(publisherCodec(offeredSections(rtxAndMode0)[0], accepted)).toBeUndefined()
    expect(publisherCodec(offeredSections(OFFER)[1], ['opus'])).toMatchObject({ codec: 'opus', offered: { payloadType: 111 } })
  })

  it('any offer (a real one edited at random): sections with bounded fields, or a BadSdpError, never another throw', () => {
    const lines = OFFER.split('\r\n')
    const line = fc.oneof(fc.string({ maxLength: 120 }), fc.constantFrom('a=ssrc:99999999999 cname:x', 'a=ssrc-group:FID 1', 'm=video 0 X 300 -1 abc', 'a=rtpmap:96 H264', 'a=fmtp:96 ;;==;', 'a=mid:', 'a=sendrecv'))
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(lines.length - 1), line), { maxLength: 8 }), edits => {
      const edited = [...lines]
      for (const [at, text] of edits) edited.splice(at, 0, text)
      for (const section of offeredSections(edited.join('\r\n'))) {
        expect(section.codecs.every(c => Number.isInteger(c.payloadType) && c.payloadType >= 0 && c.payloadType < 128)).toBe(true)
        if (section.ssrc !== undefined) expect(section.ssrc >= 0 && section.ssrc <= 0xffffffff).toBe(true)
        for (const c of section.codecs) trackCodecOf(c)
        for (const kind of ['video', 'audio'] as const) {
          try {
            pickCodec(receivingSection([section], kind), kind === 'video' ? 'h264' : 'opus')
          } catch (err) {
            expect((err as Error).name).toBe('BadSdpError')
          }
        }
      }
    }))
  })
})
