import type { TrackCodec, TrackKind } from '../transport/track-types.ts'
import { BadSdpError } from '../util/errors.ts'

/** One codec a media section offers: its payload type, rtpmap and fmtp. */
export interface OfferedCodec {
  payloadType: number
  name: string
  clockRate: number
  fmtp: Record<string, string>
}

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive'

/** One m= section of a browser's (or any WHEP/WHIP client's) offer. */
export interface OfferedSection {
  kind: string
  mid: string
  direction: SdpDirection
  /** m= port 0: the section is rejected or stopped. */
  rejected: boolean
  codecs: OfferedCodec[]
  /** The media SSRC the client announces it sends with (a=ssrc, the first of an FID group), if any. */
  ssrc?: number
}

const DIRECTIONS = new Set<string>(['sendrecv', 'sendonly', 'recvonly', 'inactive'])

/** The media sections of an offer (checkSdp has bounded its size and lines already). */
export function offeredSections (sdp: string): OfferedSection[] {
  const sections: OfferedSection[] = []
  let current: OfferedSection | undefined
  let sessionDirection: SdpDirection = 'sendrecv'
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      const [kind, port, , ...formats] = line.slice(2).split(' ')
      current = { kind, mid: String(sections.length), direction: sessionDirection, rejected: port === '0', codecs: [] }
      for (const f of formats) {
        const pt = Number(f)
        if (Number.isInteger(pt) && pt >= 0 && pt < 128) current.codecs.push({ payloadType: pt, name: '', clockRate: 0, fmtp: {} })
      }
      sections.push(current)
      continue
    }
    if (!line.startsWith('a=')) continue
    const attr = line.slice(2)
    if (DIRECTIONS.has(attr)) {
      if (current === undefined) sessionDirection = attr as SdpDirection
      else current.direction = attr as SdpDirection
      continue
    }
    if (current === undefined) continue
    if (attr.startsWith('mid:')) current.mid = attr.slice(4)
    const group = /^ssrc-group:FID (\d+)/.exec(attr)
    if (group !== null) current.ssrc = Number(group[1]) >>> 0
    const ssrc = /^ssrc:(\d+) /.exec(attr)
    if (ssrc !== null) current.ssrc ??= Number(ssrc[1]) >>> 0
    const rtpmap = /^rtpmap:(\d+) ([^/\s]+)\/(\d+)/.exec(attr)
    if (rtpmap !== null) {
      const codec = current.codecs.find(c => c.payloadType === Number(rtpmap[1]))
      if (codec !== undefined) { codec.name = rtpmap[2]; codec.clockRate = Number(rtpmap[3]) }
    }
    const fmtp = /^fmtp:(\d+) (.*)$/.exec(attr)
    if (fmtp !== null) {
      const codec = current.codecs.find(c => c.payloadType === Number(fmtp[1]))
      if (codec !== undefined) {
        for (const kv of fmtp[2].split(';')) {
          const at = kv.indexOf('=')
          if (at > 0) codec.fmtp[kv.slice(0, at).trim().toLowerCase()] = kv.slice(at + 1).trim()
        }
      }
    }
  }
  return sections
}

/**
 * H.264 the way browsers and our encoders agree on it: packetization-mode=1
 * and constrained baseline (profile_idc 0x42 with constraint_set1, 42e0xx),
 * or plain baseline (42xxxx), which every constrained-baseline stream also is.
 */
function h264Rank (codec: OfferedCodec): number {
  if (codec.fmtp['packetization-mode'] !== '1') return 0
  const pli = (codec.fmtp['profile-level-id'] ?? '42e01f').toLowerCase()
  if (!/^[0-9a-f]{6}$/.test(pli) || !pli.startsWith('42')) return 0
  return (parseInt(pli.slice(2, 4), 16) & 0x40) !== 0 ? 2 : 1
}

const ENCODING: Record<TrackCodec, { name: string, clockRate: number }> = {
  h264: { name: 'H264', clockRate: 90_000 },
  vp8: { name: 'VP8', clockRate: 90_000 },
  vp9: { name: 'VP9', clockRate: 90_000 },
  av1: { name: 'AV1', clockRate: 90_000 },
  opus: { name: 'OPUS', clockRate: 48_000 }
}

/** The offered payload type for our codec (the best H.264 variant), or undefined when the section does not offer it. */
export function pickCodec (section: OfferedSection, codec: TrackCodec): OfferedCodec | undefined {
  const { name, clockRate } = ENCODING[codec]
  const matching = section.codecs.filter(c => c.name.toUpperCase() === name && c.clockRate === clockRate)
  if (codec !== 'h264') return matching[0]
  let best: OfferedCodec | undefined
  for (const c of matching) if (h264Rank(c) > (best === undefined ? 0 : h264Rank(best))) best = c
  return best
}

/** The codec name as TrackCodec, for an offered codec (WHIP: what the publisher sends). */
export function trackCodecOf (codec: OfferedCodec): TrackCodec | undefined {
  if (codec.name.toUpperCase() === 'H264') return h264Rank(codec) > 0 ? 'h264' : undefined
  for (const [c, e] of Object.entries(ENCODING)) if (c !== 'h264' && e.name === codec.name.toUpperCase() && e.clockRate === codec.clockRate) return c as TrackCodec
  return undefined
}

/**
 * WHIP: what a publisher's section will send, in the publisher's own order of
 * preference (the order of its m= line) among the codecs we accept; for
 * H.264, its best variant (pickCodec). A publisher that lists VP8 first gets
 * VP8: it may have good reasons (aiortc's H.264 encoder ignores key-frame
 * requests, so a new viewer would wait for its periodic key frame). Undefined
 * when it sends nothing we accept.
 */
export function publisherCodec (section: OfferedSection, accepted: readonly TrackCodec[]): { codec: TrackCodec, offered: OfferedCodec } | undefined {
  for (const c of section.codecs) {
    const codec = trackCodecOf(c)
    if (codec === undefined || !accepted.includes(codec)) continue
    const offered = pickCodec(section, codec)
    if (offered !== undefined) return { codec, offered }
  }
  return undefined
}

/** The section of `kind` a WHEP client can receive on (recvonly or sendrecv), if any. */
export function findReceivingSection (sections: OfferedSection[], kind: TrackKind): OfferedSection | undefined {
  return sections.find(s => s.kind === kind && !s.rejected && (s.direction === 'recvonly' || s.direction === 'sendrecv'))
}

/** The section of `kind` a WHEP client can receive on (recvonly or sendrecv), or a BadSdpError. */
export function receivingSection (sections: OfferedSection[], kind: TrackKind): OfferedSection {
  const section = findReceivingSection(sections, kind)
  if (section === undefined) throw new BadSdpError(`the offer has no ${kind} section that receives (a=recvonly or a=sendrecv)`)
  return section
}

/** The section of `kind` a WHIP client sends on (sendonly or sendrecv), if any. */
export function sendingSections (sections: OfferedSection[]): OfferedSection[] {
  return sections.filter(s => (s.kind === 'video' || s.kind === 'audio') && !s.rejected && (s.direction === 'sendonly' || s.direction === 'sendrecv'))
}

/** Whether the offer carries a data channel section. */
export function offersDataChannel (sections: OfferedSection[]): boolean {
  return sections.some(s => s.kind === 'application' && !s.rejected)
}
