import type { TypedEmitter } from '../util/typed-emitter.ts'
import type { Codec, MediaKind } from './codecs.ts'
import type { GstProcessState } from './gst-process.ts'
import type { RtpStatsSnapshot } from './rtp-stats.ts'

export interface RunningSourceEvents {
  /** One RTP packet (payloaded to rtc.mtu): write it into the viewers' tracks. */
  rtp: [packet: Buffer]
  /** The source cannot go on: its holders should end their viewers. */
  failed: [err: Error]
}

export interface SourceStats extends RtpStatsSnapshot {
  name: string
  kind: MediaKind
  codec: Codec
  encoder: string
  ssrc: number
  payloadType: number
  state: GstProcessState
  pid: number | null
  restarts: number
  keyFrameRequests: number
  /** The daemon's socket the pipeline sends its RTP to (benchmarks inject timed packets there). */
  rtpPort: number | null
  /** The encoder's target bit rate (kbit/s: configured, or the last setBitrate()); null when the daemon does not control it (WHIP). */
  targetBitrateKbps: number | null
  /**
   * The format the encoder is fed (configured, or the last setVideoFormat(): adaptation steps it down
   * on a slow link); width/height null where the source's own size is used; null for audio or WHIP.
   */
  format: { width: number | null, height: number | null, fps: number } | null
}

/**
 * A source that is producing RTP now, whatever makes it: a supervised
 * GStreamer pipeline of the config (GstSource) or a stream a WHIP client
 * publishes (PublishedSource). Viewers, local and remote, feed from this.
 */
export interface RunningSource extends Pick<TypedEmitter<RunningSourceEvents>, 'on' | 'off' | 'once'> {
  readonly name: string
  readonly kind: MediaKind
  readonly codec: Codec
  /** Viewers' tracks rewrite to their own SSRC and payload type only when these differ. */
  readonly ssrc: number
  readonly payloadType: number
  readonly clockRate: number
  /** What encodes it: a GStreamer element, or who publishes it. */
  readonly encoder: string
  /** Ask for a key frame now (a viewer's PLI/FIR, a new viewer); false when there is no one to ask. */
  requestKeyFrame: (kind?: 'pli' | 'fir') => boolean
  stats: () => SourceStats
}

/** A new resolution and/or frame rate; what is left out stays as it is. */
export interface VideoFormatChange {
  width?: number
  height?: number
  fps?: number
}

/** A running video source's resolution and frame rate; width/height undefined where the source's own size is used. */
export interface VideoFormat {
  width: number | undefined
  height: number | undefined
  fps: number
}

/** What the pipeline's own elements count (pad probes and element properties), read while it runs. */
export interface ElementStats {
  encoder: {
    element: string
    /** The target the encoder holds now (read back from its property); null when it has none the daemon knows. */
    targetKbps: number | null
    framesIn: number
    framesOut: number
    bytesOut: number
  }
  /** The raw format going into the encoder (video); null for audio or before caps are set. */
  format: { width: number, height: number, fps: number } | null
  /** Bytes the pipeline's udpsink sent to the daemon. */
  sinkBytes: number
}

/**
 * A running source whose encoder the daemon controls while it plays (a
 * GstSource; a WHIP publication is controlled by its publisher). None of
 * these restart the pipeline.
 */
/** The range the daemon moves a source's bit rate in to follow its viewers' links (kbit/s). */
export interface AdaptiveRange {
  /**
   * The least the viewers' estimates go to: under the floor the format steps down and the encoder
   * follows the estimate further (format-ladder.ts), so the estimators must be free to say so.
   */
  minKbps: number
  /** `minBitrate`: the least the encoder goes to at the configured size and frame rate. */
  floorKbps: number
  maxKbps: number
}

export interface ControllableSource extends RunningSource {
  /** The target bit rate the encoder was last given (kbit/s). */
  readonly bitrateKbps: number
  /** Where adaptation may take the bit rate; undefined when pinned (`adaptive: false`) or audio. */
  readonly adaptiveRange?: AdaptiveRange
  /** New target bit rate (kbit/s); resolves once the encoder took it. */
  setBitrate: (kbps: number) => Promise<void>
  /** The format the encoder is fed now (configured, or the last setVideoFormat()); undefined for audio. */
  readonly videoFormat: VideoFormat | undefined
  /** New resolution and/or frame rate (video); resolves with the format now asked for. */
  setVideoFormat: (format: VideoFormatChange) => Promise<VideoFormat>
  elementStats: () => Promise<ElementStats>
}

export function isControllable (source: RunningSource): source is ControllableSource {
  return typeof (source as Partial<ControllableSource>).setBitrate === 'function'
}

/** A source's stats: what it is, what flowed, and how the thing that makes it runs. */
export function sourceStats (source: RunningSource, rtp: RtpStatsSnapshot, run: Pick<SourceStats, 'state' | 'pid' | 'restarts' | 'keyFrameRequests' | 'rtpPort'>): SourceStats {
  const { name, kind, codec, encoder, ssrc, payloadType } = source
  const controllable = isControllable(source) ? source : undefined
  const format = controllable?.videoFormat
  return {
    ...rtp,
    name,
    kind,
    codec,
    encoder,
    ssrc,
    payloadType,
    ...run,
    targetBitrateKbps: controllable?.bitrateKbps ?? null,
    format: format === undefined ? null : { width: format.width ?? null, height: format.height ?? null, fps: format.fps }
  }
}
