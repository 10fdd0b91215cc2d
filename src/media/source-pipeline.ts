import { availableParallelism } from 'node:os'
import { CODECS, defaultCodec, type Codec, type MediaKind } from './codecs.ts'
import { encoderDescription } from './encoders.ts'
import { LOOPBACK } from './udp-socket.ts'

/** One configured source (`media.sources.<name>`); the daemon's config schema validates it. */
export interface SourceConfig {
  kind: MediaKind
  pipeline: string
  codec?: Codec
  encoder?: string
  width?: number
  height?: number
  fps?: number
  /** kbit/s */
  bitrate?: number
  /** kbit/s: the least adaptation takes the encoder to (video). */
  minBitrate?: number
  /** false pins the bit rate: the encoder does not follow the viewers' links. */
  adaptive?: boolean
  keyframeInterval?: number
  alwaysOn?: boolean
}

export const DEFAULT_FPS = 30
export const DEFAULT_VIDEO_BITRATE_KBPS = 1500
export const DEFAULT_AUDIO_BITRATE_KBPS = 64
/** The least adaptation takes a video encoder to (kbit/s): a 640×480 picture still moves at 150 kbit/s. */
export const DEFAULT_MIN_VIDEO_BITRATE_KBPS = 150
/** Seconds between key frames when keyframeInterval is not set (viewers ask for more with PLI). */
export const DEFAULT_KEYFRAME_SECONDS = 2
/** Names of elements the running source talks to. */
export const RTCP_IN = 'rtcpin'
const QUEUE_MAX_NS = 200_000_000
export const RTP_BIN = 'rtpbin'

export interface SourcePipelineOptions {
  kind: MediaKind
  codec: Codec
  /** The raw source part from the config, e.g. "videotestsrc is-live=true". */
  raw: string
  /** Element name (gets low-latency properties) or "element prop=value …". */
  encoder: string
  width?: number
  height?: number
  fps: number
  bitrateKbps: number
  keyframeInterval: number
  mtu: number
  payloadType: number
  ssrc: number
  /** Where RTP goes (a Node socket on 127.0.0.1). */
  rtpPort: number
  /** Continue a stream across restarts: the payloader's first sequence number and timestamp. */
  seqnumOffset?: number
  timestampOffset?: number
}

/** Codec, sizes, rates and key-frame interval of a configured source, with defaults applied. */
export function sourceSettings (source: SourceConfig): Pick<SourcePipelineOptions, 'kind' | 'codec' | 'raw' | 'width' | 'height' | 'fps' | 'bitrateKbps' | 'keyframeInterval'> {
  const fps = source.fps ?? DEFAULT_FPS
  return {
    kind: source.kind,
    codec: source.codec ?? defaultCodec(source.kind),
    raw: source.pipeline,
    width: source.width,
    height: source.height,
    fps,
    bitrateKbps: source.bitrate ?? (source.kind === 'video' ? DEFAULT_VIDEO_BITRATE_KBPS : DEFAULT_AUDIO_BITRATE_KBPS),
    keyframeInterval: source.keyframeInterval ?? fps * DEFAULT_KEYFRAME_SECONDS
  }
}

/**
 * The pipeline description of a source (gst-launch syntax, run by pipeline-host.py):
 *
 *   <raw> ! convert/scale ! caps ! leaky queue ! encoder ! payloader ! rtpbin ! udpsink → rtpPort
 *   udpsrc name=rtcpin port=0 → rtpbin RTCP in
 *
 * A PLI or FIR sent to rtcpin's port (the pipeline host reports it when it
 * plays) makes rtpbin's rtpsession send GstForceKeyUnit upstream, and the
 * encoder emits a key frame; the daemon's own key-frame requests skip that
 * hop and send GstForceKeyUnit to the encoder directly (GstSource).
 * rtpbin sends no RTCP of its own: once it has heard of a remote member it
 * holds EOS back until its BYE is due (5 s); sender reports are the bridge's
 * job (libdatachannel's RtcpSrReporter).
 */
export function buildSourcePipeline (o: SourcePipelineOptions): string {
  const info = CODECS[o.codec]
  if (info.kind !== o.kind) throw new TypeError(`codec ${o.codec} is not a ${o.kind} codec`)
  const settings = { bitrateKbps: o.bitrateKbps, keyframeInterval: o.keyframeInterval, fps: o.fps, width: o.width, height: o.height, cores: availableParallelism() }
  const convert = o.kind === 'video' ? videoConvert(o) : 'audioconvert ! audioresample ! audio/x-raw,rate=48000'
  const pay = [
    info.payloader, `pt=${o.payloadType}`, `ssrc=${o.ssrc >>> 0}`, `mtu=${o.mtu}`,
    ...(o.seqnumOffset !== undefined ? [`seqnum-offset=${o.seqnumOffset & 0xffff}`] : []),
    ...(o.timestampOffset !== undefined ? [`timestamp-offset=${o.timestampOffset >>> 0}`] : []),
    ...payloaderProps(o.codec)
  ].join(' ')
  const sink = `udpsink host=${LOOPBACK} port=${o.rtpPort} sync=false async=false`
  return [
    `rtpbin name=${RTP_BIN}`,
    `${o.raw} ! ${convert} ! ${encoderDescription(o.encoder, settings)} ! ${pay} ! ${RTP_BIN}.send_rtp_sink_0`,
    `${RTP_BIN}.send_rtp_src_0 ! ${sink}`,
    `udpsrc name=${RTCP_IN} address=${LOOPBACK} port=0 caps=application/x-rtcp ! ${RTP_BIN}.recv_rtcp_sink_0`
  ].join(' ')
}

function videoConvert (o: SourcePipelineOptions): string {
  const fields = [
    ...(o.width !== undefined ? [`width=${o.width}`] : []),
    ...(o.height !== undefined ? [`height=${o.height}`] : []),
    `framerate=${o.fps}/1`
  ]
  // capture and encoding on their own threads; when the encoder falls behind by
  // more than 200 ms the leaky queue drops raw frames instead of adding latency
  return `videoconvert ! videoscale ! video/x-raw,${fields.join(',')} ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=${QUEUE_MAX_NS} leaky=downstream`
}

function payloaderProps (codec: Codec): string[] {
  switch (codec) {
    case 'h264': return ['config-interval=-1', 'aggregate-mode=zero-latency']
    case 'vp8':
    case 'vp9': return ['picture-id-mode=15-bit']
    default: return []
  }
}
