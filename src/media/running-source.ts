import type { TypedEmitter } from '../util/typed-emitter.ts'
import type { Codec, MediaKind } from './codecs.ts'
import type { SourceStats } from './gst-source.ts'
import type { RtpStatsSnapshot } from './rtp-stats.ts'

export interface RunningSourceEvents {
  /** One RTP packet (payloaded to rtc.mtu): write it into the viewers' tracks. */
  rtp: [packet: Buffer]
  /** The source cannot go on: its holders should end their viewers. */
  failed: [err: Error]
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

/** A source's stats: what it is, what flowed, and how the thing that makes it runs. */
export function sourceStats (source: RunningSource, rtp: RtpStatsSnapshot, run: Pick<SourceStats, 'state' | 'pid' | 'restarts' | 'keyFrameRequests' | 'rtpPort'>): SourceStats {
  const { name, kind, codec, encoder, ssrc, payloadType } = source
  return { ...rtp, name, kind, codec, encoder, ssrc, payloadType, ...run }
}
