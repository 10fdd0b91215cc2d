export type Codec = 'h264' | 'vp8' | 'vp9' | 'av1' | 'opus'
export type MediaKind = 'video' | 'audio'

export interface CodecInfo {
  codec: Codec
  kind: MediaKind
  /** RTP encoding name as in SDP and in application/x-rtp caps. */
  encodingName: string
  clockRate: number
  defaultPayloadType: number
  payloader: string
  depayloader: string
  /** Parser between depayloader and decoder or muxer (none for VP8 and Opus). */
  parser?: string
  /** Decoders in order of preference. */
  decoders: string[]
}

export const CODECS: Readonly<Record<Codec, CodecInfo>> = {
  h264: { codec: 'h264', kind: 'video', encodingName: 'H264', clockRate: 90_000, defaultPayloadType: 96, payloader: 'rtph264pay', depayloader: 'rtph264depay', parser: 'h264parse', decoders: ['avdec_h264', 'openh264dec', 'v4l2h264dec', 'vah264dec'] },
  vp8: { codec: 'vp8', kind: 'video', encodingName: 'VP8', clockRate: 90_000, defaultPayloadType: 97, payloader: 'rtpvp8pay', depayloader: 'rtpvp8depay', decoders: ['vp8dec', 'avdec_vp8'] },
  vp9: { codec: 'vp9', kind: 'video', encodingName: 'VP9', clockRate: 90_000, defaultPayloadType: 98, payloader: 'rtpvp9pay', depayloader: 'rtpvp9depay', parser: 'vp9parse', decoders: ['vp9dec', 'avdec_vp9'] },
  av1: { codec: 'av1', kind: 'video', encodingName: 'AV1', clockRate: 90_000, defaultPayloadType: 45, payloader: 'rtpav1pay', depayloader: 'rtpav1depay', parser: 'av1parse', decoders: ['dav1ddec', 'av1dec', 'avdec_av1'] },
  opus: { codec: 'opus', kind: 'audio', encodingName: 'OPUS', clockRate: 48_000, defaultPayloadType: 111, payloader: 'rtpopuspay', depayloader: 'rtpopusdepay', decoders: ['opusdec'] }
}

export function defaultCodec (kind: MediaKind): Codec {
  return kind === 'video' ? 'h264' : 'opus'
}

/** application/x-rtp caps for a udpsrc that receives this codec. */
export function rtpCaps (info: CodecInfo, payloadType: number): string {
  return `application/x-rtp,media=${info.kind},clock-rate=${info.clockRate},encoding-name=${info.encodingName},payload=${payloadType}`
}
