import type { Codec } from './codecs.ts'
import { vp8Threads } from './encoder-threads.ts'

export interface EncodeSettings {
  bitrateKbps: number
  /** Frames between key frames. */
  keyframeInterval: number
  fps: number
  /** The size the source is scaled to, when the config sets one. */
  width?: number
  height?: number
  /** CPU cores the encoder may use (os.availableParallelism()); 1 when not given. */
  cores?: number
}

export interface EncoderSpec {
  element: string
  codec: Codec
  hardware: boolean
  /** Low-latency properties for these settings. */
  props: (s: EncodeSettings) => string
  /** Caps right after the encoder: the profile browsers accept. */
  caps?: string
  /** Tested here with real GStreamer; the others follow their documentation. */
  verified?: boolean
}

const H264_WEBRTC = 'video/x-h264,profile=constrained-baseline'

/**
 * Known encoders per codec in order of preference: hardware first, then
 * software. Each has its low-latency settings: no B-frames, no look-ahead,
 * constant bit rate, a key frame every keyframeInterval frames (and on request).
 */
export const ENCODERS: readonly EncoderSpec[] = [
  // H.264, hardware: Raspberry Pi / V4L2 M2M, Jetson, Intel/AMD VA (new and old plugin), NVIDIA NVENC
  { element: 'v4l2h264enc', codec: 'h264', hardware: true, caps: 'video/x-h264,level=(string)4,profile=constrained-baseline',
    props: s => `extra-controls=controls,repeat_sequence_header=1,video_bitrate=${s.bitrateKbps * 1000},video_bitrate_mode=1,h264_i_frame_period=${s.keyframeInterval}` },
  { element: 'nvv4l2h264enc', codec: 'h264', hardware: true,
    props: s => `bitrate=${s.bitrateKbps * 1000} control-rate=1 iframeinterval=${s.keyframeInterval} idrinterval=${s.keyframeInterval} insert-sps-pps=true maxperf-enable=true preset-level=1 num-B-Frames=0` },
  { element: 'vah264enc', codec: 'h264', hardware: true, caps: H264_WEBRTC,
    props: s => `bitrate=${s.bitrateKbps} rate-control=cbr key-int-max=${s.keyframeInterval} b-frames=0 target-usage=7` },
  { element: 'vaapih264enc', codec: 'h264', hardware: true, caps: H264_WEBRTC,
    props: s => `bitrate=${s.bitrateKbps} rate-control=cbr keyframe-period=${s.keyframeInterval} max-bframes=0` },
  { element: 'nvh264enc', codec: 'h264', hardware: true,
    props: s => `bitrate=${s.bitrateKbps} rc-mode=cbr gop-size=${s.keyframeInterval} bframes=0 preset=low-latency-hq zerolatency=true` },
  // H.264, software
  { element: 'x264enc', codec: 'h264', hardware: false, caps: H264_WEBRTC, verified: true,
    props: s => `tune=zerolatency speed-preset=ultrafast bframes=0 key-int-max=${s.keyframeInterval} bitrate=${s.bitrateKbps} aud=false` },
  { element: 'openh264enc', codec: 'h264', hardware: false, caps: H264_WEBRTC, verified: true,
    props: s => `usage-type=camera rate-control=bitrate bitrate=${s.bitrateKbps * 1000} gop-size=${s.keyframeInterval} complexity=low scene-change-detection=false` },
  // VP8
  { element: 'v4l2vp8enc', codec: 'vp8', hardware: true,
    props: s => `extra-controls=controls,video_bitrate=${s.bitrateKbps * 1000},video_gop_size=${s.keyframeInterval}` },
  { element: 'vaapivp8enc', codec: 'vp8', hardware: true,
    props: s => `bitrate=${s.bitrateKbps} rate-control=cbr keyframe-period=${s.keyframeInterval}` },
  // threads: see encoder-threads.ts. The rate-control buffer is libwebrtc's
  // (500/600/1000 ms, not libvpx's 4000/5000/6000): a new target shows at the
  // consumer in 360 ms instead of 460 down, 1.2 s instead of 2 s back up.
  { element: 'vp8enc', codec: 'vp8', hardware: false, verified: true,
    props: s => `deadline=1 cpu-used=8 end-usage=cbr target-bitrate=${s.bitrateKbps * 1000} keyframe-max-dist=${s.keyframeInterval} lag-in-frames=0 error-resilient=partitions threads=${vp8Threads(s.width, s.height, s.cores ?? 1)} buffer-initial-size=500 buffer-optimal-size=600 buffer-size=1000` },
  // VP9
  { element: 'vaapivp9enc', codec: 'vp9', hardware: true,
    props: s => `bitrate=${s.bitrateKbps} rate-control=cbr keyframe-period=${s.keyframeInterval}` },
  { element: 'vp9enc', codec: 'vp9', hardware: false, verified: true,
    props: s => `deadline=1 cpu-used=8 end-usage=cbr target-bitrate=${s.bitrateKbps * 1000} keyframe-max-dist=${s.keyframeInterval} lag-in-frames=0 row-mt=true threads=2` },
  // AV1
  { element: 'svtav1enc', codec: 'av1', hardware: false,
    props: s => `preset=12 target-bitrate=${s.bitrateKbps} intra-period-length=${s.keyframeInterval}` },
  { element: 'av1enc', codec: 'av1', hardware: false, verified: true,
    props: s => `usage-profile=realtime cpu-used=9 end-usage=cbr target-bitrate=${s.bitrateKbps} keyframe-max-dist=${s.keyframeInterval} lag-in-frames=0 row-mt=true` },
  { element: 'rav1enc', codec: 'av1', hardware: false,
    props: s => `speed-preset=10 low-latency=true bitrate=${s.bitrateKbps * 1000} max-key-frame-interval=${s.keyframeInterval}` },
  // Opus (frames of 20 ms, in-band FEC for lossy links)
  { element: 'opusenc', codec: 'opus', hardware: false, verified: true,
    props: s => `bitrate=${s.bitrateKbps * 1000} frame-size=20 inband-fec=true packet-loss-percentage=5` }
]

export function encoderCandidates (codec: Codec): EncoderSpec[] {
  return ENCODERS.filter(e => e.codec === codec)
}

export function encoderSpec (element: string): EncoderSpec | undefined {
  return ENCODERS.find(e => e.element === element)
}

/**
 * The encoder part of a pipeline: a bare element name gets its low-latency
 * properties (and caps); "element prop=value …" is taken as the user wrote it.
 */
export function encoderDescription (encoder: string, settings: EncodeSettings): string {
  const trimmed = encoder.trim()
  const spec = encoderSpec(trimmed)
  return spec === undefined ? trimmed : describeEncoder(spec, settings)
}

export function describeEncoder (spec: EncoderSpec, settings: EncodeSettings): string {
  const element = `${spec.element} ${spec.props(settings)}`
  return spec.caps === undefined ? element : `${element} ! ${spec.caps}`
}
